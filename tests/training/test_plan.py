"""The train plan: options declared once, one ordering rule for every configuration layer, and the run it resumes."""

from __future__ import annotations

import argparse
import json
from dataclasses import fields

import pytest
import yaml

from sfxrep.cli import build_parser
from sfxrep.training.command import train_plan
from sfxrep.training.plan import FDR_CLASS, TrainPlan, add_plan_options
from sfxrep.training.scenarios import describe, latest_run, resolve
from tests.helpers import REPO, tiny_overrides

EXPERIMENTS = str(REPO / "experiments")


def _plan(tmp_path, libraries, **kwargs) -> TrainPlan:
    return TrainPlan(**{"configs": [], "experiments": EXPERIMENTS,
                        "overrides": tiny_overrides(libraries, tmp_path), **kwargs})


def test_each_layer_beats_the_ones_before_it(tiny_libraries, tmp_path):
    """base < -c files < losses/<loss>.yaml < the plan's options < arguments after --."""
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(yaml.safe_dump({"data": {"mixing": "joint"}, "seed_everything": 4, "trainer": {"log_every_n_steps": 7},
                                     "model": {"objective": {"class_path": "sfxrep.models.losses.Objective",
                                                             "init_args": {"metric_weight": 0.25}}}}))
    second.write_text(yaml.safe_dump({"trainer": {"log_every_n_steps": 9}}))

    def resolved(**kwargs):
        config = resolve(_plan(tmp_path, tiny_libraries, configs=[str(first), str(second)], **kwargs))
        return config.data.mixing, config.seed_everything, config.trainer.log_every_n_steps, describe(config)["loss"]

    assert resolved() == ("joint", 4, 9, "ce")  # a -c file beats base.yaml, a later -c file an earlier one
    assert resolved(loss="triplet")[3] == "triplet"  # the loss overlay beats the files' objective
    assert resolved(mixing="round_robin", seed=3) == ("round_robin", 3, 9, "ce")  # options beat the files
    overrides = [*tiny_overrides(tiny_libraries, tmp_path), "--data.mixing", "sequential", "--seed_everything", "5"]
    config = resolve(_plan(tmp_path, tiny_libraries, configs=[str(first)], mixing="round_robin", seed=3,
                           overrides=overrides))
    assert (config.data.mixing, config.seed_everything, config.data.seed) == ("sequential", 5, 3)  # -- wins


def test_fdr_options_edit_the_callbacks_of_the_files(tiny_libraries, tmp_path):
    def fdr(**kwargs):
        callbacks = resolve(_plan(tmp_path, tiny_libraries, configs=[f"{EXPERIMENTS}/methods/fdr.yaml"],
                                  **kwargs)).trainer.callbacks or []
        return [c.init_args.as_dict() for c in callbacks if c.class_path == FDR_CLASS]

    assert [c["threshold"] for c in fdr()] == [0.9]
    assert fdr(fdr=False) == []
    assert [(c["threshold"], c["beta"]) for c in fdr(fdr_threshold=0.5)] == [(0.5, 0.999)]
    assert [c["beta"] for c in fdr(params={"trainer.callbacks.init_args.beta": 0.99})] == [0.99]
    with pytest.raises(ValueError, match="no callback has 'nope'"):
        fdr(params={"trainer.callbacks.init_args.nope": 1})


