"""The three scenarios end to end: which models are trained, which libraries evaluated, what rows say."""

from __future__ import annotations

import json

import pytest

from sfxrep.results import read_results
from sfxrep.scenarios import TrainPlan, run_plan
from tests.conftest import REPO, tiny_overrides


def plan(tmp_path, libraries, **kwargs) -> TrainPlan:
    return TrainPlan(**{"configs": [], "results": str(tmp_path / "results.jsonl"),
                        "experiments": str(REPO / "experiments"), "runs": str(tmp_path / "runs"),
                        "overrides": tiny_overrides(libraries, tmp_path), **kwargs})


def test_within_trains_one_model_per_library(tiny_libraries, tmp_path):
    rows = run_plan(plan(tmp_path, tiny_libraries, scenario="within"))
    assert [(r["library"], r["train_libraries"], r["scenario"]) for r in rows] == [
        ("lib_a", ["lib_a"], "within"), ("lib_b", ["lib_b"], "within")]
    assert len({r["run"] for r in rows}) == 2
    assert [json.dumps(r) for r in read_results(tmp_path / "results.jsonl")] == [json.dumps(r) for r in rows]


def test_ucs_transfer_trains_on_the_base_and_evaluates_everything(tiny_libraries, tmp_path):
    with pytest.raises(ValueError, match="base library"):  # neither tiny library is UCS-named
        run_plan(plan(tmp_path, tiny_libraries, scenario="ucs_transfer"))
    rows = run_plan(plan(tmp_path, tiny_libraries, scenario="ucs_transfer", base="lib_b"))
    assert {r["library"]: r["seen_in_training"] for r in rows} == {"lib_a": False, "lib_b": True}
    assert {r["scenario"] for r in rows} == {"ucs_transfer"} and len({r["run"] for r in rows}) == 1


def test_cross_rows_carry_every_factor_of_the_comparisons(tiny_libraries, tmp_path):
    rows = run_plan(plan(tmp_path, tiny_libraries, scenario="cross", mixing="joint", bn="per_library", fdr=True,
                         fdr_threshold=0.5, loss="triplet", seed=3))
    assert len(rows) == 2 and len({r["run"] for r in rows}) == 1 and "fdr0.5-triplet-seed3" in rows[0]["run"]
    assert {r["seed"] for r in rows} == {3}
    for r in rows:
        assert (r["scenario"], r["mixing"], r["bn"], r["fdr"]) == ("cross", "joint", "per_library", True)
        assert r["fdr_threshold"] == 0.5
        assert r["loss"] == "ce+tripletmargin+regularface" and r["train_libraries"] == ["lib_a", "lib_b"]
        assert {"frame_macro_f1", "file_macro_f1", "dbi", "train_seconds", "checkpoint"} <= set(r)


def test_wandb_runs_are_grouped_tagged_and_finished_between_models(tiny_libraries, tmp_path, monkeypatch):
    import wandb

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    finished = []
    real_finish = wandb.finish

    def spy_finish(*args, **kwargs):
        finished.append((wandb.run.group, sorted(wandb.run.tags), wandb.run.name))
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(wandb, "finish", spy_finish)
    run_plan(plan(tmp_path, tiny_libraries, scenario="within", loss="ce",
                  configs=[str(REPO / "experiments" / "loggers" / "wandb.yaml")]))
    assert [f[:2] for f in finished] == [("within", sorted(["sequential", "shared", "nofdr", "ce", lib]))
                                         for lib in ("lib_a", "lib_b")]
    assert finished[0][2] != finished[1][2]  # two models, two W&B runs
    assert len(list((tmp_path / "runs" / "wandb").glob("offline-run-*/run-*.wandb"))) == 2
