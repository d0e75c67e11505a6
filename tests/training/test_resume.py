"""Training that resumes: a real SIGKILL mid-epoch, then --resume; and what a resumed epoch draws."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sfxrep.cli import main
from sfxrep.records import read_results
from sfxrep.training.lightning_cli import SfxLightningCLI
from tests.helpers import REPO, tiny_fit_args, tiny_overrides
from tests.helpers.training import RecordBatches

pytestmark = pytest.mark.slow  # end to end: real fits, workers, DDP or real data


def train_args(tmp_path, libraries, *extra):
    return ["train", "--experiments", str(REPO / "experiments"), "-c", str(REPO / "experiments" / "base.yaml"),
            "--results", str(tmp_path / "results.jsonl"), "--runs", str(tmp_path / "runs"), *extra, "--",
            *tiny_overrides(libraries, tmp_path), "--trainer.max_epochs", "3", "--data.batches_per_epoch", "4"]


def test_a_killed_training_resumes_in_the_same_run_and_writes_its_rows_once(tiny_libraries, tmp_path, capsys):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "sfxrep.cli", *train_args(tmp_path, tiny_libraries)],
                               env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not list((tmp_path / "runs").glob("*/checkpoints/last.ckpt")):
            time.sleep(0.2)
        time.sleep(0.5)  # into the next epoch
        assert process.poll() is None, "training ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if (p / "run.json").is_file()]
    killed_epoch = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
    assert killed_epoch < 2 and json.loads((run_dir / "run.json").read_text())["status"] == "training"
    assert not (tmp_path / "results.jsonl").exists()

    main(train_args(tmp_path, tiny_libraries, "--resume"))
    assert f"{run_dir.name}: resuming from" in capsys.readouterr().out
    rows = read_results(tmp_path / "results.jsonl")
    assert sorted(r.library for r in rows) == ["lib_a", "lib_b"] and {r.run for r in rows} == {run_dir.name}
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2  # as uninterrupted
    assert json.loads((run_dir / "run.json").read_text())["status"] == "done"
    assert [p.name for p in (tmp_path / "runs").iterdir() if (p / "run.json").is_file()] == [run_dir.name]

    main(train_args(tmp_path, tiny_libraries, "--resume"))  # done: nothing trained, no second set of rows
    assert "already trained and evaluated, skipped" in capsys.readouterr().out
    assert len(read_results(tmp_path / "results.jsonl")) == 2


def test_a_resumed_epoch_draws_what_the_uninterrupted_run_drew(tiny_libraries, tmp_path):
    def batches(args, ckpt=None):
        recorder = RecordBatches()
        cli = SfxLightningCLI(args=args, run=False)
        cli.trainer.callbacks.append(recorder)
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt)
        return recorder.epochs

    whole = batches(tiny_fit_args(tiny_libraries, tmp_path / "a", "--trainer.max_epochs", "3"))
    batches(tiny_fit_args(tiny_libraries, tmp_path / "b", "--trainer.max_epochs", "2"))
    resumed = batches(tiny_fit_args(tiny_libraries, tmp_path / "b", "--trainer.max_epochs", "3"),
                      ckpt=str(tmp_path / "b" / "ckpt" / "last.ckpt"))
    assert len(resumed) == 1 and resumed[0] == whole[2]  # the sampler's epoch came back with the checkpoint


def test_fit_ckpt_path_last_without_a_last_checkpoint_fails_clearly(tiny_libraries, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["fit", *tiny_fit_args(tiny_libraries, tmp_path), "--ckpt_path", "last"])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1 and "no last checkpoint to resume from" in err


def test_continue_from_starts_a_longer_run_where_a_shorter_one_stopped_and_leaves_it_as_it_was(tiny_libraries,
                                                                                                tmp_path, capsys):
    def train(name: str, epochs: int, *extra: str) -> None:
        main(["train", "--experiments", str(REPO / "experiments"), "-c", str(REPO / "experiments" / "base.yaml"),
              "--runs", str(tmp_path / "runs"), "--name", name, "--no-eval", *extra, "--",
              *tiny_overrides(tiny_libraries, tmp_path), "--trainer.max_epochs", str(epochs)])

    train("short", 2)
    (short,) = (tmp_path / "runs").glob("cross-all-short-*")
    source = short / "checkpoints" / "last.ckpt"
    before = source.read_bytes()
    steps = torch.load(source, weights_only=True)["global_step"]

    train("long", 3, "--continue-from", str(short))
    (long,) = (tmp_path / "runs").glob("cross-all-long-*")
    assert f"{long.name}: continuing from {source}" in capsys.readouterr().out
    record = json.loads((long / "run.json").read_text())
    assert record["status"] == "done" and record["continued_from"] == str(source)
    assert Path(record["checkpoint"]).is_file()
    ckpt = torch.load(long / "checkpoints" / "last.ckpt", weights_only=True)
    assert (ckpt["epoch"], ckpt["global_step"]) == (2, steps * 3 // 2)  # one epoch more, not three from step 0
    logged = {int(row.split(",")[0]) for metrics in long.rglob("metrics.csv")
              for row in metrics.read_text().splitlines()[1:] if row.split(",")[0].isdigit()}
    assert logged == {2}  # it trained epoch 2 alone
    assert source.read_bytes() == before  # the shorter run stays as it was

    train("short", 3, "--resume", "--continue-from", str(short))  # the same name: a new run, not "already done"
    (newer,) = set((tmp_path / "runs").glob("cross-all-short-*")) - {short}
    assert json.loads((newer / "run.json").read_text())["continued_from"] == str(source)
    assert torch.load(newer / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == steps * 3 // 2
    train("short", 3, "--resume", "--continue-from", str(short))  # run again: that new run is done, skipped
    assert "already trained and evaluated, skipped" in capsys.readouterr().out
    record = json.loads((newer / "run.json").read_text())
    (newer / "run.json").write_text(json.dumps({**record, "status": "interrupted"}))  # as if stopped at the end
    train("short", 3, "--resume", "--continue-from", str(short))
    assert f"{newer.name}: resuming from {newer / 'checkpoints' / 'last.ckpt'}" in capsys.readouterr().out
    assert json.loads((newer / "run.json").read_text())["continued_from"] == str(source)  # kept on resume
    assert len(list((tmp_path / "runs").glob("cross-all-short-*"))) == 2

    with pytest.raises(SystemExit) as info:
        train("again", 3, "--continue-from", str(tmp_path / "no-such-run"))
    assert info.value.code == 2 and "no-such-run: no such run folder" in capsys.readouterr().err
