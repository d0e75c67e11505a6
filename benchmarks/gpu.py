"""The GPU check (``benchmarks/gpu.sh``): sfxrep's GPU paths on one CUDA machine, under 8 minutes, one JSON line last.

1. frontend: 64 blocks → log-mel with the torch.stft and nnAudio backends, on the CPU and on the GPU (ms, and the
   largest difference between the two devices' outputs);
2. train step: width 64, batch 64, bf16 autocast, channels-last: s/step, achieved TFLOP/s and the share of the
   GPU's dense bf16 peak (MFU);
3. one epoch of a cross-dataset fit (``sfxrep train --scenario cross``) on the libraries of
   ``experiments/libraries/gpu.yaml``, kNN evaluation included: wall time and the mean macro-F1;
4. a 2-process DDP fit of the same, when 2 GPUs are present;
5. embedding: files/s of ``FileEmbedder`` with the shipped sfxrep-v1 on every carried file, bf16 on the GPU, with
   decoder processes, and the decode stage alone.

    python -m benchmarks.gpu [--out runs/gpu] [--cpu-smoke]      (--cpu-smoke: the same code, tiny, on the CPU)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from benchmarks.bench import BATCH, FRAMES, cnn9_macs
from benchmarks.bench import timed as bench_timed
from sfxrep.audio.blocks import block_samples

# dense bf16 tensor-core peak, TFLOP/s (NVIDIA's datasheets; SXM parts)
BF16_PEAK = {"H200": 989.4, "H100": 989.4, "A100": 312.0, "L40S": 362.1, "L4": 121.0, "A10": 125.0}
LIBRARIES = "experiments/libraries/gpu.yaml"
CHECKS = ("frontend", "train_step", "fit", "ddp_fit", "embed")


def carried_files(folder: str) -> list[Path]:
    """The audio files below ``folder`` (none if it is absent)."""
    from sfxrep.audio.decode import audio_files

    return [Path(p) for p in audio_files([folder])] if Path(folder).is_dir() else []


def timed(fn, device: torch.device, repeats: int = 5, warmup: int = 2) -> float:
    """Median seconds of ``fn`` after ``warmup`` calls (:func:`benchmarks.bench.timed`), ``device`` synchronised
    around each."""
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    return bench_timed(fn, repeats, warmup, sync)[0]


def frontend_check(device: torch.device) -> dict:
    from sfxrep.models.frontend import LogMel

    wave = torch.randn(BATCH, block_samples(FRAMES))
    out = {}
    for backend in ("torch", "nnaudio"):
        cpu = LogMel(backend)
        gpu = LogMel(backend).to(device)
        on_device = wave.to(device)
        out[backend] = {"cpu_ms": round(1e3 * timed(lambda f=cpu: f(wave), torch.device("cpu"), 3, 1), 2),
                        "device_ms": round(1e3 * timed(lambda f=gpu, x=on_device: f(x), device), 3),
                        "max_abs_diff": float((gpu(on_device).cpu() - cpu(wave)).abs().max())}
    return out


def train_step_check(device: torch.device, width: int, steps: int) -> dict:
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.frontend import LogMel
    from sfxrep.models.losses import Objective
    from sfxrep.models.module import SfxModule

    torch.manual_seed(0)
    module = SfxModule(CNN9(width), {"lib": 16}, LogMel(), Objective(), channels_last=True).to(device).train()
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    wave = torch.randn(BATCH, block_samples(FRAMES), device=device)
    labels = torch.arange(16, device=device).repeat_interleave(4)

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            embedding, logits = module(wave, "lib")
            loss = module.objective(logits, labels, embedding, module.heads["lib"].class_weights)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    seconds = timed(step, device, steps, 3)
    tflops = 3 * 2 * cnn9_macs(width) * BATCH / seconds / 1e12
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = next((v for k, v in BF16_PEAK.items() if k in name), None)
    return {"width": width, "s_per_step": round(seconds, 4), "tflops": round(tflops, 2),
            "bf16_peak_tflops": peak, "mfu": round(tflops / peak, 4) if peak else None,
            "blocks_per_s": round(BATCH / seconds, 1)}


def fit_check(out: Path, devices: int, accelerator: str, epochs: int = 1, width: int = 64) -> dict:
    """One ``sfxrep train --scenario cross`` on the carried libraries, in a fresh process (DDP launches its own)."""
    import subprocess
    import sys

    results = out / f"fit_{devices}.jsonl"
    command = [sys.executable, "-m", "sfxrep.cli", "train", "--scenario", "cross", "-c", "experiments/base.yaml",
               "--results", str(results), "--runs", str(out / "runs"), "--",
               "--data.libraries", LIBRARIES, "--model.encoder.init_args.width", str(width),
               "--trainer.max_epochs", str(epochs), "--trainer.accelerator", accelerator,
               "--trainer.devices", str(devices), "--data.num_workers", "4" if accelerator == "gpu" else "0",
               "--trainer.enable_progress_bar", "false"]
    if devices > 1:
        command += ["--trainer.strategy", "ddp"]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        return {"devices": devices, "ok": False, "error": (run.stderr or run.stdout)[-1500:]}
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return {"devices": devices, "ok": True, "wall_s": round(seconds, 1), "libraries": len(rows),
            "mean_frame_macro_f1": round(statistics.fmean(r["frame_macro_f1"] for r in rows), 4),
            "precision": rows[0].get("precision"), "train_s": rows[0].get("train_seconds")}


def embed_check(device: torch.device, files: list[Path], workers: int) -> dict:
    from sfxrep.inference.embedding import FileEmbedder, decode_or_error
    from sfxrep.inference.registry import load_model

    model = load_model("sfxrep-v1").to(device)
    embedder = FileEmbedder(model, decode_workers=workers)
    list(embedder(files[:8]))  # warm-up (cuDNN autotuning, the decoder processes)
    start = time.perf_counter()
    done = sum(1 for item in embedder(files) if not isinstance(item, Exception))
    rate = done / (time.perf_counter() - start)
    start = time.perf_counter()
    for path in files:
        decode_or_error(str(path))
    return {"files": done, "files_per_s": round(rate, 1), "precision": embedder.precision,
            "decode_workers": workers, "decode_alone_files_per_s": round(len(files) / (time.perf_counter() - start), 1)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/gpu")
    parser.add_argument("--cpu-smoke", action="store_true", help="run every check tiny on the CPU (no GPU needed)")
    parser.add_argument("--checks", nargs="+", default=list(CHECKS), choices=CHECKS)
    parser.add_argument("--data", default=".gpu/data", help="the carried audio files (embedding check)")
    ns = parser.parse_args(argv)
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    smoke = ns.cpu_smoke or not torch.cuda.is_available()
    device = torch.device("cpu" if smoke else "cuda")
    summary: dict = {"torch": torch.__version__, "smoke": smoke,
                     "device": "cpu" if smoke else torch.cuda.get_device_name(0),
                     "gpus": 0 if smoke else torch.cuda.device_count()}
    print(f"sfxrep GPU check on {summary['device']} ({summary['gpus']} GPUs), torch {torch.__version__}", flush=True)
    checks = (
        ("frontend", lambda: frontend_check(device)),
        ("train_step", lambda: train_step_check(device, 4 if smoke else 64, 2 if smoke else 20)),
        ("fit", lambda: fit_check(out, 1, "cpu" if smoke else "gpu", width=4 if smoke else 64)),
        ("ddp_fit", lambda: fit_check(out, 2, "gpu") if summary["gpus"] >= 2 else {"skipped": "fewer than 2 GPUs"}),
        ("embed", lambda: embed_check(device, carried_files(ns.data)[:20 if smoke else None],
                                      0 if smoke else min(8, os.cpu_count() or 1))),
    )
    for name, check in checks:
        if name not in ns.checks:
            continue
        start = time.perf_counter()
        try:
            summary[name] = check()
        except Exception as err:  # one failed check is reported; the others still run
            summary[name] = {"error": f"{type(err).__name__}: {err}"}
        print(f"[{name}] {time.perf_counter() - start:.1f} s: {json.dumps(summary[name])}", flush=True)
    (out / "gpu.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
