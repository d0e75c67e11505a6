"""Results: the results file's rows, the RQ comparisons over them, and the reports built from them."""
