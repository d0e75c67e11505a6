"""``make bench``: throughput figures on this machine (printed, never asserted).

* train step: 64 waveform blocks → LogMel → CNN9 → head → CE → backward → Adam, fp32 vs bf16 autocast +
  channels-last, reported as input frames per second (64 × 100 frames per step);
* frontend: 64 blocks of 2.3 s through the torch.stft and nnAudio backends;
* data: class-balanced batches per second from the demo DataModule (decode cache → crops → collate);
* embedding: evaluation blocks per second through the frozen encoder.

    python -m benchmarks.bench [--widths 16 64] [--steps 5] [--threads 2] [--libraries YAML]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from sfxrep.blocks import block_samples
from sfxrep.losses import Objective
from sfxrep.models.cnn9 import CNN9
from sfxrep.models.frontend import LogMel
from sfxrep.models.module import SfxModule

BATCH, FRAMES = 64, 100


def timed(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, float]:
    """Median and spread (max − min) of ``repeats`` calls in seconds, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times) - min(times)


def train_step_bench(width: int, fast: bool, steps: int) -> tuple[float, float]:
    torch.manual_seed(0)
    module = SfxModule(CNN9(width), {"lib": 16}, LogMel(), Objective(), channels_last=fast).train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    wave = torch.randn(BATCH, block_samples(FRAMES))
    labels = torch.arange(16).repeat_interleave(4)

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast):
            embedding, logits = module(wave, "lib")
            loss = module.objective(logits, labels, embedding, module.heads["lib"].class_weights)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return timed(step, steps)


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--libraries", default="experiments/libraries/demo.yaml", help="data pipeline input")
    parser.add_argument("--work-dir", default="runs", help="where the data benchmark prepares its cache")
    parser.add_argument("--batches", type=int, default=30, help="batches timed in the data benchmark")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {BATCH} x {FRAMES} frames x 96 mels\n")

    print("train step (waveform → loss → Adam step)")
    print(f"{'width':>5}  {'params':>8}  {'mode':<20} {'s/step':>8} {'±':>6} {'frames/s':>9}  speed-up")
    for width in args.widths:
        params = sum(p.numel() for p in CNN9(width).parameters())
        base = None
        for fast in (False, True):
            median, spread = train_step_bench(width, fast, args.steps)
            base = base or median
            mode = "bf16 + channels_last" if fast else "fp32"
            print(f"{width:>5}  {params / 1e6:>7.2f}M  {mode:<20} {median:>8.3f} {spread:>6.3f} "
                  f"{BATCH * FRAMES / median:>9.0f}  {base / median:.2f}x")

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


if __name__ == "__main__":
    main()
