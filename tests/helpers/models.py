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

