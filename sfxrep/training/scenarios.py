"""The paper's three training scenarios (§5.2.1), each trained with LightningCLI and evaluated by kNN.

* ``within`` — one model per library, evaluated on that library;
* ``ucs_transfer`` — one model on a UCS library (``base``), evaluated on every library;
* ``cross`` — one model on all libraries (a head each), evaluated on every library.

What runs is a :class:`~sfxrep.training.plan.TrainPlan`, whose configuration layers apply in one order (base <
``-c`` files < loss overlay < the plan's options < arguments after ``--``). The results rows record what ran:
they are read from the checkpoint (data settings, BatchNorm, objective, FDR state, warm start).
"""

from __future__ import annotations

import glob
import json
import os
import re
import time
import uuid
from pathlib import Path

from jsonargparse import Namespace

from sfxrep.allocator import retain_freed_memory
from sfxrep.evaluate.run import evaluate_checkpoint
from sfxrep.fileio import atomic_write_text, check_writable
from sfxrep.libraries.spec import load_libraries
from sfxrep.models.checkpoint import load_checkpoint
from sfxrep.models.losses import loss_name
from sfxrep.records import RESULT_COLUMNS, ResultRow, append_results, format_table, method_label
from sfxrep.training.callbacks.best import BestValue
from sfxrep.training.lightning_cli import Interrupted, SfxLightningCLI, finish_wandb, fit
from sfxrep.training.plan import FDR_CLASS, TrainPlan


def fdr_callback(config: Namespace) -> Namespace | None:
    """The FDR entry of a resolved config's ``trainer.callbacks`` (``None`` without FDR)."""
    return next((c for c in config.trainer.callbacks or [] if c.get("class_path") == FDR_CLASS), None)


class _ParseOnlyCLI(SfxLightningCLI):
    """Resolves the layered configs (with the plan's edits) without building data, model or trainer."""

    def instantiate_classes(self) -> None:
        pass


def describe(config: Namespace) -> dict[str, str]:
    """The compared factors of a resolved config as labels: mixing, bn, fdr, loss."""
    fdr = fdr_callback(config)
    threshold = (fdr.get("init_args") or {}).get("threshold", 0.9) if fdr is not None else None
    objective = (config.model.get("objective") or {}).get("init_args") or {}
    metric, regularizer = (objective.get(part) for part in ("metric", "regularizer"))
    loss = loss_name(*(str(p["class_path"]).rsplit(".", 1)[-1] if p else None for p in (metric, regularizer)))
    return {"mixing": str(config.data.mixing), "bn": str(config.model.encoder.init_args.bn),
            "fdr": "nofdr" if fdr is None else "fdr" if threshold == 0.9 else f"fdr{threshold:g}", "loss": loss}


def resolve_args(plan: TrainPlan) -> tuple[list[str], Namespace]:
    """The LightningCLI arguments of every layer of ``plan`` (:mod:`sfxrep.training.plan`), and the config they
    resolve to."""
    files = _ParseOnlyCLI(args=plan.file_args(), run=False).config
    args = plan.cli_args(files)
    return args, _ParseOnlyCLI(args=args, run=False).config


def resolve(plan: TrainPlan) -> Namespace:
    """The config ``plan`` would train with."""
    return resolve_args(plan)[1]


def library_plan(plan: TrainPlan, config: Namespace) -> list[tuple[list[str], list[str]]]:
    """(train libraries, evaluated libraries) per model of the scenario, from the resolved config."""
    spec = load_libraries(config.data.libraries)
    names = spec.names
    chosen = list(config.data.train_libraries or names)
    if plan.scenario == "within":
        return [([lib], [lib]) for lib in chosen]
    if plan.scenario == "cross":
        return [(chosen, names)]
    ucs = [s.name for s in spec.libraries if s.library.is_ucs]
    base = plan.base or (ucs[0] if ucs else None)
    if base not in names:
        raise ValueError(f"ucs_transfer needs a base library (--base) among {names}; UCS libraries: {ucs}")
    return [([base], names)]


_STAMP = r"\d{8}-\d{6}(-\d+)?"  # run_plan's time.strftime("%Y%m%d-%H%M%S"), and _unique_run_name's "-2", "-3" …


