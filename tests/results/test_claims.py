"""sfxrep claims: paired 95 % intervals over seeds, and verdicts that follow the numbers (built from rows whose
effects are known)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from sfxrep.cli import main as sfxrep
from sfxrep.records import ResultRow, append_results
from sfxrep.results.claims import Rows, measure
from sfxrep.results.claims.stats import (
    CONTRADICTED,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    NOT_RUN,
    REPRODUCED,
    UNCLEAR,
    within_margin,
)
from sfxrep.results.estimate import Estimate

LIBS = ["a", "b", "c", "d", "e"]


def test_estimate_is_the_student_t_interval():
    est = Estimate.of([1.0, 2.0, 3.0])
    half = 4.302653 * 1.0 / math.sqrt(3)  # t(0.975, 2) · sd / √n
    assert est.n == 3 and est.mean == pytest.approx(2.0)
    assert (est.lo, est.hi) == (pytest.approx(2 - half, abs=1e-5), pytest.approx(2 + half, abs=1e-5))
    assert Estimate.of([0.5]).n == 1 and not Estimate.of([0.5]).has_interval and Estimate.of([]).n == 0
    assert within_margin(Estimate.of([0.001, 0.002, 0.003]), 0.01) == HOLDS
    assert within_margin(Estimate.of([0.05, 0.06, 0.07]), 0.01) == FAILS
    assert within_margin(Estimate.of([-0.05, 0.0, 0.05]), 0.01) == UNCLEAR


def _rows(effects: dict[tuple, tuple[float, float]], seeds=(0, 1, 2), noise=0.002, skip=()) -> list[ResultRow]:
    """Rows of every study configuration; ``effects[(scenario, loss, method)] = (f1 shift, dbi shift)`` over a
    per-(library, seed) baseline shared by all configurations (so a difference is paired by seed); a method without
    an effect of its own has X-Sequential's."""
    rng = np.random.default_rng(0)
    base = {(lib, s): (0.5 + 0.05 * i + 0.03 * rng.standard_normal(), 2.0 + 0.2 * rng.standard_normal())
            for i, lib in enumerate(LIBS) for s in seeds}
    methods = {"seq": {}, "joint": {"mixing": "joint"}, "fdr": {"fdr": True, "fdr_threshold": 0.9},
               "bn": {"bn": "per_library"}}
    rows = []
    for scenario in ("within", "ucs_transfer", "cross"):
        for loss in ("ce", "contrastive", "triplet", "circle"):
            for method, factors in methods.items():
                if (scenario, loss, method) in skip or (method != "seq" and scenario != "cross"):
                    continue
                df1, ddbi = effects.get((scenario, loss, method), effects.get((scenario, loss, "seq"), (0.0, 0.0)))
                for (lib, s), (f1, dbi) in base.items():
                    rows.append(ResultRow(
                        run=f"{scenario}-{loss}-{method}-{s}", library=lib, scenario=scenario, loss=loss, seed=s,
                        **{"mixing": "sequential", "bn": "shared", **factors},
                        frame_macro_f1=f1 + df1 + noise * rng.standard_normal(),
                        dbi=dbi + ddbi + noise * rng.standard_normal()))
    for model, f1 in (("aisfx", 0.3), ("logmel", 0.2), ("sfxrep-v1", 0.35)):
        rows += [ResultRow(run=model, library=lib, scenario="reference", model=model, frame_macro_f1=f1)
                 for lib in LIBS]
    return rows


PAPER = {  # a study that comes out as the paper says
    **{(s, "contrastive", "seq"): (0.0, -0.3) for s in ("within", "ucs_transfer", "cross")},
    ("within", "circle", "seq"): (-0.03, -0.6), ("cross", "circle", "seq"): (-0.03, 0.1),
    ("ucs_transfer", "circle", "seq"): (0.05, -0.1),
    ("within", "triplet", "seq"): (-0.002, 0.1), ("cross", "triplet", "seq"): (0.04, 0.1),
    ("ucs_transfer", "triplet", "seq"): (0.06, -0.1), ("ucs_transfer", "contrastive", "seq"): (0.04, -0.3),
    ("cross", "ce", "seq"): (0.045, 0.0), ("cross", "ce", "joint"): (0.055, 0.0),
    ("cross", "triplet", "joint"): (0.05, 0.1),
}


def test_a_study_that_agrees_with_the_paper_reproduces_its_clear_claims():
    findings = {f.number: f for f in measure(_rows(PAPER))}
    assert findings[1].verdict == REPRODUCED, [(p.statement, p.outcome, p.evidence) for p in findings[1].parts]
    assert findings[3].parts[0].outcome == HOLDS  # CE: cross − within = +4.5 points on every library
    assert findings[4].verdict == REPRODUCED  # X-Joint within a point of X-Sequential
    assert findings[5].verdict == REPRODUCED  # FDR: no effect at all
    assert findings[7].verdict == REPRODUCED  # 0.5+ against 0.3 and 0.2
    assert findings[1].lines[0].average.n == 3  # paired over 3 seeds


