"""The paper's claims (Ma & Lerch 2022, §6), each declared once with the test that gives it a verdict.

``sfxrep claims RESULTS.jsonl [--study STUDY.md]`` measures every claim on a study's rows and writes, per claim, the
paper's statement, our measurement (mean and 95 % confidence interval over seeds, per library and averaged over
libraries), a verdict and one forest-plot figure.

Statistics. Every configuration ran with the same seeds on the same splits (a seed sets weights, crops and batches;
the split has its own seed), so a difference between two configurations is *paired*: per seed, variant − base,
then the mean and the Student-t 95 % interval of those differences (n = seeds present in both). The average over
libraries is formed per seed first (the mean over libraries of that seed's differences), so its interval also
comes from the spread over seeds. A reference model (aiSFX, log-mel) has no seed: it is a constant.

Verdicts. Each claim is split into the parts the paper states; a part *holds* when the 95 % interval lies on the
side the paper states (or, for "about equal", inside the stated margin), *fails* when it lies entirely on the
other side (or entirely outside the margin), and is *unclear* otherwise. A claim is **reproduced** when every part
holds, **contradicted** when a part fails, and **inconclusive at this budget** otherwise; **not run** when a cell
it needs has no rows.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sfxrep.results.rows import ResultRow, latest_per_seed, method_label, read_results

F1, DBI = "frame_macro_f1", "dbi"
METRIC_LOSSES = ("contrastive", "triplet", "circle")
SCENARIOS = ("within", "ucs_transfer", "cross")
X_SEQ = {"model": "sfxrep", "mixing": "sequential", "bn": "shared", "fdr_threshold": None}
REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN = ("reproduced", "contradicted", "inconclusive at this budget",
                                                   "not run")
HOLDS, FAILS, UNCLEAR = "holds", "fails", "unclear"
START, END = "<!-- claims:start -->", "<!-- claims:end -->"


def t95(n: int) -> float:
    """The two-sided 95 % Student-t quantile for ``n`` values (n − 1 degrees of freedom)."""
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1))


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95 % confidence interval over ``n`` seeds (``n = 1``: no interval; ``n = 0``: not run, or
    ``undefined``: the metric has no value on that library in any row, so nothing is missing)."""

    mean: float = math.nan
    lo: float = math.nan
    hi: float = math.nan
    n: int = 0
    undefined: bool = False

    @classmethod
    def of(cls, values: Sequence[float]) -> Estimate:
        values = [v for v in values if v is not None and not math.isnan(v)]
        if not values:
            return cls()
        mean = statistics.fmean(values)
        if len(values) == 1:
            return cls(mean, math.nan, math.nan, 1)
        half = t95(len(values)) * statistics.stdev(values) / math.sqrt(len(values))
        return cls(mean, mean - half, mean + half, len(values))

    @property
    def has_interval(self) -> bool:
        return self.n > 1

    def above(self, x: float) -> bool:
        """The whole interval is above ``x``."""
        return self.has_interval and self.lo > x

    def below(self, x: float) -> bool:
        return self.has_interval and self.hi < x

    def text(self, signed: bool = True, scale: float = 100.0) -> str:
        """``+1.2 [−0.3, +2.7]`` in points (``scale`` 100: macro-F1 in percentage points)."""
        if self.n == 0:
            return "undefined" if self.undefined else "not run"
        fmt = "{:+.1f}" if signed else "{:.1f}"
        if scale != 100.0:
            fmt = "{:+.2f}" if signed else "{:.2f}"
        mean = fmt.format(self.mean * scale)
        if not self.has_interval:
            return f"{mean} (n=1)"
        return f"{mean} [{fmt.format(self.lo * scale)}, {fmt.format(self.hi * scale)}]"


def side(est: Estimate, want: int) -> str:
    """Whether ``est`` is on the ``want`` side of 0 (+1 above, −1 below): holds, fails or unclear."""
    if est.n == 0:
        return UNCLEAR
    if (est.above(0) if want > 0 else est.below(0)):
        return HOLDS
    if (est.below(0) if want > 0 else est.above(0)):
        return FAILS
    return UNCLEAR


