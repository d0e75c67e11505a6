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

import os

import torch
from lightning.pytorch import Trainer

# oneDNN's ISA names from least to most capable (its docs, "CPU ISA hints"); bf16 arithmetic from AVX512_CORE_BF16
ONEDNN_ISAS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
               "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX10_1_512", "AVX512_CORE_AMX", "AVX10_1_512_AMX",
               "AVX512_CORE_AMX_FP16", "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2")
BF16_ISA = ONEDNN_ISAS.index("AVX512_CORE_BF16")
# ATEN_CPU_CAPABILITY values (torch's dispatch levels) that include AVX512 kernels
ATEN_AVX512 = ("avx512", "avx512_vnni", "avx512_bf16", "amx", "avx512_fp16", "avx10_2")


def _hardware_bf16() -> list[str]:
    return [name for name, query in (("AVX512-BF16", "_is_avx512_bf16_supported"), ("AMX", "_is_amx_tile_supported"))
            if getattr(torch.cpu, query, lambda: False)()]


def kernel_limits() -> list[str]:
    """The environment settings that keep torch's or oneDNN's kernels below bf16 (empty: none do)."""
    limits = []
    aten = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    if (aten and aten != "default" and aten not in ATEN_AVX512) or torch.backends.cpu.get_cpu_capability() in (
            "DEFAULT", "NO AVX", "AVX2"):
        limits.append(f"ATEN_CPU_CAPABILITY={aten or torch.backends.cpu.get_cpu_capability().lower()}")
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "")).strip().upper()
    if isa in ONEDNN_ISAS and ONEDNN_ISAS.index(isa) < BF16_ISA:
        limits.append(f"ONEDNN_MAX_CPU_ISA={isa}")
    return limits


def cpu_capability() -> str:
    """What torch's CPU kernels use here, e.g. ``AVX2``, ``AVX512 + AVX512-BF16 + AMX``, and any limit set."""
    limits = kernel_limits()
    return " + ".join([torch.backends.cpu.get_cpu_capability(), *_hardware_bf16()]) + (
        f" (limited: {', '.join(limits)})" if limits and _hardware_bf16() else "")


def cpu_has_native_bf16() -> bool:
    """True on CPUs with AVX512-BF16 or AMX tiles (bf16 matrix instructions) that torch and oneDNN may use."""
    return bool(_hardware_bf16()) and not kernel_limits()


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
