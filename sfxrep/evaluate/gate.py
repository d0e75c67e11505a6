"""The accuracy gate of a reduced embedding precision: is ``bf16`` or ``int8`` as good as ``fp32`` for what users
do with embeddings?

Every block of every split of a set of libraries is embedded twice, the encoder in fp32 and in the candidate
precision (the frontend is float32 in both), and compared two ways:

* **block cosine** of each candidate embedding to its fp32 one: the gate wants ≥ :data:`COSINE_MIN` for every
  block;
* **kNN frame macro-F1**: the paper's protocol (train split → test split, as ``sfxrep evaluate``), and leave one
  file out over every block of a library. The gate wants the leave-one-file-out mean within :data:`F1_POINTS` of
  fp32. The test splits are tiny (ucs_sfx: 33 blocks of 25 files in 16 classes): there one block whose nearest
  neighbour flips on a 0.4 % near-tie moves a library's macro-F1 by 8.7 points (aiSFX, measured), while leave one
  file out scores ~7× more blocks.

``make bench`` runs it for the released models (``benchmarks/precision_bench.py``), and ``sfxrep quantize``
records it with each int8 calibration, where ``--precision auto`` reads it (:mod:`sfxrep.inference.int8`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from sfxrep.paths import CACHE_DIR, WORK_DIR

if TYPE_CHECKING:
    from sfxrep.inference.int8 import Int8Encoder

COSINE_MIN, F1_POINTS = 0.99, 0.5  # the gate: every block's cosine to fp32, and kNN macro-F1 points


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two ``(n, D)`` arrays."""
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def leave_one_file_out(parts: list) -> float:
    """Frame macro-F1 of 1-NN over every block of a library (``parts``: its splits' :class:`Embedded`), each
    block's neighbours taken from the other files only: the same kNN as a test split, on ~7× more blocks, so one
    near-tie moves it little."""
    from sfxrep.evaluate.knn import macro_f1

    x = np.concatenate([p.embeddings for p in parts]).astype(np.float64)
    labels = np.concatenate([p.labels for p in parts])
    files = np.concatenate([p.files + 1_000_000 * i for i, p in enumerate(parts)])  # file ids unique across splits
    z = (x - x.mean(0)) / (x.std(0) + 1e-8)
    sq = (z * z).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * z @ z.T
    d[files[:, None] == files[None, :]] = np.inf
    return macro_f1(labels, labels[d.argmin(1)])


def precision_gate(module: nn.Module, libraries: str | Path, candidate: str = "bf16",
                   work_dir: str | Path = WORK_DIR, cache_dir: str | Path = CACHE_DIR,
                   int8: Int8Encoder | None = None) -> dict:
    """fp32 against ``candidate`` (``bf16`` or ``int8``) for ``module`` on every library of a libraries YAML
    (``int8``: the int8 encoder to gate, default the one of the model's saved calibration).

    Returns a JSON-able dict: ``blocks`` compared, ``cosine_min`` and ``cosine_p1`` (1st percentile), per-library
    ``f1`` (test split) and ``lofo`` (leave one file out) for both precisions with their means (``mean_f1``,
    ``lofo_mean_f1``), ``delta_points`` and ``lofo_delta_points`` (candidate − fp32, in macro-F1 points), the
    encoder's ``blocks_per_s`` in each precision (frontend included), and ``passes`` (the gate).

    Raises:
        ValueError: no library has a test split to compare on.
    """
    from sfxrep.data.datamodule import SfxDataModule
    from sfxrep.evaluate.embed import embed_blocks
    from sfxrep.evaluate.knn import knn_evaluate

    data = SfxDataModule(libraries=str(libraries), work_dir=str(work_dir), cache_dir=str(cache_dir))
    data.ready()
    f1: dict[str, dict[str, float]] = {"fp32": {}, candidate: {}}
    lofo: dict[str, dict[str, float]] = {"fp32": {}, candidate: {}}
    seconds = {"fp32": 0.0, candidate: 0.0}
    blocks, cos = 0, []
    for library in data.spec.names:
        train, test = data.eval_dataset(library, "train"), data.eval_dataset(library, "test")
        if not len(test):
            continue
        val = data.eval_dataset(library, "val")
        got = {}
        for precision in ("fp32", candidate):
            start = time.perf_counter()
            got[precision] = (embed_blocks(module, train, precision=precision, int8=int8),
                              embed_blocks(module, test, precision=precision, int8=int8))
            seconds[precision] += time.perf_counter() - start
            a, b = got[precision]
            f1[precision][library] = knn_evaluate(a.embeddings, a.labels, b.embeddings, b.labels,
                                                  b.files).frame_macro_f1
            parts = [a, b, embed_blocks(module, val, precision=precision, int8=int8)] if len(val) \
                else [a, b]
            lofo[precision][library] = leave_one_file_out(parts)
        for i in range(2):
            cos.append(cosines(got["fp32"][i].embeddings, got[candidate][i].embeddings))
        blocks += len(got["fp32"][0].embeddings) + len(got["fp32"][1].embeddings)
    if not cos:
        raise ValueError(f"{libraries}: no library has a test split to compare {candidate} with fp32 on")
    cos_all = np.concatenate(cos)
    mean = {p: float(np.mean(list(v.values()))) for p, v in f1.items()}
    lofo_mean = {p: float(np.mean(list(v.values()))) for p, v in lofo.items()}
    lofo_delta = 100 * (lofo_mean[candidate] - lofo_mean["fp32"])
    return {"candidate": candidate, "blocks": blocks, "cosine_min": float(cos_all.min()),
            "cosine_p1": float(np.percentile(cos_all, 1)), "f1": f1, "mean_f1": mean,
            "delta_points": 100 * (mean[candidate] - mean["fp32"]),
            "blocks_per_s": {p: blocks / s for p, s in seconds.items()},
            "lofo": lofo, "lofo_mean_f1": lofo_mean, "lofo_delta_points": lofo_delta,
            "passes_test_split": bool(abs(mean[candidate] - mean["fp32"]) * 100 <= F1_POINTS),
            "passes": bool(cos_all.min() >= COSINE_MIN and abs(lofo_delta) <= F1_POINTS)}
