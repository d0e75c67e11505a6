"""Suspected mislabels: files whose sound disagrees with their label, ranked by how likely the label is wrong.

For each labelled file of a library, its out-of-sample class probabilities are the mean of two predictions that
never saw its label: a logistic regression on the embeddings fitted on the other folds of a stratified
:data:`FOLDS`-fold split (the out-of-sample ``cross_val_predict`` confident learning recommends), and the votes of its nearest files of the
library, the file left out (:func:`knn_probabilities`). Measured on the damage bench (``benchmarks/audit_bench.py``,
aiSFX, four libraries, 5 % flipped), precision@N: kNN votes alone 0.19, logistic regression alone 0.60, the mean
0.57 — kept because on small libraries (tens of files) the regression alone ranks worse than the votes. The
nearest files are also the evidence a librarian listens to.

Files are ranked by their label's *relative* confidence, its probability over the mean probability its class's
files get (so a hard class does not flood the top), and flagged only on strong evidence (:data:`RELATIVE_MAX`,
:data:`SUGGESTION_MIN`). A librarian meets clean libraries first, and confident learning's filter
(``find_label_issues``, Northcutt et al. 2021) flagged 26.6 % of four clean real libraries, so it is no longer used.
Files near the line are listed as ``weak`` evidence, never flagged. Classes with fewer than :data:`MIN_CLASS_FILES` files cannot be
judged by their neighbours (a class of one file has no neighbour of its own class); their files are counted as
not judged instead of flooding the top of the list.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from sfxrep.audit.neighbours import nearest

FOLDS = 3  # stratified folds of the out-of-sample probabilities
KNN_WEIGHT = 0.5  # the probabilities: this share of leave-one-out kNN votes, the rest logistic regression
C = 0.01  # inverse L2 strength of the logistic regression (measured best of 0.01, 0.1, 1 on the bench)
K = 10  # neighbours that vote
TEMPERATURE = 0.1  # vote weight exp(cosine / T)
PRIOR = 0.5  # votes of smoothing, spread by the class frequencies
MIN_CLASS_FILES = 3  # smaller classes are not judged
# A flag needs strong evidence: the label's probability under a tenth of what its class usually gets, and another label
# above 0.4. Measured on the audit bench (aiSFX; dirt_oneshots, redeclipse_sounds, retro512_junkala, lmms_samples;
# 2,683 files, one damage seed): as shipped 2.1 % of the files flagged (confident learning: 26.6 %); with 5 % of the
# labels flipped, flag precision 0.61 and recall 0.55, and the ranking's precision@N 0.63 (by p_label alone 0.55).
# The thresholds were chosen on that seed.
RELATIVE_MAX = 0.10
SUGGESTION_MIN = 0.4
WEAK_RELATIVE_MAX = 0.25  # below this relative confidence (and not flagged) a file is listed as weak evidence


@dataclass(frozen=True)
class Neighbour:
    path: str
    label: str
    cosine: float


@dataclass(frozen=True)
class Suspect:
    """A file whose label its neighbours disagree with.

    Attributes:
        path, library, label: the file and its current label.
        suggestion: the most probable label by its neighbours.
        quality: the label's relative confidence: ``p_label`` over the mean ``p_label`` of its class (1: as sure as
            its class usually is; near 0: unlike its class); the list is sorted by it, lowest first.
        p_label, p_suggestion: out-of-sample probability of the current and the suggested label.
        issue: the evidence is strong (:data:`RELATIVE_MAX`, :data:`SUGGESTION_MIN`): a flag, not only a rank.
        evidence: ``strong`` (flagged), ``weak`` (listed, not flagged: a relative confidence under
            :data:`WEAK_RELATIVE_MAX`) or ``""``.
        neighbours: the nearest files of the library with their labels and cosines (the evidence to listen to).
    """

    path: str
    library: str
    label: str
    suggestion: str
    quality: float
    p_label: float
    p_suggestion: float
    issue: bool
    neighbours: list[Neighbour] = field(default_factory=list)
    evidence: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LibraryVerdict:
    """Every judged file of one library ranked (worst first), and what could not be judged."""

    library: str
    ranked: list[Suspect]
    not_judged: int = 0
    small_classes: list[str] = field(default_factory=list)
    why_not_judged: str = ""

    def judged_line(self, files: int) -> str:
        """``lib: 40 files, 2 suspected mislabels, 3 not judged (classes of < 3 files)``."""
        line = f"{self.library}: {files} files, {len(self.issues)} suspected mislabels"
        return line + (f", {self.not_judged} not judged ({self.why_not_judged})" if self.not_judged else "")

    @property
    def issues(self) -> list[Suspect]:
        return [s for s in self.ranked if s.issue]


def knn_probabilities(vectors: np.ndarray, labels: np.ndarray, n_classes: int, k: int = K,
                      temperature: float = TEMPERATURE, chunk: int = 2048,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leave-one-out kNN class probabilities.

    Args:
        vectors: ``(N, D)`` unit embeddings of one library's files.
        labels: ``(N,)`` class indices in ``[0, n_classes)``.

    Returns:
        ``probs (N, C)`` (rows sum to 1), and each file's neighbours ``(N, k')`` with their cosines ``(N, k')``.
    """
    n = len(vectors)
    order, cosines = nearest(vectors, k, chunk)
    k = order.shape[1]
    weights = np.exp((cosines - cosines[:, :1]) / temperature)  # (N, k), the nearest weighs 1
    votes = np.zeros((n, n_classes))
    np.add.at(votes, (np.repeat(np.arange(n), k), labels[order].ravel()), weights.ravel())
    prior = np.bincount(labels, minlength=n_classes) / n
    votes = votes / votes.sum(axis=1, keepdims=True) * k + PRIOR * prior  # k votes, then the smoothing
    return votes / votes.sum(axis=1, keepdims=True), order, cosines


