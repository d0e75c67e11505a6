"""Where a CNN9 training step's time goes on this CPU: phases (frontend, forward, backward, optimizer) and the
operators that take the most self time, by ``torch.profiler``.

    python -m benchmarks.profile_train [--width 64] [--mode "bf16 + channels_last"] [--steps 3]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from benchmarks.bench import MODES, train_step_parts


def phases(width: int, mode: str, steps: int) -> tuple[dict[str, float], object]:
    """Mean seconds per step of each phase, and the profiler of the last ``steps`` steps."""
    bf16 = MODES[mode][0]
    module, optimizer, wave, labels = train_step_parts(width, mode)
    totals: dict[str, float] = {}

    def step() -> None:
        marks = [time.perf_counter()]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            with record_function("frontend"):
                features = module.features(wave)
            marks.append(time.perf_counter())
            with record_function("forward"):
                embedding = module.encoder(features, "lib")
                logits = module.heads["lib"](embedding)
                loss = module.objective(logits, labels, embedding, module.heads["lib"].class_weights)["loss"]
            marks.append(time.perf_counter())
        with record_function("backward"):
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        marks.append(time.perf_counter())
        with record_function("optimizer"):
            optimizer.step()
        marks.append(time.perf_counter())
        for name, a, b in zip(("frontend", "forward", "backward", "optimizer"), marks, marks[1:], strict=False):
            totals[name] = totals.get(name, 0.0) + b - a

    step()  # warm-up: oneDNN builds its kernels on the first call
    totals.clear()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    return {k: v / steps for k, v in totals.items()}, prof


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--mode", choices=list(MODES), default="bf16 + channels_last")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20)
    args = parser.parse_args(argv)
    from sfxrep.allocator import retain_freed_memory

    retain_freed_memory()  # as `sfxrep train` runs
    times, prof = phases(args.width, args.mode, args.steps)
    total = sum(times.values())
    print(f"width {args.width}, {args.mode}: {total:.3f} s/step (profiled, so a little slower than make bench)")
    for name, seconds in times.items():
        print(f"  {name:<10} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
