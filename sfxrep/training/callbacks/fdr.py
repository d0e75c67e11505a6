"""'Focal' Dataset Regularization (paper §5.3.2, Eq. 1): weight each library's loss by its difficulty.

    α_d = (1 − β^{n_e}) / (1 − β),   normalised so that Σ_d α_d = D

n_e is the (1-based) epoch at which library d's train macro-F1 first reaches the threshold (0.9): libraries
that converge slowly get more weight, easy ones less. β → 1 makes α ∝ n_e; smaller β flattens the weights.

Rule for a library that has not crossed yet: after epoch e it counts as n_e = e + 1 ("needs at least one
more epoch"), so it weighs at least as much as every library that has crossed; before any library
crosses all weights are equal (1). Known n_e (``epochs``, or ``epochs_file`` written by an earlier run — the
paper initialises the weights from a first run) are fixed and never updated. The observed n_e are written
at the end of fit to ``save_to`` (default ``<log dir>/fdr_epochs.json``), ready for ``epochs_file``.
"""

from __future__ import annotations

import json
from pathlib import Path

from lightning.pytorch import Callback, LightningModule, Trainer


def fdr_weights(crossing_epochs: dict[str, int], beta: float = 0.999) -> dict[str, float]:
    """Eq. 1 normalised to Σ α = D. ``crossing_epochs``: library → n_e (≥ 1)."""
    if not 0.0 < beta < 1.0:
        raise ValueError(f"beta must be in (0, 1), got {beta}")
    raw = {lib: (1.0 - beta ** n) / (1.0 - beta) for lib, n in crossing_epochs.items()}
    scale = len(raw) / sum(raw.values())
    return {lib: a * scale for lib, a in raw.items()}


class FocalDatasetRegularization(Callback):
    """Sets ``pl_module.library_weights`` from each library's train macro-F1 after every epoch.

    Args:
        threshold: train macro-F1 that counts as converged (paper: 0.9).
        beta: β of Eq. 1 (paper: 0.999).
        epochs: known n_e per library (from an earlier run); those libraries' weights stay fixed.
        epochs_file: JSON file of known n_e (what an earlier run saved); merged under ``epochs``.
        save_to: JSON file that receives the observed n_e at the end of fit (default: in the log dir).
        metric: name of the logged train F1, ``{library}`` substituted.
    """

    def __init__(self, threshold: float = 0.9, beta: float = 0.999, epochs: dict[str, int] | None = None,
                 epochs_file: str | None = None, save_to: str | None = None,
                 metric: str = "train/{library}/macro_f1") -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"FDR threshold is a train macro-F1 in (0, 1], got {threshold}")
        if not 0.0 < beta < 1.0:
            raise ValueError(f"FDR beta must be in (0, 1), got {beta}")
        self.threshold, self.beta, self.save_to, self.metric = threshold, beta, save_to, metric
        known = json.loads(Path(epochs_file).read_text()) if epochs_file else {}
        self.fixed: dict[str, int] = {**{k: int(v) for k, v in known.items()}, **(epochs or {})}
        self.crossed: dict[str, int] = {}
        self.weights: dict[str, float] = {}

    def crossing_epochs(self, libraries: list[str], epochs_done: int) -> dict[str, int]:
        """n_e of every library after ``epochs_done`` epochs (the not-yet-crossed rule applied)."""
        return {lib: self.fixed.get(lib) or self.crossed.get(lib) or epochs_done + 1 for lib in libraries}

    def update(self, epoch: int, train_f1: dict[str, float]) -> dict[str, float]:
        """Record the epoch's F1 (``epoch`` 1-based) and return the new weights."""
        for lib, f1 in train_f1.items():
            if lib not in self.crossed and f1 >= self.threshold:
                self.crossed[lib] = epoch
        self.weights = fdr_weights(self.crossing_epochs(list(train_f1), epoch), self.beta)
        return self.weights

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self.weights:
            self.weights = fdr_weights(self.crossing_epochs(pl_module.libraries, trainer.current_epoch), self.beta)
        pl_module.library_weights.update(self.weights)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        metrics = trainer.callback_metrics
        keys = {lib: self.metric.format(library=lib) for lib in pl_module.libraries}
        missing = [key for key in keys.values() if key not in metrics]
        if missing:  # a renamed metric must not read as F1 = 0 (every library "not yet converged")
            raise ValueError(f"FDR needs the train macro-F1 {missing} but the logged metrics are "
                           f"{sorted(k for k in metrics if k.startswith('train/'))}")
        f1 = {lib: float(metrics[key]) for lib, key in keys.items()}
        pl_module.library_weights.update(self.update(trainer.current_epoch + 1, f1))
        epochs = self.crossing_epochs(pl_module.libraries, trainer.current_epoch + 1)
        for lib, alpha in self.weights.items():
            pl_module.log(f"fdr/{lib}/alpha", alpha)
            pl_module.log(f"fdr/{lib}/n_e", float(epochs[lib]))

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        target = self.save_to or (Path(trainer.log_dir) / "fdr_epochs.json" if trainer.log_dir else None)
        if target and trainer.is_global_zero:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            Path(target).write_text(json.dumps({**self.crossed, **self.fixed}, indent=1))

    def state_dict(self) -> dict:
        return {"crossed": self.crossed, "fixed": self.fixed, "weights": self.weights, "threshold": self.threshold,
                "beta": self.beta}

    def load_state_dict(self, state_dict: dict) -> None:
        self.crossed, self.fixed = dict(state_dict["crossed"]), dict(state_dict["fixed"])
        self.weights = dict(state_dict["weights"])
