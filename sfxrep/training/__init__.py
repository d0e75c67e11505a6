"""Training: the scenarios of ``sfxrep train``, LightningCLI, precision, callbacks and W&B logging."""
