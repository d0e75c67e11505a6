"""``distill.*``: distil a frozen teacher's embeddings into the model while it trains (see
:mod:`sfxrep.models.distillation`); LightningCLI adds it as ``--distill.teacher aisfx --distill.weight 1``."""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from sfxrep.models.distillation import Distillation


class Distill(Callback):
    """Hand the module a :class:`Distillation` term while it fits.

    Args:
        teacher: ``"aisfx"`` or an sfxrep ``.ckpt`` (:mod:`sfxrep.inference.registry`) whose encoder is the teacher;
            ``None``: no distillation (the paper).
        weight: the term's weight against cross-entropy.
    """

    def __init__(self, teacher: str | None = None, weight: float = 1.0) -> None:
        if not weight >= 0:
            raise ValueError(f"distill.weight must be >= 0, not {weight}")
        self.teacher, self.weight = teacher, weight

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if self.teacher and stage == "fit":
            from sfxrep.inference.registry import load_trainable

            pl_module.distillation = Distillation(load_trainable(self.teacher).encoder, self.weight)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if getattr(pl_module, "distillation", None) is not None:
            pl_module.distillation.release()  # its hook on the student, if it shared the student's trunk
        pl_module.distillation = None

    def state_dict(self) -> dict[str, Any]:
        return {"teacher": self.teacher, "weight": self.weight}
