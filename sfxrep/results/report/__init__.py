"""RQ1–RQ4 figures, an HTML report and W&B dashboards from the results rows."""
