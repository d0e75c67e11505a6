"""The paper's comparisons as group-bys of the results file: Δ of each variant against a baseline.

A *variant* is the value of the ``by`` columns of a row (RQ1: the loss); rows are compared within a *group*
of equal ``match`` columns (RQ1: scenario, library, mixing, bn, fdr_threshold). For every group that has the
baseline, each other variant gets Δmetric = variant − baseline, paired by seed, with its 95 % interval (``n``
paired seeds); the table ends with the mean Δ over libraries for each combination of the other match columns.
Every number comes from :mod:`sfxrep.results.estimate` (the selection, NaN rule and interval the report, the claims
and the W&B definition use); re-running the same seed replaces the earlier row.

The ``--rq`` groupings are the questions' tables in :mod:`sfxrep.results.comparisons`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sfxrep.records import (
    ResultRow,
    format_table,
    latest_per_seed,
    read_predictions,
    read_results,
    row_key,
    select,
)
from sfxrep.results.comparisons import Comparison
from sfxrep.results.estimate import Estimate, average, seed_deltas, seed_values
from sfxrep.results.paired import PairedResult, paired_compare, scored_units


def _cells(rows: Sequence[ResultRow], comparison: Comparison) -> dict[tuple, set[tuple]]:
    """group (the ``match`` values) → the variants (``by`` values) that have rows in it."""
    cells: dict[tuple, set[tuple]] = defaultdict(set)
    for row in select(rows):
        cells[row_key(row, comparison.match)].add(row_key(row, comparison.by))
    return cells


def _config(comparison: Comparison, group: tuple, variant: tuple) -> dict[str, str]:
    return {**dict(zip(comparison.match, group, strict=True)), **dict(zip(comparison.by, variant, strict=True))}


def _means(rows: Sequence[ResultRow], comparison: Comparison, table: list[dict], metric: str,
           per_seed: dict[tuple, dict[int, float]], label: str) -> list[dict]:
    """The MEAN rows: per combination of the other match columns and variant, the average over ``label`` values
    (libraries) formed per seed (:func:`sfxrep.results.estimate.average`)."""
    others = [c for c in comparison.match if c != label]
    out = []
    for key in sorted({(*(e[c] for c in others), e["variant"]) for e in table}):
        entries = [e for e in table if (*(e[c] for c in others), e["variant"]) == key]
        est = average({e[label]: per_seed[(e[label], *key)] for e in entries})
        out.append({**dict(zip(others, key[:-1], strict=True)), label: "MEAN", "variant": key[-1], "n": est.n,
                    f"d_{metric}": est.mean, f"ci_{metric}": _interval(est)})
    return out


def _interval(est: Estimate) -> str:
    return f"[{est.lo:+.3f}, {est.hi:+.3f}]" if est.has_interval else ""


def pivot(rows: Sequence[ResultRow], comparison: Comparison, metric: str) -> tuple[list[dict], list[str]]:
    """Absolute values side by side: one row per group, one column per variant (baseline first), plus means over
    libraries (per seed); every number is :func:`sfxrep.results.estimate.level`'s mean.

    Returns:
        the table rows and the variant column names.
    """
    cells = _cells(rows, comparison)
    base = "/".join(v.lower() for v in comparison.baseline)
    variants = sorted({"/".join(v) for g in cells.values() for v in g}, key=lambda v: (v != base, v))
    label = "library" if "library" in comparison.match else comparison.match[-1]
    others = [c for c in comparison.match if c != label]
    table, per_seed = [], {}
    for group, present in sorted(cells.items()):
        entry = dict(zip(comparison.match, group, strict=True))
        for variant in present:
            values = seed_values(rows, metric, _config(comparison, group, variant))
            entry["/".join(variant)] = Estimate.of(list(values.values())).mean
            per_seed[(entry[label], *(entry[c] for c in others), "/".join(variant))] = values
        table.append(entry)
    means = []
    for key in sorted({tuple(e[c] for c in others) for e in table}):
        entries = [e for e in table if tuple(e[c] for c in others) == key]
        mean = {**dict(zip(others, key, strict=True)), label: "MEAN"}
        for v in variants:
            mean[v] = average({e[label]: per_seed[(e[label], *key, v)] for e in entries if v in e}).mean
        means.append(mean)
    return table + means, variants


def compare(rows: Sequence[ResultRow], comparison: Comparison, metrics: Sequence[str]) -> list[dict]:
    """One output row per (group, non-baseline variant) with ``d_<metric>`` (variant − baseline, paired by seed:
    :func:`sfxrep.results.estimate.delta`), its 95 % interval ``ci_<metric>`` and ``n`` paired seeds; then the
    means over libraries, formed per seed."""
    cells = _cells(rows, comparison)
    base = tuple(v.lower() for v in comparison.baseline)
    out: list[dict] = []
    per_seed: dict[str, dict[tuple, dict[int, float]]] = {m: {} for m in metrics}
    for group, variants in sorted(cells.items()):
        if base not in variants:
            continue
        for variant in sorted(variants - {base}):
            entry = {**dict(zip(comparison.match, group, strict=True)), "variant": "/".join(variant)}
            for m in metrics:  # a metric missing from a row (older results) counts as NaN: left out
                deltas = seed_deltas(rows, m, _config(comparison, group, variant), _config(comparison, group, base))
                est = Estimate.of(list(deltas.values()))
                entry.setdefault("n", est.n)
                entry[f"d_{m}"], entry[f"ci_{m}"] = est.mean, _interval(est)
                if "library" in comparison.match:
                    others = [entry[c] for c in comparison.match if c != "library"]
                    per_seed[m][(entry["library"], *others, entry["variant"])] = deltas
            out.append(entry)
    if "library" not in comparison.match or not out:
        return out
    means: dict[tuple, dict] = {}
    for m in metrics:
        for mean in _means(rows, comparison, out, m, per_seed[m], "library"):
            key = (*(mean[c] for c in comparison.match if c != "library"), mean["variant"])
            means.setdefault(key, {}).update(mean)
    return out + [means[k] for k in sorted(means)]


def _model_rows(rows: Sequence[ResultRow], name: str) -> dict[str, list[ResultRow]]:
    """library → the k-fold rows of model ``name`` (its ``model`` or ``run``), the latest of each training seed
    among that model's own rows (two runs of one configuration, e.g. two recipes' candidates, stay apart)."""
    own = [r for r in rows if name in (r.model, r.run)]
    chosen = [r for r in latest_per_seed(own) if r.protocol == "kfold" and r.predictions]
    out: dict[str, list[ResultRow]] = defaultdict(list)
    for row in chosen:
        out[row.library].append(row)
    return out


def compare_models(results: str | Path, a: str, b: str, *, metric: str = "frame_macro_f1",
                   libraries: Sequence[str] | None = None, n_boot: int = 1000, seed: int = 0) -> list[PairedResult]:
    """The paired comparison of model ``b`` against ``a`` from a results file's k-fold rows and their predictions
    (:mod:`sfxrep.results.paired`), on the files and fold seeds both have, per library and overall.

    Raises:
        ValueError: a model has no k-fold rows with predictions in ``results``, or the two share no library.
    """
    rows = read_results(results)
    predictions = read_predictions(results)
    by_a, by_b = _model_rows(rows, a), _model_rows(rows, b)
    for name, found in ((a, by_a), (b, by_b)):
        if not found:
            raise ValueError(f"{results}: no k-fold rows with predictions for model {name!r} (evaluate it with "
                             f"sfxrep evaluate {name} --protocol kfold --results {results})")
    common = [lib for lib in by_a if lib in by_b and (not libraries or lib in libraries)]
    if not common:
        raise ValueError(f"{results}: {a} and {b} share no evaluated library")
    scored_a, scored_b, n_files = {}, {}, {}
    for lib in common:
        records = {side: [sorted(predictions.get(r.predictions, []), key=lambda x: x["fold_seed"]) for r in runs]
                   for side, runs in (("a", by_a[lib]), ("b", by_b[lib]))}
        every = [rec for side in records.values() for runs in side for rec in runs]
        seeds = set.intersection(*({x["fold_seed"] for x in runs} for side in records.values() for runs in side))
        paths = sorted(set.intersection(*(set(rec["paths"]) for rec in every)))
        if not seeds or not paths:
            continue
        groups_of = {p: g for rec in every for p, g in zip(rec["paths"], rec["groups"], strict=True)}
        index = {g: i for i, g in enumerate(sorted({groups_of[p] for p in paths}))}
        groups = {p: index[groups_of[p]] for p in paths}
        scored_a[lib], scored_b[lib] = ([scored_units([x for x in run if x["fold_seed"] in seeds], paths, groups, metric)
                                         for run in records[side]] for side in ("a", "b"))
        n_files[lib] = len(paths)
    return paired_compare(scored_a, scored_b, metric=metric, n_files=n_files, n_boot=n_boot, n_perm=n_boot,
                          seed=seed)


def format_paired(results: Sequence[PairedResult], a: str, b: str, metric: str) -> str:
    """The comparison as a text table, in points (×100)."""
    table = [{"library": r.library, a: 100 * r.a, b: 100 * r.b, "diff": 100 * r.diff,
              "95% CI": f"[{100 * r.lo:+.1f}, {100 * r.hi:+.1f}]", "p": r.p, "p_holm": r.p_holm,
              "MDE": 100 * r.mde, "files": r.n_files, "groups": r.n_groups} for r in results]
    cells = format_table(table, ["library", a, b, "diff", "95% CI", "p", "p_holm", "MDE", "files", "groups"])
    return (f"{metric} (points), {b} − {a}: paired, 95 % CI by hierarchical bootstrap (groups, fold seeds, training "
            f"seeds), p by permutation of groups, Holm over libraries, MDE at 80 % power\n{cells}")
