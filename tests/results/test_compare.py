"""RQ comparisons as group-bys of results rows."""

from __future__ import annotations

import argparse
import json

import pytest

from sfxrep.records import ResultRow, append_results, format_table, read_results
from sfxrep.results.command import compare_command
from sfxrep.results.compare import compare, pivot
from sfxrep.results.comparisons import QUESTIONS


def row(**kw) -> ResultRow:
    base = {"run": "r", "scenario": "within", "library": "a", "mixing": "sequential", "bn": "shared", "fdr": False,
            "loss": "ce", "frame_macro_f1": 0.5, "dbi": 2.0, "created": "2026-01-01T00:00:00"}
    return ResultRow.from_dict({**base, **kw})


def test_rq1_deltas_against_ce_latest_run_wins_and_means():
    rows = [
        row(), row(loss="triplet", frame_macro_f1=0.6, dbi=1.5),
        row(loss="triplet", frame_macro_f1=0.7, dbi=1.0, created="2026-02-01T00:00:00"),  # latest
        row(library="b", frame_macro_f1=0.8), row(library="b", loss="triplet", frame_macro_f1=0.7),
        row(library="c", loss="circle"),  # no CE baseline for c: not compared
    ]
    table = compare(rows, QUESTIONS["rq1"].table, ["frame_macro_f1", "dbi"])
    by = {(t["library"], t["variant"]): t for t in table}
    assert by[("a", "triplet")]["d_frame_macro_f1"] == pytest.approx(0.2)
    assert by[("a", "triplet")]["d_dbi"] == pytest.approx(-1.0)
    assert by[("b", "triplet")]["d_frame_macro_f1"] == pytest.approx(-0.1)
    assert by[("MEAN", "triplet")]["d_frame_macro_f1"] == pytest.approx(0.05)
    assert ("c", "circle") not in by


def test_rq2_compares_every_cross_variant_with_within():
    rows = [row(), row(scenario="cross", frame_macro_f1=0.55), row(scenario="cross", mixing="joint", frame_macro_f1=0.4),
            row(scenario="cross", bn="per_library", frame_macro_f1=0.65)]
    table = compare(rows, QUESTIONS["rq2"].table, ["frame_macro_f1"])
    got = {t["variant"]: round(t["d_frame_macro_f1"], 3) for t in table if t["library"] == "a"}
    assert got == {"cross/sequential/shared/none": 0.05, "cross/joint/shared/none": -0.1,
                   "cross/sequential/per_library/none": 0.15}


def test_fdr_variants_are_told_apart_by_threshold_and_means_stay_per_loss():
    rows = [row(scenario="cross"), row(scenario="cross", fdr=True, fdr_threshold=0.9, frame_macro_f1=0.5),
            row(scenario="cross", fdr=True, fdr_threshold=0.5, frame_macro_f1=0.6),
            row(scenario="cross", loss="circle", frame_macro_f1=0.1),
            row(scenario="cross", loss="circle", fdr=True, fdr_threshold=0.5, frame_macro_f1=0.4)]
    table = compare(rows, QUESTIONS["rq3"].table, ["frame_macro_f1"])
    got = {(t["library"], t["loss"], t["variant"]): round(t["d_frame_macro_f1"], 3) for t in table}
    assert got[("a", "ce", "sequential/shared/0.9")] == 0.0 and got[("a", "ce", "sequential/shared/0.5")] == 0.1
    assert got[("MEAN", "circle", "sequential/shared/0.5")] == 0.3  # the mean of its own loss only


def test_command_prints_a_table(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    append_results([row(), row(loss="contrastive", frame_macro_f1=0.9)], path)
    assert read_results(path)[1].loss == "contrastive"
    compare_command(argparse.Namespace(results=path, rq="rq1", by=None, baseline=None, match=None,
                                       metrics=["frame_macro_f1"], absolute=False, where=["library=a"]))
    out = capsys.readouterr().out
    assert "contrastive" in out and "0.400" in out



def test_a_torn_line_is_skipped_with_a_warning_and_the_next_append_stays_readable(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(row().to_dict()) + "\n" + json.dumps(row(library="b").to_dict())[:40])  # killed writer
    with pytest.warns(UserWarning, match=":2: not a JSON row"):
        assert [r.library for r in read_results(path)] == ["a"]
    append_results([row(library="c")], path)
    with pytest.warns(UserWarning, match=":2:"):
        assert [r.library for r in read_results(path)] == ["a", "c"]


def test_old_rows_load_and_unknown_fields_survive_a_round_trip(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"run": "old", "scenario": "cross", "library": "a", "frame_macro_f1": 0.4,
                                "from_the_future": [1, 2]}) + "\n")
    (old,) = read_results(path)
    assert old.fdr_threshold is None and old.model == "sfxrep" and old.extra == {"from_the_future": [1, 2]}
    assert old.to_dict()["from_the_future"] == [1, 2] and old.get("from_the_future") == [1, 2]
    path.write_text('{"library": "a"}\n')
    with pytest.raises(ValueError, match=r"row 1.*run"):
        read_results(path)


