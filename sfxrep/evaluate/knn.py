"""Nearest-neighbour classification of frozen embeddings (paper §3.4, §6).

Embeddings are z-scored with statistics of the train split, a k-NN classifier (Euclidean; paper: 1-NN) is
fitted on the train split's frames and predicts every test frame. Macro-F1 is reported per frame (the
paper's figures) and per file (majority vote over the file's frames; the poster's "global" results). The
Davies-Bouldin index of the z-scored test frames grouped by true class measures the embedding's cluster
structure (lower is better); ``dbi_train`` is the same on the train split, defined also for small libraries
whose test split has one frame per class. Macro-F1 averages over the classes present in the test split's
ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import davies_bouldin_score, f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class KnnResult:
    """Scores of one library. A DBI is NaN where undefined (< 2 classes, or no class with 2 frames)."""

    frame_macro_f1: float
    file_macro_f1: float
    frame_accuracy: float
    file_accuracy: float
    dbi: float
    dbi_train: float
    n_train_frames: int
    n_test_frames: int
    n_test_files: int
    n_test_classes: int


def macro_f1(truth: np.ndarray, pred: np.ndarray, classes: np.ndarray | None = None) -> float:
    """Macro-F1 over ``classes`` (default: the classes present in ``truth``), 0 for a class never predicted."""
    classes = np.unique(truth) if classes is None else classes
    return float(f1_score(truth, pred, labels=classes, average="macro", zero_division=0))


def majority_vote(predictions: np.ndarray, files: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per file, the most frequent frame prediction; ties go to the earliest frame's class among the tied.

    Returns:
        (file ids, their predicted class), file ids sorted.
    """
    ids = np.unique(files)
    out = np.empty(ids.size, dtype=predictions.dtype)
    for n, f in enumerate(ids):
        preds = predictions[files == f]
        values, counts = np.unique(preds, return_counts=True)
        tied = set(values[counts == counts.max()].tolist())
        out[n] = next(p for p in preds if p in tied)
    return ids, out


def knn_evaluate(train_emb: np.ndarray, train_labels: np.ndarray, test_emb: np.ndarray, test_labels: np.ndarray,
                 test_files: np.ndarray, k: int = 1) -> KnnResult:
    """Score a library's test frames by k-NN on its train frames.

    Args:
        train_emb: ``(N, D)`` train-split frame embeddings.
        train_labels: ``(N,)`` their classes.
        test_emb: ``(M, D)`` test-split frame embeddings.
        test_labels: ``(M,)`` their classes.
        test_files: ``(M,)`` file id of each test frame.
        k: neighbours (paper: 1).
    """
    scaler = StandardScaler().fit(train_emb)
    train_z, test_z = scaler.transform(train_emb), scaler.transform(test_emb)
    knn = KNeighborsClassifier(n_neighbors=min(k, len(train_z))).fit(train_z, train_labels)
    pred = knn.predict(test_z)
    classes = np.unique(test_labels)
    frame_f1 = macro_f1(test_labels, pred, classes)
    file_ids, file_pred = majority_vote(pred, test_files)
    file_truth = np.array([test_labels[test_files == f][0] for f in file_ids])
    file_f1 = macro_f1(file_truth, file_pred, classes)
    return KnnResult(float(frame_f1), float(file_f1), float((pred == test_labels).mean()),
                     float((file_pred == file_truth).mean()), davies_bouldin(test_z, test_labels), davies_bouldin(train_z, train_labels),
                     len(train_z), len(test_z), file_ids.size, int(classes.size))


def davies_bouldin(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """Davies-Bouldin index of ``embeddings (N, D)`` grouped by ``labels``; NaN with < 2 classes or one item each."""
    n_classes = np.unique(labels).size
    return float(davies_bouldin_score(embeddings, labels)) if 1 < n_classes < len(labels) else float("nan")
