"""How far a suggestion can be trusted: vote shares calibrated on the reference's own held-out files.

A vote share is not a probability: a library of 3 categories gives shares near 1 to anything, and a sound unlike
every reference file still gets a "best" class. So each labelled reference file is suggested a class by the other
reference files, its own group of takes left out (:mod:`sfxrep.libraries.takes`: a sibling take would make it
look easy), and an isotonic regression maps the top vote share to the chance that the suggestion was right. The
reliability table is cross-fitted (each fifth of the files scored by a map fitted on the other four fifths), so it
says how a stated probability held on files the map never saw.

Two warnings go with it: a reference of few categories (``few_categories``), and a query farther from every reference file
than ``FAR_QUANTILE`` of the reference's files are from their nearest other group (``far``): such a suggestion is a
guess whatever its share.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sfxrep.libraries.takes import group_files
from sfxrep.libraries.ucs import fx_name

MIN_CONFIDENCE = 0.5  # below this calibrated probability, label says "unknown" (its best guess kept beside it)
FAR_QUANTILE = 0.05  # a query nearer to no reference file than 95 % of reference files are to theirs is "far"
FEW_CATEGORIES = 20  # a reference of fewer categories is flagged: whatever a file is, it gets one of these
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass
class Calibration:
    """The map from a top vote share to P(right), and what the reference's held-out files showed.

    Attributes:
        shares, right: per held-out reference file, its top vote share and whether that suggestion was right.
        far_cosine: the nearest-other-group cosine below which a query is "far".
        categories: how many classes the reference votes for.
        table: the cross-fitted reliability table: per bin of stated probability, files, mean stated, observed.
    """

    shares: list[float]
    right: list[bool]
    far_cosine: float
    categories: int
    table: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._map = _fit(np.array(self.shares), np.array(self.right))

    def probability(self, share: float) -> float:
        """P(the suggestion is right) for a top vote share."""
        return float(self._map.predict([share])[0])

    @property
    def few_categories(self) -> bool:
        return self.categories < FEW_CATEGORIES

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> Calibration:
        return cls(**{k: raw[k] for k in ("shares", "right", "far_cosine", "categories", "table")})


def _fit(shares: np.ndarray, right: np.ndarray):
    from sklearn.isotonic import IsotonicRegression  # here: the parser imports MIN_CONFIDENCE from this module

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    if len(shares) == 0:
        return iso.fit([0.0, 1.0], [0.0, 0.0])
    return iso.fit(shares, right.astype(float))


def reliability_table(shares: np.ndarray, right: np.ndarray, folds: int = 5, seed: int = 0) -> list[dict]:
    """Cross-fitted reliability: each fold's files get probabilities from a map fitted on the other folds; then per
    bin of stated probability, the files, the mean stated probability and the share that was right."""
    if len(shares) < 2 * folds:
        return []
    fold = np.random.default_rng(seed).permutation(len(shares)) % folds
    stated = np.empty(len(shares))
    for f in range(folds):
        stated[fold == f] = _fit(shares[fold != f], right[fold != f]).predict(shares[fold == f])
    rows = []
    for lo, hi in itertools.pairwise(BINS):
        inside = (stated >= lo) & ((stated < hi) if hi < 1 else (stated <= hi))
        if inside.any():
            rows.append({"stated": f"{lo:.1f}–{hi:.1f}", "files": int(inside.sum()),
                         "mean_stated": round(float(stated[inside].mean()), 3),
                         "observed": round(float(right[inside].mean()), 3)})
    return rows


def calibrate(reference, keys: list, k: int, votes) -> Calibration:
    """Suggest every labelled file of ``reference`` from the others (its group of takes left out), and fit the map.

    Args:
        reference: the reference :class:`~sfxrep.index.store.Index`.
        keys: per reference row, what it votes for (``(label, CatID or None)``).
        k: neighbours that vote.
        votes: the vote rule, ``(scores, rows, keys, top) → [(label, catid, share)]``.
    """
    rows = reference.rows
    ucs = set(reference.meta.get("ucs_libraries") or [])
    pool = np.array([i for i, r in enumerate(rows) if r.label is not None], dtype=np.int64)
    paths = [rows[i].path for i in pool]
    names = [fx_name(Path(p).stem) if rows[i].library in ucs else Path(p).stem for i, p in zip(pool, paths, strict=True)]
    groups = np.array(group_files(paths, [rows[i].label for i in pool], [()] * len(pool), names).groups)
    vectors = reference.normalised(reference.vectors[pool])
    shares, right, nearest = [], [], []
    for n, vector in enumerate(vectors):
        others = pool[groups != groups[n]]
        if len(others) == 0:
            continue
        scores, found = reference.searcher.search(vector[None], k, others)
        suggested = votes(scores[0], found[0], keys, 1)
        if not suggested:
            continue
        shares.append(suggested[0][2])
        right.append(suggested[0][0] == rows[pool[n]].label)
        nearest.append(float(scores[0][0]))
    share_arr, right_arr = np.array(shares), np.array(right, bool)
    far = float(np.quantile(nearest, FAR_QUANTILE)) if nearest else -1.0
    categories = len({keys[i][0] for i in pool})
    return Calibration(shares, [bool(x) for x in right], far, categories,
                       reliability_table(share_arr, right_arr))


def format_table(calibration: Calibration) -> str:
    """The reliability table as text (for the terminal and the README)."""
    lines = [f"{'stated P(right)':<16} {'files':>6} {'mean stated':>12} {'observed':>9}"]
    for row in calibration.table:
        lines.append(f"{row['stated']:<16} {row['files']:>6} {row['mean_stated']:>12.3f} {row['observed']:>9.3f}")
    return "\n".join(lines)
