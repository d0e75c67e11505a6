"""A taxonomy crosswalk: where each class of one library lands in another taxonomy, with shares and confidence.

Every file of the source library asks its ``k`` nearest files of the target (a library of the same index, or a
UCS reference) for a class (similarity-weighted votes, as ``sfxrep label`` does); a source class maps to the
target classes its files were given, with the share of its files for each. The confidence of a mapping is the
Wilson lower bound (95 %) of that share: a class of three files that all land in one place is less certain than
one of thirty. ``lift`` compares the share with the target class's share of the target library (1 = chance).
This is the table a vendor needs when moving a proprietary taxonomy to UCS.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

K = 10
TEMPERATURE = 0.05
TOP = 3  # target classes listed per source class


@dataclass(frozen=True)
class Mapping:
    """One target class of a source class: ``share`` of the source class's files voted into it."""

    target: str
    share: float
    confidence: float
    lift: float
    files: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CrosswalkRow:
    """A source class and its best target classes (best first)."""

    source_library: str
    source_class: str
    files: int
    target_library: str = ""
    targets: list[Mapping] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k != "targets"},
                "targets": [t.to_dict() for t in self.targets]}


def wilson_lower(successes: int, n: int, z: float = 1.96) -> float:
    """Lower bound of the Wilson score interval of a proportion (95 % for z = 1.96)."""
    if n == 0:
        return 0.0
    p = successes / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z * z / n))


def crosswalk(source_library: str, source_labels: list[str], source_vectors: np.ndarray, target_library: str,
              target_labels: list[str], target_vectors: np.ndarray, *, k: int = K, top: int = TOP,
              exclude: np.ndarray | None = None) -> list[CrosswalkRow]:
    """The crosswalk table from a source library's classes to a target taxonomy.

    Args:
        source_library, target_library: the two taxonomies' names (a library, or ``UCS``).
        source_labels, source_vectors: the source files' labels and ``(N, D)`` unit embeddings.
        target_labels, target_vectors: the target files' classes (e.g. ``CatID (Category)``) and ``(M, D)`` unit
            embeddings.
        exclude: ``(N, M)`` bool, pairs that must not vote (a file that is in both, by path).

    Returns:
        one row per source class (largest first), its ``top`` target classes.
    """
    if not len(target_labels):
        raise ValueError("the target taxonomy has no labelled files")
    sims = source_vectors @ target_vectors.T  # (N, M)
    if exclude is not None:
        sims = np.where(exclude, -np.inf, sims)
    k = min(k, sims.shape[1])
    order = np.argsort(-sims, axis=1)[:, :k]
    prior = Counter(target_labels)
    picked = []
    for row, cols in zip(sims, order, strict=True):
        weights = np.exp((row[cols] - row[cols[0]]) / TEMPERATURE)
        votes: dict[str, float] = defaultdict(float)
        for w, j in zip(weights, cols, strict=True):
            votes[target_labels[j]] += float(w)
        picked.append(max(votes.items(), key=lambda kv: (kv[1], kv[0]))[0])
    by_class: dict[str, list[str]] = defaultdict(list)
    for label, target in zip(source_labels, picked, strict=True):
        by_class[label].append(target)
    rows = []
    for label, targets in by_class.items():
        n = len(targets)
        row = CrosswalkRow(source_library, label, n, target_library)
        for target, count in Counter(targets).most_common(top):
            chance = prior[target] / len(target_labels)
            row.targets.append(Mapping(target, round(count / n, 4), round(wilson_lower(count, n), 4),
                                       round(count / n / chance, 2), count))
        rows.append(row)
    return sorted(rows, key=lambda r: (-r.files, r.source_class))
