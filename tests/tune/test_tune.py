"""Optuna search with real components: sqlite and a real PostgreSQL server, worker processes, a real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from sfxrep.cli import main
from sfxrep.records import read_results
from sfxrep.tune.launch import SlurmOptions, launch_slurm, slurm_executor
from sfxrep.tune.storage import NoSuchStudy, load_study, storage_url
from sfxrep.tune.worker import TuneSpec
from tests.helpers import REPO, tiny_overrides

pytestmark = pytest.mark.slow  # end to end: real fits, workers, DDP or real data

COMPLETE, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL


def tune_args(tmp_path: Path, libraries: Path, *extra: str, overrides: tuple[str, ...] = ()) -> list[str]:
    return ["tune", "--experiments", str(REPO / "experiments"), "-c", str(REPO / "experiments" / "base.yaml"),
            "--results", str(tmp_path / "results.jsonl"), "--runs", str(tmp_path / "runs"), "--heartbeat", "1",
            "--grace", "4", *extra, "--", *tiny_overrides(libraries, tmp_path), *overrides]


def load(study: str, url: str) -> optuna.Study:
    return load_study(url, study)  # the project's helper: it waits out workers creating a new database's tables


def check_search(study: optuna.Study, results: Path, trials: int = 3) -> None:
    done = study.get_trials(states=(COMPLETE,))
    assert len(study.trials) == len(done) == trials  # exactly the budget, across both workers
    assert len({tuple(sorted(t.params.items())) for t in done}) == trials  # distinct settings
    assert {t.user_attrs["worker"] for t in done} and all(Path(t.user_attrs["run_dirs"][0]).is_dir() for t in done)
    rows = read_results(results)
    assert sorted({(r.study, r.trial) for r in rows}) == [(study.study_name, n) for n in range(trials)]
    for t in done:  # each trial's rows come from its own checkpoint, trained with its own learning rate
        row = next(r for r in rows if r.trial == t.number)
        assert row.checkpoint in t.user_attrs["checkpoints"]
        saved = yaml.safe_load((Path(t.user_attrs["run_dirs"][0]) / "version_0" / "config.yaml").read_text())
        assert saved["model"]["lr"] == pytest.approx(t.params["model.lr"])


def test_random_search_with_two_worker_processes_on_sqlite(tiny_libraries, tmp_path, capsys):
    main(tune_args(tmp_path, tiny_libraries, "--trials", "3", "--workers", "2", "--study", "s"))
    out = capsys.readouterr().out
    assert "parameter importances" in out and "best: trial #" in out
    check_search(load("s", storage_url(None, "s", tmp_path / "runs")), tmp_path / "results.jsonl")


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    pgserver = pytest.importorskip("pgserver", reason="pgserver (dev extra) starts a real PostgreSQL")
    try:
        server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    except Exception as err:
        pytest.skip(f"PostgreSQL could not start here: {err}")
    yield server.get_uri()
    server.cleanup()


def test_the_same_search_against_a_real_postgresql_server(tiny_libraries, tmp_path, postgres):
    main(tune_args(tmp_path, tiny_libraries, "--trials", "3", "--workers", "2", "--study", "pg",
                   "--storage", postgres))
    check_search(load("pg", storage_url(postgres, "pg")), tmp_path / "results.jsonl")


def _worker(tmp_path: Path, libraries: Path, study: str, url: str) -> subprocess.Popen:
    args = tune_args(tmp_path, libraries, "--trials", "3", "--study", study, "--storage", url,
                     overrides=("--trainer.max_epochs", "3", "--data.batches_per_epoch", "4"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    log = open(tmp_path / f"worker-{len(list(tmp_path.glob('worker-*.log')))}.log", "w")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "sfxrep.cli", *args], env=env, cwd=tmp_path,
                            stdout=log, stderr=subprocess.STDOUT)


def test_a_worker_killed_mid_trial_leaves_its_trial_failed_and_another_worker_retries_it(tiny_libraries, tmp_path):
    url = storage_url(None, "k", tmp_path / "runs")
    victim, survivor = _worker(tmp_path, tiny_libraries, "k", url), _worker(tmp_path, tiny_libraries, "k", url)
    try:
        deadline = time.time() + 240
        killed = None
        while killed is None and time.time() < deadline:
            time.sleep(0.5)
            if not Path(url.removeprefix("sqlite:///")).is_file():
                continue
            try:
                running = load("k", url).get_trials(states=(optuna.trial.TrialState.RUNNING,))
            except NoSuchStudy:  # the study is not created yet
                continue
            mine = [t for t in running if t.user_attrs.get("worker", "").endswith(f":{victim.pid}")]
            if mine:
                victim.send_signal(signal.SIGKILL)  # mid-trial: no goodbye, no final heartbeat
                killed = mine[0]
        logs = "\n".join(p.read_text()[-1500:] for p in sorted(tmp_path.glob("worker-*.log")))
        assert killed is not None, f"the victim never started a trial:\n{logs}"
        assert survivor.wait(timeout=300) == 0
    finally:
        for process in (victim, survivor):
            if process.poll() is None:
                process.kill()
    study = load("k", url)
    states = {t.number: t.state for t in study.trials}
    assert states[killed.number] == FAIL
    assert sum(s == COMPLETE for s in states.values()) == 3 and sum(s == FAIL for s in states.values()) == 1
    (retry,) = [t for t in study.trials if killed.number in t.system_attrs.get("retry_history", [])]
    assert retry.state == COMPLETE and retry.params == killed.params


def test_a_trial_that_raises_is_failed_with_its_reason_and_the_search_goes_on(tiny_libraries, tmp_path, capsys):
    space = tmp_path / "bad_values.yaml"
    space.write_text("data.items_per_class: {type: categorical, choices: [3]}\n")  # 64 is no multiple of 3
    main(tune_args(tmp_path, tiny_libraries, "--trials", "2", "--study", "f", "--space", str(space)))
    study = load("f", storage_url(None, "f", tmp_path / "runs"))
    assert [t.state for t in study.trials] == [FAIL, FAIL]
    assert all("multiple of data.items_per_class" in t.user_attrs["error"] for t in study.trials)
    assert "FAIL" in capsys.readouterr().out


def test_best_writes_an_overlay_that_sfxrep_train_accepts(tiny_libraries, tmp_path, capsys):
    main(tune_args(tmp_path, tiny_libraries, "--trials", "2", "--study", "b"))
    best_yaml = tmp_path / "best.yaml"
    main(["tune", "best", "--study", "b", "--runs", str(tmp_path / "runs"), "--out", str(best_yaml)])
    study = load("b", storage_url(None, "b", tmp_path / "runs"))
    overlay = yaml.safe_load(best_yaml.read_text())
    assert overlay["model"]["lr"] == study.best_params["model.lr"]
    assert overlay["data"]["items_per_class"] == study.best_params["data.items_per_class"]
    main(["train", "--experiments", str(REPO / "experiments"), "-c", str(REPO / "experiments" / "base.yaml"),
          "-c", str(best_yaml), "--results", str(tmp_path / "again.jsonl"), "--runs", str(tmp_path / "again"),
          "--", *tiny_overrides(tiny_libraries, tmp_path)])
    (run,) = {r.run for r in read_results(tmp_path / "again.jsonl")}
    saved = yaml.safe_load((tmp_path / "again" / run / "version_0" / "config.yaml").read_text())
    assert saved["model"]["lr"] == study.best_params["model.lr"]
    assert saved["data"]["items_per_class"] == study.best_params["data.items_per_class"]
    main(["tune", "show", "--study", "b", "--runs", str(tmp_path / "runs")])
    assert "COMPLETE" in capsys.readouterr().out


@pytest.mark.parametrize(("space", "message"), [
    ("model.not_a_setting: {type: float, low: 0.1, high: 1.0}\n", "'model.not_a_setting' is not a setting"),
    ("trainer.callbacks.init_args.beta: {type: float, low: 0.9, high: 0.99}\n", "e.g. FDR=on"),
    ("model.lr: {type: float, low: 0.1}\n", "missing ['high']"),
    ("model.lr: [1, 2]\n", "expected {type"),
])
def test_a_bad_space_exits_2_with_one_line_before_any_trial(tiny_libraries, tmp_path, capsys, space, message):
    path = tmp_path / "space.yaml"
    path.write_text(space)
    with pytest.raises(SystemExit) as info:
        main(tune_args(tmp_path, tiny_libraries, "--trials", "2", "--study", "x", "--space", str(path)))
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1 and message in err and str(path) in err
    assert not (tmp_path / "runs" / "tune").exists() or not list((tmp_path / "runs").glob("cross-*"))


@pytest.mark.ddp
def test_a_trial_on_two_devices_trains_with_real_ddp_and_writes_its_rows_once(tiny_libraries, tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    main(tune_args(tmp_path, tiny_libraries, "--trials", "2", "--study", "d",
                   overrides=("--trainer.accelerator", "cpu", "--trainer.devices", "2")))
    study = load("d", storage_url(None, "d", tmp_path / "runs"))
    assert [t.state for t in study.trials] == [COMPLETE, COMPLETE]
    rows = read_results(tmp_path / "results.jsonl")
    assert sorted((r.trial, r.library) for r in rows) == [(0, "lib_a"), (0, "lib_b"), (1, "lib_a"), (1, "lib_b")]
    assert len(list((tmp_path / "runs").glob("cross-*/run.json"))) == 2  # rank 1 made no run folder of its own
    with pytest.raises(SystemExit):  # pruning reports from inside the trial's process
        main(tune_args(tmp_path, tiny_libraries, "--study", "e", "--prune",
                       overrides=("--trainer.accelerator", "cpu", "--trainer.devices", "2")))


def test_pruning_reports_every_epoch_to_the_trial(tiny_libraries, tmp_path):
    main(tune_args(tmp_path, tiny_libraries, "--trials", "3", "--study", "p", "--prune",
                   overrides=("--trainer.max_epochs", "3")))
    trials = load("p", storage_url(None, "p", tmp_path / "runs")).trials
    assert {t.state for t in trials} <= {COMPLETE, optuna.trial.TrialState.PRUNED} and len(trials) == 3
    assert all(len(t.intermediate_values) >= 1 for t in trials)  # the pruning callback reported val/loss


def test_a_journal_file_storage_runs_a_study(tiny_libraries, tmp_path):
    journal = tmp_path / "shared_fs" / "study.log"
    main(tune_args(tmp_path, tiny_libraries, "--trials", "2", "--study", "j", "--storage", str(journal),
                   "--sampler", "tpe"))
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    assert [t.state for t in optuna.load_study(study_name="j", storage=storage).trials] == [COMPLETE, COMPLETE]


def test_workers_started_together_all_open_a_new_database(tmp_path):
    # racing to create a new database's tables, one of them used to fail ("table … already exists")
    code = ("import sys; from sfxrep.tune.storage import open_storage; "
            f"open_storage('sqlite:///{tmp_path}/new.db'); print('ok')")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for _ in range(6)]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert all(w.returncode == 0 and out.strip().endswith("ok") for w, out in zip(workers, outputs, strict=True)), outputs


def test_an_unreachable_storage_is_one_line_without_the_password(tiny_libraries, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(tune_args(tmp_path, tiny_libraries, "--study", "x", "--storage", "postgresql://me:s3cret@127.0.0.1:9/db"))
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1
    assert "cannot reach the study storage" in err and "s3cret" not in err and "127.0.0.1:9" in err


def test_every_shipped_space_matches_its_loss(tiny_libraries, tmp_path):
    from sfxrep.training.plan import TrainPlan
    from sfxrep.training.scenarios import resolve
    from sfxrep.tune.space import SearchSpace

    for path in sorted((REPO / "experiments" / "search").glob("*.yaml")):
        loss = path.stem if path.stem in ("contrastive", "triplet", "circle") else None
        plan = TrainPlan(configs=[], loss=loss, fdr=path.stem == "fdr" or None,
                         experiments=str(REPO / "experiments"), overrides=tiny_overrides(tiny_libraries, tmp_path))
        SearchSpace.load(path).check(resolve(plan))


def test_slurm_jobs_are_one_worker_each_with_the_asked_resources(tiny_libraries, tmp_path, monkeypatch):
    import submitit

    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 2))  # as if srun were here
    spec = TuneSpec(study="c", storage=storage_url(None, "c", tmp_path), space=str(REPO / "experiments/search/ce.yaml"))
    options = SlurmOptions(partition="gpu", gpus_per_worker=2, cpus_per_worker=6, time_min=90,
                           folder=str(tmp_path / "slurm"))
    script = slurm_executor(spec, 4, options)._executor._make_submission_file_text("CMD", "uid")
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=2", "#SBATCH --cpus-per-task=6",
                 "#SBATCH --time=90", "#SBATCH --job-name=sfxrep-tune-c"):
        assert line in script


def test_submitit_local_jobs_run_workers_of_one_study(tiny_libraries, tmp_path):
    from sfxrep.cli import build_parser
    from sfxrep.training.command import train_plan

    ns = build_parser().parse_args(["train", "--experiments", str(REPO / "experiments"), "-c",
                                    str(REPO / "experiments" / "base.yaml"), "--results",
                                    str(tmp_path / "results.jsonl"), "--runs", str(tmp_path / "runs")])
    ns.overrides = tiny_overrides(tiny_libraries, tmp_path)
    url = storage_url(None, "j", tmp_path / "runs")
    spec = TuneSpec(study="j", storage=url, space=str(REPO / "experiments/search/ce.yaml"), plan=train_plan(ns),
                    trials=2, heartbeat_interval=1, grace_period=4)
    jobs = launch_slurm(spec, 2, SlurmOptions(folder=str(tmp_path / "jobs"), time_min=10), cluster="local")
    assert sorted(job.result() for job in jobs) in ([0, 2], [1, 1])  # trials each worker ran: 2 in all
    assert [t.state for t in load("j", url).trials] == [COMPLETE, COMPLETE]
