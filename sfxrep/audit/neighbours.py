"""Each file's nearest other files by cosine: the one exact top-k search the audit's parts share."""

from __future__ import annotations

import numpy as np


def nearest(vectors: np.ndarray, k: int, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest other rows, best first, leaving the row itself out.

    Args:
        vectors: ``(N, D)`` unit rows.
        k: neighbours per row (at most ``N − 1``).
        chunk: rows compared at once (memory ``chunk × N`` floats, never ``N × N``).

    Returns:
        ``order (N, k')`` row indices and their cosines ``(N, k')``, ``k' = min(k, N − 1)``.
    """
    n = len(vectors)
    k = max(0, min(k, n - 1))
    order = np.empty((n, k), np.int64)
    cosines = np.empty((n, k), np.float32)
    if k == 0:
        return order, cosines
    for start in range(0, n, chunk):
        sims = vectors[start:start + chunk] @ vectors.T  # (c, N)
        sims[np.arange(len(sims)), np.arange(start, start + len(sims))] = -np.inf  # leave the row itself out
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        rank = np.argsort(-top_sims, axis=1)
        order[start:start + len(sims)] = np.take_along_axis(top, rank, axis=1)
        cosines[start:start + len(sims)] = np.take_along_axis(top_sims, rank, axis=1)
    return order, cosines
