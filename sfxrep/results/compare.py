"""The paper's comparisons as group-bys of the results file: Δ of each variant against a baseline.

A *variant* is the value of the ``by`` columns of a row (RQ1: the loss); rows are compared within a *group*
of equal ``match`` columns (RQ1: scenario, library, mixing, bn, fdr_threshold). For every group that has the
baseline, each other variant gets Δmetric = variant − baseline; the table ends with the mean Δ over
libraries for each combination of the other match columns. A
(group, variant) run with several seeds counts as the mean over seeds (``n`` says how many); re-running
the same seed replaces the earlier row.

The ``--rq`` groupings are the questions' tables in :mod:`sfxrep.results.comparisons`.
"""

from __future__ import annotations

import argparse
import math
from collections import defaultdict
from collections.abc import Sequence

from sfxrep.results.comparisons import QUESTIONS, Comparison
from sfxrep.results.rows import FACTORS, ResultRow, format_table, latest_per_seed, read_results, where


def _key(row: ResultRow, columns: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(row.get(c)).lower() for c in columns)


def _groups(rows: Sequence[ResultRow], comparison: Comparison) -> dict[tuple, dict[tuple, list[ResultRow]]]:
    """group → variant → its rows, the latest of each seed."""
    groups: dict[tuple, dict[tuple, list[ResultRow]]] = defaultdict(lambda: defaultdict(list))
    for row in latest_per_seed(rows):
        groups[_key(row, comparison.match)][_key(row, comparison.by)].append(row)
    return groups


def _mean(rows: list[ResultRow], metric: str) -> float:
    """Mean of ``metric`` over seeds (NaN where a row lacks it or it is undefined)."""
    values = [math.nan if r.get(metric) is None else float(r.get(metric)) for r in rows]
    return math.nan if any(math.isnan(v) for v in values) else sum(values) / len(values)


def _nanmean(values: list[float]) -> float:
    """Mean over libraries of the defined values (NaN if none is)."""
    defined = [v for v in values if not math.isnan(v)]
    return sum(defined) / len(defined) if defined else math.nan


def pivot(rows: Sequence[ResultRow], comparison: Comparison, metric: str) -> tuple[list[dict], list[str]]:
    """Absolute values side by side: one row per group, one column per variant (baseline first), plus means.

    Returns:
        the table rows and the variant column names.
    """
    groups = _groups(rows, comparison)
    base = "/".join(v.lower() for v in comparison.baseline)
    variants = sorted({"/".join(v) for g in groups.values() for v in g}, key=lambda v: (v != base, v))
    table = []
    for group, by_variant in sorted(groups.items()):
        entry = dict(zip(comparison.match, group, strict=True))
        entry.update({"/".join(v): _mean(r, metric) for v, r in by_variant.items()})
        table.append(entry)
    label = "library" if "library" in comparison.match else comparison.match[-1]
    others = [c for c in comparison.match if c != label]
    means = []
    for key in sorted({tuple(e[c] for c in others) for e in table}):
        entries = [e for e in table if tuple(e[c] for c in others) == key]
        mean = {**dict(zip(others, key, strict=True)), label: "MEAN"}
        for v in variants:
            mean[v] = _nanmean([e[v] for e in entries if v in e])
        means.append(mean)
    return table + means, variants


def compare(rows: Sequence[ResultRow], comparison: Comparison, metrics: Sequence[str]) -> list[dict]:
    """One output row per (group, non-baseline variant) with ``d_<metric>``, then per-scenario means."""
    groups = _groups(rows, comparison)
    base = tuple(v.lower() for v in comparison.baseline)
    out = []
    for group, variants in sorted(groups.items()):
        if base not in variants:
            continue
        ref = variants[base]
        for variant, runs in sorted(variants.items()):
            if variant == base:
                continue
            entry = {**dict(zip(comparison.match, group, strict=True)), "variant": "/".join(variant),
                     "n": len(runs)}
            for m in metrics:  # a metric missing from a row (older results) compares as NaN
                entry[f"d_{m}"] = _mean(runs, m) - _mean(ref, m)
            out.append(entry)
    others = [c for c in comparison.match if c != "library"]
    means: dict[tuple, list[dict]] = defaultdict(list)
    for entry in out:
        means[(*(entry[c] for c in others), entry["variant"])].append(entry)
    for key, entries in sorted(means.items()):
        mean = {**dict(zip(others, key[:-1], strict=True)), "library": "MEAN", "variant": key[-1]}
        for m in metrics:
            mean[f"d_{m}"] = _nanmean([e[f"d_{m}"] for e in entries])
        out.append(mean)
    return out


def compare_command(ns: argparse.Namespace) -> None:
    """``sfxrep compare RESULTS [--rq …] [--by COLS --baseline VALS --match COLS] [--where K=V …] [--absolute]``."""
    comparison = QUESTIONS[ns.rq].table
    if ns.by:
        by = tuple(ns.by.split(","))
        baseline = tuple(ns.baseline.split(",")) if ns.baseline else comparison.baseline
        match = tuple(ns.match.split(",")) if ns.match else tuple(c for c in FACTORS if c not in by)
        comparison = Comparison(by, baseline, match)
    rows = where(read_results(ns.results), ns.where)
    if ns.absolute:
        for metric in ns.metrics:
            table, variants = pivot(rows, comparison, metric)
            print(f"{metric} by {'/'.join(comparison.by)} (within equal {', '.join(comparison.match)})")
            print(format_table(table, [*comparison.match, *variants]) + "\n")
        return
    table = compare(rows, comparison, ns.metrics)
    if not table:
        print(f"no group of {ns.results} has both the baseline {comparison.baseline} and another variant of "
              f"{comparison.by}")
        return
    columns = [*comparison.match, "variant", "n", *(f"d_{m}" for m in ns.metrics)]
    baseline = dict(zip(comparison.by, comparison.baseline, strict=True))
    print(f"Δ against {baseline} (within equal {', '.join(comparison.match)})")
    print(format_table(table, columns))
