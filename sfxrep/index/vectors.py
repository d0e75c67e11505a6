"""Nearest neighbours by cosine on z-scored, L2-normalised embeddings: exact, or HNSW (faiss) for large indexes.

A file vector is L2-normalised, standardised with the index's per-dimension mean and SD (which removes the
directions every sound shares, as the paper's kNN evaluation does), and L2-normalised again, so an inner
product is a cosine in [-1, 1].

Which search is used was decided by measurement (2 AVX2 cores, 512-d clustered vectors, ``make bench``):
exact search is one BLAS matrix-vector product, p50 0.9 ms at 10 k vectors, 6.3 ms at 50 k and 13.8 ms at
100 k, with perfect recall and no build time; faiss HNSW (M 32) answers in 0.35–0.47 ms at every size but
takes 1.5 s to build at 10 k, 10 s at 50 k and 23 s at 100 k, and its file is as large as the vectors. So up
to :data:`EXACT_MAX` vectors the search is exact, and above it HNSW, built once per index state and saved.
A filtered search (one library, one label) is always exact over the matching rows.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

EXACT_MAX = 50_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 128


def l2(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.where(norm > 0, norm, 1)).astype(np.float32)


class Stats:
    """Per-dimension mean and SD of L2-normalised vectors that may arrive in chunks (a build streams them): sums of
    the unit vectors and of their squares, in float64."""

    def __init__(self, dim: int) -> None:
        self.n, self.sums = 0, np.zeros((2, dim), np.float64)

    def add(self, raw: np.ndarray) -> None:
        """Count the ``(n, D)`` rows ``raw``."""
        unit = l2(raw).astype(np.float64)
        self.n += len(unit)
        self.sums += (unit.sum(axis=0), (unit * unit).sum(axis=0))

    def result(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(mean, sd)`` float32, SD floored so constants stay 0; ``None`` before any row."""
        if not self.n:
            return None
        mean = self.sums[0] / self.n
        sd = np.sqrt(np.maximum(self.sums[1] / self.n - mean * mean, 0.0))
        return mean.astype(np.float32), np.maximum(sd, 1e-6).astype(np.float32)


def fit_stats(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and SD of the L2-normalised ``(N, D)`` vectors, N ≥ 1 (:class:`Stats` in one chunk)."""
    stats = Stats(raw.shape[1])
    stats.add(raw)
    return stats.result()


def normalise(raw: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(N, D)`` raw embeddings → unit vectors whose inner products are the index's cosine similarities."""
    return l2((l2(raw) - mean) / std)


class VectorSearch:
    """Top-k cosine neighbours of normalised query vectors among ``vectors`` (already normalised).

    Args:
        vectors: ``(N, D)`` float32 unit rows.
        hnsw_path: where an HNSW graph for this exact set of vectors is (or will be) saved; used above
            :data:`EXACT_MAX` rows.
    """

    def __init__(self, vectors: np.ndarray, hnsw_path: Path | None = None, exact_max: int = EXACT_MAX) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.hnsw_path, self.exact_max = hnsw_path, exact_max
        self._hnsw = None

    @property
    def method(self) -> str:
        return "exact" if len(self.vectors) <= self.exact_max else "hnsw"

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the vectors (shape and bytes): a saved graph is used only for exactly these vectors."""
        digest = hashlib.sha256(str(self.vectors.shape).encode())
        digest.update(memoryview(self.vectors).cast("B"))
        return digest.hexdigest()

    def _saved_graph(self):
        """The graph saved for these vectors, or ``None`` (none saved, built for other vectors, or unreadable)."""
        import faiss

        if self.hnsw_path is None or not self.hnsw_path.is_file():
            return None
        try:
            with np.load(self.hnsw_path, allow_pickle=False) as saved:
                if str(saved["fingerprint"]) != self.fingerprint:
                    return None  # a graph of other vectors (an update came between): never used
                return faiss.deserialize_index(saved["graph"])
        except Exception as err:  # only a cache: a torn or corrupt file is rebuilt
            print(f"sfxrep: {self.hnsw_path}: unreadable HNSW graph ({type(err).__name__}), rebuilt", file=sys.stderr)
            return None

    def _graph(self):
        import faiss

        if self._hnsw is None:
            self._hnsw = self._saved_graph()
            if self._hnsw is None:
                graph = faiss.IndexHNSWFlat(self.vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
                graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
                graph.add(self.vectors)
                if self.hnsw_path is not None:  # with the fingerprint of the vectors it was built from
                    from sfxrep.fileio import atomic_write

                    atomic_write(self.hnsw_path, lambda f: np.savez(f, fingerprint=np.array(self.fingerprint),
                                                                     graph=faiss.serialize_index(graph)))
                self._hnsw = graph
            self._hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        return self._hnsw

    def search(self, queries: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(Q, D)`` unit queries → scores ``(Q, k')`` and row indices ``(Q, k')``, best first.

        ``rows`` restricts the search to those row indices (exact). ``k' = min(k, candidates)``.
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if rows is None and self.method == "hnsw":
            scores, found = self._graph().search(queries, min(k, len(self.vectors)))
            return scores, found
        pool = None if rows is None else np.asarray(rows, dtype=np.int64)
        k = min(k, len(self.vectors) if pool is None else len(pool))
        if k == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        sims = queries @ (self.vectors if pool is None else self.vectors[pool]).T  # (Q, N or |pool|), no copy
        if pool is None:
            pool = np.arange(len(self.vectors))
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(-sims, top, axis=1).argsort(axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return np.take_along_axis(sims, top, axis=1), pool[top]
