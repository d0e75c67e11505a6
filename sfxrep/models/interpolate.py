"""Weight-space ensembles of a fine-tuned encoder and the encoder it started from (WiSE-FT).

Fine-tuning the released model on new taxonomies forgets part of what it knew (MODEL_CARD.md: plain fine-tuning
lowers the mean kNN macro-F1 by 10 points). Wortsman et al. (CVPR 2022, "Robust fine-tuning of zero-shot
models") show that the straight line between the start and the end of a fine-tuning run holds models better
than both ends: θ(α) = (1 − α)·θ_start + α·θ_tuned, one network of the same size and speed, with α chosen on
held-out data. sfxrep picks α on the libraries' validation splits by kNN macro-F1
(:func:`sfxrep.evaluate.wise.choose_alpha`, ``sfxrep release --interpolate auto``), never on their test splits.
"""

from __future__ import annotations

import copy

import torch

from sfxrep.models.net import SfxNet


def interpolate(start: SfxNet, tuned: SfxNet, alpha: float) -> SfxNet:
    """The model whose encoder is ``(1 − alpha)·start + alpha·tuned`` and whose heads are ``tuned``'s.

    Args:
        start: the model fine-tuning started from (e.g. aiSFX); only its encoder is used.
        tuned: the fine-tuned model (same encoder architecture); its heads and frontend are kept.
        alpha: 0 gives ``start``'s encoder, 1 ``tuned``'s; values between are the weight-space ensemble.

    Every floating-point encoder tensor (weights and BatchNorm statistics) is interpolated; integer buffers
    (``num_batches_tracked``) are ``tuned``'s.

    Raises:
        ValueError: ``alpha`` outside [0, 1], or the two encoders differ in their tensors' names or shapes.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    a, b = start.encoder.state_dict(), tuned.encoder.state_dict()
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        differ = sorted(k for k in a.keys() | b.keys() if k not in a or k not in b or a[k].shape != b[k].shape)
        raise ValueError(f"the encoders differ (width or BatchNorm mode): {differ[:3]}")
    mixed = {k: torch.lerp(a[k].float(), b[k].float(), alpha).to(b[k].dtype) if b[k].is_floating_point() else b[k]
             for k in b}
    out = copy.deepcopy(tuned)
    out.encoder.load_state_dict(mixed)
    return out.eval()
