"""A frozen model's ``embed`` at a resolved embedding precision: the one place that knows what each precision runs.

* ``fp32`` — as trained;
* ``bf16`` — the encoder under bf16 autocast (the log-mel frontend stays float32);
* ``int8`` — the encoder's saved int8 calibration (:mod:`sfxrep.models.int8`), CPU with VNNI or AMX.

Every precision hands back float32 embeddings. :func:`sfxrep.hardware.embedding_precision` resolves ``auto``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from sfxrep.hardware import embedding_autocast

EmbedFn = Callable[[torch.Tensor, str | None], torch.Tensor]  # (B, S) 44.1 kHz blocks, library → (B, D) float32


def embed_at(module: nn.Module, precision: str) -> EmbedFn:
    """``module.embed`` at ``precision`` (resolved: ``fp32``, ``bf16`` or ``int8``).

    Raises:
        ValueError: ``int8`` for a model without an int8 calibration (:func:`sfxrep.models.int8.int8_encoder`).
    """
    if precision == "int8":
        from sfxrep.models.int8 import int8_encoder

        encoder = int8_encoder(module)
        return lambda wave, library=None: encoder(module.features(wave), library)
    device = getattr(module, "device", "cpu")

    def run(wave: torch.Tensor, library: str | None = None) -> torch.Tensor:
        with embedding_autocast(precision, device):  # the frontend stays float32 under it
            return module.embed(wave, library).float()

    return run
