"""The ``sfxrep`` command: prepare, fit (LightningCLI), evaluate, compare, train."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from sfxrep.cli import build_parser, main
from tests.helpers import REPO, tiny_fit_args, tiny_overrides


def test_prepare_prints_each_library_and_where_the_manifest_is(tiny_libraries, tmp_path, capsys):
    main(["prepare", str(tiny_libraries), "--work-dir", str(tmp_path / "w"), "--cache-dir", str(tmp_path / "c"),
          "--workers", "2"])
    out = capsys.readouterr().out
    assert "lib_a: 108/108 files, 18 classes" in out and "lib_b: 24/24 files, 3 classes" in out
    manifest = out.split("manifest: ")[1].split("\n")[0]
    rows = [json.loads(line) for line in Path(manifest).read_text().splitlines()]
    assert len(rows) == 132 and set(rows[0]) == {"library", "path", "label", "group", "duration", "sample_rate",
                                                 "split", "key", "source"}


@pytest.mark.slow  # end to end: a real fit
def test_fit_subcommand_then_evaluate_and_compare(tiny_libraries, tmp_path, capsys):
    main(["fit", *tiny_fit_args(tiny_libraries, tmp_path)])
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("*.ckpt")) == ["best.ckpt", "last.ckpt"]
    ckpt = tmp_path / "ckpt" / "best.ckpt"
    results = tmp_path / "results.jsonl"
    main(["evaluate", str(ckpt), "--libraries", "lib_b", "--results", str(results), "--run", "r1"])
    out = capsys.readouterr().out
    assert "lib_b" in out and "frame_macro_f1" in out
    (row,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert (row["run"], row["library"], row["scenario"], row["loss"]) == ("r1", "lib_b", "cross", "ce")
    main(["compare", str(results)])
    assert "no group" in capsys.readouterr().out  # one loss only: nothing to compare yet


@pytest.mark.slow  # end to end: a real fit
def test_train_passes_overrides_after_the_double_dash(tiny_libraries, tmp_path, capsys):
    """One ordering rule end to end: a -c file < the options of sfxrep train < the arguments after --."""
    results = tmp_path / "r.jsonl"
    mine = tmp_path / "mine.yaml"
    mine.write_text("data: {mixing: round_robin}\nmodel: {encoder: {init_args: {bn: per_library}}}\n")
    main(["train", "--scenario", "cross", "--experiments", str(REPO / "experiments"), "-c",
          str(REPO / "experiments" / "base.yaml"), "-c", str(mine), "--mixing", "joint", "--seed", "3",
          "--results", str(results), "--runs", str(tmp_path / "runs"), "--",
          *tiny_overrides(tiny_libraries, tmp_path), "--data.mixing", "sequential", "--seed_everything", "5",
          "--data.seed", "5"])
    assert f"results appended to {results}" in capsys.readouterr().out
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["width"] == 4  # the override reached the model
    assert {(r["mixing"], r["seed"], r["bn"]) for r in rows} == {("sequential", 5, "per_library")}
    assert rows[0]["checkpoint"].startswith(str(tmp_path / "runs"))


def test_parser_rejects_unknown_choices():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--mixing", "diagonal"])


def test_bad_input_is_one_line_naming_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["evaluate", str(tmp_path / "nope.ckpt")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("sfxrep evaluate: error:") and "nope.ckpt" in err and "Traceback" not in err
    (tmp_path / "libs.yaml").write_text("libraries:\n  - {name: a, kind: nope, root: .}\n")
    with pytest.raises(SystemExit):
        main(["prepare", str(tmp_path / "libs.yaml")])
    assert "kind must be one of" in capsys.readouterr().err


def test_prepare_logs_to_the_stderr_of_the_call_not_of_the_import(tiny_libraries, tmp_path, monkeypatch):
    import io

    from sfxrep.audio.cache import WaveCache
    from sfxrep.libraries.prepare import prepare
    from sfxrep.libraries.spec import load_libraries

    stream = io.StringIO()  # what a test harness or a redirect puts in place after sfxrep was imported
    monkeypatch.setattr(sys, "stderr", stream)
    prepare(load_libraries(tiny_libraries), tmp_path / "w", WaveCache(tmp_path / "c"))
    assert "[prepare] lib_a:" in stream.getvalue()


@pytest.mark.parametrize("bug", [KeyError("lib_a"), ZeroDivisionError("division by zero"), AttributeError("x")])
def test_a_bug_is_a_traceback_and_exit_70_never_a_bad_input_line(monkeypatch, tmp_path, capsys, bug):
    import sfxrep.results.command

    def broken(ns):
        raise bug

    monkeypatch.setattr(sfxrep.results.command, "compare_command", broken)
    with pytest.raises(SystemExit) as info:
        main(["compare", str(tmp_path / "results.jsonl")])
    err = capsys.readouterr().err
    assert info.value.code == 70 and "Traceback" in err and "error:" not in err
    assert f"internal error ({type(bug).__name__}): this is a bug in sfxrep" in err.splitlines()[-1]


@pytest.mark.slow  # a real fit
def test_best_checkpoint_holds_the_weights_its_mid_epoch_validation_scored(tiny_libraries, tmp_path):
    """Validation every 3 steps in a 4-step epoch: best.ckpt is the step-3 state, not the epoch end's (step 4)."""
    import torch

    main(["fit", *tiny_fit_args(tiny_libraries, tmp_path, "--trainer.val_check_interval", "3",
                                "--trainer.check_val_every_n_epoch", "null", "--trainer.max_steps", "4",
                                "--checkpoint.monitor", "val/macro_f1", "--checkpoint.mode", "max")])
    best = torch.load(tmp_path / "ckpt" / "best.ckpt", weights_only=False)
    last = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=False)
    assert (best["global_step"], last["global_step"]) == (3, 4)


