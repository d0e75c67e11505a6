"""A callback that records which batches a fit drew."""

from __future__ import annotations

from lightning.pytorch import Callback


class RecordBatches(Callback):
    """Per epoch, the (library, indices) of every batch part, in the order drawn."""

    def __init__(self):
        self.epochs: list[list[tuple[str, tuple[int, ...]]]] = []

    def on_train_epoch_start(self, trainer, pl_module):
        self.epochs.append([])

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        parts = [batch] if "library" in batch else list(batch.values())
        self.epochs[-1].append(tuple((b["library"], tuple(b["index"].tolist())) for b in parts))

