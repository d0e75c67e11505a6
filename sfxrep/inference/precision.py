"""Precision, in one vocabulary: ``auto``, ``fp32``, ``bf16``, ``fp16`` (training on a GPU without bf16) and
``int8`` (embedding only), resolved for a device here and mapped to Lightning's names once (:data:`LIGHTNING`).

What each runs when embedding (:func:`embed_at`, the one place that knows):

* ``fp32`` — as trained;
* ``bf16`` — the encoder in bf16 (the log-mel frontend stays float32): a frozen shared-BN CNN9 on the CPU runs
  with its BatchNorm folded into the convolutions and the ReLU fused (:mod:`sfxrep.inference.fused`), any other
  model under bf16 autocast;
* ``int8`` — the encoder's saved int8 calibration (:mod:`sfxrep.inference.int8`), CPU with VNNI or AMX.

Every precision hands back float32 embeddings. ``auto`` is what the device computes natively
(:func:`native_precision`): bf16 on a CUDA GPU with bf16 and on a CPU with AVX512-BF16 or AMX whose kernels may
use them, else fp32 (training on a CUDA GPU without bf16: fp16). bf16 autocast is fast only there: on other CPUs
(AVX2 only) torch emulates it and a CNN9 train step is 3–8× *slower* than fp32. For embedding, ``auto`` is int8
where the CPU has VNNI or AMX and the model's calibration passed its accuracy gate (:func:`resolve_precision`).
A CPU told ``ATEN_CPU_CAPABILITY=avx2`` or ``ONEDNN_MAX_CPU_ISA=AVX2`` acts as an AVX2 CPU and gets fp32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, get_args

import torch
from torch import nn

from sfxrep import hardware  # by module: tests stand in for the CPU's features there

if TYPE_CHECKING:
    from sfxrep.inference.int8 import Int8Encoder

EmbedFn = Callable[[torch.Tensor, str | None], torch.Tensor]  # (B, S) 44.1 kHz blocks, library → (B, D) float32

EmbedPrecision = Literal["auto", "fp32", "bf16", "int8"]
EMBED_PRECISIONS: tuple[str, ...] = get_args(EmbedPrecision)


def embedding_precision(precision: str = "auto", device: torch.device | str = "cpu") -> str:
    """The precision frozen embedding runs at: ``auto`` → ``bf16`` where ``device`` computes it natively (a CUDA
    GPU with bf16, a CPU with AVX512-BF16 or AMX whose kernels may use them), else ``fp32``; an explicit choice is
    kept. Only the encoder runs in bf16: the log-mel frontend stays float32 (:mod:`sfxrep.models.frontend`), and
    so do the embeddings handed back.

    Accuracy (``make bench``, aiSFX and sfxrep-v1 on the seven libraries of ``../shared/data``): the gate is block
    cosine ≥ 0.99 to fp32 and kNN macro-F1 within 0.5 points of fp32.

    ``int8`` runs the encoder's saved int8 calibration, on a CPU with VNNI or AMX (:mod:`sfxrep.inference.int8`).
    This function knows the hardware only; ``auto`` picks int8 for a model whose calibration passed its accuracy
    gate in :func:`resolve_precision`, which every embedding path calls.

    Raises:
        ValueError: an unknown precision, or int8 where it does not run.
    """
    if precision not in EMBED_PRECISIONS:
        raise ValueError(f"embedding precision must be one of {EMBED_PRECISIONS}, not {precision!r}")
    device = torch.device(device)
    if precision == "int8" and (device.type != "cpu" or not hardware.cpu_has_vnni()):
        raise ValueError(f"--precision int8 runs on a CPU with VNNI or AMX; this is {device.type}"
                         + (f" ({hardware.cpu_capability()}{', ' + ', '.join(hardware.env_limits()) if hardware.env_limits() else ''})"
                            if device.type == "cpu" else "") + ": use bf16 or fp32")
    return precision if precision != "auto" else native_precision(device)


def embedding_autocast(precision: str, device: torch.device | str = "cpu") -> torch.autocast:
    """The autocast context of a resolved embedding ``precision`` (``fp32``: a disabled one)."""
    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


# Lightning's name of each precision of this vocabulary (its own names pass through unchanged)
LIGHTNING = {"fp32": "32-true", "bf16": "bf16-mixed", "fp16": "16-mixed"}


def native_precision(device: torch.device | str = "cpu", fp16: bool = False) -> str:
    """What ``device`` computes natively: ``bf16`` on a CUDA GPU with bf16 or a CPU with AVX512-BF16 or AMX whose
    kernels may use them; else ``fp32``, or ``fp16`` on a CUDA GPU without bf16 where ``fp16`` is allowed
    (training with a scaled loss)."""
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16" if fp16 else "fp32"
    return "bf16" if device.type == "cpu" and hardware.cpu_has_native_bf16() else "fp32"


def lightning_precision(precision: str | int | None, accelerator: object = "auto") -> str | int | None:
    """A training precision as Lightning takes it: ``auto`` → this machine's :func:`native_precision` (a GPU when
    ``accelerator`` may use one and there is one, fp16 allowed), then :data:`LIGHTNING`; ``fp32``/``bf16``/``fp16``
    mapped; Lightning's own names (``bf16-mixed``, ``32-true`` …) and ``None`` unchanged. The result is what the
    run's config, checkpoint and results rows record."""
    if precision == "auto":
        gpu = str(accelerator) in ("auto", "gpu", "cuda") and torch.cuda.is_available()
        cpu = str(accelerator) in ("auto", "cpu")
        precision = native_precision("cuda", fp16=True) if gpu else native_precision("cpu") if cpu else "fp32"
    return LIGHTNING.get(precision, precision) if isinstance(precision, str) else precision



