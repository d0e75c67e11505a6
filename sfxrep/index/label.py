"""Suggested classes for unlabelled files: kNN votes among a labelled reference library's files.

Every query file's ``k`` nearest reference files (cosine on the reference's z-scored, L2-normalised
embeddings) vote for their class with their similarity; a class's score is its share of the votes, and the
``top`` classes are suggested. With a UCS-named reference the vote is over CatIDs and each suggestion also
names its UCS Category, so a file can be renamed ``CatID_FXName_CreatorID_SourceID``. A reference file is
never its own neighbour (same path), so labelling an index that contains the reference stays honest.

``evaluate_labels`` measures the procedure on a labelled library: its train split is the reference, its
held-back test split the queries, scored as the kNN evaluation scores (:func:`sfxrep.evaluate.knn.macro_f1`),
next to the same procedure with the reference's labels permuted (chance for this class balance).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sfxrep.evaluate.knn import macro_f1
from sfxrep.index.calibration import Calibration
from sfxrep.index.identity import check_same_model
from sfxrep.index.rows import FileRow


@dataclass(frozen=True)
class Suggestion:
    """Suggested classes of one file, best first: ``(label, catid or None, score)``.

    Attributes:
        classes: the vote shares (summing to ≤ 1), or, calibrated (:mod:`sfxrep.index.calibration`), each class's
            probability of being right as the reference's held-out files showed it.
        current: the file's label, where it has one.
        far: the file is farther from every reference file than nearly all reference files are from theirs.
    """

    path: str
    classes: list[tuple[str, str | None, float]]
    current: str | None = None
    far: bool = False


def _vote_key(row: FileRow, ucs: set[str]) -> tuple[str, str | None]:
    """(label, CatID) a reference row votes for: UCS rows vote per CatID (``group``), others per label."""
    if row.library in ucs:
        return row.label, row.group
    return row.label, None


UNKNOWN = "unknown"  # label_1 of a suggestion below the calibrated threshold

TEMPERATURE = 0.05
"""Softness of the vote: a neighbour's weight is exp(cosine / T). Small T approaches the paper's 1-NN for the
first suggestion while the further neighbours still rank the second and third (measured in README "Indexing")."""


def _votes(scores: np.ndarray, found: np.ndarray, keys: list[tuple[str, str | None]], top: int,
           ) -> list[tuple[str, str | None, float]]:
    """Top classes from neighbours' (cosine, row): votes per (label, CatID), summed per label; each label is
    suggested with its strongest CatID (UCS: Category and CatID)."""
    valid = found >= 0
    scores, found = scores[valid], found[valid]
    if not len(found):
        return []
    weights = np.exp((scores - scores.max()) / TEMPERATURE)
    per_key: dict[tuple[str, str | None], float] = defaultdict(float)
    for w, i in zip(weights, found, strict=True):
        per_key[keys[i]] += float(w)
    per_label: dict[str, float] = defaultdict(float)
    for (label, _), w in per_key.items():
        per_label[label] += w
    total = sum(per_label.values())
    ranked = sorted(per_label.items(), key=lambda kv: -kv[1])[:top]
    best = lambda label: max((w, c) for (lab, c), w in per_key.items() if lab == label)[1]
    return [(label, best(label), round(w / total, 4)) for label, w in ranked]


def vote_keys(reference) -> list[tuple[str, str | None]]:
    """Per reference row, what it votes for."""
    ucs = set(reference.meta.get("ucs_libraries") or [])
    return [_vote_key(r, ucs) for r in reference.rows]


def suggest(index, reference, k: int = 10, top: int = 3, queries: list[int] | None = None,
            pool: np.ndarray | None = None, keys: list[tuple[str, str | None]] | None = None,
            calibration: Calibration | None = None) -> list[Suggestion]:
    """Top-``top`` classes for the files of ``index`` (or its rows ``queries``) from ``k`` neighbours in
    ``reference`` (or its rows ``pool``). Both indexes must come from the same model. With a ``calibration`` the
    scores are probabilities of being right and far files are marked."""
    check_same_model(reference.meta["model"], index.meta["model"], index.folder)
    labelled = np.array([i for i, r in enumerate(reference.rows) if r.label is not None], dtype=np.int64)
    pool = labelled if pool is None else pool
    if len(pool) == 0:
        raise ValueError(f"{reference.folder}: the reference has no labelled files")
    keys = keys or vote_keys(reference)
    queries = list(range(len(index))) if queries is None else queries
    vectors = reference.normalised(index.vectors[queries]) if queries else np.zeros((0, 1), np.float32)
    ref_paths = {reference.rows[i].path: i for i in pool}
    out = []
    for q, vector in zip(queries, vectors, strict=True):
        row = index.rows[q]
        own = ref_paths.get(row.path)
        candidates = pool if own is None else pool[pool != own]
        scores, found = reference.searcher.search(vector[None], k, candidates)
        classes = _votes(scores[0], found[0], keys, top)
        far = False
        if calibration is not None:
            classes = [(label, catid, round(calibration.probability(share), 4)) for label, catid, share in classes]
            far = bool(scores[0][0] < calibration.far_cosine)
        out.append(Suggestion(row.path, classes, row.label, far))
    return out


def write_suggestions(suggestions: list[Suggestion], out: str | Path, top: int = 3,
                      min_confidence: float | None = None) -> Path:
    """CSV: path, current_label, then label_N, catid_N, score_N for N = 1..top, then best_guess and far (written
    atomically). With ``min_confidence``, a file whose first suggestion's probability is below it gets ``unknown``
    as ``label_1`` (its best guess stays in ``best_guess``)."""
    from sfxrep.fileio import atomic_write_text, spreadsheet_csv

    rows = [["path", "current_label", *[f"{c}_{n}" for n in range(1, top + 1) for c in ("label", "catid", "score")],
             "best_guess", "far"]]
    for s in suggestions:
        cells = [x for label, catid, score in s.classes for x in (label, catid or "", f"{score:.4f}")]
        if min_confidence is not None and abstains(s, min_confidence):
            cells[0], cells[1] = UNKNOWN, ""
        rows.append([s.path, s.current or "", *cells, *[""] * (3 * top - len(cells)),
                     s.classes[0][0] if s.classes else "", "yes" if s.far else ""])
    atomic_write_text(out, spreadsheet_csv(rows))
    return Path(out)


def abstains(suggestion: Suggestion, min_confidence: float) -> bool:
    """Whether ``label`` says ``unknown`` for this suggestion: its first class is less likely than ``min_confidence``."""
    return bool(suggestion.classes) and suggestion.classes[0][2] < min_confidence


def ucs_name(path: str, catid: str, creator_id: str, source_id: str) -> str:
    """A UCS file name ``CatID_FXName_CreatorID_SourceID.ext`` for ``path``; FXName is its stem, cleaned
    (underscores become spaces, a leading UCS CatID is dropped, at most 25 characters as UCS advises)."""
    stem, ext = Path(path).stem, Path(path).suffix.lower()
    fx = re.sub(r"^[A-Z]{3,}[A-Za-z]*(-[^_]*)?_", "", stem) if "_" in stem else stem
    fx = re.sub(r"[_\s]+", " ", fx).strip()[:25].strip() or "Untitled"
    clean = lambda s: re.sub(r"[^A-Za-z0-9-]+", "", s) or "NA"
    return f"{catid}_{fx}_{clean(creator_id)}_{clean(source_id)}{ext}"


def rename_preview(suggestions: list[Suggestion], creator_id: str, source_id: str | None) -> list[tuple[str, str]]:
    """(old path, proposed UCS name) for every file with a CatID suggestion; renames nothing."""
    pairs = []
    for s in suggestions:
        if s.classes and s.classes[0][1]:
            source = source_id or Path(s.path).parent.name
            pairs.append((s.path, ucs_name(s.path, s.classes[0][1], creator_id, source)))
    return pairs


@dataclass(frozen=True)
class LabelScores:
    """Suggestion quality on a held-back split: top-1 / top-3 accuracy and top-1 macro-F1 (file level)."""

    library: str
    top1: float
    top3: float
    macro_f1: float
    files: int
    reference_files: int
    classes: int
    chance_top1: float
    chance_macro_f1: float


def evaluate_labels(reference, library: str, k: int = 10, seed: int = 0) -> LabelScores:
    """Score the suggestions for ``library``'s test split against its train split (and a permuted baseline)."""
    rows = reference.rows
    train = np.array([i for i, r in enumerate(rows) if r.library == library and r.split == "train"])
    test = [i for i, r in enumerate(rows) if r.library == library and r.split == "test"]
    if len(train) == 0 or not test:
        raise ValueError(f"{reference.folder}: library {library!r} has no train and test split in the index "
                         "(index it from a libraries YAML)")
    ucs = set(reference.meta.get("ucs_libraries") or [])
    keys = [_vote_key(r, ucs) for r in rows]
    truth = np.array([rows[i].label for i in test])

    def scores(keys) -> tuple[float, float, float]:
        got = suggest(reference, reference, k=k, top=3, queries=test, pool=train, keys=keys)
        top1 = np.array([s.classes[0][0] if s.classes else "" for s in got])
        top3 = np.mean([t in [c[0] for c in s.classes] for t, s in zip(truth, got, strict=True)])
        return float((top1 == truth).mean()), float(top3), macro_f1(truth, top1)

    top1, top3, f1 = scores(keys)
    permuted = list(keys)
    shuffled = np.random.default_rng(seed).permutation(train)
    for i, j in zip(train, shuffled, strict=True):
        permuted[i] = keys[j]
    chance1, _, chance_f1 = scores(permuted)
    return LabelScores(library, top1, top3, f1, len(test), len(train), len(set(truth)), chance1, chance_f1)
