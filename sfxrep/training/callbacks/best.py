"""The best value of a validation metric over a fit's epochs (what a run records of itself, and a trial's value)."""

from __future__ import annotations

import math

from lightning.pytorch import Callback, LightningModule, Trainer


class BestValue(Callback):
    """Tracks the best finite value of ``monitor`` over validation epochs; ``values`` has one entry per fit.

    Args:
        monitor: a logged metric (``val/loss``, ``val/macro_f1``).
        mode: ``minimize`` or ``maximize``.
    """

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.better = monitor, (min if mode == "minimize" else max)
        self.values: list[float] = []
        self._best: float | None = None

    @property
    def best(self) -> float:
        """The best value of the fit under way (NaN before a finite one)."""
        return math.nan if self._best is None else self._best

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._best = None

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None and math.isfinite(float(value)) and not trainer.sanity_checking:
            self._best = float(value) if self._best is None else self.better(self._best, float(value))

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.values.append(self.best)

    def state_dict(self) -> dict:  # a resumed run keeps the best of its earlier epochs
        return {"best": self._best}

    def load_state_dict(self, state_dict: dict) -> None:
        self._best = state_dict.get("best")

    @property
    def state_key(self) -> str:
        return f"BestValue{{'monitor': '{self.monitor}'}}"
