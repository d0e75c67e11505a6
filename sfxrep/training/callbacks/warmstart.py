"""Warm start and encoder freezing: begin training from the released model (or any sfxrep checkpoint) instead of
random weights, optionally training only the heads for the first epochs.

The encoder is copied whole; a library's head is copied when the source has a head of that name with the same
number of classes, and every other library gets a new head. The frontend is not copied but must be the
source's (same mel filters and scaling): an encoder is only as good as the spectrograms it learned on.

A callback (Lightning's :class:`~lightning.pytorch.callbacks.BaseFinetuning`, built for this), so the
LightningModule knows nothing of where its first weights came from. It acts when fitting starts from scratch,
never when a run resumes (the checkpoint restores its own weights) or in validate/test. LightningCLI adds it as
``warm_start.*`` (``--warm_start.source aisfx``; ``sfxrep train --init``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BaseFinetuning
from lightning.pytorch.utilities import rank_zero_info
from torch.optim import Optimizer


@dataclass
class WarmStartReport:
    """What a warm start did: the source, the heads copied and the heads that start new."""

    source: str
    copied_heads: list[str] = field(default_factory=list)
    new_heads: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"warm start from {self.source}: encoder loaded; heads loaded for {self.copied_heads or 'none'}, "
                f"new for {self.new_heads or 'none'}")


def source_width(source: str) -> int:
    """The encoder width of a warm-start source (what a config must use to receive its weights)."""
    from sfxrep.inference.registry import load_trainable

    return load_trainable(source).encoder.width


def _frontend(frontend) -> dict:
    return {"n_fft": frontend.n_fft, "hop_length": frontend.hop_length, "n_mels": frontend.mel_basis.shape[0],
            "log_multiplier": frontend.log_multiplier, "value_range": frontend.value_range}


def _mismatch(target: dict, source: dict) -> list[str]:
    return [f"{k}: {tuple(source[k].shape) if k in source else 'missing'} in the source, {tuple(v.shape)} here"
            for k, v in target.items() if k not in source or source[k].shape != v.shape]


@torch.no_grad()
def warm_start(module: LightningModule, source: str | LightningModule) -> WarmStartReport:
    """Copy ``source``'s encoder and matching heads into ``module`` (an SfxModule, in place; heads built).

    Raises:
        ValueError: the encoders differ in shape (width, BatchNorm mode) or the frontends differ — named.
    """
    from sfxrep.inference.registry import load_trainable

    name = source if isinstance(source, str) else "module"
    src = load_trainable(source) if isinstance(source, str) else source
    target, given = module.encoder.state_dict(), src.encoder.state_dict()
    if problems := _mismatch(target, given):
        raise ValueError(f"--warm_start.source {name}: its encoder does not fit this model's (width "
                         f"{src.encoder.width} vs {module.encoder.width}, BatchNorm {src.encoder.bn} vs "
                         f"{module.encoder.bn}): {problems[0]}" + (f" and {len(problems) - 1} more" if len(problems) > 1
                                                                   else ""))
    if (theirs := _frontend(src.frontend)) != (ours := _frontend(module.frontend)) or not torch.allclose(
            src.frontend.mel_basis.cpu(), module.frontend.mel_basis.cpu(), atol=1e-6):
        raise ValueError(f"--warm_start.source {name}: its frontend ({theirs}) differs from this model's ({ours}) "
                         "or in its mel filters")
    module.encoder.load_state_dict({k: given[k] for k in target}, strict=True)
    report = WarmStartReport(name)
    for library, head in (module.heads or {}).items():
        theirs = src.heads[library] if src.heads is not None and library in src.heads else None
        if theirs is not None and not _mismatch(head.state_dict(), theirs.state_dict()):
            head.load_state_dict(theirs.state_dict())
            report.copied_heads.append(library)
        else:
            report.new_heads.append(library)
    return report


class WarmStart(BaseFinetuning):
    """Start fitting from ``source``'s weights, and keep what it knows while the new heads train.

    Args:
        source: ``"aisfx"`` (the authors' release) or an sfxrep ``.ckpt`` (:mod:`sfxrep.inference.registry`);
            ``None``: random initialisation, as in the paper.
        freeze_encoder_epochs: epochs of heads-only training first (encoder weights and BatchNorm statistics
            fixed: the encoder runs in eval mode), then everything trains.
        bn_stats: ``train`` (BatchNorm statistics follow the batches) or ``frozen`` (the source's statistics are
            kept throughout: batches of one library at a time otherwise pull them toward the last library).
        l2sp: α of L2-SP (Li et al., 2018): every encoder gradient gets α·(w − w_source), the gradient of
            α/2·‖w − w_source‖²; 0: none.
        frozen_blocks: the encoder's first this many blocks (CNN9: of 4) keep the source's weights and BatchNorm
            statistics throughout, and only the blocks above them fine-tune (the classic "re-train the top layers"
            of transfer learning). Nothing below the first trained block needs a backward pass, so a step costs
            less: with 3 of CNN9's 4 frozen, about half. 0: every block trains (the paper's fine-tuning).
    """

    def __init__(self, source: str | None = None, freeze_encoder_epochs: int = 0,
                 bn_stats: Literal["train", "frozen"] = "train", l2sp: float = 0.0, frozen_blocks: int = 0) -> None:
        super().__init__()
        if freeze_encoder_epochs < 0:
            raise ValueError(f"freeze_encoder_epochs must be >= 0, not {freeze_encoder_epochs}")
        if frozen_blocks < 0:
            raise ValueError(f"frozen_blocks must be >= 0, not {frozen_blocks}")
        if frozen_blocks and not source:
            raise ValueError("warm_start.frozen_blocks keeps a source's blocks: it needs warm_start.source")
        if not l2sp >= 0:
            raise ValueError(f"l2sp must be >= 0, not {l2sp}")
        if (bn_stats == "frozen" or l2sp) and not source:
            raise ValueError("warm_start.bn_stats frozen and warm_start.l2sp keep a source's weights: they need "
                             "warm_start.source")
        self.source, self.freeze_encoder_epochs, self.bn_stats, self.l2sp = source, freeze_encoder_epochs, bn_stats, l2sp
        self.frozen_blocks = frozen_blocks
        self._anchor: dict[str, torch.Tensor] = {}
        self.source_sha256: str | None = None  # of the source's encoder as it was started from (checked by release)

    def _frozen(self, pl_module: LightningModule) -> tuple[torch.nn.Module, ...]:
        """The encoder blocks that keep the source's weights throughout (``frozen_blocks`` of them)."""
        if not self.frozen_blocks:
            return ()
        blocks = tuple(getattr(pl_module.encoder, "blocks", ()))
        if self.frozen_blocks > len(blocks):
            raise ValueError(f"warm_start.frozen_blocks {self.frozen_blocks}: the encoder "
                             f"({type(pl_module.encoder).__name__}) has {len(blocks)} blocks")
        return blocks[:self.frozen_blocks]

    def freeze_before_training(self, pl_module: LightningModule) -> None:
        if self.freeze_encoder_epochs > 0:
            pl_module.encoder.requires_grad_(False)
        for block in self._frozen(pl_module):
            block.requires_grad_(False)

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # the optimizer holds every parameter from the start (a frozen one gets no gradient, so no step), so
        # there are no param groups to restore as BaseFinetuning would
        if self.source and not trainer.ckpt_path:  # a resumed run restores its own weights instead
            rank_zero_info(warm_start(pl_module, self.source).summary())
        distillation = getattr(pl_module, "distillation", None)
        if (self._frozen(pl_module) and distillation is not None  # a teacher that is the source: skip its lower half
                and (shared := distillation.share_trunk(pl_module.encoder, self.frozen_blocks))):
            rank_zero_info(f"distillation: the teacher's first {shared} blocks are the student's frozen ones; "
                           "the teacher runs only the blocks above them")
        if self.source and self.source_sha256 is None:
            from sfxrep.inference.registry import load_trainable
            from sfxrep.models.fingerprint import weights_sha256

            self.source_sha256 = weights_sha256(load_trainable(self.source).encoder)
        if self.l2sp:  # the source's weights, also when resumed
            from sfxrep.inference.registry import load_trainable

            device = next(pl_module.encoder.parameters()).device
            self._anchor = {k: v.to(device) for k, v in load_trainable(self.source).encoder.named_parameters()}

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        if self.bn_stats == "frozen":
            for module in pl_module.encoder.modules():
                if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    module.eval()
        for block in self._frozen(pl_module):  # validation hands the module back in train mode
            block.eval()

    def on_after_backward(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.l2sp:
            for name, param in pl_module.encoder.named_parameters():
                if param.grad is not None:
                    param.grad.add_(param.detach() - self._anchor[name], alpha=self.l2sp)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        for optimizer in trainer.optimizers:
            self.finetune_function(pl_module, trainer.current_epoch, optimizer)

    def finetune_function(self, pl_module: LightningModule, epoch: int, optimizer: Optimizer) -> None:
        frozen = epoch < self.freeze_encoder_epochs
        pl_module.encoder.requires_grad_(not frozen)
        if frozen:
            pl_module.encoder.eval()  # after Lightning's train(): BatchNorm statistics stay the source's too
        for block in self._frozen(pl_module):  # eval mode: on_train_batch_start, after validation's train()
            block.requires_grad_(False)

    def state_dict(self) -> dict[str, Any]:
        return {"source": self.source, "source_sha256": self.source_sha256,
                "freeze_encoder_epochs": self.freeze_encoder_epochs, "bn_stats": self.bn_stats, "l2sp": self.l2sp,
                "frozen_blocks": self.frozen_blocks}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # the configuration decides; the state records it in the checkpoint (results rows read it), and a resumed run
        # keeps the hash of the source it first started from
        self.source_sha256 = state_dict.get("source_sha256")
