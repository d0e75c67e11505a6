"""kNN evaluation of embeddings: z-scoring on train, frame and file macro-F1, majority vote, DBI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import davies_bouldin_score
from sklearn.preprocessing import StandardScaler

from sfxrep.evaluate.knn import knn_evaluate, majority_vote


def clusters(rng, n_per: int, centres: np.ndarray, spread: float = 0.1):
    labels = np.repeat(np.arange(len(centres)), n_per)
    return centres[labels] + spread * rng.standard_normal((labels.size, centres.shape[1])), labels


def test_separable_embeddings_score_perfectly_and_dbi_matches_sklearn():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((4, 8)) * 5
    train, ytrain = clusters(rng, 20, centres)
    test, ytest = clusters(rng, 6, centres)
    files = np.arange(ytest.size) // 3  # 3 frames per file
    result = knn_evaluate(train, ytrain, test, ytest, files)
    assert result.frame_macro_f1 == 1.0 and result.file_macro_f1 == 1.0
    z = StandardScaler().fit(train)
    assert result.dbi == pytest.approx(davies_bouldin_score(z.transform(test), ytest))
    assert result.dbi_train == pytest.approx(davies_bouldin_score(z.transform(train), ytrain))
    assert (result.n_train_frames, result.n_test_frames, result.n_test_files, result.n_test_classes) == (80, 24, 8, 4)


def test_z_score_makes_knn_invariant_to_per_dimension_scale():
    rng = np.random.default_rng(1)
    ytrain, ytest = np.repeat([0, 1, 2], 30), np.repeat([0, 1, 2], 10)
    make = lambda y: np.column_stack([y + 0.1 * rng.standard_normal(y.size), rng.standard_normal(y.size)])
    train, test = make(ytrain), make(ytest)  # dim 0 carries the class, dim 1 is noise of the same scale
    files = np.arange(ytest.size)
    reference = knn_evaluate(train, ytrain, test, ytest, files)
    affine = np.array([1e-3, 1e3]), np.array([5.0, -7.0])  # shrink the informative dim, blow up the noise
    rescaled = knn_evaluate(train * affine[0] + affine[1], ytrain, test * affine[0] + affine[1], ytest, files)
    assert reference.frame_macro_f1 > 0.9
    assert rescaled.frame_macro_f1 == pytest.approx(reference.frame_macro_f1)  # raw distances would be noise


def test_macro_f1_is_over_the_test_classes_and_file_level_uses_majority_vote():
    train = np.array([[0.0], [1.0], [10.0], [11.0]])
    ytrain = np.array([0, 0, 1, 1])
    test = np.array([[0.2], [0.4], [10.5], [9.0], [10.2]])  # file 0: 0,0 ; file 1: 1,1,1 (all right)
    ytest = np.array([0, 0, 1, 1, 1])
    files = np.array([0, 0, 1, 1, 1])
    result = knn_evaluate(train, ytrain, test, ytest, files)
    assert result.frame_macro_f1 == 1.0 and result.file_macro_f1 == 1.0
    wrong = knn_evaluate(train, ytrain, np.array([[10.0], [0.0], [0.0]]), np.array([0, 0, 0]), np.array([0, 0, 0]))
    assert wrong.frame_macro_f1 == pytest.approx(0.8)  # class 0 only: P=1, R=2/3
    assert wrong.file_macro_f1 == 1.0  # 2 of 3 frames say class 0
    assert math.isnan(wrong.dbi) and not math.isnan(wrong.dbi_train)  # one test class: test DBI undefined


def test_majority_vote_breaks_ties_by_earliest_frame():
    ids, votes = majority_vote(np.array([2, 1, 1, 2, 5, 7, 7]), np.array([0, 0, 0, 0, 1, 2, 2]))
    assert ids.tolist() == [0, 1, 2] and votes.tolist() == [2, 5, 7]
