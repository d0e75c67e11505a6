"""Paired comparison of two models from their stored per-file predictions (the k-fold protocol's sibling file).

Both models predicted the same files of a library under the same fold seeds, so every difference is paired. For
each library, with A the baseline and B the challenger:

* ``diff`` = B − A of the metric (frame macro-F1 by default; mean over training seeds and fold seeds);
* ``lo``/``hi``: a 95 % interval from a hierarchical bootstrap — groups of takes resampled with replacement within
  the library (the unit that is independent), fold seeds and each model's training seeds resampled too;
* ``p``: a paired permutation test (each group's predictions of A and B swapped at random), and ``p_holm`` across
  the libraries (Holm's step-down, family-wise 5 %);
* ``mde``: the minimum detectable difference at 5 % two-sided and 80 % power, ``(z₀.₉₇₅ + z₀.₈)·SE`` with SE the
  bootstrap standard error: a true difference smaller than this is likely to be missed.

``overall`` is the mean over libraries (each library weighs the same), bootstrapped and permuted jointly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

Z_975, Z_80 = 1.959964, 0.841621
METRICS = ("frame_macro_f1", "file_macro_f1", "frame_accuracy", "file_accuracy")


@dataclass(frozen=True)
class Scored:
    """One model's predictions on one library for one (training seed, fold seed), on the common files.

    Attributes:
        truth: ``(N,)`` true class per unit (block or file, by metric).
        pred: ``(N,)`` predicted class per unit.
        group: ``(N,)`` group index per unit (0 … G−1, shared by both models).
        n_classes: classes of the library.
    """

    truth: np.ndarray
    pred: np.ndarray
    group: np.ndarray
    n_classes: int


@dataclass(frozen=True)
class PairedResult:
    """B − A on one library (or ``overall``), in the rows' units (fractions of 1)."""

    library: str
    a: float
    b: float
    diff: float
    lo: float
    hi: float
    p: float
    p_holm: float
    mde: float
    n_files: int
    n_groups: int
    lo90: float = float("nan")
    hi90: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)


def weighted_score(truth: np.ndarray, pred: np.ndarray, n_classes: int, weights: np.ndarray | None,
                   metric: str) -> float:
    """Macro-F1 (over the classes present in ``truth`` with weight) or accuracy, each unit weighted."""
    w = np.ones(len(truth)) if weights is None else weights
    if metric.endswith("accuracy"):
        return float((w * (truth == pred)).sum() / w.sum())
    hit = truth == pred
    tp = np.bincount(truth[hit], w[hit], n_classes)
    support = np.bincount(truth, w, n_classes)
    predicted = np.bincount(pred[pred >= 0], w[pred >= 0], n_classes)
    present = support > 0
    f1 = 2 * tp[present] / (support[present] + predicted[present])
    return float(f1.mean())


def _mean_score(runs: Sequence[Scored], metric: str, weights: np.ndarray | None = None,
                picks: Sequence[int] | None = None) -> float:
    picks = range(len(runs)) if picks is None else picks
    return float(np.mean([weighted_score(runs[i].truth, runs[i].pred, runs[i].n_classes,
                                         None if weights is None else weights[runs[i].group], metric)
                          for i in picks]))


def _library_draws(a: list[list[Scored]], b: list[list[Scored]], metric: str, n_groups: int, rng: np.random.Generator,
                   n_boot: int) -> np.ndarray:
    """Bootstrap draws of B − A: groups, then fold seeds, then each side's training seeds, with replacement.

    ``a[t][s]``: model A's training seed ``t``, fold seed ``s`` (the fold seeds are the same for A and B).
    """
    n_seeds = len(a[0])
    draws = np.empty(n_boot)
    for n in range(n_boot):
        weights = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups).astype(float)
        seeds = rng.integers(0, n_seeds, n_seeds)
        ta, tb = rng.integers(0, len(a), len(a)), rng.integers(0, len(b), len(b))
        draws[n] = (np.mean([_mean_score(b[t], metric, weights, seeds) for t in tb])
                    - np.mean([_mean_score(a[t], metric, weights, seeds) for t in ta]))
    return draws


