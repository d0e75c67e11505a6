"""The k-fold protocol for frozen embeddings: every file of a library is a query once per fold seed.

A library's files are dealt into ``k`` folds (stratified by class, grouped so that takes of one source never
straddle folds: :mod:`sfxrep.libraries.takes`), repeated for several fold seeds. Each fold is scored by 1-NN
against the other folds, with the z-score fitted on those reference folds (the paper's kNN protocol, §3.4, and its
ESC-50 5-fold, §6.5). A library's score is the macro-F1 of all out-of-fold predictions of a fold seed, averaged
over fold seeds; the per-file (and per-block) predictions are kept (:class:`Predictions`) so that any two models
can be compared file by file later (:mod:`sfxrep.results.paired`) without embedding again.

Nested scoring of trained models: on a library the model trained on, only the files of its test split are
queries (the references are still every other fold), so no file is scored by a model that trained on it.
A class with fewer than two groups cannot be scored (no fold would hold a reference of it): its files stay in
the references and are counted as ``n_unscorable_files``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from sfxrep.evaluate.embed import Embedded
from sfxrep.evaluate.knn import davies_bouldin, macro_f1, majority_vote

FOLDS = 5  # the paper's ESC-50 protocol
FOLD_SEEDS = (0, 1, 2)


@dataclass
class Predictions:
    """Out-of-fold 1-NN predictions of one model on one library for one fold seed (the scored files only).

    Attributes:
        library: library name.
        fold_seed: seed of the fold assignment.
        classes: class names; ``labels`` and predictions index into it.
        paths: per scored file, its path relative to the library's folder.
        groups: per scored file, its group of takes.
        labels: per scored file, its true class.
        folds: per scored file, the fold it was scored in.
        file_pred: per scored file, the majority vote of its blocks' predictions.
        block_pred: per scored file, the prediction of each of its blocks (in time order).
    """

    library: str
    fold_seed: int
    classes: list[str]
    paths: list[str]
    groups: list[str]
    labels: list[int]
    folds: list[int]
    file_pred: list[int]
    block_pred: list[list[int]]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class KfoldScore:
    """A library's scores: means over fold seeds of the pooled out-of-fold predictions' metrics."""

    frame_macro_f1: float
    file_macro_f1: float
    frame_accuracy: float
    file_accuracy: float
    dbi: float
    n_test_frames: int
    n_test_files: int
    n_test_classes: int
    n_unscorable_files: int
    folds: int
    fold_seeds: list[int]


def assign_folds(labels: np.ndarray, groups: Sequence[str], k: int, seed: int) -> np.ndarray:
    """``(N,)`` fold of each file: stratified by ``labels``, no group in two folds, ``k`` capped at the groups."""
    _, group_ids = np.unique(np.asarray(groups), return_inverse=True)
    k = max(2, min(k, int(group_ids.max()) + 1))
    folds = np.empty(len(labels), np.int64)
    with warnings.catch_warnings():  # "the least populated class has only n members": expected, handled by scoring
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        for fold, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels, group_ids)):
            folds[test] = fold
    return folds


def scorable(labels: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """``(N,)`` bool: the file's class has at least two groups (so another fold holds a reference of it)."""
    pairs = {(int(label), g) for label, g in zip(labels, groups, strict=True)}
    count = np.bincount([label for label, _ in pairs], minlength=int(labels.max()) + 1)
    return count[labels] >= 2


def oof_block_predictions(embedded: Embedded, folds: np.ndarray, queries: np.ndarray, k: int = 1) -> np.ndarray:
    """1-NN prediction of every block of a query file against the blocks of the other folds.

    Args:
        embedded: every block of the library (``files`` index the library's files).
        folds: ``(N_files,)`` fold per file.
        queries: ``(N_files,)`` bool, the files to score.
        k: neighbours (paper: 1).

    Returns:
        ``(N_blocks,)`` predicted class, -1 for blocks of files that are not queries.
    """
    block_fold, block_query = folds[embedded.files], queries[embedded.files]
    pred = np.full(len(embedded.files), -1, np.int64)
    for fold in np.unique(folds[queries]):
        test, ref = block_query & (block_fold == fold), block_fold != fold
        scaler = StandardScaler().fit(embedded.embeddings[ref])
        knn = KNeighborsClassifier(n_neighbors=min(k, int(ref.sum())), algorithm="brute")
        knn.fit(scaler.transform(embedded.embeddings[ref]), embedded.labels[ref])
        pred[test] = knn.predict(scaler.transform(embedded.embeddings[test]))
    return pred


def kfold_evaluate(embedded: Embedded, classes: Sequence[str], paths: Sequence[str], groups: Sequence[str],
                   *, library: str, queries: np.ndarray | None = None, k: int = FOLDS,
                   fold_seeds: Sequence[int] = FOLD_SEEDS, knn_k: int = 1) -> tuple[KfoldScore, list[Predictions]]:
    """Score one library's embedded blocks by grouped, stratified k-fold 1-NN over ``fold_seeds``.

    Args:
        embedded: every block of every file of the library (``labels`` are class indices into ``classes``).
        classes: class names.
        paths: per file, its path relative to the library's folder.
        groups: per file, its group of takes.
        library: library name.
        queries: ``(N_files,)`` bool, the files that may be scored (default all: nested scoring passes the test
            split of a library the model trained on).
        k: folds (5: the paper's ESC-50 protocol), fewer where the library has fewer groups.
        fold_seeds: seeds of the fold assignment (≥ 3 for a comparison).
        knn_k: neighbours (paper: 1).
    """
    n_files = len(paths)
    file_labels = np.zeros(n_files, np.int64)
    file_labels[embedded.files] = embedded.labels
    can = scorable(file_labels, groups)
    queries = can if queries is None else (queries & can)
    block_query = queries[embedded.files]
    per_seed, predictions, n_folds = [], [], 0
    for seed in fold_seeds:
        folds = assign_folds(file_labels, groups, k, seed)
        n_folds = int(folds.max()) + 1
        pred = oof_block_predictions(embedded, folds, queries, knn_k)
        truth, guess, files = embedded.labels[block_query], pred[block_query], embedded.files[block_query]
        file_ids, file_pred = majority_vote(guess, files)
        present = np.unique(truth)
        per_seed.append((macro_f1(truth, guess, present), macro_f1(file_labels[file_ids], file_pred, present),
                         float((truth == guess).mean()), float((file_labels[file_ids] == file_pred).mean())))
        blocks = {int(f): pred[embedded.files == f].tolist() for f in file_ids}
        predictions.append(Predictions(
            library, int(seed), list(classes), [paths[f] for f in file_ids], [groups[f] for f in file_ids],
            file_labels[file_ids].tolist(), folds[file_ids].tolist(), file_pred.tolist(),
            [blocks[int(f)] for f in file_ids]))
    means = np.mean(per_seed, axis=0) if per_seed else [np.nan] * 4
    z = StandardScaler().fit_transform(embedded.embeddings)
    score = KfoldScore(*map(float, means), davies_bouldin(z, embedded.labels), int(block_query.sum()), int(queries.sum()),
                       int(np.unique(file_labels[queries]).size), int((~can).sum()), n_folds, list(fold_seeds))
    return score, predictions
