"""Keeping what a warm-start source knows: embedding distillation from a frozen teacher.

While a model fine-tunes on new taxonomies, every batch also goes through the frozen source encoder (the
teacher, e.g. the authors' released model), and the student is pulled toward the teacher's embedding of the
same input: ``weight · mean(1 − cos(student, teacher))``. The kNN evaluation reads the embedding alone, so this
keeps the geometry the source learned on its nine libraries while the heads learn the new ones — the role the
old heads' soft targets play in "learning without forgetting" (Li & Hoiem, 2017), on the representation itself.
The :class:`~sfxrep.training.callbacks.distill.Distill` callback loads the teacher and hands it to the module.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Distillation:
    """The distillation term of a training step (not an ``nn.Module``: the teacher is never trained, saved in
    checkpoints or counted as the model's parameters).

    Args:
        teacher: the frozen teacher encoder (``(B, 1, T, F)`` → ``(B, D)``, the student's D).
        weight: the term's weight against cross-entropy.
    """

    def __init__(self, teacher: nn.Module, weight: float = 1.0) -> None:
        if not weight >= 0:
            raise ValueError(f"distillation weight must be >= 0, not {weight}")
        self.teacher, self.weight = teacher.eval().requires_grad_(False), weight

    def __call__(self, student: torch.Tensor, features: torch.Tensor, library: str | None) -> torch.Tensor:
        """``(B, D)`` student embeddings of ``(B, 1, T, F)`` features → the weighted term (a scalar)."""
        if next(self.teacher.parameters()).device != features.device:
            self.teacher.to(features.device)
        with torch.no_grad():
            target = self.teacher(features, library if getattr(self.teacher, "bn", "shared") != "shared" else None)
        return self.weight * (1 - F.cosine_similarity(student.float(), target.float(), dim=1)).mean()