def combine(outcomes: Sequence[str]) -> str:
    """Several statements together: fails when one fails, holds when all hold, else unclear."""
    return FAILS if FAILS in outcomes else HOLDS if outcomes and all(o == HOLDS for o in outcomes) else UNCLEAR


def within_margin(est: Estimate, margin: float) -> str:
    """Whether ``est`` lies within ±``margin`` (holds), entirely outside it (fails), or neither (unclear)."""
    if not est.has_interval:
        return UNCLEAR
    if -margin <= est.lo and est.hi <= margin:
        return HOLDS
    if est.lo > margin or est.hi < -margin:
        return FAILS
    return UNCLEAR


# ---- reading the rows ------------------------------------------------------------------------------------------

class Rows:
    """The latest row of each (configuration, library, seed) of a study, looked up by factors."""

    def __init__(self, rows: Sequence[ResultRow]) -> None:
        self.rows = [r for r in latest_per_seed(rows) if r.library != "esc50"]
        trained = [r for r in self.rows if r.model == "sfxrep"]
        self.libraries = sorted({r.library for r in trained if r.scenario in ("within", "cross")}) or sorted(
            {r.library for r in self.rows})

    def values(self, library: str, metric: str, config: dict) -> dict[int, float]:
        """seed → ``metric`` of the rows of ``config`` on ``library`` (a reference model: seed 0)."""
        out = {}
        for r in self.rows:
            if r.library == library and all(r.get(k) == v for k, v in config.items()):
                value = r.get(metric)
                if value is not None and not math.isnan(float(value)):
                    out[int(r.seed or 0)] = float(value)
        return out

    def undefined(self, metric: str) -> dict[str, str]:
        """library → why ``metric`` is undefined there: the library has rows, and ``metric`` is NaN in every one.

        Such a library is left out of ``metric``'s averages and shown as "undefined", not as a cell never run. The
        case in practice: the test DBI of a test split with one block per class (every cluster one point)."""
        out = {}
        for lib in sorted({r.library for r in self.rows}):
            if self.values(lib, metric, {}):  # a value in some row: defined
                continue
            first = next(r for r in self.rows if r.library == lib)
            blocks, classes = first.get("n_test_frames"), first.get("n_test_classes")
            out[lib] = (f"its test split has {blocks} blocks in {classes} classes, so no class has two blocks"
                        if metric == DBI and blocks and classes and classes >= blocks else "NaN in every row")
        return out

    def _split(self, metric: str, libraries: Sequence[str] | None) -> tuple[list[str], dict[str, Estimate]]:
        """The libraries ``metric`` is defined on, and an "undefined" estimate for each of the others."""
        undefined = self.undefined(metric)
        libraries = list(libraries or self.libraries)
        return ([lib for lib in libraries if lib not in undefined],
                {lib: Estimate(undefined=True) for lib in libraries if lib in undefined})

    def level(self, metric: str, config: dict, libraries: Sequence[str] | None = None
              ) -> tuple[dict[str, Estimate], Estimate]:
        """Per library and averaged over the libraries ``metric`` is defined on: ``metric`` of ``config`` over
        seeds."""
        libraries, undefined = self._split(metric, libraries)
        per = {lib: self.values(lib, metric, config) for lib in libraries}
        return ({**{lib: Estimate.of(list(v.values())) for lib, v in per.items()}, **undefined},
                Estimate.of(_average_per_seed(per, libraries)))

    def delta(self, metric: str, variant: dict, base: dict, libraries: Sequence[str] | None = None
              ) -> tuple[dict[str, Estimate], Estimate]:
        """Per library and averaged over the libraries ``metric`` is defined on: variant − base, paired by seed (a
        seedless base is one constant)."""
        libraries, undefined = self._split(metric, libraries)
        per = {}
        for lib in libraries:
            a, b = self.values(lib, metric, variant), self.values(lib, metric, base)
            if len(b) == 1 and set(b) == {0} and base.get("model", "sfxrep") != "sfxrep":
                per[lib] = {s: v - b[0] for s, v in a.items()}  # a reference model: no seed to pair
            else:
                per[lib] = {s: a[s] - b[s] for s in a.keys() & b.keys()}
        return ({**{lib: Estimate.of(list(v.values())) for lib, v in per.items()}, **undefined},
                Estimate.of(_average_per_seed(per, libraries)))


