"""Training-time augmentation of a library's batch: what a sound effect may undergo and still be the same class.

Applied by :class:`~sfxrep.models.module.SfxModule` to training batches only (never to validation, test or
embedding), on the model's device, after the random block crop the sampler already draws (the time shift):

* **gain** — each item scaled by a random gain, uniform in ±``gain_db`` dB (the log-mel's compression is not
  scale-invariant, so level matters to the encoder);
* **EQ** — a random spectral tilt: a straight line across the mel bands, its ends uniform in ±``tilt``
  (in the log-mel's units after min-max scaling), so brighter and darker versions of a sound;
* **SpecAugment** (Park et al. 2019) — ``freq_masks`` bands of up to ``freq_width`` mel bins and ``time_masks``
  spans of up to ``time_width`` frames set to the block's minimum;
* **mixup within a class** — with probability ``mixup``, an item is mixed with another item of the same class in
  the batch (weight λ ~ Beta(``mixup_alpha``, ``mixup_alpha``), folded to λ ≥ 0.5), so the label stays exact.

The defaults are modest and not from the paper (which uses none); ``model.augment: null`` turns it off.
"""

from __future__ import annotations

import torch
from torch import nn


class Augment(nn.Module):
    """Random gain, EQ tilt, SpecAugment masks and within-class mixup (see the module doc).

    Args:
        gain_db: the largest gain, ± dB (0: none).
        tilt: the largest tilt at either end of the mel axis, in scaled log-mel units (0: none).
        freq_masks, freq_width: SpecAugment frequency masks and their largest width in mel bins.
        time_masks, time_width: SpecAugment time masks and their largest width in frames.
        mixup: the probability that an item is mixed with another of its class.
        mixup_alpha: the Beta distribution's parameter of the mixing weight.
    """

    def __init__(self, gain_db: float = 6.0, tilt: float = 0.05, freq_masks: int = 2, freq_width: int = 12,
                 time_masks: int = 2, time_width: int = 10, mixup: float = 0.5, mixup_alpha: float = 0.4) -> None:
        super().__init__()
        if min(gain_db, tilt, freq_masks, freq_width, time_masks, time_width, mixup) < 0 or mixup > 1 \
                or not mixup_alpha > 0:
            raise ValueError("model.augment: every amount must be >= 0, mixup a probability and mixup_alpha > 0")
        self.gain_db, self.tilt = gain_db, tilt
        self.freq_masks, self.freq_width, self.time_masks, self.time_width = freq_masks, freq_width, time_masks, time_width
        self.mixup, self.mixup_alpha = mixup, mixup_alpha

    def wave(self, wave: torch.Tensor) -> torch.Tensor:
        """``(B, S)`` waveform blocks → the same, each at a random gain."""
        if not self.gain_db:
            return wave
        db = (torch.rand(wave.shape[0], 1, device=wave.device) * 2 - 1) * self.gain_db
        return wave * 10 ** (db / 20)

    def features(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``(B, 1, T, F)`` log-mel and ``(B,)`` labels → the augmented log-mel (a new tensor, same layout)."""
        b, _, t, f = x.shape
        if self.tilt:
            ends = (torch.rand(b, 1, 1, 1, device=x.device) * 2 - 1) * self.tilt
            x = x + ends * torch.linspace(-1, 1, f, device=x.device, dtype=x.dtype)  # (B, 1, T, F)
        floor = x.amin(dim=(1, 2, 3), keepdim=True)
        for size, width, count, axis in ((f, self.freq_width, self.freq_masks, 3), (t, self.time_width,
                                                                                   self.time_masks, 2)):
            for _ in range(count):
                span = torch.randint(0, width + 1, (b,), device=x.device)
                start = (torch.rand(b, device=x.device) * (size - span + 1)).long()
                at = torch.arange(size, device=x.device)
                hit = (at >= start[:, None]) & (at < (start + span)[:, None])  # (B, size)
                shape = (b, 1, 1, size) if axis == 3 else (b, 1, size, 1)
                x = torch.where(hit.view(shape), floor, x)
        return self._mixup(x, labels) if self.mixup else x

    def _mixup(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Each chosen item mixed with a random other item of its own class (items alone in their class: kept)."""
        b = x.shape[0]
        same = labels[:, None] == labels[None, :]
        same.fill_diagonal_(False)
        scores = torch.rand(b, b, device=x.device).masked_fill(~same, -1.0)
        partner = scores.argmax(dim=1)  # a random same-class item, or an arbitrary one where there is none
        chosen = (torch.rand(b, device=x.device) < self.mixup) & same.any(dim=1)
        lam = torch.distributions.Beta(self.mixup_alpha, self.mixup_alpha).sample((b,)).to(x.device)
        lam = torch.maximum(lam, 1 - lam).where(chosen, torch.ones_like(lam)).to(x.dtype).view(b, 1, 1, 1)
        return lam * x + (1 - lam) * x[partner]