def run_plan(plan: TrainPlan) -> list[ResultRow]:
    """Train and evaluate every model of the scenario; returns (and appends) the result rows. Freed memory stays in
    this process from here on (:func:`sfxrep.allocator.retain_freed_memory`: a third off each step)."""
    retain_freed_memory()
    check_writable(plan.results)  # before hours of training, not after
    plan_args, config = resolve_args(plan)
    labels = describe(config)
    seed = config.data.seed
    tag = plan.name or "-".join(labels.values())
    tag = tag if not seed else f"{tag}-seed{seed}"
    # DDP re-runs this command for every rank: the other ranks take the primary's stamp (so its run names) from
    # the environment it launches them with, and only the primary records runs, evaluates and writes rows
    primary = all(os.environ.get(var, "0") == "0" for var in ("LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"))
    stamp = time.strftime("%Y%m%d-%H%M%S") if primary else os.environ.get("SFXREP_RUN_STAMP", "")
    if primary:
        os.environ["SFXREP_RUN_STAMP"] = stamp
    runs = Path(plan.runs).resolve()
    wandb = any("WandbLogger" in str(c.get("class_path")) for c in _loggers(config))
    rows: list[ResultRow] = []
    models = library_plan(plan, config)
    continued = continued_checkpoint(plan.continue_from) if plan.continue_from else None
    if continued is not None and len(models) > 1:
        raise ValueError(f"--continue-from continues one run, and scenario {plan.scenario} trains {len(models)} here")
    for train_libraries, eval_libraries in models:
        who = "-".join(train_libraries) if len(train_libraries) == 1 else "all"
        earlier = latest_run(runs, f"{plan.scenario}-{who}-{tag}-") if plan.resume else None
        if earlier is not None and continued is not None and continued.is_relative_to(runs / earlier["run"]):
            earlier = None  # the run being continued (same name, e.g. a recipe's longer budget) is not this run
        if earlier is not None and earlier.get("status") == "done":
            print(f"[train] {earlier['run']}: already trained and evaluated, skipped", flush=True)
            continue
        name = f"{plan.scenario}-{who}-{tag}-{stamp}"
        run = earlier["run"] if earlier else _unique_run_name(runs, name) if primary else name
        last = runs / run / "checkpoints" / "last.ckpt"
        resume_from = last if earlier is not None and last.is_file() else None
        how = "resuming"
        if resume_from is None and continued is not None:
            resume_from, how = continued, "continuing"
        record = {"run": run, "status": "training", "train_libraries": train_libraries,
                  "wandb_id": (earlier or {}).get("wandb_id") or uuid.uuid4().hex[:8]}
        if how == "continuing":
            record["continued_from"] = str(continued)
        elif resume_from is not None and earlier.get("continued_from"):  # a continued run, resumed from its own
            record["continued_from"] = earlier["continued_from"]          # last.ckpt: where it started stays
        if primary:
            atomic_write_text(runs / run / "run.json", json.dumps(record, indent=1))
        args = [*plan_args,
                "--data.train_libraries", f"[{', '.join(train_libraries)}]",
                "--trainer.logger.init_args.save_dir", str(runs),
                "--trainer.logger.init_args.name", run,
                "--checkpoint.dirpath", str(runs / run / "checkpoints")]
        if wandb:  # grouped, tagged and configured through WandbLogger's own arguments; the same run when resumed
            config_of_run = {**run_config(config, labels, plan), "run": run}
            args += ["--trainer.logger.init_args.id", record["wandb_id"], "--trainer.logger.init_args.resume", "allow",
                     "--trainer.logger.init_args.group", plan.wandb_group or plan.scenario,
                     "--trainer.logger.init_args.tags", json.dumps([*labels.values(), who]),
                     "--trainer.logger.init_args.config", json.dumps(config_of_run, default=str)]
        if resume_from:
            print(f"[train] {run}: {how} from {resume_from}", flush=True)
        start = time.perf_counter()
        trackers = {"val_loss": BestValue("val/loss", "minimize"), "val_macro_f1": BestValue("val/macro_f1", "maximize")}
        try:
            best, cli = fit(args, callbacks=[*plan.callbacks, *trackers.values()], ckpt_path=resume_from,
                            finish=not wandb)
        except Interrupted:
            if primary:  # neither "training" (a scheduler would wait) nor done: resumable, and no rows
                atomic_write_text(runs / run / "run.json", json.dumps({**record, "status": "interrupted"}, indent=1))
            raise
        train_seconds = round(time.perf_counter() - start, 1)
        if not cli.trainer.is_global_zero:
            continue
        record["best"] = {key: tracker.best for key, tracker in trackers.items()}
        if plan.no_eval:  # scored later, where the caller chooses (sfxrep evaluate CHECKPOINT)
            finish_wandb()
            atomic_write_text(runs / run / "run.json", json.dumps({**record, "status": "done", "rows": 0,
                                                                   "checkpoint": str(best)}, indent=1))
            print(f"[train] {run}: trained ({train_seconds:.0f} s), not evaluated (--no-eval); best checkpoint {best}",
                  flush=True)
            continue
        kept: dict | None = {} if wandb else None
        try:
            ckpt = load_checkpoint(best)
            new = evaluate_checkpoint(ckpt, libraries=eval_libraries, k=plan.k, scenario=plan.scenario, run=run,
                                      meta=plan.meta, keep=kept, precision=plan.eval_precision)
            for row in new:
                row.train_seconds = train_seconds
            if wandb:
                from sfxrep.training.wandb_log import log_evaluation

                log_evaluation(new, kept, ckpt.module, {r.name: {"classes": r.classes, "files": r.in_manifest,
                                                            "splits": r.splits} for r in cli.datamodule.prepared.reports})
        finally:
            finish_wandb()
        append_results(new, plan.results)
        atomic_write_text(runs / run / "run.json", json.dumps({**record, "status": "done", "rows": len(new)}, indent=1))
        rows += new
        print(format_table(new, RESULT_COLUMNS), flush=True)
    return rows


