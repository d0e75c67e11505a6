"""A tuning worker: joins a study, runs trials until the study has its number of trials, and leaves.

Each trial is one ``sfxrep train`` run through :func:`sfxrep.training.scenarios.run_plan` — the same scenario plan,
training, kNN evaluation and results rows — with the sampled settings applied to the resolved config. Its
results rows carry ``study`` and ``trial``; the trial's user attributes name its run folder and checkpoint.

The value is the paper's checkpoint criterion, the best mean validation loss over libraries (minimised), or
with ``objective: val_f1`` the best mean validation macro-F1 (maximised); for a scenario with several models
(within) the mean over them. A trial that raises (NaN loss, out of memory) is FAIL with its reason in the
``error`` user attribute, and the worker goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import optuna
from lightning.pytorch import Callback

from sfxrep.records import ResultRow, read_results
from sfxrep.training.lightning_cli import Interrupted, several_devices
from sfxrep.training.plan import TrainPlan
from sfxrep.training.scenarios import resolve, run_plan
from sfxrep.tune.space import SearchSpace
from sfxrep.tune.storage import count_trials, open_storage, redacted, study_lock

TuneObjective = Literal["val_loss", "val_f1"]  # what a study optimises (not the training loss)
MONITORS: dict[str, tuple[str, str]] = {"val_loss": ("val/loss", "minimize"), "val_f1": ("val/macro_f1", "maximize")}


@dataclass
class TuneSpec:
    """Everything a worker needs (picklable: SLURM jobs receive it).

    Attributes:
        study: study name.
        storage: storage URL (see :func:`sfxrep.tune.storage.storage_url`).
        space: search-space YAML.
        plan: the training plan every trial starts from (scenario, configs, options, budget overrides).
        trials: trials in the study when all workers are done (paper: 20).
        sampler: ``random`` (paper) or ``tpe``.
        seed: sampler seed; trial n samples with a seed derived from (seed, n), so workers never repeat.
        objective: ``val_loss`` (paper's checkpoint criterion, minimised) or ``val_f1`` (maximised).
        prune: stop unpromising trials early (MedianPruner on the per-epoch objective).
        heartbeat_interval, grace_period, max_retry: fault handling (see :mod:`sfxrep.tune.storage`).
        devices: 1, or more when the resolved config trains on several devices (set by :func:`check_spec`).
    """

    study: str
    storage: str
    space: str
    plan: TrainPlan = field(default_factory=TrainPlan)
    trials: int = 20
    sampler: Literal["random", "tpe"] = "random"
    seed: int = 0
    objective: TuneObjective = "val_loss"
    prune: bool = False
    heartbeat_interval: int = 60
    grace_period: int = 180
    max_retry: int = 3
    devices: int = 1

    @property
    def direction(self) -> str:
        return MONITORS[self.objective][1]


def create_study(spec: TuneSpec, storage: optuna.storages.BaseStorage | None = None) -> optuna.Study:
    """Create the study, or load it if it exists (any number of workers on any machines join it)."""
    storage = storage or open_storage(spec.storage, spec.heartbeat_interval, spec.grace_period, spec.max_retry)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1) if spec.prune else \
        optuna.pruners.NopPruner()
    study = optuna.create_study(study_name=spec.study, storage=storage, direction=spec.direction,
                                sampler=_sampler(spec, 0), pruner=pruner, load_if_exists=True)
    if study.direction.name.lower() != spec.direction:
        raise ValueError(f"study {spec.study!r} in {redacted(spec.storage)} was created to "
                         f"{study.direction.name.lower()}, not to {spec.direction} ({spec.objective})")
    study.set_user_attr("objective", spec.objective)
    study.set_user_attr("space", str(spec.space))
    return study


def _sampler(spec: TuneSpec, number: int) -> optuna.samplers.BaseSampler:
    seed = int.from_bytes(hashlib.sha1(f"{spec.seed}:{number}".encode()).digest()[:4], "big")
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


@contextlib.contextmanager
def heartbeat(storage: optuna.storages.BaseStorage, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat every interval while the block runs (RDB storages)."""
    interval = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
    if not interval:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def train_command(plan: TrainPlan, folder: str | Path) -> list[str]:
    """The ``sfxrep train`` command that runs ``plan`` in its own process: the plan itself, written as JSON into
    ``folder`` (DDP re-runs the command for every rank, and each rank reads the same plan)."""
    path = Path(folder) / f"plan-{plan.name or 'trial'}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(plan.to_json())
    return [sys.executable, "-m", "sfxrep.cli", "train", "--plan", str(path)]


def trial_value(rows: list[ResultRow], runs: str | Path, objective: TuneObjective) -> float:
    """The objective of a trial's runs: the best value each run recorded (``run.json``), mean over runs."""
    key = {"val_loss": "val_loss", "val_f1": "val_macro_f1"}[objective]
    values = [json.loads((Path(runs) / run / "run.json").read_text())["best"][key] for run in sorted({r.run for r in rows})]
    value = sum(values) / len(values) if values else math.nan
    if not math.isfinite(value):
        raise FloatingPointError(f"{MONITORS[objective][0]} was never finite (diverged?)")
    return value


def run_trial(study: optuna.Study, trial: optuna.Trial, spec: TuneSpec, space: SearchSpace) -> None:
    """Train, evaluate and tell one trial (see module doc).

    A trial on one device trains in this process; one on several devices runs ``sfxrep train`` as a child
    process, which Lightning's DDP re-runs for every rank (pruning needs the in-process path).
    """
    params = space.suggest(trial)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    monitor, _ = MONITORS[spec.objective]
    callbacks: list[Callback] = []
    if spec.prune:
        from optuna_integration import PyTorchLightningPruningCallback

        callbacks.append(PyTorchLightningPruningCallback(trial, monitor=monitor))
    plan = replace(spec.plan, name=f"{spec.study}-t{trial.number}", params={**spec.plan.params, **params},
                   callbacks=[*spec.plan.callbacks, *callbacks], wandb_group=spec.study,
                   meta={**spec.plan.meta, "study": spec.study, "trial": trial.number})
    start = time.perf_counter()
    print(f"[tune] {spec.study} trial {trial.number}: {params}", flush=True)
    try:
        if spec.devices > 1:
            done = subprocess.run(train_command(replace(plan, callbacks=[]), Path(plan.runs) / "tune"), check=False)
            if done.returncode != 0:
                raise RuntimeError(f"the trial's sfxrep train process exited with {done.returncode}")
            rows = [r for r in read_results(plan.results) if r.study == spec.study and r.trial == trial.number]
        else:
            rows = run_plan(plan)
        value = trial_value(rows, plan.runs, spec.objective)
        runs = sorted({r.run for r in rows})
        trial.set_user_attr("runs", runs)
        trial.set_user_attr("run_dirs", [str((Path(spec.plan.runs) / r).resolve()) for r in runs])
        trial.set_user_attr("checkpoints", sorted({r.checkpoint for r in rows if r.checkpoint}))
        trial.set_user_attr("test_frame_macro_f1", {r.library: r.frame_macro_f1 for r in rows})
        study.tell(trial, value)
        print(f"[tune] trial {trial.number} COMPLETE: {spec.objective} = {value:.4f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        print(f"[tune] trial {trial.number} PRUNED", flush=True)
    except Interrupted as err:  # preempted: FAIL, a retry with the same settings queued, and this worker stops
        trial.set_user_attr("error", f"interrupted ({err})")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=spec.max_retry)(
            study, study.get_trials(deepcopy=False)[trial.number])
        print(f"[tune] trial {trial.number} interrupted ({err}): FAIL, a retry is queued", file=sys.stderr, flush=True)
        raise
    except Exception as err:
        reason = f"{type(err).__name__}: {err}".strip().splitlines()[0][:500]
        trial.set_user_attr("error", reason)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        print(f"[tune] trial {trial.number} FAIL: {reason}", file=sys.stderr, flush=True)


def run_worker(spec: TuneSpec) -> int:
    """Join the study and run trials until it has ``spec.trials`` (see :mod:`sfxrep.tune.storage`).

    Returns:
        the number of trials this worker ran.
    """
    storage = open_storage(spec.storage, spec.heartbeat_interval, spec.grace_period, spec.max_retry)
    study = create_study(spec, storage)
    space = SearchSpace.load(spec.space)
    ran = 0
    while True:
        with study_lock(spec.storage, storage, spec.study):
            with warnings.catch_warnings():  # experimental in Optuna 5.0, and what heartbeats are for
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)  # dead workers' trials → FAIL, their retries queued
            counted, waiting, running = count_trials(study)
            trial = None
            if counted < spec.trials or waiting:
                study.sampler = _sampler(spec, len(study.get_trials(deepcopy=False)))
                with warnings.catch_warnings():  # this worker records the heartbeats itself (heartbeat())
                    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
                    trial = study.ask()  # a queued retry first, else a new trial
        if trial is None:
            if running and getattr(storage, "get_heartbeat_interval", lambda: None)():
                time.sleep(min(spec.heartbeat_interval, 10))  # a running trial may still die and need a retry
                continue
            return ran
        trial_id = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(spec.study),
                                                                   trial.number)
        with heartbeat(storage, trial_id):
            run_trial(study, trial, spec, space)
        ran += 1


def check_spec(spec: TuneSpec) -> None:
    """Fail before any trial runs: the space's keys against the resolved config, and the storage.

    Raises:
        ValueError, FileNotFoundError: one line naming the key, file or storage.
    """
    space = SearchSpace.load(spec.space)
    config = resolve(spec.plan)
    space.check(config)
    spec.devices = 2 if several_devices(config.trainer.devices, config.trainer.accelerator) else 1
    if spec.devices > 1 and spec.prune:
        raise ValueError(f"trainer.devices={config.trainer.devices}: pruning reports from inside the trial's "
                         "process, which a trial on several devices does not share; drop --prune or use one device")
    open_storage(spec.storage, spec.heartbeat_interval, spec.grace_period, spec.max_retry)
