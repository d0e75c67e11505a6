"""Hyper-parameter search with Optuna (paper §3.3: 20 trials of random search), one machine to a GPU cluster."""
