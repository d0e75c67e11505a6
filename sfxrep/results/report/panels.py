"""The paper's comparisons as panels of cells: per library and variant, mean ± SD over seeds with n.

* RQ1 (Fig. 4, 5) — Δ frame macro-F1 and Δ DBI of each metric loss against CE, within and cross;
* RQ2 (Fig. 6) — within vs UCS-transfer vs cross (X-Sequential), frame macro-F1;
* RQ3 (§6.4) — X-Joint, FDR and per-library BN against X-Sequential, cross, frame macro-F1;
* RQ4 (§6.5) — the best sfxrep configuration against reference models (``model`` column: aisfx, logmel, openl3),
  per library, and on ESC-50's five folds (mean ± SD over folds).

A cell that was not run stays in the panel with ``n = 0``: figures label it "not run", never drop it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sfxrep.results.rows import ResultRow

LOSSES = ("ce+contrastive+regularface", "ce+tripletmargin+regularface", "ce+circle+regularface")
X_SEQ = {"mixing": "sequential", "bn": "shared", "fdr_threshold": None}


@dataclass(frozen=True)
class Cell:
    """mean ± sd of a metric over ``n`` seeds (or folds); ``n = 0``: not run."""

    mean: float = math.nan
    sd: float = math.nan
    n: int = 0


@dataclass
class Panel:
    """One figure panel: libraries on the x axis, one bar per variant."""

    rq: str
    title: str
    ylabel: str
    libraries: list[str]
    variants: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)

    def cell(self, library: str, variant: str) -> Cell:
        return self.cells.get((library, variant), Cell())

    @property
    def missing(self) -> list[tuple[str, str]]:
        """(library, variant) cells that were not run."""
        return [(lib, v) for lib in self.libraries for v in self.variants if self.cell(lib, v).n == 0]


def _stats(values: list[float]) -> Cell:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return Cell()
    return Cell(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))


def _latest_per_seed(rows: Sequence[ResultRow]) -> list[ResultRow]:
    """One row per (configuration, library, seed): the latest (a re-run replaces its seed)."""
    latest: dict[tuple, ResultRow] = {}
    for row in sorted(rows, key=lambda r: r.created):
        key = (row.model, row.scenario, row.library, row.mixing, row.bn, row.fdr_threshold, row.loss, row.seed,
               row.extra.get("fold"))
        latest[key] = row
    return list(latest.values())


def _matches(row: ResultRow, **factors: object) -> bool:
    return all(row.get(k) == v for k, v in factors.items())


def _absolute(rq: str, title: str, rows: list[ResultRow], variants: dict[str, dict], libraries: list[str],
              metric: str = "frame_macro_f1") -> Panel:
    panel = Panel(rq, title, metric.replace("_", " "), libraries, list(variants))
    for name, factors in variants.items():
        for lib in libraries:
            panel.cells[(lib, name)] = _stats([r.get(metric) for r in rows if r.library == lib
                                               and _matches(r, **factors)])
    return panel


def _delta(rq: str, title: str, rows: list[ResultRow], base: dict, variants: dict[str, dict], libraries: list[str],
           metric: str) -> Panel:
    """Δ = variant − baseline per library; SD combines both (unpaired), n = seeds of the variant."""
    panel = Panel(rq, title, f"Δ {metric.replace('_', ' ')}", libraries, list(variants))
    for lib in libraries:
        ref = _stats([r.get(metric) for r in rows if r.library == lib and _matches(r, **base)])
        for name, factors in variants.items():
            got = _stats([r.get(metric) for r in rows if r.library == lib and _matches(r, **factors)])
            if ref.n and got.n:
                panel.cells[(lib, name)] = Cell(got.mean - ref.mean, math.hypot(got.sd, ref.sd), got.n)
    return panel


def rq_panels(all_rows: Sequence[ResultRow]) -> dict[str, list[Panel]]:
    """RQ1–RQ4 panels from a results file's rows (see module doc)."""
    rows = _latest_per_seed(all_rows)
    trained = [r for r in rows if r.model == "sfxrep" and r.library != "esc50"]
    libraries = sorted({r.library for r in trained if r.scenario in ("within", "cross")}) or \
        sorted({r.library for r in rows if r.library != "esc50"})
    panels: dict[str, list[Panel]] = {}

    losses = sorted({r.loss for r in trained if r.loss != "ce"} | set(LOSSES))
    rq1 = []
    for scenario in ("within", "cross"):
        base = {"scenario": scenario, "loss": "ce", **X_SEQ}
        variants = {loss.removeprefix("ce+").removesuffix("+regularface"): {**base, "loss": loss} for loss in losses}
        for metric in ("frame_macro_f1", "dbi"):
            rq1.append(_delta("RQ1", f"{scenario}: metric losses vs CE", trained, base, variants, libraries, metric))
    panels["RQ1"] = rq1

    ce = {"loss": "ce", **X_SEQ}
    panels["RQ2"] = [_absolute("RQ2", "within vs UCS-transfer vs cross (CE)", trained, {
        "within": {"scenario": "within", **ce}, "ucs_transfer": {"scenario": "ucs_transfer", **ce},
        "cross (X-Sequential)": {"scenario": "cross", **ce}}, libraries)]

    thresholds = sorted({r.fdr_threshold for r in trained if r.scenario == "cross" and r.fdr_threshold is not None})
    rq3 = {"X-Sequential": {"scenario": "cross", **ce}, "X-Joint": {"scenario": "cross", **ce, "mixing": "joint"},
           "BN per library": {"scenario": "cross", **ce, "bn": "per_library"}}
    for t in thresholds or [0.9]:
        rq3[f"FDR ({t:g})"] = {"scenario": "cross", **ce, "fdr_threshold": t}
    panels["RQ3"] = [_absolute("RQ3", "cross-dataset methods (CE)", trained, rq3, libraries)]

    panels["RQ4"] = _rq4(rows, libraries)
    return panels


