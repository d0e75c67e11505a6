"""``sfxrep tune [run|show|best]`` (Optuna is imported only when the command runs)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``tune`` to the ``sfxrep`` parser: the train options, then the search's and the workers'."""
    from sfxrep.training.plan import add_plan_options

    u = sub.add_parser("tune", help="Optuna search over a YAML space, each trial an sfxrep train run (paper 3.3)",
                       description="Actions: run (default) starts workers of a study; show prints its trials and "
                                   "parameter importances; best writes the best trial's settings as a config overlay.")
    u.add_argument("action", nargs="?", choices=("run", "show", "best"), default="run")
    add_plan_options(u, "tune")
    add_tune_options(u)
    u.set_defaults(func=_tune)


def _tune(ns: argparse.Namespace) -> None:
    from sfxrep.training.command import train_plan

    tune_command(ns, train_plan(ns) if ns.action == "run" else None)


def add_tune_options(u: argparse.ArgumentParser) -> None:
    """The options of ``sfxrep tune`` beyond the train options."""
    g = u.add_argument_group("search")
    g.add_argument("--trials", type=int, default=20, help="trials in the study, across all workers (paper: 20)")
    g.add_argument("--study", help="study name (default: <scenario>-<space>)")
    g.add_argument("--storage", help="sqlite:///FILE (default: runs/tune/<study>.db), postgresql://user:pass@host/db, "
                                     "or journal:FILE for a shared filesystem")
    g.add_argument("--space", help="search-space YAML, or a name in experiments/search/ (default: the --loss, or ce)")
    g.add_argument("--sampler", choices=("random", "tpe"), default="random", help="paper: random search")
    g.add_argument("--sampler-seed", type=int, default=0, help="trial n samples with a seed from (this, n)")
    g.add_argument("--objective", choices=("val_loss", "val_f1"), default="val_loss",
                   help="val_loss: best mean validation loss over libraries, minimised (paper's checkpoint "
                        "criterion); val_f1: best mean validation macro-F1, maximised")
    g.add_argument("--prune", action="store_true", help="MedianPruner on the per-epoch objective (default off)")
    g.add_argument("--heartbeat", type=int, default=60, help="seconds between a running trial's heartbeats")
    g.add_argument("--grace", type=int, default=180, help="seconds without a heartbeat before a trial is dead")
    g.add_argument("--max-retry", type=int, default=3, help="re-runs of a dead worker's trial")
    g.add_argument("--out", default="best.yaml", help="tune best: the overlay file to write")
    w = u.add_argument_group("workers")
    w.add_argument("--workers", type=int, default=1, help="worker processes (local) or jobs (slurm) to start")
    w.add_argument("--launcher", choices=("local", "slurm"), default="local")
    w.add_argument("--partition", help="slurm: partition")
    w.add_argument("--gpus-per-worker", type=int, default=1, help="slurm: GPUs per job")
    w.add_argument("--cpus-per-worker", type=int, default=8, help="slurm: CPU cores per job")
    w.add_argument("--time", type=int, default=24 * 60, help="slurm: minutes per job")
    w.add_argument("--slurm-folder", default="runs/tune/slurm", help="slurm: submitit's job folder")


def resolve_space(space: str | None, loss: str | None, experiments: Path) -> Path:
    """A space name (``ce``) → ``experiments/search/ce.yaml``; a path stays a path."""
    name = space or loss or "ce"
    path = Path(name)
    return path if path.suffix in (".yaml", ".yml") else experiments / "search" / f"{name}.yaml"


