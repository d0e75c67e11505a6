"""Verdicts follow from their comparisons, and two are recomputed from the committed k-fold rows."""

from __future__ import annotations

import pytest

from sfxrep.results.compare import compare_models
from sfxrep.results.paired import PairedResult
from sfxrep.results.verdicts import Claim, verdict
from tests.helpers import REPO


def result(diff, lo, hi, p, lo90=None, hi90=None):
    return PairedResult("overall", 0.5, 0.5 + diff, diff, lo, hi, p, p, 0.05, 100, 50,
                        lo if lo90 is None else lo90, hi if hi90 is None else hi90)


BETTER = Claim("better", "B beats A", +1)
EQUAL = Claim("equal", "no consistent effect", 0, margin=0.02)


@pytest.mark.parametrize(("claim", "results", "gate", "expected"), [
    (BETTER, [result(0.05, 0.02, 0.08, 0.001)], True, "reproduced"),
    (BETTER, [result(-0.05, -0.08, -0.02, 0.001)], True, "contradicted"),
    (BETTER, [result(-0.05, -0.08, -0.02, 0.001)], False, "not reproduced at this budget"),
    (BETTER, [result(0.01, -0.02, 0.04, 0.4)], True, "inconclusive"),
    (BETTER, [result(0.05, 0.01, 0.09, 0.01), result(0.05, 0.01, 0.09, 0.01)], True, "reproduced"),
    (BETTER, [result(0.05, 0.01, 0.09, 0.03), result(0.05, 0.01, 0.09, 0.03)], True, "inconclusive"),  # 2 × 0.03
    (BETTER, [result(0.05, 0.01, 0.09, 0.03), result(0.01, -0.03, 0.05, 0.6)], True, "inconclusive"),  # Holm
    (BETTER, [None], True, "not tested"),
    (EQUAL, [result(0.002, -0.015, 0.02, 0.7, -0.012, 0.016)], True, "reproduced"),
    (EQUAL, [result(0.0, -0.04, 0.04, 0.9, -0.03, 0.03)], True, "inconclusive"),  # wide: neither way
    (EQUAL, [result(0.06, 0.03, 0.09, 0.001, 0.035, 0.085)], False, "not reproduced at this budget"),
])
def test_the_vocabulary(claim, results, gate, expected):
    assert verdict(claim, results, gate) == expected


def test_two_verdicts_recomputed_from_the_committed_kfold_rows():
    """aiSFX against log-mel statistics on the seven libraries (the paper: its model beats untrained features), and
    sfxrep-v1 against aiSFX nested on its own test files (MODEL_CARD.md: no decision)."""
    shared, v1 = REPO / "results" / "kfold" / "shared.jsonl", REPO / "results" / "kfold" / "v1-split.jsonl"
    if not shared.is_file() or not v1.is_file():
        pytest.skip("the committed k-fold rows are absent")
    overall = lambda rows: next(r for r in rows if r.library == "overall")
    aisfx = overall(compare_models(shared, "logmel", "aisfx", n_boot=300))
    assert 0.10 < aisfx.diff < 0.17 and aisfx.lo > 0
    assert verdict(Claim("trained beats untrained", "", +1), [aisfx], gate_passed=True) == "reproduced"
    tuned = overall(compare_models(v1, "aisfx", "sfxrep-v1", n_boot=300))
    assert -0.05 < tuned.diff < -0.01 and tuned.lo < 0 < tuned.hi
    assert verdict(Claim("the fine-tune beats its start", "", +1), [tuned], gate_passed=True) == "inconclusive"
