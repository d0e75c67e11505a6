"""What this CPU's kernels may use: its native bf16 instructions, and the environment settings that hold torch's
and oneDNN's kernels below them (``ATEN_CPU_CAPABILITY=avx2``, ``ONEDNN_MAX_CPU_ISA=AVX2``). The precision
vocabulary (:mod:`sfxrep.inference.precision`: ``auto`` for training and embedding) and the compiled embedder
(:mod:`sfxrep.inference.embedding`) read it.
"""

from __future__ import annotations

import os

import torch

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
    cap = onednn_isa_cap()
    if cap is not None and cap < BF16_ISA:
        limits.append(f"ONEDNN_MAX_CPU_ISA={ONEDNN_ISAS[cap]}")
    return limits


def onednn_isa_cap() -> int | None:
    """The index in :data:`ONEDNN_ISAS` of the ISA ``ONEDNN_MAX_CPU_ISA`` (or ``DNNL_MAX_CPU_ISA``) holds oneDNN's
    kernels to, ``None`` when it holds them to none (unset, ``ALL``, unknown)."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "")).strip().upper()
    return ONEDNN_ISAS.index(isa) if isa in ONEDNN_ISAS else None


def cpu_capability() -> str:
    """What torch's CPU kernels use here, e.g. ``AVX2``, ``AVX512 + AVX512-BF16 + AMX``, and any limit set."""
    limits = kernel_limits()
    return " + ".join([torch.backends.cpu.get_cpu_capability(), *_hardware_bf16()]) + (
        f" (limited: {', '.join(limits)})" if limits and _hardware_bf16() else "")


def cpu_has_native_bf16() -> bool:
    """True on CPUs with AVX512-BF16 or AMX tiles (bf16 matrix instructions) that torch and oneDNN may use."""
    return bool(_hardware_bf16()) and not kernel_limits()


def cpu_has_vnni() -> bool:
    """True on CPUs with VNNI (AVX512-VNNI, AVX-VNNI) or AMX, where int8 products run without 16-bit saturation
    (:mod:`sfxrep.inference.int8`), and no environment setting holds the kernels below them (a CPU made to act as
    AVX2 gets no int8, as it gets no bf16)."""
    return bool(getattr(torch.cpu, "_is_vnni_supported", lambda: False)() or torch.cpu._is_amx_tile_supported()) \
        and not env_limits()


def env_limits() -> list[str]:
    """The settings of this process's environment that hold torch's or oneDNN's kernels to a given ISA (whatever
    the hardware): ``torch.compile`` is not trusted under them (measured: its encoder's embeddings came out wrong,
    values near 1e36, with ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`` on an AMX CPU)."""
    values = ((name, os.environ.get(name, "").strip()) for name in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA",
                                                                     "DNNL_MAX_CPU_ISA"))
    return [f"{name}={value}" for name, value in values if value and value.lower() not in ("default", "all")]


def channels_last_helps(device: torch.device | str = "cpu") -> bool:
    """Whether the CNN runs faster in channels-last memory format on ``device`` (``channels_last: auto``).

    Measured (``make bench``, width-64 train step, 2 cores): on AVX512 (AMD Zen 4 with AVX512-BF16) fp32 9.35 →
    6.45 s and bf16 3.23 → 2.54 s with channels-last; on AVX2 only (Zen 3) fp32 8.10 → 8.81 s, slower at the
    paper's width. So: a CUDA GPU or a CPU whose kernels may use AVX512 → yes; an AVX2 CPU (or one held to AVX2
    by ``ATEN_CPU_CAPABILITY`` / ``ONEDNN_MAX_CPU_ISA``) → no.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return True
    cap = onednn_isa_cap()
    held = cap is not None and cap < ONEDNN_ISAS.index("AVX512_CORE")
    return device.type == "cpu" and torch.backends.cpu.get_cpu_capability().startswith("AVX512") and not held
