"""``make bench``: throughput figures on this machine (printed, never asserted), then one JSON line.

* machine: torch's CPU capability (AVX2, AVX512 …, with AVX512-BF16 / AMX when present), what ``precision: auto``
  resolves to here, and the peak FLOP/s of the cores for fp32 and bf16 with its derivation (:func:`cpu_peak`);
* train step: 64 waveform blocks → LogMel → CNN9 → head → CE → backward → Adam in fp32, fp32 + channels-last, bf16
  autocast and bf16 + channels-last, as s/step, input frames/s, achieved GFLOP/s (3 × forward MACs × 2) and % of peak;
* file embedding: sfxrep's path (at the precision ``auto`` picks, fp32, bf16 …) vs the authors' aiSFX pipeline on the
  same real files (``--files``); each stage alone (decode, the model) and which one bounds the pipeline; whole
  processes (``sfxrep embed`` against the authors' pipeline as a script, start-up included);
* bf16 accuracy gate: block cosine and kNN macro-F1 of bf16 against fp32 embeddings on the seven libraries
  (:mod:`benchmarks.precision_bench`);
* index at scale: ``sfxrep index`` files/s and peak memory at 1k, 10k, 100k files, with the time of a 500k-file
  library projected (:mod:`benchmarks.scale_bench`);
* frontend: 64 blocks of 2.3 s through the torch.stft and nnAudio backends;
* data: class-balanced batches per second from the demo DataModule (decode cache → crops → collate), and
  the share of a real training step spent waiting for data with 0, 2 and 4 loader workers;
* embedding: evaluation blocks per second through the frozen encoder;
* audit: ``sfxrep audit`` against damage injected into a copy of real libraries (:mod:`benchmarks.audit_bench`);
* index: ``sfxrep index`` files/s and audio-seconds/s on the same real files, MB on disk; search latency
  p50 / p99 at 10 k and 100 k vectors, exact and HNSW (:mod:`benchmarks.index_bench`).

    python -m benchmarks.bench [--widths 16 64] [--steps 5] [--threads 2] [--libraries YAML]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from sfxrep.audio.blocks import block_samples
from sfxrep.libraries.spec import load_libraries
from sfxrep.models.cnn9 import CNN9
from sfxrep.models.frontend import LogMel
from sfxrep.models.losses import Objective
from sfxrep.models.module import SfxModule

BATCH, FRAMES = 64, 100


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1,
          sync: Callable[[], object] = lambda: None) -> tuple[float, float]:
    """Median and spread (max − min) of ``repeats`` calls in seconds, after ``warmup`` calls; ``sync`` waits for
    the device around each timed call (a GPU runs asynchronously)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times) - min(times)


MODES = {"fp32": (False, False), "fp32 + channels_last": (False, True), "bf16": (True, False),
         "bf16 + channels_last": (True, True)}
# FLOP per cycle per core of the widest unit of each kind. Intel server cores: AMX TMUL runs one TDPBF16PS (a 16×32
# by 32×16 bf16 tile product: 8,192 MAC) every 16 cycles, 512 MAC = 1024 FLOP per cycle (Intel: "1,024 BF16
# operations per cycle"; this bench counted 2,048 until 2026-12-06, which halved every AMX share it printed);
# AVX512-BF16 VDPBF16PS on two ports (2 × 16 lanes × 2 MAC = 64 MAC = 128 FLOP); AVX512 fp32 FMA on two ports (2 × 16 = 32 MAC = 64 FLOP). AMD Zen 4 (family 0x19) runs 512-bit instructions
# on its two 256-bit FMA pipes: half those (fp32 32, bf16 64); Zen 5 (0x1a) has full 512-bit pipes. AVX2 FMA on two
# ports: 2 × 8 = 16 MAC = 32 FLOP.
FLOP_PER_CYCLE = {"AMX": 1024, "AVX512-BF16": 128, "AVX512": 64, "AVX2": 32}


