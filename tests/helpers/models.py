"""A tiny sfxrep model (width 4) for tests that embed."""

from __future__ import annotations

import torch

from sfxrep.models.cnn9 import CNN9
from sfxrep.models.frontend import LogMel
from sfxrep.models.losses import Objective
from sfxrep.models.module import SfxModule


def tiny_model(seed: int = 0) -> SfxModule:
    torch.manual_seed(seed)
    return SfxModule(CNN9(4), {"lib": 3}, LogMel(), Objective()).eval()


def trained_like(width: int = 8, seed: int = 0) -> CNN9:
    """A CNN9 with BatchNorm statistics and affine terms away from their defaults (what training leaves)."""
    torch.manual_seed(seed)
    encoder = CNN9(width).eval()
    for m in encoder.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5), m.bias.data.uniform_(-0.2, 0.2)
    return encoder