def cross_validated_probabilities(vectors: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(N, C)`` out-of-sample class probabilities: standardise + logistic regression, fitted on the other folds
    of a stratified :data:`FOLDS`-fold split (every class needs ≥ :data:`FOLDS` files)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    return cross_val_predict(model, vectors, labels, cv=folds, method="predict_proba")


def judge_library(library: str, paths: list[str], labels: list[str], vectors: np.ndarray, *, k: int = K,
                  temperature: float = TEMPERATURE, show: int = 5, seed: int = 0) -> LibraryVerdict:
    """Rank the files of one library by how likely their label is wrong (worst first).

    Args:
        paths, labels: the library's files and their labels.
        vectors: ``(N, D)`` their unit embeddings.
        k, temperature: the nearest files kept as evidence, and the softness of their (reported) votes.
        seed: of the folds.
        show: neighbours kept as evidence per file.
    """
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    small = sorted(c for c, n in counts.items() if n < MIN_CLASS_FILES)
    keep = np.array([i for i, label in enumerate(labels) if counts[label] >= MIN_CLASS_FILES], dtype=np.int64)
    classes = sorted({labels[i] for i in keep})
    verdict = LibraryVerdict(library, [], len(labels) - len(keep), small,
                             f"classes of < {MIN_CLASS_FILES} files" if small else "")
    if len(classes) < 2:  # one class (or none) big enough: no other label any file could have
        return LibraryVerdict(library, [], len(labels), small, "fewer than 2 classes of at least "
                                                               f"{MIN_CLASS_FILES} files: no other label to suggest")
    y = np.array([classes.index(labels[i]) for i in keep])
    votes, order, cosines = knn_probabilities(vectors[keep], y, len(classes), k, temperature)
    probs = KNN_WEIGHT * votes + (1 - KNN_WEIGHT) * cross_validated_probabilities(vectors[keep], y, seed)
    p_label = probs[np.arange(len(y)), y]
    typical = np.array([p_label[y == c].mean() for c in range(len(classes))])
    quality = p_label / np.maximum(typical[y], 1e-9)  # relative to the class: a hard class does not flood the top
    others = probs.copy()
    others[np.arange(len(y)), y] = -1.0
    strong = (quality < RELATIVE_MAX) & (others.max(axis=1) > SUGGESTION_MIN)
    weak = quality < WEAK_RELATIVE_MAX  # near the line: listed, not flagged
    for m in np.argsort(quality, kind="stable"):
        best = int(np.argmax(probs[m]))
        evidence = [Neighbour(paths[keep[j]], labels[keep[j]], round(float(c), 4))
                    for j, c in zip(order[m, :show], cosines[m, :show], strict=True)]
        verdict.ranked.append(Suspect(paths[keep[m]], library, labels[keep[m]], classes[best],
                                      round(float(quality[m]), 5), round(float(probs[m, y[m]]), 4),
                                      round(float(probs[m, best]), 4), bool(strong[m]), evidence,
                                      "strong" if strong[m] else "weak" if weak[m] else ""))
    return verdict


def rank_all(verdicts: list[LibraryVerdict]) -> list[Suspect]:
    """Every judged file of every library, most likely mislabelled first (relative confidence, ascending)."""
    return sorted((s for v in verdicts for s in v.ranked), key=lambda s: (s.quality, s.path))
