"""Training callbacks (FDR)."""