def _best_configuration(rows: list[ResultRow], libraries: list[str]) -> dict | None:
    """The sfxrep configuration with the highest mean (over libraries) frame macro-F1."""
    by_config: dict[tuple, list[ResultRow]] = defaultdict(list)
    for r in rows:
        if r.model == "sfxrep" and r.library in libraries and r.scenario in ("cross", "within"):
            by_config[(r.scenario, r.mixing, r.bn, r.fdr_threshold, r.loss)].append(r)
    if not by_config:
        return None

    def score(key: tuple) -> float:
        means = [_stats([r.frame_macro_f1 for r in by_config[key] if r.library == lib]).mean for lib in libraries]
        defined = [m for m in means if not math.isnan(m)]
        return statistics.fmean(defined) if defined else -math.inf

    best = max(by_config, key=score)
    return dict(zip(("scenario", "mixing", "bn", "fdr_threshold", "loss"), best, strict=True))


def _rq4(rows: list[ResultRow], libraries: list[str]) -> list[Panel]:
    best = _best_configuration(rows, libraries)
    variants: dict[str, dict] = {}
    if best is not None:
        label = "/".join(str(v) for v in best.values() if v is not None)
        variants[f"sfxrep best ({label})"] = {"model": "sfxrep", **best}
    else:
        variants["sfxrep best"] = {"model": "sfxrep", "scenario": "cross"}
    for model in ("aisfx", "logmel", "openl3"):
        variants[model] = {"model": model}
    per_library = _absolute("RQ4", "best model vs reference models, per library", rows, variants, libraries)
    esc = [r for r in rows if r.library == "esc50"]
    models = sorted({r.model for r in esc}) or ["sfxrep", "aisfx", "logmel"]
    esc50 = Panel("RQ4", "ESC-50, 5 official folds (mean ± SD over folds)", "macro-F1", ["esc50"], models)
    for model in models:
        esc50.cells[("esc50", model)] = _stats([r.frame_macro_f1 for r in esc if r.model == model])
    return [per_library, esc50]