def test_format_table_aligns_columns():
    text = format_table([{"a": "x", "b": 0.5}, {"a": "longer", "b": -0.25}], ["a", "b"])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1 and "-0.250" in text


def test_absolute_values_side_by_side_with_the_baseline_first():
    rows = [row(), row(scenario="cross", frame_macro_f1=0.7), row(scenario="cross", mixing="joint", frame_macro_f1=0.4),
            row(library="b", frame_macro_f1=0.2), row(library="b", scenario="cross", frame_macro_f1=0.3)]
    table, variants = pivot(rows, QUESTIONS["rq2"].table, "frame_macro_f1")
    assert variants == ["within/sequential/shared/none", "cross/joint/shared/none",
                        "cross/sequential/shared/none"]
    by_lib = {t["library"]: t for t in table}
    assert by_lib["a"]["cross/sequential/shared/none"] == 0.7 and "cross/joint/shared/none" not in by_lib["b"]
    mean = by_lib["MEAN"]
    assert mean["within/sequential/shared/none"] == pytest.approx(0.35)
    assert mean["cross/joint/shared/none"] == pytest.approx(0.4)


def test_seeds_are_averaged_and_a_rerun_of_a_seed_replaces_it():
    rows = [row(seed=0), row(seed=1, frame_macro_f1=0.7),
            row(loss="contrastive", seed=0, frame_macro_f1=0.9),
            row(loss="contrastive", seed=1, frame_macro_f1=0.1),
            row(loss="contrastive", seed=1, frame_macro_f1=0.5, created="2026-03-01T00:00:00")]  # re-run
    (entry, _) = compare(rows, QUESTIONS["rq1"].table, ["frame_macro_f1"])
    assert entry["n"] == 2 and entry["d_frame_macro_f1"] == pytest.approx((0.9 + 0.5) / 2 - (0.5 + 0.7) / 2)
    table, _ = pivot(rows, QUESTIONS["rq1"].table, "frame_macro_f1")
    assert table[0]["ce"] == pytest.approx(0.6)


def test_a_custom_by_keeps_fdr_thresholds_apart(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    append_results([row(fdr=True, fdr_threshold=0.9), row(fdr=True, fdr_threshold=0.9, loss="circle",
                                                            frame_macro_f1=0.6),
                    row(fdr=True, fdr_threshold=0.5, frame_macro_f1=0.1),
                    row(fdr=True, fdr_threshold=0.5, loss="circle", frame_macro_f1=0.4)], path)
    compare_command(argparse.Namespace(results=path, rq="rq1", by="loss", baseline="ce", match=None,
                                       metrics=["frame_macro_f1"], absolute=False, where=None))
    lines = [line for line in capsys.readouterr().out.splitlines() if "circle" in line and "MEAN" not in line]
    assert sorted(line.split()[-1] for line in lines) == ["0.100", "0.300"]  # 0.6 − 0.5 and 0.4 − 0.1


def test_two_runs_of_one_configuration_are_compared_each_on_its_own_rows(tmp_path):
    """Two candidates trained with the same factors (recipes differ in what the rows do not record) must not hide
    each other: compare --models picks the latest row per seed among the named run's own rows."""
    from sfxrep.records import ResultRow, append_predictions, append_results
    from sfxrep.results.compare import compare_models

    paths, labels = [f"/lib/f{i}.wav" for i in range(8)], [i % 2 for i in range(8)]
    results = tmp_path / "panel.jsonl"
    for run, right in (("good", 8), ("bad", 4)):  # "good" predicts every file right, "bad" half of them
        predicted = [y if i < right else 1 - y for i, y in enumerate(labels)]
        row = ResultRow(run=run, library="lib", scenario="cross", protocol="kfold", predictions=f"id-{run}",
                        frame_macro_f1=right / 8)
        append_results([row], results)
        append_predictions([{"row": f"id-{run}", "run": run, "model": "sfxrep", "seed": None, "fold_seed": 0,
                             "paths": paths, "groups": paths, "labels": labels, "classes": ["a", "b"],
                             "block_pred": [[p] for p in predicted], "file_pred": predicted}], results)
    overall = next(r for r in compare_models(results, "bad", "good", n_boot=50) if r.library == "overall")
    assert overall.b == 1.0 and overall.a < 1.0 and overall.diff > 0
