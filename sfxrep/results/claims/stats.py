"""The statistics of a claim: its compared quantities (:class:`Line`), the statements it makes (:class:`Part`)
and how each comes out against the 95 % intervals of :mod:`sfxrep.results.estimate`.

A part *holds* when the interval lies on the side the paper states (or, for "about equal", inside the stated
margin), *fails* when it lies entirely on the other side (or entirely outside the margin), and is *unclear*
otherwise. A claim is **reproduced** when every part holds, **contradicted** when a part fails, and **inconclusive
at this budget** otherwise; **not run** when a cell it needs has no rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sfxrep.records import ResultRow, select
from sfxrep.results.estimate import Estimate, delta_by_library, level_by_library, seed_values

F1, DBI = "frame_macro_f1", "dbi"
METRIC_LOSSES = ("contrastive", "triplet", "circle")
SCENARIOS = ("within", "ucs_transfer", "cross")
X_SEQ = {"model": "sfxrep", "mixing": "sequential", "bn": "shared", "fdr_threshold": None}
REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_RUN = ("reproduced", "contradicted", "inconclusive at this budget",
                                                   "not run")
HOLDS, FAILS, UNCLEAR = "holds", "fails", "unclear"


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


class Rows:
    """A study's rows for the claims: the libraries trained models were evaluated on, and every number through
    :mod:`sfxrep.results.estimate` (the selection, NaN rule and interval compare, the report and W&B use too)."""

    def __init__(self, rows: Sequence[ResultRow]) -> None:
        self.rows = [r for r in select(rows) if r.library != "esc50"]
        trained = [r for r in self.rows if r.model == "sfxrep"]
        self.libraries = sorted({r.library for r in trained if r.scenario in ("within", "cross")}) or sorted(
            {r.library for r in self.rows})

    def values(self, library: str, metric: str, config: dict) -> dict[int, float]:
        """seed → ``metric`` of the rows of ``config`` on ``library`` (a reference model: seed 0)."""
        return seed_values(self.rows, metric, {**config, "library": library})

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
        """Per library and averaged over the libraries ``metric`` is defined on: ``metric`` of ``config``."""
        libraries, undefined = self._split(metric, libraries)
        per, avg = level_by_library(self.rows, metric, config, libraries)
        return {**per, **undefined}, avg

    def delta(self, metric: str, variant: dict, base: dict, libraries: Sequence[str] | None = None
              ) -> tuple[dict[str, Estimate], Estimate]:
        """Per library and averaged over the libraries ``metric`` is defined on: variant − base, paired by seed."""
        libraries, undefined = self._split(metric, libraries)
        per, avg = delta_by_library(self.rows, metric, variant, base, libraries)
        return {**per, **undefined}, avg


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


