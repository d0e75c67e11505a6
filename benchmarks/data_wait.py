"""The share of a training step spent waiting for data, for several DataLoader worker counts.

A real ``fit`` of the demo configuration (width 16 or the paper's 64, the default precision) runs ``batches`` steps per worker
count; a callback adds up the time between one batch's end and the next batch's start (the loader producing
the batch: decode-cache reads, random crops, collation) against the time inside the steps. The first batch is
left out (worker start-up).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from lightning.pytorch import Callback


class DataWait(Callback):
    """Seconds waiting for batches vs seconds in training steps (batches after the first)."""

    def __init__(self) -> None:
        self.wait = self.compute = 0.0
        self.last_end: float | None = None
        self.start = 0.0

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.start = time.perf_counter()
        if self.last_end is not None:
            self.wait += self.start - self.last_end

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.last_end = time.perf_counter()
        if batch_idx > 0:
            self.compute += self.last_end - self.start

    def on_train_epoch_end(self, trainer, module) -> None:
        self.last_end = None

    @property
    def fraction(self) -> float:
        return self.wait / max(self.wait + self.compute, 1e-9)


def data_wait_fraction(workers: int, libraries: str, batches: int = 12, root: str | None = None,
                       width: int = 16) -> float:
    """Fraction of step time spent waiting for data in a short fit of the demo configuration at encoder ``width``
    (the paper's: 64) with ``workers`` loader workers."""
    from sfxrep.training.lightning_cli import fit

    repo = Path(__file__).resolve().parents[1]
    callback = DataWait()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(root or tmp)
        fit(["--root", str(repo), "--config", str(repo / "experiments" / "base.yaml"),
             "--config", str(repo / "experiments" / "demo.yaml"), "--data.libraries", libraries,
             "--data.work_dir", str(work / "prepared"), "--data.cache_dir", str(work / "cache"),
             "--data.num_workers", str(workers), "--data.batches_per_epoch", str(batches),
             "--model.encoder.init_args.width", str(width),
             "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false",
             "--trainer.logger", "false", "--trainer.default_root_dir", tmp,  # the saved config.yaml goes there
             "--checkpoint.dirpath", str(Path(tmp) / "ckpt")], callbacks=[callback])
    return callback.fraction
