"""Verdicts that mean what they say: a paper's claim against a paired comparison (:mod:`sfxrep.results.paired`).

The vocabulary:

* **reproduced** — the difference is in the paper's direction, significant after Holm across the claim's sub-tests;
  for a claim of *no effect*, the two are equivalent within a margin stated in advance (TOST at 5 %: the 90 %
  interval inside ±margin);
* **contradicted** — the difference is significantly against the paper's direction (or, for *no effect*, a
  significant difference), and the fidelity gate passed: the models were trained well enough for that to count;
* **not reproduced at this budget** — the same evidence against the paper, but the fidelity gate failed: the
  models may simply be under-trained;
* **inconclusive** — neither: the interval is too wide for the question (its minimum detectable difference says how
  wide);
* **not tested** — no comparison (a model that cannot be had offline, a data set that is absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sfxrep.results.paired import PairedResult, holm

VERDICTS = ("reproduced", "contradicted", "not reproduced at this budget", "inconclusive", "not tested")


@dataclass(frozen=True)
class Claim:
    """A claim of the paper as a comparison of B against A.

    Attributes:
        name: short name (``claim7``).
        sentence: the paper's words.
        direction: +1 (B better than A), -1 (B worse), 0 (no effect: equivalent within ``margin``).
        margin: the equivalence margin of a no-effect claim, in the rows' units (fractions), stated in advance.
    """

    name: str
    sentence: str
    direction: int
    margin: float = 0.02


def verdict(claim: Claim, results: Sequence[PairedResult | None], gate_passed: bool, alpha: float = 0.05) -> str:
    """The verdict of ``claim`` on its sub-tests' overall comparisons (one :class:`PairedResult` each, e.g. one per
    loss; ``None`` where a sub-test could not run). Significance is Holm-adjusted across the sub-tests; every tested
    sub-test must agree for *reproduced*, and one significant against is enough for *contradicted*."""
    tested = [r for r in results if r is not None]
    if not tested:
        return "not tested"
    p_adjusted = holm([r.p for r in tested])
    if claim.direction == 0:
        equivalent = all(-claim.margin < r.lo90 and r.hi90 < claim.margin for r in tested)
        different = any(p < alpha for p in p_adjusted)
        if equivalent:
            return "reproduced"
        return ("contradicted" if gate_passed else "not reproduced at this budget") if different else "inconclusive"
    toward = [p < alpha and r.diff * claim.direction > 0 for r, p in zip(tested, p_adjusted, strict=True)]
    against = [p < alpha and r.diff * claim.direction < 0 for r, p in zip(tested, p_adjusted, strict=True)]
    if any(against):
        return "contradicted" if gate_passed else "not reproduced at this budget"
    return "reproduced" if all(toward) else "inconclusive"