def gemm_tflops(dtype: torch.dtype, n: int = 2048, reps: int = 3) -> float:
    """TFLOP/s of an ``n``×``n`` by ``n``×``n`` matrix product in ``dtype`` on these cores: what the best kernel
    reaches here (a virtual machine's cores may reach far less than the units' peak)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b  # warm-up
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e12


def cpu_ghz() -> tuple[float, str]:
    """The cores' nominal clock in GHz and where it was read (the model name's "@ x.xxGHz", else cpufreq's maximum,
    else /proc/cpuinfo's current MHz)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    named = re.search(r"model name\s*:.*@\s*([\d.]+)\s*GHz", info)
    if named:
        return float(named.group(1)), "model name"
    top = Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if top.is_file():
        return int(top.read_text()) / 1e6, "cpufreq max"
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", info)
    return (float(mhz.group(1)) / 1e3, "cpu MHz") if mhz else (math.nan, "unknown")


def cpu_peak(threads: int, cpuinfo: str | None = None) -> dict:
    """The peak FLOP/s of ``threads`` cores for fp32 and for bf16, with the derivation printed by ``make bench``
    (``cpuinfo``: the text of /proc/cpuinfo, read when not given)."""
    from sfxrep.hardware import _hardware_bf16, kernel_limits

    ghz, source = cpu_ghz()
    isa = torch.backends.cpu.get_cpu_capability()
    if cpuinfo is None:
        cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    family = re.search(r"cpu family\s*:\s*(\d+)", cpuinfo)
    native = [] if kernel_limits() else _hardware_bf16()
    bf16_unit = "AMX" if "AMX" in native else "AVX512-BF16" if native else None
    # family 0x19 is Zen 3 and Zen 4; only Zen 4 has 512-bit instructions, run on two 256-bit pipes. Zen 3 (AVX2)
    # is a plain AVX2 core and gets no note.
    halved = ("AuthenticAMD" in cpuinfo and family is not None and int(family.group(1)) == 0x19
              and ("AVX512" in isa or bf16_unit == "AVX512-BF16"))
    fp32 = FLOP_PER_CYCLE["AVX512" if "AVX512" in isa else "AVX2"] // (2 if halved and "AVX512" in isa else 1)
    bf16 = FLOP_PER_CYCLE[bf16_unit] // (2 if halved and bf16_unit == "AVX512-BF16" else 1) if bf16_unit else None
    peak = {"ghz": ghz, "ghz_from": source, "fp32_tflops": threads * ghz * fp32 / 1e3,
            "bf16_tflops": threads * ghz * bf16 / 1e3 if bf16 else None, "bf16_unit": bf16_unit,
            "derivation": f"{threads} cores × {ghz:.2f} GHz ({source}) × {fp32} fp32 FLOP/cycle"
                          + (" (AMD Zen 4: 512-bit ops on 256-bit pipes)" if halved else "")
                          + (f"; × {bf16} bf16 FLOP/cycle ({bf16_unit})" if bf16 else "; no native bf16")}
    return peak


def cnn9_macs(width: int, frames: int = FRAMES, mels: int = 96) -> int:
    """Multiply-accumulates of one CNN9 forward pass on one block (paper width 64: ≈ 1.93 G)."""
    macs, channels, t, f = 0, 1, frames, mels
    for block, (pt, pf) in enumerate(CNN9.pool_sizes):
        out = width * 2**block
        macs += 9 * t * f * (channels * out + out * out)  # two 3×3 convolutions
        channels, t, f = out, t // pt, f // pf
    return macs


def speedup_bound(reference_files_per_s: float, blocks_per_file: float, peak: dict, ratio: float = 3.0,
                  width: int = 64) -> dict:
    """What ``ratio`` × a reference pipeline's files/s asks of the encoder alone, against the cores' peak: the
    blocks/s, the TFLOP/s (2 × CNN9's MACs per block, at ``width``; paper: 64) and its share of the fp32 and bf16
    peaks (:func:`cpu_peak`). Above 100 % of a precision's peak, no kernel of that precision reaches the goal here,
    even with decoding and the frontend free."""
    blocks = ratio * reference_files_per_s * blocks_per_file
    tflops = blocks * 2 * cnn9_macs(width) / 1e12
    return {"ratio": ratio, "blocks_per_s": round(blocks, 1), "tflops": round(tflops, 4),
            **{f"{p}_peak_share": round(tflops / peak[f"{p}_tflops"], 3) if peak.get(f"{p}_tflops") else None
               for p in ("fp32", "bf16")}}