def _library_permutations(a: list[list[Scored]], b: list[list[Scored]], metric: str, n_groups: int,
                          rng: np.random.Generator, n_perm: int) -> np.ndarray:
    """B − A under the null of exchangeable models: each group's predictions swapped between A and B at random
    (training seed ``t`` of A paired with ``t mod`` of B)."""
    pairs = [(a[t % len(a)], b[t % len(b)]) for t in range(max(len(a), len(b)))]
    out = np.empty(n_perm)
    for n in range(n_perm):
        swap = rng.random(n_groups) < 0.5
        diffs = []
        for runs_a, runs_b in pairs:
            for ra, rb in zip(runs_a, runs_b, strict=True):
                s = swap[ra.group]
                pa, pb = np.where(s, rb.pred, ra.pred), np.where(s, ra.pred, rb.pred)
                diffs.append(weighted_score(ra.truth, pb, ra.n_classes, None, metric)
                             - weighted_score(ra.truth, pa, ra.n_classes, None, metric))
        out[n] = np.mean(diffs)
    return out


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), in the input order."""
    order = np.argsort(p)
    adjusted, running = np.empty(len(p)), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def paired_compare(a: dict[str, list[list[Scored]]], b: dict[str, list[list[Scored]]], *, metric: str,
                   n_files: dict[str, int], n_boot: int = 1000, n_perm: int = 1000,
                   seed: int = 0) -> list[PairedResult]:
    """B against A on every library both scored, then ``overall``.

    Args:
        a, b: library → [training seed][fold seed] → :class:`Scored`, on the same units in the same order.
        metric: one of :data:`METRICS`.
        n_files: library → files compared (reported).
        n_boot, n_perm: bootstrap draws and permutations.
        seed: the resampling seed (results are reproducible).
    """
    rng = np.random.default_rng(seed)
    libraries = [lib for lib in a if lib in b]
    out, boots, perms = [], [], []
    for lib in libraries:
        n_groups = int(a[lib][0][0].group.max()) + 1
        score_a = float(np.mean([_mean_score(runs, metric) for runs in a[lib]]))
        score_b = float(np.mean([_mean_score(runs, metric) for runs in b[lib]]))
        boot = _library_draws(a[lib], b[lib], metric, n_groups, rng, n_boot)
        perm = _library_permutations(a[lib], b[lib], metric, n_groups, rng, n_perm)
        boots.append(boot)
        perms.append(perm)
        out.append(_result(lib, score_a, score_b, score_b - score_a, boot, perm, n_files[lib], n_groups))
    out = [replace(r, p_holm=adjusted) for r, adjusted in zip(out, holm([r.p for r in out]), strict=True)]
    if out:  # overall: one test, so its p_holm is its p (as _result sets it)
        mean = lambda xs: float(np.mean(xs))
        out.append(_result("overall", mean([r.a for r in out]), mean([r.b for r in out]), mean([r.diff for r in out]),
                           np.mean(boots, axis=0), np.mean(perms, axis=0), sum(r.n_files for r in out),
                           sum(r.n_groups for r in out)))
    return out


def _result(library: str, a: float, b: float, diff: float, boot: np.ndarray, perm: np.ndarray, n_files: int,
            n_groups: int) -> PairedResult:
    lo, hi = np.percentile(boot, [2.5, 97.5])
    lo90, hi90 = np.percentile(boot, [5.0, 95.0])  # the equivalence test (TOST at 5 %) reads the 90 % interval
    p = float((1 + np.sum(np.abs(perm) >= abs(diff) - 1e-12)) / (1 + len(perm)))
    mde = (Z_975 + Z_80) * float(np.std(boot, ddof=1))
    return PairedResult(library, a, b, diff, float(lo), float(hi), p, p, mde, n_files, n_groups, float(lo90),
                        float(hi90))


def scored_units(records: Sequence[dict], paths: Sequence[str], groups: dict[str, int],
                 metric: str) -> list[Scored]:
    """One model's prediction records (one per fold seed, sorted by fold seed) as :class:`Scored` units on the
    files ``paths`` (in that order): its blocks for frame metrics, its files for file metrics."""
    out = []
    for record in records:
        at = {p: i for i, p in enumerate(record["paths"])}
        rows = [at[p] for p in paths]
        group = np.array([groups[p] for p in paths])
        truth = np.array([record["labels"][i] for i in rows])
        if metric.startswith("frame"):
            blocks = [record["block_pred"][i] for i in rows]
            sizes = [len(b) for b in blocks]
            units = Scored(np.repeat(truth, sizes), np.concatenate(blocks).astype(np.int64), np.repeat(group, sizes),
                           len(record["classes"]))
        else:
            units = Scored(truth, np.array([record["file_pred"][i] for i in rows]), group, len(record["classes"]))
        out.append(units)
    return out
