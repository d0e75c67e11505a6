"""The three scenarios end to end: which models are trained, which libraries evaluated, what rows say."""

from __future__ import annotations

import json

import pytest
import yaml

from sfxrep.inference.precision import lightning_precision as resolve_precision
from sfxrep.records import read_results
from sfxrep.training.plan import TrainPlan
from sfxrep.training.scenarios import run_plan
from tests.helpers import REPO, tiny_overrides
from tests.helpers.wandb_records import read_run

pytestmark = pytest.mark.slow  # end to end: real fits, workers, DDP or real data


def plan(tmp_path, libraries, **kwargs) -> TrainPlan:
    return TrainPlan(**{"configs": [], "results": str(tmp_path / "results.jsonl"),
                        "experiments": str(REPO / "experiments"), "runs": str(tmp_path / "runs"),
                        "overrides": tiny_overrides(libraries, tmp_path), **kwargs})


def test_within_trains_one_model_per_library(tiny_libraries, tmp_path):
    rows = run_plan(plan(tmp_path, tiny_libraries, scenario="within"))
    assert [(r.library, r.train_libraries, r.scenario) for r in rows] == [
        ("lib_a", ["lib_a"], "within"), ("lib_b", ["lib_b"], "within")]
    assert len({r.run for r in rows}) == 2
    assert [json.dumps(r.to_dict()) for r in read_results(tmp_path / "results.jsonl")] == [
        json.dumps(r.to_dict()) for r in rows]


def test_ucs_transfer_trains_on_the_base_and_evaluates_everything(tiny_libraries, tmp_path):
    with pytest.raises(ValueError, match="base library"):  # neither tiny library is UCS-named
        run_plan(plan(tmp_path, tiny_libraries, scenario="ucs_transfer"))
    rows = run_plan(plan(tmp_path, tiny_libraries, scenario="ucs_transfer", base="lib_b"))
    assert {r.library: r.seen_in_training for r in rows} == {"lib_a": False, "lib_b": True}
    assert {r.scenario for r in rows} == {"ucs_transfer"} and len({r.run for r in rows}) == 1


def test_cross_rows_carry_every_factor_of_the_comparisons(tiny_libraries, tmp_path):
    rows = run_plan(plan(tmp_path, tiny_libraries, scenario="cross", mixing="joint", bn="per_library", fdr=True,
                         fdr_threshold=0.5, loss="triplet", seed=3))
    assert len(rows) == 2 and len({r.run for r in rows}) == 1 and "fdr0.5-triplet-seed3" in rows[0].run
    assert {r.seed for r in rows} == {3}
    for r in rows:
        assert (r.scenario, r.mixing, r.bn, r.fdr) == ("cross", "joint", "per_library", True)
        assert r.fdr_threshold == 0.5 and r.precision == resolve_precision("auto", "auto")
        assert r.loss == "triplet" and r.train_libraries == ["lib_a", "lib_b"]
        assert r.train_seconds > 0 and r.checkpoint.endswith("best.ckpt") and 0 <= r.frame_macro_f1 <= 1


def test_the_yaml_decides_what_the_options_do_not_say(tiny_libraries, tmp_path):
    # a user's YAML asks for joint mixing, per-library BN, FDR at 0.7 and seed 4; no option overrides them
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({
        "seed_everything": 4, "data": {"mixing": "joint", "seed": 4},
        "model": {"encoder": {"init_args": {"bn": "per_library"}}},
        "trainer": {"callbacks": [{"class_path": "sfxrep.training.callbacks.fdr.FocalDatasetRegularization",
                                   "init_args": {"threshold": 0.7}}]}}))
    (row, _) = run_plan(plan(tmp_path, tiny_libraries, scenario="cross", configs=[str(mine)]))
    assert (row.mixing, row.bn, row.fdr, row.fdr_threshold, row.seed) == ("joint", "per_library", True, 0.7, 4)
    assert "joint-per_library-fdr0.7-ce-seed4" in row.run
    saved = yaml.safe_load((tmp_path / "runs" / row.run / "version_0" / "config.yaml").read_text())
    assert saved["data"]["mixing"] == "joint"  # the saved config says what ran
    # an option that is given wins, and --fdr off removes the YAML's FDR
    (row, _) = run_plan(plan(tmp_path, tiny_libraries, scenario="cross", configs=[str(mine)], mixing="sequential",
                             fdr=False, seed=1))
    assert (row.mixing, row.bn, row.fdr, row.fdr_threshold, row.seed) == ("sequential", "per_library", False, None, 1)


def test_a_train_libraries_override_is_respected(tiny_libraries, tmp_path):
    p = plan(tmp_path, tiny_libraries, scenario="cross")
    p.overrides = [*p.overrides, "--data.train_libraries", "[lib_b]"]
    rows = run_plan(p)
    assert {r.library: r.seen_in_training for r in rows} == {"lib_a": False, "lib_b": True}


def test_train_works_from_another_folder_and_checks_the_results_path_first(tiny_libraries, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no experiments/ here: the package's own folder is used
    with pytest.raises(ValueError, match="is a folder"):
        run_plan(TrainPlan(configs=[], results=str(tmp_path), overrides=tiny_overrides(tiny_libraries, tmp_path)))
    rows = run_plan(TrainPlan(configs=[], results="r.jsonl", runs="runs",
                              overrides=tiny_overrides(tiny_libraries, tmp_path)))
    assert len(rows) == 2 and (tmp_path / "r.jsonl").is_file() and (tmp_path / "runs" / rows[0].run).is_dir()


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
    files = sorted((tmp_path / "runs" / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 2
    by_library = {run["config"]["run"].split("-")[1]: (run, f) for f in files if (run := read_run(f))}
    lib = "lib_a"  # 18 test files: enough embeddings for a projection
    (run, file), = [by_library[lib]]
    config, history, summary = run["config"], run["history_keys"], run["summary"]
    assert {"scenario", "mixing", "bn", "fdr", "fdr_threshold", "loss", "seed", "method", "model", "git_commit",
            "libraries"} <= set(config)
    assert (config["scenario"], config["method"], config["loss"]) == ("within", "X-Sequential", "ce")
    assert config["libraries"][lib]["classes"] in (18, 3) and config["libraries"][lib]["files"] > 0
    assert {f"train/{lib}/loss", f"train/{lib}/macro_f1", f"val/{lib}/loss", f"val/{lib}/macro_f1", "val/loss"} <= history
    logged = {key.split("/_type")[0] for key in history if key.endswith("/_type")}
    assert {"results", f"test/{lib}/confusion_table", f"test/{lib}/projection_table"} <= logged
    assert {f"test/{lib}/f1_frame", f"test/{lib}/f1_file", f"test/{lib}/dbi"} <= set(summary)
    tables = sorted((file.parent / "files" / "media" / "table").glob("results_*.table.json"))
    results = json.loads(tables[0].read_text())
    assert "frame_macro_f1" in results["columns"] and [row[results["columns"].index("library")]
                                                       for row in results["data"]] == [lib]
