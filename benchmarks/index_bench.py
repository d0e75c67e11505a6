"""Index benchmarks: indexing throughput on real files, query latency and size at 10 k and 100 k vectors.

Query vectors are synthetic (512-d, 500 clusters, as embeddings of a library cluster by sound type); latency is
one query at a time, as a user searches, after a warm-up; p50 / p99 over ``queries`` queries.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def clustered(n: int, dim: int = 512, clusters: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    return centres[rng.integers(0, clusters, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def query_latency(n: int, queries: int = 200, dim: int = 512) -> dict:
    """Build an index of ``n`` synthetic files, time single queries; size on disk of data.npz (+ HNSW graph)."""
    from sfxrep.index import format as fmt
    from sfxrep.index.rows import FileRow
    from sfxrep.index.store import Index
    from sfxrep.index.vectors import VectorSearch

    raw = clustered(n + queries, dim)
    rows = [FileRow(f"/lib/{i:06d}.wav", size=1, mtime_ns=1, duration=3.0, sample_rate=44_100, channels=1, blocks=2)
            for i in range(n)]
    out: dict = {"n": n}
    with tempfile.TemporaryDirectory() as tmp:
        table, meta = fmt.Table(rows, raw[:n]), {"model": {}, "dim": dim}
        index = Index(Path(tmp), meta, table, fmt.write(Path(tmp), meta, table))
        out["data_mb"] = round(folder_size(Path(tmp)) / 1e6, 1)
        unit = index.normalised(raw[n:])
        for method, exact_max in (("exact", n), ("hnsw", 0)):
            search = VectorSearch(index.normalised(index.vectors), Path(tmp) / "hnsw.faiss", exact_max=exact_max)
            start = time.perf_counter()
            search.search(unit[:1], 10)  # builds (or reads) the graph when HNSW
            build = time.perf_counter() - start
            times = []
            for q in unit:
                start = time.perf_counter()
                search.search(q[None], 10)
                times.append(time.perf_counter() - start)
            out[method] = {"p50_ms": round(float(np.percentile(times, 50)) * 1e3, 3),
                         "p99_ms": round(float(np.percentile(times, 99)) * 1e3, 3), "build_s": round(build, 2)}
        graph = Path(tmp) / "hnsw.faiss"
        out["hnsw_mb"] = round(graph.stat().st_size / 1e6, 1) if graph.is_file() else 0.0
    return out


def indexing_rate(files: list[Path], model: str = "aisfx") -> dict:
    """Index ``files`` from scratch with the released model: files/s, audio seconds/s, MB on disk."""
    from sfxrep.index.store import Index

    with tempfile.TemporaryDirectory() as tmp:
        for n, f in enumerate(files):  # the files, linked into one folder
            (Path(tmp) / "lib").mkdir(exist_ok=True)
            (Path(tmp) / "lib" / f"{n:04d}{f.suffix}").symlink_to(f.resolve())
        Index.build(Path(tmp) / "warm", [Path(tmp) / "lib" / "0000" f"{files[0].suffix}"], model, progress=False)
        index, report = Index.build(Path(tmp) / "idx", [Path(tmp) / "lib"], model, progress=False)
        return {"files": report.embedded, "files_per_s": round(report.embedded / report.seconds, 2),
                "audio_s_per_s": round(report.audio_seconds / report.seconds, 1),
                "mb_per_1k_files": round(folder_size(Path(tmp) / "idx") / 1e6 / len(index) * 1e3, 2)}
