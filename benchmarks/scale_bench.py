"""A vendor's library on one machine: ``sfxrep index`` at 1k, 10k and 100k files, files/s and peak memory.

The files are hard links to copies of a few real short files of ``../shared/data`` under distinct names (synthetic copies:
every path is a file of its own to the index, while the disk holds a few hundred kilobytes). Each size is built by
a fresh ``sfxrep index`` process, whose peak resident memory (``ru_maxrss`` from ``wait4``) is what is reported.
The embedding model is ``logmel`` (the same build path as any model: decode, frontend, parts, streamed
``data.npz``) so that 100k files take minutes; the time a real model needs at vendor scale is projected from its
measured files/s (``--model-files-per-s``, the released model's figure from ``make bench``).

    python -m benchmarks.scale_bench [--sizes 1000 10000 100000] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENDOR = 500_000  # files of a large commercial library


def seed_files(shared: Path, n: int = 64, max_bytes: int = 200_000) -> list[Path]:
    """Up to ``n`` real short wav files of ``shared`` (the sources of the links)."""
    found = sorted(p for p in shared.rglob("*.wav") if p.stat().st_size <= max_bytes)
    return found[:: max(1, len(found) // n)][:n]


def link_library(root: Path, sources: list[Path], n: int) -> None:
    """``n`` hard links to ``sources`` (round robin), 1,000 per folder."""
    for i in range(n):
        folder = root / f"{i // 1000:04d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        os.link(sources[i % len(sources)], folder / f"{i:07d}.wav")


def index_process(root: Path, out: Path) -> dict:
    """``sfxrep index ROOT --out OUT --model logmel`` in a fresh process: wall time, files/s and peak memory."""
    command = [sys.executable, "-m", "sfxrep.cli", "index", str(root), "--out", str(out), "--model", "logmel",
               "--no-progress"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    output = process.stdout.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"sfxrep index failed:\n{output[-2000:]}")
    files = json.loads((out / "index.json").read_text())["files"]
    return {"files": files, "seconds": round(seconds, 1), "files_per_s": round(files / seconds, 1),
            "peak_mb": round(usage.ru_maxrss / 1024, 1), "data_mb": round((out / "data.npz").stat().st_size / 1e6, 1)}


def scale_bench(shared: Path, sizes: list[int]) -> list[dict]:
    sources = seed_files(shared)
    if not sources:
        raise FileNotFoundError(f"{shared}: no short wav files to link")
    out = []
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=os.environ.get("SFXREP_BENCH_TMP")) as tmp:
            (Path(tmp) / "seeds").mkdir()
            seeds = [Path(shutil.copy(f, Path(tmp) / "seeds" / f"{i:03d}.wav")) for i, f in enumerate(sources)]
            link_library(Path(tmp) / "lib", seeds, n)  # links to copies: the real files stay untouched (ctime)
            out.append({"n": n, **index_process(Path(tmp) / "lib", Path(tmp) / "index")})
    return out


def report(rows: list[dict], model_files_per_s: float | None, nodes: tuple[int, ...] = (1, 8, 32)) -> dict:
    print(f"  {'files':>8} {'s':>8} {'files/s':>8} {'peak MB':>8} {'data MB':>8}")
    for r in rows:
        print(f"  {r['n']:>8} {r['seconds']:>8.1f} {r['files_per_s']:>8.1f} {r['peak_mb']:>8.1f} {r['data_mb']:>8.1f}")
    summary: dict = {"sizes": rows}
    if len(rows) >= 2:
        growth = rows[-1]["peak_mb"] - rows[-2]["peak_mb"]
        summary["peak_growth_mb"] = round(growth, 1)
        print(f"  peak memory from {rows[-2]['n']} to {rows[-1]['n']} files: {growth:+.1f} MB "
              f"({growth / (rows[-1]['n'] - rows[-2]['n']) * 1e6:.0f} bytes per file more; the vectors alone "
              f"would be {rows[-1]['data_mb'] - rows[-2]['data_mb']:.0f} MB)")
    if model_files_per_s:
        hours = VENDOR / model_files_per_s / 3600
        summary["vendor_projection_h"] = {str(n): round(hours / n, 2) for n in nodes}
        print(f"  {VENDOR} files with the released model at {model_files_per_s:.1f} files/s (this machine): "
              + ", ".join(f"{hours / n:.1f} h on {n} node{'s' * (n > 1)}" for n in nodes)
              + " (sfxrep index --shards N --cluster slurm; the merge streams, one shard at a time)")
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--model-files-per-s", type=float, help="the released model's files/s here")
    ns = parser.parse_args(argv)
    print("sfxrep index at scale (hard-linked copies of real files, logmel model; one process per size)")
    summary = report(scale_bench(Path(ns.shared), ns.sizes), ns.model_files_per_s)
    print(json.dumps({"index_scale": summary}))


if __name__ == "__main__":
    main()