def _average_per_seed(per: dict[str, dict[int, float]], libraries: Sequence[str]) -> list[float]:
    """Per seed present for every library, the mean over libraries."""
    seeds = set.intersection(*(set(per[lib]) for lib in libraries)) if libraries else set()
    return [statistics.fmean(per[lib][s] for lib in libraries) for s in sorted(seeds)]


# ---- a claim's measurement -----------------------------------------------------------------------------------

@dataclass
class Line:
    """One compared quantity: its estimate per library and averaged (a forest-plot row and a table row)."""

    label: str
    per_library: dict[str, Estimate]
    average: Estimate
    expect: str = ""  # what the paper says of it, e.g. "< 0"


@dataclass
class Part:
    """One statement the claim makes, and how it came out."""

    statement: str
    outcome: str
    evidence: str


@dataclass
class Finding:
    """A claim's measurement and verdict."""

    number: int
    title: str
    paper: str
    figure: str
    metric: str
    lines: list[Line]
    parts: list[Part]
    scale: float = 100.0
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if any(line.average.n == 0 for line in self.lines):
            return NOT_RUN
        outcomes = [p.outcome for p in self.parts]
        if outcomes and all(o == HOLDS for o in outcomes):
            return REPRODUCED
        if FAILS in outcomes:
            return CONTRADICTED
        return INCONCLUSIVE


def _line(rows: Rows, label: str, metric: str, variant: dict, base: dict | None = None, expect: str = "",
          libraries: Sequence[str] | None = None) -> Line:
    per, avg = rows.delta(metric, variant, base, libraries) if base else rows.level(metric, variant, libraries)
    return Line(label, per, avg, expect)


def _on_side(line: Line, want: int) -> tuple[int, int]:
    """How many libraries' means lie on the ``want`` side of 0, of how many that ran."""
    means = [e.mean for e in line.per_library.values() if e.n]
    return sum((m < 0) if want < 0 else (m > 0) for m in means), len(means)


