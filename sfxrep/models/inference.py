"""A frozen model's ``embed`` at a resolved embedding precision: the one place that knows what each precision runs.

* ``fp32`` — as trained;
* ``bf16`` — the encoder under bf16 autocast (the log-mel frontend stays float32);
* ``int8`` — the encoder's saved int8 calibration (:mod:`sfxrep.models.int8`), CPU with VNNI or AMX.

Every precision hands back float32 embeddings. :func:`resolve_precision` resolves ``auto`` for a model: int8 where
the CPU has VNNI or AMX and the model's calibration passed its accuracy gate, else what the hardware computes
natively (:func:`sfxrep.hardware.embedding_precision`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from sfxrep.hardware import cpu_has_vnni, embedding_autocast, embedding_precision

if TYPE_CHECKING:
    from sfxrep.models.int8 import Int8Encoder

EmbedFn = Callable[[torch.Tensor, str | None], torch.Tensor]  # (B, S) 44.1 kHz blocks, library → (B, D) float32


def resolve_precision(precision: str, model: nn.Module) -> str:
    """The precision ``model`` embeds at on its device for the choice ``precision``.

    ``auto`` is ``int8`` on a CPU with VNNI or AMX when the model's saved int8 calibration passed the accuracy
    gate recorded with it (:func:`sfxrep.models.int8.calibration_gate`; shipped: sfxrep-v1 passes, aiSFX does
    not), else bf16 where the device computes it natively, else fp32 (:func:`sfxrep.hardware.embedding_precision`).
    An explicit choice is kept.

    Raises:
        ValueError: an unknown precision, or int8 where it does not run.
    """
    device = getattr(model, "device", "cpu")
    resolved = embedding_precision(precision, device)
    if precision == "auto" and torch.device(device).type == "cpu" and cpu_has_vnni():
        from sfxrep.models.int8 import calibration_gate

        if (calibration_gate(model) or {}).get("passes"):
            return "int8"
    return resolved


def embed_at(module: nn.Module, precision: str, int8: Int8Encoder | None = None) -> EmbedFn:
    """``module.embed`` at ``precision`` (resolved: ``fp32``, ``bf16`` or ``int8``; ``int8``: the int8 encoder to
    run, default the one of the model's saved calibration).

    Raises:
        ValueError: ``int8`` for a model without an int8 calibration (:func:`sfxrep.models.int8.int8_encoder`).
    """
    if precision == "int8":
        from sfxrep.models.int8 import int8_encoder

        encoder = int8 if int8 is not None else int8_encoder(module)
        return lambda wave, library=None: encoder(module.features(wave), library)
    device = getattr(module, "device", "cpu")

    def run(wave: torch.Tensor, library: str | None = None) -> torch.Tensor:
        with embedding_autocast(precision, device):  # the frontend stays float32 under it
            return module.embed(wave, library).float()

    return run