def tune_command(ns: argparse.Namespace, plan=None) -> None:
    """Run ``sfxrep tune`` (see :func:`add_tune_options`); ``plan`` is the trials' base plan (action run)."""
    from sfxrep.training.plan import default_experiments
    from sfxrep.tune.storage import storage_url

    experiments = Path(ns.experiments) if ns.experiments else default_experiments()
    space = resolve_space(ns.space, ns.loss, experiments)
    study = ns.study or f"{ns.scenario}-{space.stem}"
    url = storage_url(ns.storage, study, ns.runs)
    if ns.action == "run":
        _run(ns, plan, study, url, space)
        return
    import optuna

    from sfxrep.tune.storage import load_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    loaded = load_study(url, study, ns.heartbeat, ns.grace, ns.max_retry)
    if ns.action == "show":
        _show(loaded, url)
    else:
        from sfxrep.tune.inspect import write_best

        out = write_best(loaded, ns.out)
        print(f"best trial #{loaded.best_trial.number} ({loaded.best_value:.6g}) → {out}")
        print(f"  train with it: sfxrep train -c <your configs> -c {out}")


def _run(ns: argparse.Namespace, plan, study: str, url: str, space: Path) -> None:
    from sfxrep.tune.launch import SlurmOptions, launch_local, launch_slurm
    from sfxrep.tune.storage import load_study, open_storage, redacted
    from sfxrep.tune.worker import TuneSpec, check_spec, create_study

    if ns.trials < 1 or ns.workers < 1:
        raise ValueError(f"--trials ({ns.trials}) and --workers ({ns.workers}) must be >= 1")
    spec = TuneSpec(study=study, storage=url, space=str(space), plan=plan, trials=ns.trials, sampler=ns.sampler,
                    seed=ns.sampler_seed, objective=ns.objective, prune=ns.prune, heartbeat_interval=ns.heartbeat,
                    grace_period=ns.grace, max_retry=ns.max_retry)
    check_spec(spec)  # the space's keys and the storage, before any trial runs
    created = create_study(spec, open_storage(url, ns.heartbeat, ns.grace, ns.max_retry))
    created.set_user_attr("train_options", {"scenario": plan.scenario, **plan.options()})
    print(f"[tune] study {study!r} in {redacted(url)}: {ns.trials} trials, {ns.workers} worker(s), "
          f"{ns.sampler} sampler, objective {ns.objective}, space {space}", flush=True)
    if ns.launcher == "slurm":
        options = SlurmOptions(partition=ns.partition, gpus_per_worker=ns.gpus_per_worker,
                               cpus_per_worker=ns.cpus_per_worker, time_min=ns.time, folder=ns.slurm_folder)
        jobs = launch_slurm(spec, ns.workers, options)
        print(f"[tune] submitted {len(jobs)} worker jobs: {' '.join(j.job_id for j in jobs)}")
        print(f"[tune] follow: sfxrep tune show --study {study} --storage '{ns.storage or url}'")
        return
    codes = launch_local(spec, ns.workers)
    _show(load_study(url, study, ns.heartbeat, ns.grace, ns.max_retry), url)
    if any(codes):
        raise ValueError(f"{sum(1 for c in codes if c)} of {len(codes)} worker(s) exited with an error: {codes}")


def _show(study, url: str) -> None:
    from optuna.trial import TrialState

    from sfxrep.tune.inspect import importances, trials_table

    print(f"study {study.study_name!r} ({study.direction.name.lower()} "
          f"{study.user_attrs.get('objective', 'value')})")
    print(trials_table(study))
    try:
        ranked = importances(study)
        print("parameter importances (fANOVA): " + ", ".join(f"{k} {v:.2f}" for k, v in ranked.items()))
    except (ValueError, RuntimeError) as err:
        print(f"parameter importances: not available ({err})")
    try:
        print(f"best: trial #{study.best_trial.number}, value {study.best_value:.6g}, {study.best_params}")
    except ValueError:
        print("best: no complete trial yet")
    running = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    if running and url.startswith("journal:"):
        print(f"note: trial(s) {running} are RUNNING in a journal storage, which has no heartbeats: a trial whose "
              "worker died stays RUNNING there. If no worker runs them, mark each failed in Python "
              f"(optuna.load_study(...).tell(N, state=optuna.trial.TrialState.FAIL)) and run the study again; "
              "an RDB storage (sqlite, PostgreSQL) does this by itself")