def train_step_parts(width: int, mode: str) -> tuple[SfxModule, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    """What one benchmarked train step needs: a seeded model (16 classes) in ``mode``'s layout, Adam, a batch of
    ``BATCH`` random 2.3 s waveforms and their 16 × 4 labels."""
    torch.manual_seed(0)
    module = SfxModule(CNN9(width), {"lib": 16}, LogMel(), Objective(), channels_last=MODES[mode][1]).train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    return module, optimizer, torch.randn(BATCH, block_samples(FRAMES)), torch.arange(16).repeat_interleave(4)


def train_step_bench(width: int, mode: str, steps: int, warmup: int = 2) -> tuple[float, float]:
    """Median s/step and spread of ``steps`` train steps after ``warmup`` (malloc settles on reusing its freed chunks
    within a few steps, sfxrep/allocator.py)."""
    bf16 = MODES[mode][0]
    module, optimizer, wave, labels = train_step_parts(width, mode)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            embedding, logits = module(wave, "lib")
            loss = module.objective(logits, labels, embedding, module.heads["lib"].class_weights)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return timed(step, steps, warmup)


def paper_order(block, x: torch.Tensor, pool: tuple[int, int], library: str | None = None) -> torch.Tensor:
    """A ConvBlock in the paper's literal order, ReLU before the pool (sfxrep's ConvBlock pools first; same
    result, tests/models/test_cnn9.py)."""
    x = torch.relu_(block.bn1(block.conv1(x), library))
    x = torch.relu_(block.bn2(block.conv2(x), library))
    return torch.nn.functional.max_pool2d(x, kernel_size=pool)


# What each change of issue 35 gives, cumulatively: (label, keep freed memory, pool before the second ReLU)
STEP_CHANGES = (("before: system malloc, ReLU → pool", False, False), ("+ freed memory kept", True, False),
                ("+ pool before the second ReLU", True, True))


def step_change_bench(width: int, mode: str, steps: int, retain: bool, pool_first: bool) -> float:
    """Median s/step of one :data:`STEP_CHANGES` row, in a process of its own (malloc's settings are process-wide
    and cannot be undone)."""
    import os
    import subprocess
    import sys

    code = ("import json, torch\n"
            "from benchmarks import bench\n"
            "from sfxrep.allocator import retain_freed_memory\n"
            "from sfxrep.models.cnn9 import ConvBlock\n"
            f"torch.set_num_threads({torch.get_num_threads()})\n"
            f"if {retain}: assert retain_freed_memory() == 'retained'\n"
            f"if not {pool_first}: ConvBlock.forward = bench.paper_order\n"
            f"print(json.dumps(bench.train_step_bench({width}, {mode!r}, {steps})[0]))\n")
    root = str(Path(__file__).resolve().parents[1])  # benchmarks/ importable from any working folder
    env = {**os.environ, "SFXREP_RETAIN_MEMORY": "1" if retain else "0",
           "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(done.stdout.split()[-1])


def data_bench(batches: int, libraries: str, work_dir: str) -> float:
    from sfxrep.data.datamodule import SfxDataModule

    data = SfxDataModule(libraries=libraries, work_dir=f"{work_dir}/prepared", cache_dir=f"{work_dir}/cache").ready()
    loader = data.train_dataloader()
    start, n = time.perf_counter(), 0
    while n < batches:
        for _ in loader:
            n += 1
            if n == batches:
                break
    return n / (time.perf_counter() - start)


def data_wait_batches(batches: int, step_s: dict[str, float], width: int, libraries: int = 1,
                      budget_s: float = 60.0, least: int = 4) -> int:
    """Batches per library of each data-wait fit: ``batches``, fewer where the width-``width`` step timed above is
    slow, so that a fit of ``libraries`` libraries takes about ``budget_s`` seconds (never fewer than ``least`` a
    library). On 2 AVX2 cores a width-64 fp32 step takes about 7 s, and 30 batches of each of the demo's three
    libraries took 10.5 minutes a worker count (make bench would have run about 33 minutes)."""
    timed_here = [s for mode, s in step_s.items() if mode.startswith(f"w{width} ")]
    if not timed_here:
        return batches
    return max(least, min(batches, int(budget_s / (min(timed_here) * libraries))))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--modes", nargs="+", choices=tuple(MODES), default=list(MODES),
                        help="train-step modes to time (make bench: the channels-last ones, each precision's fastest)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--libraries", default="experiments/libraries/demo.yaml", help="data pipeline input")
    parser.add_argument("--work-dir", default="runs", help="where the data benchmark prepares its cache")
    parser.add_argument("--batches", type=int, default=30, help="batches timed in the data benchmark")
    parser.add_argument("--files", type=int, default=60, help="real files of ../shared/data for the embedding "
                                                              "benchmark (0: skip it)")
    parser.add_argument("--shared", default="../shared/data", help="where the real files are")
    parser.add_argument("--embed-modes", choices=("all", "batched"), default="all",
                        help="all: also one file at a time (the path before batching), tail and compiled")
    parser.add_argument("--data-wait-workers", type=int, nargs="*", default=[0, 2, 4],
                        help="DataLoader worker counts of the data-wait benchmark (none: skip it)")
    parser.add_argument("--index-sizes", type=int, nargs="*", default=[10_000, 100_000],
                        help="index sizes of the search-latency benchmark (none: skip it)")
    parser.add_argument("--audit-libraries", nargs="*", default=["dirt_oneshots", "redeclipse_sounds",
                                                                  "retro512_junkala", "lmms_samples"],
                        help="libraries of --shared for the audit benchmark with injected damage (none: skip it)")
    parser.add_argument("--whole-process", action=argparse.BooleanOptionalAction, default=True,
                        help="also time whole processes: sfxrep embed against the authors' pipeline as a script")
    parser.add_argument("--gate-models", nargs="*", default=["aisfx", "sfxrep-v1"],
                        help="models of the bf16 accuracy gate on --gate-libraries (none: skip it)")
    parser.add_argument("--gate-libraries", default="experiments/libraries/shared.yaml")
    parser.add_argument("--int8-files", type=int, default=1500,
                        help="real files of the int8 encoder benchmark (0: skip it)")
    parser.add_argument("--scale-sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000],
                        help="files of the index scale benchmark (none: skip it)")
    parser.add_argument("--one-call-models", nargs="*", default=["aisfx", "sfxrep-v1"],
                        help="models of the one-call-per-file (api.embed_file) against batched (api.embed_paths) figure")
    parser.add_argument("--step-changes", action=argparse.BooleanOptionalAction, default=True,
                        help="time the train step before and after each speed change (a process each)")
    parser.add_argument("--profile-width", type=int, default=64,
                        help="the train step whose phases (frontend, forward, backward, optimizer) are printed (0: none)")
    parser.add_argument("--bf16-max-width", type=int, default=None,
                        help="time bf16 only up to this width (default: every width where bf16 is native, else 16: "
                             "emulated bf16 at width 64 takes minutes a step)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from sfxrep.allocator import retain_freed_memory

    allocator = retain_freed_memory()  # as `sfxrep train` runs (sfxrep/allocator.py)
    from sfxrep.hardware import cpu_capability
    from sfxrep.inference.precision import lightning_precision as resolve_precision

    if args.bf16_max_width is None:
        args.bf16_max_width = 1 << 30 if resolve_precision("auto", "cpu") == "bf16-mixed" else 16

    summary: dict = {"cpu_capability": cpu_capability(), "threads": args.threads, "torch": torch.__version__,
                     "precision_auto": resolve_precision("auto", "cpu"), "freed_memory": allocator}
    peak = summary["peak"] = cpu_peak(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, CPU capability {summary['cpu_capability']}, "
          f"precision auto → {summary['precision_auto']}; batch {BATCH} x {FRAMES} frames x 96 mels; "
          f"freed memory: {allocator}\n")

    print(f"peak: {peak['derivation']} = {peak['fp32_tflops']:.2f} TFLOP/s fp32"
          + (f", {peak['bf16_tflops']:.2f} TFLOP/s bf16" if peak["bf16_tflops"] else ""))
    gemm = summary["gemm_tflops"] = {"fp32": round(gemm_tflops(torch.float32), 3)}
    if peak["bf16_tflops"]:
        gemm["bf16"] = round(gemm_tflops(torch.bfloat16), 3)
    print("the best kernel here, a 2048³ matrix product: " + ", ".join(
        f"{p} {v:.2f} TFLOP/s ({100 * v / peak[f'{p}_tflops']:.0f} % of the peak)" for p, v in gemm.items()))
    print("\ntrain step (waveform → loss → Adam step; % of the peak of its precision)")
    print(f"{'width':>5}  {'params':>8}  {'mode':<20} {'s/step':>8} {'±':>6} {'frames/s':>9} {'GFLOP/s':>8}  vs fp32"
          "  % peak  % of the GEMM")
    summary["train_step_s"], summary["gflops_achieved"] = {}, {}
    for width in args.widths:
        params = sum(p.numel() for p in CNN9(width).parameters())
        base = None
        for mode in args.modes:
            if MODES[mode][0] and width > args.bf16_max_width:
                print(f"{width:>5}  {params / 1e6:>7.2f}M  {mode:<20} skipped (--bf16-max-width {args.bf16_max_width})")
                continue
            median, spread = train_step_bench(width, mode, args.steps)
            base = base or median
            gflops = 3 * 2 * cnn9_macs(width) * BATCH / median / 1e9
            summary["train_step_s"][f"w{width} {mode}"] = round(median, 4)
            summary["gflops_achieved"][f"w{width} {mode}"] = round(gflops, 1)
            top = peak["bf16_tflops"] if MODES[mode][0] else peak["fp32_tflops"]
            share = f"{100 * gflops / 1e3 / top:6.1f} %" if top and not math.isnan(top) else "     —"
            best = gemm.get("bf16" if MODES[mode][0] else "fp32")
            of_gemm = f"{100 * gflops / 1e3 / best:9.0f} %" if best else "         —"
            print(f"{width:>5}  {params / 1e6:>7.2f}M  {mode:<20} {median:>8.3f} {spread:>6.3f} "
                  f"{BATCH * FRAMES / median:>9.0f} {gflops:>8.1f}  {base / median:.2f}x  {share}  {of_gemm}")

    if args.step_changes and args.profile_width:
        mode = "bf16 + channels_last" if resolve_precision("auto", "cpu") == "bf16-mixed" else "fp32 + channels_last"
        top = peak["bf16_tflops"] if MODES[mode][0] else peak["fp32_tflops"]
        # three processes of (2 + steps) steps each: at the profile width where its step is quick, else the
        # narrowest width timed (a width-64 fp32 step takes ~7 s on 2 AVX2 cores: make bench must stay < 10 min)
        quick = summary["train_step_s"].get(f"w{args.profile_width} {mode}", math.inf) < 2.0
        width = args.profile_width if quick else min(args.widths)
        print(f"\nwhat each change gives, width {width} {mode} (cumulative; a process each)")
        summary["train_step_changes"] = {"width": width}
        for label, retain, pool_first in STEP_CHANGES:
            median = step_change_bench(width, mode, args.steps, retain, pool_first)
            gflops = 3 * 2 * cnn9_macs(width) * BATCH / median / 1e9
            summary["train_step_changes"][label] = round(median, 4)
            share = f"{100 * gflops / 1e3 / top:5.1f} % of the peak" if top and not math.isnan(top) else ""
            print(f"  {label:<40} {median:7.3f} s/step  {gflops:7.1f} GFLOP/s  {share}")

    if args.profile_width:
        from benchmarks.profile_train import phases

        mode = "bf16 + channels_last" if resolve_precision("auto", "cpu") == "bf16-mixed" else "fp32 + channels_last"
        times, prof = phases(args.profile_width, mode, 2)
        total = sum(times.values())
        ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:6]
        own = sum(e.self_cpu_time_total for e in prof.key_averages())
        summary["train_step_profile"] = {"width": args.profile_width, "mode": mode,
                                         "phases_s": {k: round(v, 4) for k, v in times.items()},
                                         "top_ops_share": {e.key: round(e.self_cpu_time_total / own, 3) for e in ops}}
        print(f"\nwhere a width-{args.profile_width} {mode} step goes ({total:.2f} s profiled; "
              "python -m benchmarks.profile_train for the whole table)")
        print("  " + ", ".join(f"{k} {100 * v / total:.0f} %" for k, v in times.items()))
        print("  operators by self time: " + ", ".join(f"{e.key.removeprefix('aten::')} {100 * e.self_cpu_time_total / own:.0f} %"
                                                       for e in ops))

    print("\nfrontend (64 blocks of 2.30 s → log-mel)")
    wave = torch.randn(BATCH, block_samples(FRAMES))
    for backend in ("torch", "nnaudio"):
        frontend = LogMel(backend)
        median, spread = timed(lambda frontend=frontend: frontend(wave), 5)
        print(f"  {backend:<8} {median * 1e3:7.1f} ms ± {spread * 1e3:5.1f}")

    print("\nembedding (frozen encoder, eval mode)")
    for width in args.widths:
        module = SfxModule(CNN9(width), {"lib": 2}).eval()
        with torch.no_grad():
            median, _ = timed(lambda module=module: module.embed(wave), 3)
        print(f"  width {width:<3} {BATCH / median:8.0f} blocks/s")

    print("\ndata pipeline (demo libraries, class-balanced batches, num_workers=0)")
    print(f"  {data_bench(args.batches, args.libraries, args.work_dir):.1f} batches/s")
    if args.data_wait_workers:
        from benchmarks.data_wait import data_wait_fraction

        width = max(args.widths)
        batches = data_wait_batches(args.batches, summary["train_step_s"], width, len(load_libraries(args.libraries).libraries))
        print(f"\ndata wait during training (a real fit of --libraries at width {width}, {batches} batches a library "
              "per worker count; share of step time spent waiting for batches)")
        summary["data_wait_fraction"], summary["data_wait_batches"] = {}, batches
        for workers in args.data_wait_workers:
            fraction = data_wait_fraction(workers, args.libraries, batches, f"{args.work_dir}", width=width)
            summary["data_wait_fraction"][str(workers)] = round(fraction, 4)
            print(f"  num_workers {workers}: {100 * fraction:5.1f} %")

    shared = Path(args.shared)
    if args.files and shared.is_dir():
        from benchmarks.embed_bench import (
            AUTO,
            SFXREP_MODES,
            aisfx_files_per_s,
            one_call_vs_batched,
            sample_files,
            sfxrep_files_per_s,
            stage_rates,
            whole_process,
        )
        from sfxrep.hardware import cpu_has_native_bf16, cpu_has_vnni
        from sfxrep.inference.precision import resolve_precision
        from sfxrep.inference.registry import load_model

        files = sample_files(args.files, shared)
        auto = resolve_precision("auto", load_model("aisfx"))  # int8 only if its calibration passed the gate
        print(f"\nfile embedding, released model, {len(files)} real files of ≥ 3 s of {shared} (auto → {auto})")
        summary["embed_precision_auto"] = auto
        summary["embed_modes_files_per_s"] = {}
        for mode in (AUTO, *SFXREP_MODES) if args.embed_modes == "all" else (AUTO,):
            if "bf16" in mode and not cpu_has_native_bf16():
                print(f"  sfxrep {mode:<34} skipped (bf16 is emulated on this CPU)")
                continue
            if "int8" in mode and not cpu_has_vnni():
                print(f"  sfxrep {mode:<34} skipped (no VNNI or AMX on this CPU)")
                continue
            rate = round(sfxrep_files_per_s(files, mode), 2)
            summary["embed_modes_files_per_s"][mode] = rate
            print(f"  sfxrep {mode + (f' ({auto})' if mode == AUTO else ''):<34} {rate:7.2f} files/s")
        summary["embed_files_per_s"] = summary["embed_modes_files_per_s"][AUTO]
        stages = summary["embed_stages_files_per_s"] = {k: round(v, 2) for k, v in stage_rates(files).items()}
        bound = min(("decode", f"model {auto}"), key=lambda k: stages.get(k, float("inf")))  # the default path's stages
        print(f"  each stage alone ({stages['blocks_per_file']:.1f} blocks per file): "
              + ", ".join(f"{k} {v:.1f} files/s" for k, v in stages.items() if k != "blocks_per_file")
              + f" → bound by {bound}" + (" (decoder processes would not help)" if bound.startswith("model") else
                                         " (decoder processes help: FileEmbedder(decode_workers=N))"))
        summary["one_call"] = []
        for name in args.one_call_models:
            figures = one_call_vs_batched(files, name)
            summary["one_call"].append(figures)
            print(f"  {name} ({figures['precision']}): api.embed_file once per file {figures['one_call_files_per_s']:.1f} "
                  f"files/s, api.embed_paths {figures['batched_files_per_s']:.1f} files/s → "
                  f"{100 * figures['ratio']:.0f} % of batched")
        try:
            rate, backend = aisfx_files_per_s(files)
            summary["aisfx_files_per_s"], summary["aisfx_spectrogram"] = round(rate, 2), backend
            print(f"  aiSFX pipeline ({backend:<8}){'':<19} {rate:7.2f} files/s  → sfxrep (batched) is "
                  f"{summary['embed_files_per_s'] / rate:.2f}x")
            goal = summary["speedup_bound"] = speedup_bound(rate, stages["blocks_per_file"], peak)
            print(f"  3x that asks the encoder alone for {goal['blocks_per_s']:.0f} blocks/s = "
                  f"{1e3 * goal['tflops']:.0f} GFLOP/s: " + ", ".join(
                      f"{100 * goal[f'{p}_peak_share']:.0f} % of the {p} peak" for p in ("fp32", "bf16")
                      if goal[f"{p}_peak_share"]) + " (over 100 %: out of that precision's reach here)")
        except ImportError as err:
            summary["aisfx_files_per_s"] = None
            print(f"  aiSFX pipeline: not available ({err})")
        if args.whole_process and summary["aisfx_files_per_s"]:
            whole = summary["embed_whole_process_files_per_s"] = {k: v and round(v, 2) for k, v in
                                                                  whole_process(files).items()}
            reference = next((v for k, v in whole.items() if k.startswith("aiSFX")), None)
            print("  whole processes (start-up and model loading included): " + ", ".join(
                f"{k} {v:.2f} files/s" + (f" ({v / reference:.2f}x)" if reference and not k.startswith("aiSFX")
                                          else "") for k, v in whole.items() if v))
        from benchmarks.index_bench import indexing_rate

        summary["index"] = indexing_rate(files)
        print(f"\nindexing (sfxrep index, released model, same files)\n  {summary['index']['files_per_s']:.2f} files/s, "
              f"{summary['index']['audio_s_per_s']:.0f} s of audio per s, "
              f"{summary['index']['mb_per_1k_files']:.2f} MB on disk per 1000 files")
    if args.index_sizes:
        from benchmarks.index_bench import query_latency

        print("\nsearch latency, one 512-d query at a time (synthetic clustered vectors), top 10")
        print(f"  {'vectors':>8} {'method':<6} {'p50 ms':>8} {'p99 ms':>8} {'build s':>8} {'data MB':>8} {'graph MB':>8}")
        summary["search"] = []
        for n in args.index_sizes:
            figures = query_latency(n)
            summary["search"].append(figures)
            for method in ("exact", "hnsw"):
                if method in figures:
                    f = figures[method]
                    print(f"  {n:>8} {method:<6} {f['p50_ms']:>8.2f} {f['p99_ms']:>8.2f} {f['build_s']:>8.1f} "
                          f"{figures['data_mb']:>8.1f} {figures['hnsw_mb'] if method == 'hnsw' else 0:>8.1f}")
    if args.gate_models and shared.is_dir():
        from benchmarks.precision_bench import gate
        from benchmarks.precision_bench import report as gate_report

        summary["precision_gate"] = []
        from sfxrep.hardware import cpu_has_vnni

        candidates = ["bf16", *(["int8"] if cpu_has_vnni() else [])]
        for model, candidate in ((m, c) for c in candidates for m in args.gate_models):
            result = gate(model, args.gate_libraries, candidate=candidate)
            gate_report(result)
            summary["precision_gate"].append({k: v for k, v in result.items() if k != "f1"})
    if args.int8_files and shared.is_dir():
        from sfxrep.hardware import cpu_has_vnni

        if cpu_has_vnni():
            from benchmarks.int8_bench import int8_bench, real_files
            from benchmarks.int8_bench import report as int8_report

            print("\nint8 encoder against fp32 and bf16 (calibrated on real blocks, scored on held-out ones)")
            summary["int8"] = int8_bench("aisfx", real_files(str(shared), args.int8_files), [(), (0, 1)])
            int8_report(summary["int8"])
        else:
            print("\nint8 encoder: skipped (no VNNI or AMX on this CPU)")
    if args.scale_sizes and shared.is_dir():
        from benchmarks.scale_bench import report as scale_report
        from benchmarks.scale_bench import scale_bench

        print("\nsfxrep index at scale (hard-linked copies of real files, logmel model; one process per size)")
        summary["index_scale"] = scale_report(scale_bench(shared, args.scale_sizes), summary.get("embed_files_per_s"))
    if args.audit_libraries and shared.is_dir():
        from benchmarks.audit_bench import audit_bench, report

        print("\nsfxrep audit on a damaged copy (5 % labels flipped, 20 near-copies; benchmarks/audit_bench.py)")
        summary["audit"] = audit_bench(shared, args.audit_libraries)
        report(summary["audit"])
    print("\n" + json.dumps(summary))


if __name__ == "__main__":
    main()