@pytest.mark.slow  # three real fits
def test_a_resumed_run_keeps_the_score_of_a_best_checkpoint_newer_than_its_last_checkpoint(tiny_libraries, tmp_path):
    """Checks every 3 steps, epochs of 4: best.ckpt is written at step 6, last.ckpt at step 4 and 8. Stopped
    between the two (last.ckpt from step 4, knowing only the step-3 best), the resumed run must carry best.ckpt's
    own score (6), so that only a check beating it replaces best.ckpt; it carried step 4's (3)."""
    import shutil

    import torch

    def fit(max_steps: int, *extra: str) -> None:
        main(["fit", *tiny_fit_args(tiny_libraries, tmp_path, "--trainer.val_check_interval", "3",
                                    "--trainer.check_val_every_n_epoch", "null", "--trainer.max_epochs", "-1",
                                    "--trainer.max_steps", str(max_steps), "--checkpoint.monitor", "step",
                                    "--checkpoint.mode", "max", *extra)])

    def checkpoint_state(path: Path) -> dict:
        callbacks = torch.load(path, weights_only=False)["callbacks"]
        (key,) = [k for k in callbacks if k.startswith("ModelCheckpoint{'monitor': 'step'")]
        return callbacks[key]

    ckpt = tmp_path / "ckpt"
    fit(4)
    shutil.copy(ckpt / "last.ckpt", tmp_path / "step4.ckpt")
    fit(7, "--ckpt_path", "last")
    assert torch.load(ckpt / "best.ckpt", weights_only=False)["global_step"] == 6
    assert float(checkpoint_state(tmp_path / "step4.ckpt")["best_model_score"]) == 3
    shutil.copy(tmp_path / "step4.ckpt", ckpt / "last.ckpt")  # as if stopped after step 6, before epoch end
    fit(5, "--ckpt_path", "last")  # no check before step 6: the state is what was restored
    state = checkpoint_state(ckpt / "last.ckpt")
    assert float(state["best_model_score"]) == 6 and Path(state["best_model_path"]) == ckpt / "best.ckpt"
    assert torch.load(ckpt / "best.ckpt", weights_only=False)["global_step"] == 6
