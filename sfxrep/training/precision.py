"""``precision: auto`` — bf16 where this machine computes it natively, fp32 elsewhere.

bf16 autocast is fast only on hardware with native bf16 arithmetic: CUDA GPUs of compute capability ≥ 8.0,
and CPUs with AVX512-BF16 or AMX. On other CPUs (AVX2 only, the usual laptop, CI box or cloud AMD core) torch
emulates it and a CNN9 train step is 3–8× *slower* than fp32 (measured numbers: README, ``make bench``). So
``auto`` resolves at start-up:

* CUDA with bf16 → ``bf16-mixed``; CUDA without → ``16-mixed``;
* a CPU with AVX512-BF16 or AMX whose kernels may use them → ``bf16-mixed``;
* any other CPU → ``32-true``.

"May use them": ``ATEN_CPU_CAPABILITY=avx2`` limits torch's own kernels to AVX2 and ``ONEDNN_MAX_CPU_ISA=AVX2``
(or any ISA below ``AVX512_CORE_BF16``) limits oneDNN's convolutions. A CPU told either acts as an AVX2 CPU, and
``auto`` gives it fp32, as it would get on one (that is how both paths are proven on one machine).

The resolved value is what the run's config, checkpoint and results rows record.
"""

from __future__ import annotations

import torch
from lightning.pytorch import Trainer

from sfxrep.hardware import cpu_has_native_bf16


def resolve_precision(precision: str | int | None, accelerator: object = "auto") -> str | int | None:
    """``auto`` → the precision for this machine (see module doc); anything else unchanged."""
    if precision != "auto":
        return precision
    if str(accelerator) in ("auto", "gpu", "cuda") and torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "bf16-mixed" if str(accelerator) in ("auto", "cpu") and cpu_has_native_bf16() else "32-true"


class SfxTrainer(Trainer):
    """Lightning's Trainer, whose ``precision`` also takes ``auto`` (the default in sfxrep's configs).

    Args:
        precision: ``auto`` (see :func:`resolve_precision`) or any precision Lightning takes.
        accelerator: as Lightning's; ``auto`` picks a GPU when there is one.
        **kwargs: every other argument of :class:`lightning.pytorch.Trainer`.
    """

    def __init__(self, *, accelerator: str = "auto", precision: str | int | None = "auto", **kwargs) -> None:
        super().__init__(accelerator=accelerator, precision=resolve_precision(precision, accelerator), **kwargs)