def run_config(config: Namespace, labels: dict[str, str], plan: TrainPlan) -> dict:
    """What a run's W&B config records: the comparison factors as they resolved, and where the code came from."""
    from sfxrep.training.wandb_log import git_commit

    fdr = fdr_callback(config)
    threshold = (fdr.get("init_args") or {}).get("threshold", 0.9) if fdr is not None else None
    method = method_label(labels["mixing"], labels["bn"], threshold)
    return {"scenario": plan.scenario, "model": "sfxrep", "mixing": labels["mixing"], "bn": labels["bn"],
            "fdr": fdr is not None, "fdr_threshold": (fdr.get("init_args") or {}).get("threshold") if fdr else None,
            "loss": labels["loss"], "seed": config.data.seed, "method": method, "precision": str(
                config.trainer.precision), "init": config.warm_start.get("source"), **plan.meta, **plan.params,
            "git_commit": git_commit(Path(__file__).resolve().parent)}


def _loggers(config: Namespace) -> list:
    logger = config.trainer.get("logger")
    return [c for c in (logger if isinstance(logger, list) else [logger]) if hasattr(c, "get")]


def continued_checkpoint(source: str | Path) -> Path:
    """The checkpoint ``--continue-from`` starts from: a ``.ckpt`` file, or a run folder's ``checkpoints/last.ckpt``.

    The fit restores everything of it as a resume does (weights, optimizer, step count, callbacks), into a new run
    folder. Its best checkpoint stays the run's best until a validation check beats its score
    (:class:`~sfxrep.training.callbacks.checkpoint.BestCheckpoint`), so ``run.json`` may name the other run's file.
    A checkpoint written inside an epoch (a step budget ending there) continues with the sampler's next epoch:
    other, equally balanced batches than an uninterrupted run would draw, none replayed.

    Raises:
        FileNotFoundError: no such file, or a run folder without ``checkpoints/last.ckpt``.
    """
    path = Path(source)
    if path.is_dir():
        path = path / "checkpoints" / "last.ckpt"
        if not path.is_file():
            raise FileNotFoundError(f"--continue-from {source}: no checkpoints/last.ckpt in that run folder")
    elif not path.is_file():
        raise FileNotFoundError(f"--continue-from {source}: no such run folder or checkpoint file")
    return path.resolve()


def latest_run(runs: Path, prefix: str) -> dict | None:
    """The ``run.json`` of the newest run folder named ``<prefix><time stamp>`` (``None`` if there is none).

    Only a time stamp may follow the prefix: seed 0's prefix ``…-ce-`` must not take seed 2's ``…-ce-seed2-<stamp>``
    (a glob on the prefix did, and resumed another seed's run under this plan's seed)."""
    stamp = re.compile(re.escape(prefix) + _STAMP)
    records = sorted((p for p in runs.glob(f"{glob.escape(prefix)}*/run.json") if stamp.fullmatch(p.parent.name)),
                     key=lambda p: p.parent.name, reverse=True)
    for path in records:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):  # a torn record: an older run may still be resumable
            continue
    return None


def _unique_run_name(runs: Path, name: str) -> str:
    """``name``, or ``name-2``, ``name-3`` … when a run folder of that name exists (two runs in one second)."""
    candidate, n = name, 1
    while (runs / candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate
