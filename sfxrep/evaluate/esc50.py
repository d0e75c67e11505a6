"""ESC-50's 5-fold protocol (paper §6.5, RQ4): reference embeddings from 4 folds, 1-NN on the fifth, each fold once.

Every clip of ``<root>/meta/esc50.csv`` + ``<root>/audio/`` is decoded (through the wave cache) and embedded
once; then for each official fold the kNN evaluation of :mod:`sfxrep.evaluate.knn` (z-score fitted on the four
reference folds) scores it. One results row per fold (library ``esc50``, ``extra.fold``); the summary is mean ±
SD over folds of macro-F1 and accuracy, per frame and per clip (file).
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

import numpy as np

from sfxrep.audio.blocks import block_samples
from sfxrep.audio.cache import WaveCache
from sfxrep.audio.decode import AudioDecodeError
from sfxrep.data.datasets import EvalBlockDataset, LibraryFiles
from sfxrep.evaluate.embed import embed_blocks
from sfxrep.evaluate.knn import knn_evaluate
from sfxrep.paths import CACHE_DIR
from sfxrep.records import ResultRow

FOLDS = (1, 2, 3, 4, 5)


def read_esc50(root: str | Path) -> list[tuple[Path, int, str]]:
    """(clip, fold, category) of every row of ``meta/esc50.csv``.

    Raises:
        FileNotFoundError: no ESC-50 layout at ``root``.
        ValueError: a row without a fold in 1–5 (naming the line).
    """
    meta = Path(root) / "meta" / "esc50.csv"
    if not meta.is_file():
        raise FileNotFoundError(f"{meta}: not found (expected the ESC-50 layout: meta/esc50.csv and audio/)")
    clips = []
    with open(meta, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                fold = int(row["fold"])
            except (KeyError, ValueError, TypeError):
                fold = None
            if fold not in FOLDS:
                raise ValueError(f"{meta}:{line}: needs a fold in 1..5 (got {row.get('fold')!r})")
            clips.append((Path(root) / "audio" / row["filename"], fold, row["category"]))
    return clips


def esc50_protocol(module, root: str | Path, cache_dir: str | Path = CACHE_DIR, k: int = 1,
                   run: str = "esc50", meta: dict | None = None, hop_length: int = 1024, block_frames: int = 100,
                   eval_hop_frames: int = 50) -> tuple[list[ResultRow], list[tuple[str, str]]]:
    """Score ``module``'s frozen embeddings on ESC-50's folds.

    Returns:
        one row per fold, and (clip, reason) for every clip that could not be decoded (reported, not dropped
        silently).
    """
    start = time.perf_counter()
    cache = WaveCache(cache_dir)
    clips, skipped, infos = [], [], []
    for path, fold, category in read_esc50(root):
        try:
            infos.append(cache.ensure(path))
            clips.append((fold, category))
        except AudioDecodeError as err:
            skipped.append((str(path), err.reason))
    if not clips:
        raise ValueError(f"{root}: no ESC-50 clip could be decoded ({len(skipped)} skipped)")
    classes = sorted({c for _, c in clips})
    files = LibraryFiles("esc50", [i.npy for i in infos], np.array([i.num_samples for i in infos], np.int64),
                         np.array([classes.index(c) for _, c in clips], np.int64), classes)
    embedded = embed_blocks(module, EvalBlockDataset(files, block_samples(block_frames, hop_length),
                                                     eval_hop_frames * hop_length))
    fold_of_block = np.array([clips[f][0] for f in embedded.files])
    rows = []
    for fold in FOLDS:
        test, train = fold_of_block == fold, fold_of_block != fold
        if not test.any() or not train.any():
            continue
        score = knn_evaluate(embedded.embeddings[train], embedded.labels[train], embedded.embeddings[test],
                             embedded.labels[test], embedded.files[test], k=k)
        rows.append(ResultRow(run=run, library="esc50", scenario="esc50-5fold", k=k, n_classes=len(classes),
                              **vars(score), eval_seconds=round(time.perf_counter() - start, 2),
                              **(meta or {}), extra={"fold": fold}))
    return rows, skipped


def summary(rows: list[ResultRow]) -> str:
    """``macro-F1 (clip) 0.812 ± 0.021, accuracy (clip) 0.830 ± 0.019 … over 5 folds``."""
    def stat(name: str) -> str:
        values = [float(r.get(name)) for r in rows]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.3f} ± {sd:.3f}"

    return (f"ESC-50, {len(rows)} folds: macro-F1 clip {stat('file_macro_f1')} / frame {stat('frame_macro_f1')}; "
            f"accuracy clip {stat('file_accuracy')} / frame {stat('frame_accuracy')}")