def test_the_opposite_result_contradicts_and_a_missing_cell_is_not_run(tmp_path):
    opposite = {**PAPER, ("cross", "ce", "seq"): (-0.05, 0.0), ("cross", "ce", "joint"): (-0.1, 0.0),
                ("cross", "ce", "fdr"): (0.03, 0.0), **{(s, "contrastive", "seq"): (0.0, 0.4)
                                                       for s in ("within", "ucs_transfer", "cross")}}
    findings = {f.number: f for f in measure(_rows(opposite))}
    assert findings[1].verdict == CONTRADICTED and findings[1].parts[0].outcome == FAILS
    assert findings[3].parts[0].outcome == FAILS  # CE: cross is 5 points *below* within
    assert findings[4].verdict == CONTRADICTED  # X-Joint 5 points below X-Sequential, outside ±2
    assert findings[5].verdict == CONTRADICTED  # FDR +8 points on every library: a consistent trend
    noisy = {f.number: f for f in measure(_rows(PAPER, noise=0.2))}
    assert noisy[4].verdict == INCONCLUSIVE  # the same effects under noise ten times the margin
    missing = {f.number: f for f in measure(_rows(PAPER, skip={("cross", "ce", "joint")}))}
    assert missing[4].verdict == NOT_RUN and missing[1].verdict == REPRODUCED


def test_a_metric_undefined_on_a_library_is_left_out_not_counted_as_never_run():
    """A test split with one block per class has no test DBI (every cluster one point) in any row: that library is
    "undefined" for DBI, the averages are over the others, and the claim still gets its verdict."""
    rows = []
    for r in _rows(PAPER):
        if r.library == "e":
            r = dataclasses.replace(r, dbi=math.nan, n_test_frames=9, n_test_classes=9)
        rows.append(r)
    table = Rows(rows)
    assert table.undefined("dbi") == {"e": "its test split has 9 blocks in 9 classes, so no class has two blocks"}
    assert table.undefined("frame_macro_f1") == {}
    finding = measure(rows)[0]
    assert finding.verdict == REPRODUCED  # as without library e
    per, average = table.delta("dbi", {"scenario": "within", "loss": "contrastive"}, {"scenario": "within",
                                                                                        "loss": "ce"})
    assert per["e"].undefined and per["e"].text() == "undefined" and average.n == 3
    assert average.mean == pytest.approx(sum(per[lib].mean for lib in "abcd") / 4)
    assert any("DBI is undefined on e" in note for note in finding.notes)
    # a cell that is missing (not NaN) is still "not run"
    missing = [r for r in rows if not (r.library == "a" and r.loss == "contrastive" and r.scenario == "within")]
    assert measure(missing)[0].verdict == NOT_RUN


def test_claim6_compares_messy_and_clean_libraries_by_label_issue_rate():
    effects = {**PAPER, ("cross", "ce", "bn"): (-0.05, 0.0), ("cross", "triplet", "bn"): (-0.05, 0.0)}
    noise = {lib: {"rate": r} for lib, r in zip(LIBS, (0.30, 0.02, 0.25, 0.01, 0.20), strict=True)}
    finding = measure(_rows(effects), noise)[5]
    assert finding.verdict == REPRODUCED
    assert set(finding.lines[0].per_library) == {"a", "c"}  # above the median rate 0.20
    assert "a 30.0 %" in finding.notes[0]
    assert measure(_rows(PAPER), noise)[5].verdict == INCONCLUSIVE  # no BN effect: not "lowers"


def test_sfxrep_claims_splices_the_verdicts_into_study_md_and_draws_a_figure_each(tmp_path):
    results = tmp_path / "results.jsonl"
    append_results(_rows(PAPER), results)
    (tmp_path / "label_issues.json").write_text(json.dumps({lib: {"rate": 0.1 * i} for i, lib in enumerate(LIBS)}))
    study = tmp_path / "STUDY.md"
    study.write_text("# Study\n\nhand-written text\n\n<!-- claims:start -->\nold\n<!-- claims:end -->\n\nafter\n")
    sfxrep(["claims", str(results), "--study", str(study)])
    text = study.read_text()
    assert "hand-written text" in text and text.rstrip().endswith("after") and "\nold\n" not in text
    assert text.count("### Claim ") == 7 and "**Verdict: reproduced.**" in text
    assert "| within | circle | — | 3 |" in text  # the runs table: seeds done per configuration
    figures = sorted((tmp_path / "report" / "claims").glob("claim*.png"))
    assert [f.name for f in figures] == [f"claim{n}.png" for n in range(1, 8)]
    assert all(f.stat().st_size > 5000 for f in figures)
    assert "![claim 1](report/claims/claim1.png)" in text
    sfxrep(["claims", str(results), "--study", str(study)])  # again: replaced, not appended
    assert study.read_text().count("### Claim 1:") == 1
    assert Rows(_rows(PAPER)).libraries == LIBS


def test_the_runs_table_sums_a_within_seed_over_its_libraries_and_names_each_fdr_threshold():
    from sfxrep.results.claims.render import progress

    rows = [ResultRow(run=f"within-{lib}-{s}", library=lib, scenario="within", loss="ce", seed=s, train_seconds=60.0,
                      eval_seconds=6.0) for lib in ("a", "b", "c") for s in (0, 1)]
    rows += [ResultRow(run=f"cross-fdr{t}-0", library=lib, scenario="cross", loss="ce", seed=0, mixing="sequential",
                       bn="shared", fdr=True, fdr_threshold=t, train_seconds=120.0, eval_seconds=3.0)
             for t in (0.9, 0.25) for lib in ("a", "b")]
    table = progress(rows)
    assert "| within | ce | — | 2 | 3.3 |" in table  # 3 libraries × (60 + 6) s per seed
    assert "| cross | ce | FDR | 1 | 2.1 |" in table and "| cross | ce | FDR (0.25) | 1 | 2.1 |" in table
