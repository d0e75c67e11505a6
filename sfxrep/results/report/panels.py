"""Figure panels of the paper's comparisons: per library and variant, the mean over seeds and its 95 % interval
(:class:`~sfxrep.results.estimate.Estimate`, the numbers ``compare``, ``claims`` and the W&B definition give).

One builder per research question (``rq1_panels`` … ``rq4_panels``); which question uses which, and everything
else about a question, is declared in :mod:`sfxrep.results.comparisons`. A cell that was not run stays in the
panel with ``n = 0``: figures label it "not run", never drop it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sfxrep.records import ResultRow, method_label
from sfxrep.results.estimate import Estimate, delta, level

LOSSES = ("contrastive", "triplet", "circle")  # the paper's metric losses (each CE + metric + RegularFace)
X_SEQ = {"mixing": "sequential", "bn": "shared", "fdr_threshold": None}  # the paper's best method


@dataclass
class Panel:
    """One figure panel: libraries on the x axis, one bar per variant."""

    rq: str
    title: str
    ylabel: str
    libraries: list[str]
    variants: list[str]
    cells: dict[tuple[str, str], Estimate] = field(default_factory=dict)

    def cell(self, library: str, variant: str) -> Estimate:
        return self.cells.get((library, variant), Estimate())

    def without(self, names: Sequence[str]) -> Panel | None:
        """This panel without the libraries and variants in ``names`` (a study's declared scope, e.g. a reference
        it could not install); ``None`` when nothing is left to draw."""
        libraries = [lib for lib in self.libraries if lib not in names]
        variants = [v for v in self.variants if v not in names]
        if not libraries or not variants:
            return None
        return Panel(self.rq, self.title, self.ylabel, libraries, variants,
                     {k: c for k, c in self.cells.items() if k[0] in libraries and k[1] in variants})

    @property
    def missing(self) -> list[tuple[str, str]]:
        """(library, variant) cells that were not run."""
        return [(lib, v) for lib in self.libraries for v in self.variants if self.cell(lib, v).n == 0]


def _absolute(rq: str, title: str, rows: list[ResultRow], variants: dict[str, dict], libraries: list[str],
              metric: str = "frame_macro_f1") -> Panel:
    panel = Panel(rq, title, metric.replace("_", " "), libraries, list(variants))
    for name, factors in variants.items():
        for lib in libraries:
            panel.cells[(lib, name)] = level(rows, metric, {**factors, "library": lib})
    return panel


def _delta(rq: str, title: str, rows: list[ResultRow], base: dict, variants: dict[str, dict], libraries: list[str],
           metric: str) -> Panel:
    """Δ = variant − base per library, paired by seed; n = the seeds both have."""
    panel = Panel(rq, title, f"Δ {metric.replace('_', ' ')}", libraries, list(variants))
    for lib in libraries:
        for name, factors in variants.items():
            est = delta(rows, metric, {**factors, "library": lib}, {**base, "library": lib})
            if est.n:
                panel.cells[(lib, name)] = est
    return panel


def evaluated_libraries(rows: list[ResultRow]) -> list[str]:
    """The libraries of the panels: those trained models were evaluated on (else every library but ESC-50)."""
    trained = [r for r in rows if r.model == "sfxrep" and r.library != "esc50"]
    return sorted({r.library for r in trained if r.scenario in ("within", "cross")}) or \
        sorted({r.library for r in rows if r.library != "esc50"})


def _trained(rows: list[ResultRow]) -> list[ResultRow]:
    return [r for r in rows if r.model == "sfxrep" and r.library != "esc50"]


def rq1_panels(rows: list[ResultRow], libraries: list[str]) -> list[Panel]:
    """Δ frame macro-F1 and Δ DBI of each metric loss against CE, within and cross (Fig. 4, 5)."""
    trained = _trained(rows)
    losses = sorted({r.loss for r in trained if r.loss != "ce"} | set(LOSSES))
    panels = []
    for scenario in ("within", "cross"):
        base = {"scenario": scenario, "loss": "ce", **X_SEQ}
        variants = {loss: {**base, "loss": loss} for loss in losses}
        for metric in ("frame_macro_f1", "dbi"):
            panels.append(_delta("RQ1", f"{scenario}: metric losses vs CE", trained, base, variants, libraries, metric))
    return panels


def rq2_panels(rows: list[ResultRow], libraries: list[str]) -> list[Panel]:
    """Within vs UCS-transfer vs cross (X-Sequential), CE, frame macro-F1 (Fig. 6)."""
    ce = {"loss": "ce", **X_SEQ}
    return [_absolute("RQ2", "within vs UCS-transfer vs cross (CE)", _trained(rows), {
        "within": {"scenario": "within", **ce}, "ucs_transfer": {"scenario": "ucs_transfer", **ce},
        "cross (X-Sequential)": {"scenario": "cross", **ce}}, libraries)]


def rq3_panels(rows: list[ResultRow], libraries: list[str]) -> list[Panel]:
    """The cross-dataset methods against X-Sequential, CE, frame macro-F1 (§6.4), named as the paper names them."""
    trained = _trained(rows)
    ce = {"scenario": "cross", "loss": "ce", **X_SEQ}
    thresholds = sorted({r.fdr_threshold for r in trained if r.scenario == "cross" and r.fdr_threshold is not None})
    methods = [{}, {"mixing": "joint"}, {"bn": "per_library"}, *({"fdr_threshold": t} for t in thresholds or [0.9])]
    variants = {method_label(**{**X_SEQ, **m}): {**ce, **m} for m in methods}
    return [_absolute("RQ3", "cross-dataset methods (CE)", trained, variants, libraries)]


def _best_configuration(rows: list[ResultRow], libraries: list[str]) -> dict | None:
    """The sfxrep configuration with the highest mean (over libraries) frame macro-F1."""
    by_config: dict[tuple, list[ResultRow]] = defaultdict(list)
    for r in rows:
        if r.model == "sfxrep" and r.library in libraries and r.scenario in ("cross", "within"):
            by_config[(r.scenario, r.mixing, r.bn, r.fdr_threshold, r.loss)].append(r)
    if not by_config:
        return None

    def score(key: tuple) -> float:
        means = [Estimate.of([r.frame_macro_f1 for r in by_config[key] if r.library == lib]).mean for lib in libraries]
        defined = [m for m in means if not math.isnan(m)]
        return statistics.fmean(defined) if defined else -math.inf

    best = max(by_config, key=score)
    return dict(zip(("scenario", "mixing", "bn", "fdr_threshold", "loss"), best, strict=True))


def rq4_panels(rows: list[ResultRow], libraries: list[str]) -> list[Panel]:
    """The best sfxrep configuration against the reference models per library, and ESC-50 (§6.5)."""
    best = _best_configuration(rows, libraries)
    variants: dict[str, dict] = {}
    if best is not None:
        label = "/".join(str(v) for v in best.values() if v is not None)
        variants[f"sfxrep best ({label})"] = {"model": "sfxrep", **best}
    else:
        variants["sfxrep best"] = {"model": "sfxrep", "scenario": "cross"}
    always = ("aisfx", "logmel", "openl3")  # the paper's kind of reference: shown, labelled "not run" when absent
    present = {r.model for r in rows if r.model != "sfxrep" and r.library != "esc50"}
    for model in [*always, *sorted(present - set(always))]:  # and every other model evaluated (sfxrep-v1 …)
        variants[model] = {"model": model}
    per_library = _absolute("RQ4", "best model vs reference models, per library", rows, variants, libraries)
    esc = [r for r in rows if r.library == "esc50"]
    models = sorted({r.model for r in esc}) or ["sfxrep", "aisfx", "logmel"]
    esc50 = Panel("RQ4", "ESC-50, 5 official folds (mean and 95 % CI over folds)", "macro-F1", ["esc50"], models)
    for model in models:
        esc50.cells[("esc50", model)] = Estimate.of([r.frame_macro_f1 for r in esc if r.model == model])
    return [per_library, esc50]
