"""Warm start: begin training from the released model (or any sfxrep checkpoint) instead of random weights.

The encoder is copied whole; a library's head is copied when the source has a head of that name with the same
number of classes, and every other library gets a new head. The frontend is not copied but must be the
source's (same mel filters and scaling): an encoder is only as good as the spectrograms it learned on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from sfxrep.models.module import SfxModule


@dataclass
class WarmStart:
    """What a warm start did: the source, the heads copied and the heads that start new."""

    source: str
    copied_heads: list[str] = field(default_factory=list)
    new_heads: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"warm start from {self.source}: encoder loaded; heads loaded for {self.copied_heads or 'none'}, "
                f"new for {self.new_heads or 'none'}")


def load_source(source: str) -> SfxModule:
    """The module to start from: ``"aisfx"`` (the authors' release) or an sfxrep ``.ckpt`` path."""
    if source == "aisfx":
        from sfxrep.models.pretrained import load_aisfx

        return load_aisfx()
    from sfxrep.models.checkpoint import load_checkpoint

    return load_checkpoint(source).module


def source_width(source: str) -> int:
    """The encoder width of a warm-start source (what a config must use to receive its weights)."""
    return load_source(source).encoder.width


def _frontend(frontend) -> dict:
    return {"n_fft": frontend.n_fft, "hop_length": frontend.hop_length, "n_mels": frontend.mel_basis.shape[0],
            "log_multiplier": frontend.log_multiplier, "value_range": frontend.value_range}


def _mismatch(target: dict, source: dict) -> list[str]:
    return [f"{k}: {tuple(source[k].shape) if k in source else 'missing'} in the source, {tuple(v.shape)} here"
            for k, v in target.items() if k not in source or source[k].shape != v.shape]


@torch.no_grad()
def warm_start(module: SfxModule, source: str | SfxModule) -> WarmStart:
    """Copy ``source``'s encoder and matching heads into ``module`` (in place; heads must be built).

    Raises:
        ValueError: the encoders differ in shape (width, BatchNorm mode) or the frontends differ — named.
    """
    name = source if isinstance(source, str) else "module"
    src = load_source(source) if isinstance(source, str) else source
    target, given = module.encoder.state_dict(), src.encoder.state_dict()
    if problems := _mismatch(target, given):
        raise ValueError(f"--model.init {name}: its encoder does not fit this model's (width "
                         f"{src.encoder.width} vs {module.encoder.width}, BatchNorm {src.encoder.bn} vs "
                         f"{module.encoder.bn}): {problems[0]}" + (f" and {len(problems) - 1} more" if len(problems) > 1
                                                                   else ""))
    if (theirs := _frontend(src.frontend)) != (ours := _frontend(module.frontend)) or not torch.allclose(
            src.frontend.mel_basis.cpu(), module.frontend.mel_basis.cpu(), atol=1e-6):
        raise ValueError(f"--model.init {name}: its frontend ({theirs}) differs from this model's ({ours}) "
                         "or in its mel filters")
    module.encoder.load_state_dict({k: given[k] for k in target}, strict=True)
    report = WarmStart(name)
    for library, head in (module.heads or {}).items():
        theirs = src.heads[library] if src.heads is not None and library in src.heads else None
        if theirs is not None and not _mismatch(head.state_dict(), theirs.state_dict()):
            head.load_state_dict(theirs.state_dict())
            report.copied_heads.append(library)
        else:
            report.new_heads.append(library)
    return report
