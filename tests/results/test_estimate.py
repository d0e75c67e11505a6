"""One selection and one estimate: compare, the report's panels, the claims and the W&B definition give the same
numbers for the same rows, a NaN seed included."""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import fmean

import pytest

from sfxrep.records import ResultRow, matches, select
from sfxrep.results.claims import Rows
from sfxrep.results.compare import compare
from sfxrep.results.comparisons import QUESTIONS, rq_panels
from sfxrep.results.estimate import Estimate, average, delta
from sfxrep.results.report.dashboard import build_dashboard

CE = {"scenario": "within", "mixing": "sequential", "bn": "shared", "fdr_threshold": None, "model": "sfxrep"}
F1 = {  # (library, loss, seed) → frame macro-F1; triplet on lib_a seed 1 is NaN (an undefined evaluation)
    **{("lib_a", "ce", s): v for s, v in enumerate((0.50, 0.55, 0.52))},
    **{("lib_a", "triplet", s): v for s, v in enumerate((0.56, math.nan, 0.60))},
    **{("lib_b", "ce", s): v for s, v in enumerate((0.40, 0.42, 0.38))},
    **{("lib_b", "triplet", s): v for s, v in enumerate((0.41, 0.47, 0.45))},
}


def _rows() -> list[ResultRow]:
    rows = [ResultRow(run=f"{loss}-{seed}", library=lib, loss=loss, seed=seed, frame_macro_f1=f1,
                      **CE) for (lib, loss, seed), f1 in F1.items()]
    stale = ResultRow(run="triplet-0-old", library="lib_a", loss="triplet", seed=0, frame_macro_f1=0.0,
                      created="2000-01-01T00:00:00", **CE)  # re-run since: the later row of the seed counts
    return [stale, *rows]


def test_every_reader_gives_the_same_numbers_for_rows_with_a_nan_seed(tmp_path, monkeypatch):
    rows = _rows()
    # by hand: lib_a pairs seeds 0 and 2 only (seed 1 is NaN); the average over libraries uses seeds 0 and 2
    want_a = ((0.56 - 0.50) + (0.60 - 0.52)) / 2
    want_avg = fmean([((0.56 - 0.50) + (0.41 - 0.40)) / 2, ((0.60 - 0.52) + (0.45 - 0.38)) / 2])
    est = delta(rows, "frame_macro_f1", {**CE, "loss": "triplet", "library": "lib_a"},
                {**CE, "loss": "ce", "library": "lib_a"})
    assert (est.mean, est.n) == (pytest.approx(want_a), 2) and est.lo < est.mean < est.hi

    table = compare(rows, QUESTIONS["rq1"].table, ["frame_macro_f1"])
    by_library = {(e["scenario"], e["library"]): e for e in table}
    assert by_library[("within", "lib_a")]["d_frame_macro_f1"] == pytest.approx(want_a)
    assert by_library[("within", "lib_a")]["n"] == 2
    assert by_library[("within", "MEAN")]["d_frame_macro_f1"] == pytest.approx(want_avg)

    panel = rq_panels(rows)["RQ1"][0]  # within: Δ frame macro-F1 of each metric loss against CE
    assert panel.cell("lib_a", "triplet") == est

    per_library, overall = Rows(rows).delta("frame_macro_f1", {**CE, "loss": "triplet"}, {**CE, "loss": "ce"})
    assert per_library["lib_a"] == est and overall.mean == pytest.approx(want_avg) and overall.n == 2

    monkeypatch.setenv("WANDB_MODE", "offline")
    out = build_dashboard("sfxrep", "lab", rows, tmp_path / "wandb_report.json")
    tables = [b["text"] for b in json.loads(Path(out).read_text())["blocks"] if str(b.get("text", "")).startswith("**")]
    within_f1 = tables[0].splitlines()  # RQ1's first panel: library | circle | contrastive | triplet
    assert "triplet" in within_f1[2] and f"| lib_a | not run | not run | {est.text()} |" in within_f1


def test_select_matches_as_text_and_keeps_the_latest_row_of_a_seed():
    rows = _rows()
    chosen = select(rows, {"library": "LIB_A", "loss": "triplet", "fdr_threshold": None})
    assert sorted(r.run for r in chosen) == ["triplet-0", "triplet-1", "triplet-2"]
    assert matches(ResultRow(run="r", library="l", scenario="cross", fdr_threshold=0.9), {"fdr_threshold": "0.9"})
    assert not matches(ResultRow(run="r", library="l", scenario="cross"), {"fdr_threshold": 0.9})


def test_the_nan_rule_leaves_a_nan_seed_out_and_an_all_nan_cell_not_run():
    assert Estimate.of([0.5, math.nan, None, 0.7]).n == 2
    assert Estimate.of([math.nan]).n == 0 and Estimate.of([math.nan]).text() == "not run"
    assert average({"a": {0: 0.1, 1: 0.3}, "b": {1: 0.5}}).mean == pytest.approx(0.4)  # seed 1 only: both have it