def _most(line: Line, want: int) -> str:
    """"For most libraries": the average on the ``want`` side and more than half the libraries' means there."""
    on_side, ran = _on_side(line, want)
    avg = side(line.average, want)
    if avg == HOLDS and on_side * 2 > ran:
        return HOLDS
    if avg == FAILS or (ran and on_side * 2 < ran and avg != HOLDS and on_side <= ran // 3):
        return FAILS
    return UNCLEAR


def _count(line: Line, want: int) -> str:
    on_side, ran = _on_side(line, want)
    return f"{on_side}/{ran} libraries {'lower' if want < 0 else 'higher'}"


def _ce(scenario: str, **more) -> dict:
    return {"scenario": scenario, "loss": "ce", **X_SEQ, **more}


def _undefined_notes(rows: Rows, metric: str, name: str) -> list[str]:
    """A finding's note on each library where ``metric`` is undefined, and so left out of the averages."""
    return [f"{name} is undefined on {lib}: {why}; the averages are over the other libraries."
            for lib, why in rows.undefined(metric).items() if lib in rows.libraries]


def claim1(rows: Rows, noise: dict) -> Finding:
    lines = [_line(rows, f"{scenario}: {loss} − CE", DBI, _ce(scenario, loss=loss), _ce(scenario), expect)
             for scenario in SCENARIOS for loss, expect in
             (("contrastive", "< 0"), ("triplet", "≤ 0" if scenario == "ucs_transfer" else "> 0 (slightly)"),
              ("circle", "< 0 (most within)" if scenario == "within" else ""))]
    get = {line.label: line for line in lines}
    contrastive = [get[f"{s}: contrastive − CE"] for s in SCENARIOS]
    outcomes = [_most(line, -1) for line in contrastive]
    a = Part("Contrastive lowers DBI for most libraries in every scenario",
             combine(outcomes),
             "; ".join(f"{line.label.split(':')[0]}: {line.average.text(scale=1)} ({_count(line, -1)})"
                       for line in contrastive))
    within = {loss: get[f"within: {loss} − CE"] for loss in METRIC_LOSSES}
    lowest = min(within, key=lambda loss: within[loss].average.mean if within[loss].average.n else math.inf)
    circle = rows.delta(DBI, _ce("within", loss="circle"), _ce("within", loss=lowest))[1] if lowest != "circle" \
        else None
    if lowest == "circle":
        b_outcome = side(within["circle"].average, -1)
    else:  # another loss is lower on average: fails when circle is significantly above it
        b_outcome = FAILS if circle is not None and circle.above(0) else UNCLEAR
    b = Part("Circle lowers DBI most within-dataset", b_outcome,
             f"lowest mean Δ DBI within: {lowest}; circle {within['circle'].average.text(scale=1)}"
             + (f", circle − {lowest} {circle.text(scale=1)}" if circle is not None else ""))
    triplet = {s: get[f"{s}: triplet − CE"].average for s in SCENARIOS}
    raised = [side(triplet[s], +1) for s in ("within", "cross")]
    ucs = FAILS if triplet["ucs_transfer"].above(0) else HOLDS
    c_outcome = combine([*raised, ucs])
    c = Part("Triplet raises average DBI slightly, except in UCS-transfer", c_outcome,
             "; ".join(f"{s}: {triplet[s].text(scale=1)}" for s in SCENARIOS))
    return Finding(1, "Metric losses and DBI", "Contrastive lowers DBI for most libraries in every scenario; Circle "
                   "lowers it most within-dataset; Triplet raises average DBI slightly except in UCS-transfer.",
                   "Fig. 4", "Δ DBI (lower = tighter clusters)", lines, [a, b, c], scale=1.0,
                   notes=_undefined_notes(rows, DBI, "DBI"))


def claim2(rows: Rows, noise: dict) -> Finding:
    from scipy.stats import spearmanr

    lines = [_line(rows, f"{scenario}: {loss} − CE", F1, _ce(scenario, loss=loss), _ce(scenario),
                   "> 0" if scenario == "ucs_transfer" else "≤ 0" + (" (within ±1)" if loss == "triplet" else ""))
             for scenario in SCENARIOS for loss in METRIC_LOSSES]
    d_f1, d_dbi = [], []
    for scenario in SCENARIOS:
        for loss in METRIC_LOSSES:
            f1 = rows.delta(F1, _ce(scenario, loss=loss), _ce(scenario))[0]
            dbi = rows.delta(DBI, _ce(scenario, loss=loss), _ce(scenario))[0]
            for lib in rows.libraries:
                if f1[lib].n and dbi[lib].n and not math.isnan(dbi[lib].mean):
                    d_f1.append(f1[lib].mean)
                    d_dbi.append(dbi[lib].mean)
    if len(d_f1) >= 5:
        rho, p = spearmanr(d_dbi, d_f1)
        a_outcome = FAILS if rho < 0 and p < 0.05 else HOLDS if rho > -0.3 else UNCLEAR
        a_evidence = f"Spearman ρ(Δ DBI, Δ F1) = {rho:+.2f} (p = {p:.3f}) over {len(d_f1)} (loss, scenario, library) cells"
    else:
        a_outcome, a_evidence = UNCLEAR, "too few cells"
    a = Part("A lower DBI does not mean a higher macro-F1", a_outcome, a_evidence)
    get = {line.label: line.average for line in lines}
    ucs = [side(get[f"ucs_transfer: {loss} − CE"], +1) for loss in METRIC_LOSSES]
    others = [get[f"{s}: {loss} − CE"] for s in ("within", "cross") for loss in METRIC_LOSSES]
    b_outcome = combine([*ucs, *(FAILS if e.above(0) else HOLDS for e in others)])
    b = Part("Metric losses improve macro-F1 only in UCS-transfer", b_outcome,
             "UCS-transfer: " + ", ".join(f"{loss} {get[f'ucs_transfer: {loss} − CE'].text()}" for loss in
                                          METRIC_LOSSES) + "; significantly better elsewhere: "
             + (", ".join(f"{s}/{loss}" for s in ("within", "cross") for loss in METRIC_LOSSES
                          if get[f"{s}: {loss} − CE"].above(0)) or "none"))
    triplet = [within_margin(get[f"{s}: triplet − CE"], 0.01) for s in ("within", "cross")]
    c = Part("Triplet is within 1 point of CE within-dataset and cross-dataset",
             combine(triplet),
             "; ".join(f"{s}: {get[f'{s}: triplet − CE'].text()}" for s in ("within", "cross")))
    return Finding(2, "Metric losses and macro-F1", "A lower DBI does not mean a higher macro-F1. Metric losses "
                   "improve F1 only in UCS-transfer, and Triplet is within 1 % of CE within-dataset and "
                   "cross-dataset.", "Fig. 5", "Δ frame macro-F1 (points)", lines, [a, b, c])


def claim3(rows: Rows, noise: dict) -> Finding:
    lines = []
    for loss, expect in (("ce", "> 0 (about +4 to +5)"), ("triplet", "> 0 (about +1 to +3)")):
        lines.append(_line(rows, f"{loss}: cross − within", F1, _ce("cross", loss=loss), _ce("within", loss=loss),
                           expect))
        lines.append(_line(rows, f"{loss}: UCS-transfer − within", F1, _ce("ucs_transfer", loss=loss),
                           _ce("within", loss=loss)))
    parts = []
    for loss, size in (("ce", "about 4–5 points"), ("triplet", "1–3 points")):
        line = lines[0] if loss == "ce" else lines[2]
        parts.append(Part(f"{'CE' if loss == 'ce' else 'Triplet'}: cross-dataset beats within-dataset on most "
                          f"libraries ({size})", _most(line, +1),
                          f"{line.average.text()} on average; {_count(line, +1)}"))
    return Finding(3, "Cross-dataset against within-dataset training", "With CE, cross-dataset beats "
                   "within-dataset on most libraries by about 4–5 %. With Triplet the gain is 1–3 %.", "Fig. 6",
                   "Δ frame macro-F1 (points)", lines, parts,
                   notes=["UCS-transfer − within is shown for RQ2; the paper's claim is about cross − within."])


def claim4(rows: Rows, noise: dict) -> Finding:
    lines = [_line(rows, f"{loss}: X-Joint − X-Sequential", F1, _ce("cross", loss=loss, mixing="joint"),
                   _ce("cross", loss=loss), "about ±1") for loss in ("ce", "triplet")]
    outcomes = [within_margin(line.average, 0.02) for line in lines]
    return Finding(4, "X-Sequential against X-Joint", "X-Sequential and X-Joint differ by about 1 % on average.",
                   "§6.4", "Δ frame macro-F1 (points)", lines,
                   [Part("The average difference is small (95 % interval inside ±2 points)",
                         combine(outcomes),
                         "; ".join(f"{line.label.split(':')[0]}: {line.average.text()}" for line in lines))])


def fdr_threshold_of(rows: Rows) -> float:
    """The FDR threshold a study compares: the one most of its FDR rows ran with (the paper's 0.9 if none ran)."""
    runs = Counter(r.fdr_threshold for r in rows.rows if r.model == "sfxrep" and r.fdr_threshold is not None)
    return max(runs, key=lambda t: (runs[t], t == 0.9)) if runs else 0.9


def claim5(rows: Rows, noise: dict) -> Finding:
    threshold = fdr_threshold_of(rows)
    lines = [_line(rows, f"{loss}: FDR − X-Sequential", F1, _ce("cross", loss=loss, fdr_threshold=threshold),
                   _ce("cross", loss=loss), "no consistent sign") for loss in ("ce", "triplet")]
    parts = []
    for line in lines:
        avg = line.average
        signs = [e.mean for e in line.per_library.values() if e.n]
        agree = sum((m > 0) == (avg.mean > 0) for m in signs)
        if not avg.has_interval:
            outcome = UNCLEAR
        elif avg.lo <= 0 <= avg.hi:
            outcome = HOLDS
        elif agree * 3 >= 2 * len(signs):
            outcome = FAILS
        else:
            outcome = UNCLEAR
        parts.append(Part(f"{line.label.split(':')[0]}: no consistent effect of FDR", outcome,
                          f"{avg.text()} on average; {agree}/{len(signs)} libraries share the average's sign"))
    return Finding(5, "'Focal' dataset regularization", "FDR (β = 0.999) shows no consistent trend.", "§6.4",
                   "Δ frame macro-F1 (points)", lines, parts,
                   notes=[f"FDR here: threshold train macro-F1 {threshold:g} "
                          f"({'the paper' if threshold == 0.9 else 'the paper: 0.9'}) and β = 0.999; a library that "
                          "never crosses the threshold in the budget counts the last epoch as its n_e."])


def claim6(rows: Rows, noise: dict) -> Finding:
    rates = {lib: v["rate"] for lib, v in noise.items() if lib in rows.libraries}
    ordered = sorted(rows.libraries, key=lambda lib: -rates.get(lib, -1))
    median = statistics.median(rates.values()) if rates else math.nan
    messy = [lib for lib in ordered if rates.get(lib, -1) > median]
    clean = [lib for lib in ordered if lib not in messy]
    lines, parts = [], []
    for loss in ("ce", "triplet"):
        variant, base = _ce("cross", loss=loss, bn="per_library"), _ce("cross", loss=loss)
        lines.append(_line(rows, f"{loss}: BN per library − shared, messy libraries", F1, variant, base, "< 0",
                           messy or None))
        lines.append(_line(rows, f"{loss}: BN per library − shared, clean libraries", F1, variant, base, "",
                           clean or None))
        parts.append(Part(f"{'CE' if loss == 'ce' else 'Triplet'}: per-library BN lowers macro-F1 on the messy "
                          "libraries", side(lines[-2].average, -1) if messy else UNCLEAR,
                          f"messy {lines[-2].average.text()}, clean {lines[-1].average.text()}"))
    notes = ["Messy = label-issue rate above the median of the seven libraries: the share of files that confident "
             "learning flags as likely mislabelled (sfxrep audit's test, on aiSFX embeddings, independent of this "
             "study's models): " + ", ".join(f"{lib} {100 * rates[lib]:.1f} %" for lib in ordered if lib in rates)]
    if not rates:
        notes = ["No label-issue rates (label_issues.json): messy libraries cannot be told apart."]
    return Finding(6, "Per-library BatchNorm", "Per-library BN lowers results on messy, inconsistently labelled "
                   "libraries.", "§6.4", "Δ frame macro-F1 (points)", lines, parts, notes=notes)


def claim7(rows: Rows, noise: dict) -> Finding:
    best = _ce("cross")
    lines = [_line(rows, f"X-Sequential + CE − {ref}", F1, best, {"model": ref}, "> 0 on every library")
             for ref in ("aisfx", "logmel")]
    lines.append(_line(rows, "X-Sequential + CE − sfxrep-v1", F1, best, {"model": "sfxrep-v1"}))
    parts = []
    for line in lines[:2]:
        ests = list(line.per_library.values())
        outcome = (FAILS if any(e.below(0) for e in ests) else HOLDS if ests and all(e.above(0) for e in ests)
                   else UNCLEAR)
        parts.append(Part(f"it beats {line.label.split(' − ')[1]} on every library", outcome,
                          f"above on {sum(e.above(0) for e in ests)}, below on {sum(e.below(0) for e in ests)} "
                          f"of {len(ests)} libraries (95 % intervals); average {line.average.text()}"))
    return Finding(7, "The best model against the references", "The best model (X-Sequential + CE) beats the SoTA "
                   "reference on every library.", "Fig. 7", "Δ frame macro-F1 (points)", lines, parts,
                   notes=["The paper's reference is OpenL3, whose weights cannot be installed offline; aiSFX (the "
                          "authors' released model, trained on their private libraries) and log-mel statistics "
                          "stand in. sfxrep-v1 (fine-tuned from aiSFX) is shown for RQ4, not part of the claim."])


CLAIMS: tuple[Callable[[Rows, dict], Finding], ...] = (claim1, claim2, claim3, claim4, claim5, claim6, claim7)


def measure(rows: Sequence[ResultRow], noise: dict | None = None) -> list[Finding]:
    """Every claim's finding from a study's rows (``noise``: label-issue rates per library, for claim 6)."""
    table = Rows(rows)
    return [claim(table, noise or {}) for claim in CLAIMS]


# ---- writing ---------------------------------------------------------------------------------------------------

def forest(finding: Finding, path: Path) -> Path:
    """One figure per claim: each compared quantity's average (dot) and 95 % interval (bar), with the libraries'
    means as small grey marks, against the zero line; the title carries the verdict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = finding.lines
    caption = "\n".join(textwrap.fill(note, 160) for note in finding.notes)  # e.g. a library left out, and why
    below = 0.15 * (caption.count("\n") + 1) + 0.1 if caption else 0.0  # inches under the axes for the caption
    height = 0.6 * len(lines) + 2.0 + below
    fig, ax = plt.subplots(figsize=(10, height), dpi=110)
    for y, line in enumerate(reversed(lines)):
        s = finding.scale
        libs = [e.mean * s for e in line.per_library.values() if e.n]
        ax.scatter(libs, [y] * len(libs), s=12, color="0.65", zorder=2, label="a library's mean" if y == 0 else None)
        avg = line.average
        if avg.n == 0:
            ax.text(0, y, "not run", ha="center", va="center", fontsize=8, color="0.4")
            continue
        colour = "tab:blue"
        if avg.has_interval:
            ax.plot([avg.lo * s, avg.hi * s], [y, y], color=colour, linewidth=2.2, zorder=3)
        ax.scatter([avg.mean * s], [y], s=40, color=colour, zorder=4,
                   label="average over libraries, 95 % CI" if y == len(lines) - 1 else None)
    ax.axvline(0, color="0.2", linewidth=0.8)
    ax.set_yticks(range(len(lines)),
                  [f"{ln.label}" + (f"\n(paper: {ln.expect})" if ln.expect else "") for ln in reversed(lines)],
                  fontsize=8)
    ax.set_xlabel(finding.metric)
    title = f"Claim {finding.number} ({finding.figure}): {finding.paper}"
    ax.set_title("\n".join(textwrap.wrap(title, 110)) + f"\nverdict: {finding.verdict}", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a dot
    ax.grid(axis="x", color="0.9")
    fig.tight_layout(rect=(0, below / height, 1, 1))
    if caption:
        fig.text(0.01, 0.01, caption, fontsize=8, ha="left", va="bottom", color="0.25")
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown(finding: Finding, libraries: Sequence[str], figure: str | None = None) -> str:
    """A claim's section of STUDY.md: statement, verdict, parts, the per-library table and the figure."""
    unit = "points of macro-F1" if finding.scale == 100 else "DBI"
    out = [f"### Claim {finding.number}: {finding.title} ({finding.figure})", "",
           f"**Paper:** {finding.paper}", "", f"**Verdict: {finding.verdict}.**", ""]
    out += [f"- {p.statement}: **{p.outcome}** — {p.evidence}" for p in finding.parts]
    out += ["", f"Mean [95 % CI] over seeds, {unit}:", "",
            "| | " + " | ".join(libraries) + " | average |", "|---" * (len(libraries) + 2) + "|"]
    for line in finding.lines:
        cells = [line.per_library[lib].text(scale=finding.scale) if lib in line.per_library else "—"
                 for lib in libraries]
        out.append(f"| {line.label} | " + " | ".join(cells) + f" | **{line.average.text(scale=finding.scale)}** |")
    out += [""] + [f"*{note}*" for note in finding.notes] + ([""] if finding.notes else [])
    if figure:
        out += [f"![claim {finding.number}]({figure})", ""]
    return "\n".join(out)


def progress(rows: Sequence[ResultRow]) -> str:
    """The runs so far: per configuration, the seeds done and the wall time of a run (training + evaluation)."""
    runs: dict[tuple, dict[str, float]] = {}
    for r in latest_per_seed(rows):
        if r.model != "sfxrep":
            continue
        method = method_label(r.mixing, r.bn, r.fdr_threshold) if r.scenario == "cross" else "—"
        seconds = runs.setdefault((r.scenario, r.loss, method), {}).setdefault(r.run, 0.0)
        runs[(r.scenario, r.loss, method)][r.run] = max(seconds, float(r.train_seconds or 0)) + float(
            r.eval_seconds or 0)
    lines = ["| scenario | loss | method | seeds done | minutes per seed (train + evaluation) |", "|---|---|---|---|---|"]
    seed_of = {r.run: r.seed for r in rows}
    total = 0.0
    for (scenario, loss, method), by_run in sorted(runs.items()):
        per_seed: dict = {}  # a within-dataset seed is one model per library, each its own run: their sum
        for run, seconds in by_run.items():
            per_seed[seed_of[run]] = per_seed.get(seed_of[run], 0.0) + seconds
        total += sum(by_run.values())
        lines.append(f"| {scenario} | {loss} | {method} | {len(per_seed)} | "
                     f"{statistics.fmean(per_seed.values()) / 60:.1f} |")
    lines.append(f"\n{sum(len(v) for v in runs.values())} trained models so far, {total / 3600:.1f} h of wall time "
                 "(a within-dataset seed trains one model per library; its time is their sum).")
    return "\n".join(lines)


def write(findings: list[Finding], libraries: Sequence[str], study: Path | None, figures: Path | None,
          rows: Sequence[ResultRow] = ()) -> str:
    """The claims section (also spliced into ``study`` between its claim markers, or appended)."""
    parts = ["| claim | verdict |", "|---|---|"]
    parts += [f"| {f.number}. {f.paper} | **{f.verdict}** |" for f in findings]
    sections = []
    for f in findings:
        figure = None
        if figures is not None:
            figures.mkdir(parents=True, exist_ok=True)
            path = forest(f, figures / f"claim{f.number}.png")
            figure = str(path.relative_to(study.parent)) if study is not None and path.is_relative_to(
                study.parent) else str(path)
        sections.append(markdown(f, libraries, figure))
    text = "\n".join(parts) + "\n\n" + "\n".join(sections)
    if rows:
        text = "### Runs\n\n" + progress(rows) + "\n\n### Verdicts\n\n" + text
    if study is not None:
        block = f"{START}\n{text}\n{END}"
        old = study.read_text() if study.exists() else ""
        if START in old and END in old:
            new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, old, flags=re.S)
        else:
            new = old + ("\n" if old else "") + block + "\n"
        study.write_text(new)
    return text


def claims_command(ns: argparse.Namespace) -> None:
    """``sfxrep claims RESULTS [--study STUDY.md] [--figures DIR] [--label-issues FILE]``."""
    results = Path(ns.results)
    noise_file = Path(ns.label_issues) if ns.label_issues else results.parent / "label_issues.json"
    noise = json.loads(noise_file.read_text()) if noise_file.is_file() else {}
    rows = read_results(results)
    findings = measure(rows, noise)
    study = Path(ns.study) if ns.study else None
    figures = Path(ns.figures) if ns.figures else (study.parent / "report" / "claims" if study else None)
    text = write(findings, Rows(rows).libraries, study, figures, rows)
    print(text if study is None else f"claims → {study} (figures in {figures})")
    for f in findings:
        print(f"claim {f.number}: {f.verdict}")
