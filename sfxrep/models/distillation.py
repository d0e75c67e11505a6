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
        self.shared_blocks = 0  # the teacher's first blocks whose output the student hands over (share_trunk)
        self._trunk: torch.Tensor | None = None  # the student's last output of its shared blocks
        self._hook: torch.utils.hooks.RemovableHandle | None = None

    def share_trunk(self, student: nn.Module, blocks: int) -> int:
        """Reuse the student's output of its first ``blocks`` blocks as the teacher's, where the two are the same
        function: the same weights and BatchNorm statistics, held fixed in eval mode by the student (a warm start
        with ``frozen_blocks`` from the teacher itself). The teacher then runs only the blocks above them: with
        three of CNN9's four blocks shared, its forward pass costs about a quarter.

        Returns:
            the blocks shared: ``blocks``, or 0 where the encoders are not CNN9-like (``blocks``, ``forward_from``),
            use per-library BatchNorm, or differ in any shared block.
        """
        self.release()
        if not blocks or not all(hasattr(m, "blocks") and hasattr(m, "forward_from") for m in (student, self.teacher)):
            return 0
        if "per_library" in (getattr(student, "bn", "shared"), getattr(self.teacher, "bn", "shared")):
            return 0
        for mine, theirs in zip(student.blocks[:blocks], self.teacher.blocks[:blocks], strict=True):
            a, b = mine.state_dict(), theirs.state_dict()
            if a.keys() != b.keys() or not all(torch.equal(a[k], b[k].to(a[k].device)) for k in a):
                return 0

        def keep(block: nn.Module, args: tuple, output: torch.Tensor) -> None:
            self._trunk = output.detach()

        self._hook = student.blocks[blocks - 1].register_forward_hook(keep)
        self.shared_blocks = blocks
        return blocks

    def release(self) -> None:
        """Stop sharing the student's trunk (the hook is removed)."""
        if self._hook is not None:
            self._hook.remove()
        self._hook, self._trunk, self.shared_blocks = None, None, 0

    def __call__(self, student: torch.Tensor, features: torch.Tensor, library: str | None) -> torch.Tensor:
        """``(B, D)`` student embeddings of ``(B, 1, T, F)`` features → the weighted term (a scalar). With a shared
        trunk, the student's forward pass that produced ``student`` must be the last one (it left its trunk)."""
        if next(self.teacher.parameters()).device != features.device:
            self.teacher.to(features.device)
        with torch.no_grad():
            trunk, self._trunk = self._trunk, None
            if self.shared_blocks and trunk is not None and trunk.shape[0] == features.shape[0]:
                target = self.teacher.forward_from(trunk, self.shared_blocks)
            else:
                target = self.teacher(features, library if getattr(self.teacher, "bn", "shared") != "shared" else None)
        return self.weight * (1 - F.cosine_similarity(student.float(), target.float(), dim=1)).mean()
