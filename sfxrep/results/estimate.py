"""The one estimate every reader of a results file uses: ``compare``, the report's panels, the claims and the W&B
definition all turn rows into numbers here, so the same rows give the same numbers everywhere.

* **Selection**: :func:`sfxrep.records.select` (the latest row of each seed matching a configuration).
* **The NaN rule**: a seed whose value is NaN (or missing) is left out, and ``n`` counts the seeds that are left;
  no defined value gives an estimate with ``n = 0`` ("not run", or "undefined" where the library has rows but the
  metric is NaN in each).
* **Pairing**: a difference is taken per seed (variant − base on the same seed), over the seeds both have; a
  reference model without a seed (aiSFX, log-mel: seed 0, one row) is a constant subtracted from every seed.
* **The average over libraries** is formed per seed first (over the seeds every library has), so its interval
  comes from the spread over seeds too.
* **The interval**: the Student-t 95 % interval over seeds. With 3 seeds a bootstrap of seeds gives [min, max] and
  covers far less than 95 %, so the t interval is the honest one at this level. Where per-file predictions exist,
  ``sfxrep compare --models`` pairs files instead (:mod:`sfxrep.results.paired`: hierarchical bootstrap over
  groups, fold seeds and training seeds), which also carries the test-sampling variance seeds cannot.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sfxrep.records import ResultRow, select


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
    def of(cls, values: Sequence[float | None]) -> Estimate:
        """The estimate of ``values`` (one per seed) under the NaN rule above."""
        values = [float(v) for v in values if v is not None and not math.isnan(float(v))]
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


def seed_values(rows: Sequence[ResultRow], metric: str, config: Mapping[str, object]) -> dict[int, float]:
    """seed → the defined ``metric`` of the selected rows of ``config`` (put ``library`` in it for one library;
    a reference model's one row is seed 0)."""
    out = {}
    for r in select(rows, config):
        value = r.get(metric)
        if value is not None and not math.isnan(float(value)):
            out[int(r.seed or 0)] = float(value)
    return out


def _is_reference(base: Mapping[str, object], values: dict[int, float]) -> bool:
    return set(values) == {0} and str(base.get("model", "sfxrep")).lower() != "sfxrep"


def seed_deltas(rows: Sequence[ResultRow], metric: str, variant: Mapping[str, object],
                base: Mapping[str, object]) -> dict[int, float]:
    """seed → variant − base on that seed (a seedless reference ``base`` is one constant)."""
    a, b = seed_values(rows, metric, variant), seed_values(rows, metric, base)
    if _is_reference(base, b):
        return {s: v - b[0] for s, v in a.items()}
    return {s: a[s] - b[s] for s in a.keys() & b.keys()}


def level(rows: Sequence[ResultRow], metric: str, config: Mapping[str, object]) -> Estimate:
    """``metric`` of ``config`` over seeds."""
    return Estimate.of(list(seed_values(rows, metric, config).values()))


def delta(rows: Sequence[ResultRow], metric: str, variant: Mapping[str, object],
          base: Mapping[str, object]) -> Estimate:
    """variant − base, paired by seed."""
    return Estimate.of(list(seed_deltas(rows, metric, variant, base).values()))


def average(per_library: Mapping[str, Mapping[int, float]]) -> Estimate:
    """The mean over libraries, per seed present for every library, then its estimate over those seeds."""
    libraries = list(per_library)
    seeds = set.intersection(*(set(per_library[lib]) for lib in libraries)) if libraries else set()
    return Estimate.of([statistics.fmean(per_library[lib][s] for lib in libraries) for s in sorted(seeds)])


def level_by_library(rows: Sequence[ResultRow], metric: str, config: Mapping[str, object],
                     libraries: Sequence[str]) -> tuple[dict[str, Estimate], Estimate]:
    """Per library and averaged over ``libraries``: ``metric`` of ``config``."""
    per = {lib: seed_values(rows, metric, {**config, "library": lib}) for lib in libraries}
    return {lib: Estimate.of(list(v.values())) for lib, v in per.items()}, average(per)


def delta_by_library(rows: Sequence[ResultRow], metric: str, variant: Mapping[str, object],
                     base: Mapping[str, object], libraries: Sequence[str]) -> tuple[dict[str, Estimate], Estimate]:
    """Per library and averaged over ``libraries``: variant − base, paired by seed."""
    per = {lib: seed_deltas(rows, metric, {**variant, "library": lib}, {**base, "library": lib})
           for lib in libraries}
    return {lib: Estimate.of(list(v.values())) for lib, v in per.items()}, average(per)