def test_the_options_are_declared_once_and_round_trip(tmp_path):
    declared = {f.name for f in fields(TrainPlan) if "cli" in f.metadata}
    for command in ("train", "tune"):
        parser = argparse.ArgumentParser()
        add_plan_options(parser, command)
        dests = {a.dest for a in parser._actions if a.dest != "help"}
        assert dests <= declared and {"scenario", "mixing", "seed", "init"} <= dests
        assert ("resume" in dests) == (command == "train")
    ns = build_parser().parse_args(["train", "--scenario", "within", "-c", "a.yaml", "-c", "b.yaml", "--fdr", "off",
                                    "--seed", "3", "--param", "model.lr=0.01", "--tag", "study=s", "--resume"])
    ns.overrides = ["--trainer.max_epochs", "2"]
    plan = train_plan(ns)
    assert (plan.scenario, plan.configs, plan.fdr, plan.seed, plan.params, plan.meta, plan.resume) == \
        ("within", ["a.yaml", "b.yaml"], False, 3, {"model.lr": 0.01}, {"study": "s"}, True)
    assert TrainPlan.from_json(plan.to_json()) == plan  # what a trial on several devices hands to sfxrep train
    (tmp_path / "plan.json").write_text(plan.to_json())
    assert train_plan(build_parser().parse_args(["train", "--plan", str(tmp_path / "plan.json")])) == plan
    assert plan.options() == {"scenario": "within", "configs": ["a.yaml", "b.yaml"], "fdr": False, "seed": 3,
                              "resume": True, "params": {"model.lr": 0.01}, "meta": {"study": "s"},
                              "overrides": ["--trainer.max_epochs", "2"]}


def test_every_run_of_the_study_grid_resolves_to_what_it_compares(tiny_libraries, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("study", REPO / "experiments" / "study.py")
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    grid = study.grid([0, 1])
    # per seed: CE and Triplet in 3 scenarios + 3 more cross methods, Contrastive and Circle in 3 scenarios
    assert len(grid) == 2 * (2 * 6 + 2 * 3) and len({str(sorted(o.items())) for o in grid}) == len(grid)
    assert [o["seed"] for o in grid] == sorted(o["seed"] for o in grid)  # seed by seed: a stopped study is whole
    for loss in ("ce", "contrastive", "triplet", "circle"):
        for scenario in ("within", "ucs_transfer", "cross"):
            assert sum(o["loss"] == loss and o["scenario"] == scenario for o in grid) >= 2, (loss, scenario)
    for options in grid:
        labels = describe(resolve(_plan(tmp_path, tiny_libraries, **options)))
        assert labels["loss"] == options.get("loss", "ce")
        assert labels["mixing"] == options.get("mixing", "sequential") and labels["bn"] == options.get("bn", "shared")
        threshold = options.get("fdr_threshold")
        assert labels["fdr"] == (f"fdr{threshold:g}" if threshold else "nofdr")  # the study's FDR threshold


def test_the_fdr_class_is_named_right_and_the_command_line_does_not_import_lightning():
    """Every command builds the whole parser; only train and tune need Lightning (seconds of start-up for embed)."""
    import subprocess
    import sys

    from sfxrep.training.callbacks.fdr import FocalDatasetRegularization

    named = f"{FocalDatasetRegularization.__module__}.{FocalDatasetRegularization.__name__}"
    assert named == FDR_CLASS
    code = "import sys; from sfxrep.cli import build_parser; build_parser(); print(sorted(m for m in sys.modules " \
           "if m.split('.')[0] in ('lightning', 'pytorch_lightning')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_plan_resumes_its_own_seed_s_run_never_another_seed_s(tmp_path):
    """Seed 0's run names carry no seed, so its prefix ``…-ce-`` is also the start of seed 2's ``…-ce-seed2-``: an
    unfinished seed-2 run must not be resumed (and its rows written) as seed 0's."""
    def run(name: str, status: str) -> None:
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps({"run": name, "status": status}))

    run("cross-all-sequential-shared-nofdr-ce-20261202-221445", "done")
    run("cross-all-sequential-shared-nofdr-ce-seed1-20261203-054519", "done")
    run("cross-all-sequential-shared-nofdr-ce-seed2-20261203-105132", "training")
    assert latest_run(tmp_path, "cross-all-sequential-shared-nofdr-ce-")["status"] == "done"
    assert latest_run(tmp_path, "cross-all-sequential-shared-nofdr-ce-seed2-")["status"] == "training"
    run("cross-all-sequential-shared-nofdr-ce-20261203-120000-2", "interrupted")  # two runs in one second
    assert latest_run(tmp_path, "cross-all-sequential-shared-nofdr-ce-")["status"] == "interrupted"
    assert latest_run(tmp_path, "cross-all-sequential-shared-nofdr-ce-seed3-") is None