def resolve_precision(precision: str, model: nn.Module) -> str:
    """The precision ``model`` embeds at on its device for the choice ``precision``.

    ``auto`` is ``int8`` on a CPU with VNNI or AMX when the model's saved int8 calibration passed the accuracy
    gate recorded with it (:func:`sfxrep.inference.int8.calibration_gate`; shipped: sfxrep-v1 passes, aiSFX does
    not), else bf16 where the device computes it natively, else fp32 (:func:`embedding_precision`).
    An explicit choice is kept.

    Raises:
        ValueError: an unknown precision, or int8 where it does not run.
    """
    device = getattr(model, "device", "cpu")
    resolved = embedding_precision(precision, device)
    if precision == "auto" and torch.device(device).type == "cpu" and hardware.cpu_has_vnni():
        from sfxrep.inference.int8 import calibration_gate

        if (calibration_gate(model) or {}).get("passes"):
            return "int8"
    return resolved


def embed_at(module: nn.Module, precision: str, int8: Int8Encoder | None = None) -> EmbedFn:
    """``module.embed`` at ``precision`` (resolved: ``fp32``, ``bf16`` or ``int8``; ``int8``: the int8 encoder to
    run, default the one of the model's saved calibration).

    Raises:
        ValueError: ``int8`` for a model without an int8 calibration (:func:`sfxrep.inference.int8.int8_encoder`).
    """
    if precision == "int8":
        from sfxrep.inference.int8 import int8_encoder

        encoder = int8 if int8 is not None else int8_encoder(module)
        return lambda wave, library=None: encoder(module.features(wave), library)
    from sfxrep.inference.fused import fusable, fused_encoder

    if precision == "bf16" and fusable(module):  # a frozen shared-BN CNN9 on the CPU: BatchNorm and ReLU fused
        return lambda wave, library=None: fused_encoder(module)(module.features(wave))
    device = getattr(module, "device", "cpu")

    def run(wave: torch.Tensor, library: str | None = None) -> torch.Tensor:
        with embedding_autocast(precision, device):  # the frontend stays float32 under it
            return module.embed(wave, library).float()

    return run
