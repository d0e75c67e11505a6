"""The paper's three training scenarios (§5.2.1), each trained with LightningCLI and evaluated by kNN.

* ``within`` — one model per library, evaluated on that library;
* ``ucs_transfer`` — one model on a UCS library (``base``), evaluated on every library;
* ``cross`` — one model on all libraries (a head each), evaluated on every library.

Configs layer as ``experiments/base.yaml`` < the ``configs`` < ``losses/<loss>.yaml`` (only when ``loss`` is
given) < the ``overrides``. An option of the plan (``mixing``, ``bn``, ``fdr``, ``fdr_threshold``, ``seed``) is
applied to the parsed config only when it was given; otherwise the layered YAML decides. The results rows
record what ran: they are read from the checkpoint (data settings, BatchNorm, objective, FDR state).
"""

from __future__ import annotations

import glob
import inspect
import json
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jsonargparse import Namespace

from sfxrep.data.samplers import Mixing
from sfxrep.evaluate.run import evaluate_checkpoint
from sfxrep.fileio import atomic_write_text, check_writable, check_yaml_mapping
from sfxrep.libraries.spec import load_libraries
from sfxrep.models.checkpoint import load_checkpoint
from sfxrep.models.cnn9 import BatchNormMode
from sfxrep.models.registry import model_source
from sfxrep.results.rows import RESULT_COLUMNS, ResultRow, Scenario, append_results, format_table
from sfxrep.training.callbacks.best import BestValue
from sfxrep.training.callbacks.fdr import FocalDatasetRegularization
from sfxrep.training.callbacks.warmstart import source_width
from sfxrep.training.lightning_cli import SfxLightningCLI, finish_wandb, fit

FDR_CLASS = f"{FocalDatasetRegularization.__module__}.{FocalDatasetRegularization.__name__}"
FDR_DEFAULTS = {name: p.default for name, p in inspect.signature(FocalDatasetRegularization).parameters.items()}


def default_experiments() -> Path:
    """``./experiments`` if there is one, else the one beside the installed package (a source checkout)."""
    here = Path("experiments")
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "experiments"


@dataclass
class TrainPlan:
    """What ``sfxrep train`` runs. ``None`` means "not given: the YAML decides".

    Attributes:
        scenario: within, ucs_transfer or cross.
        configs: YAML files layered over ``experiments/base.yaml`` (e.g. ``experiments/demo.yaml``).
        mixing: sequential, joint or round_robin.
        bn: shared or per_library BatchNorm.
        fdr: add (True) or remove (False) 'Focal' Dataset Regularization.
        fdr_threshold: train macro-F1 that counts as converged for FDR (paper: 0.9); implies ``fdr``.
        loss: name of a file in ``experiments/losses/`` (ce, contrastive, triplet, circle).
        base: UCS-transfer base library (default: the first UCS library).
        results: results file rows are appended to.
        k: neighbours of the kNN evaluation.
        name: run-name prefix (default: derived from the settings that ran).
        seed: seeds weights, crops and batches (``seed_everything`` and ``data.seed``).
        overrides: extra LightningCLI arguments (``--trainer.max_epochs 5`` …), applied last.
        experiments: the experiments folder; its parent is the ``root`` relative paths in YAML resolve against.
        runs: folder of the runs' logs and checkpoints (``<runs>/<run>/``).
        meta: further results-row fields for every row (``study``, ``trial``).
        params: dotted config keys → values set after the options (a tuning trial's sampled settings);
            ``trainer.callbacks.init_args.<arg>`` sets that argument of every callback that has it.
        callbacks: extra Lightning callbacks for every fit (a tuning trial's reporters).
        wandb_group: W&B group of the runs (default: the scenario; a study groups its trials).
        resume: continue the latest unfinished run of each model of this plan from its ``last.ckpt`` (same run
            folder, W&B run and results tagging); a model whose run finished is skipped, its rows written.
        init: warm-start every run from ``"aisfx"`` or a ``.ckpt`` (``warm_start.source``); the encoder width becomes
            the source's.
        freeze_encoder_epochs: with ``init``, train only the heads for this many first epochs.
    """

    scenario: Scenario = "cross"
    configs: Sequence[str] = ("experiments/demo.yaml",)
    mixing: Mixing | None = None
    bn: BatchNormMode | None = None
    fdr: bool | None = None
    fdr_threshold: float | None = None
    loss: str | None = None
    base: str | None = None
    results: str = "runs/results.jsonl"
    k: int = 1
    name: str | None = None
    seed: int | None = None
    overrides: Sequence[str] = field(default_factory=list)
    experiments: str | None = None
    runs: str = "runs"
    meta: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    callbacks: list = field(default_factory=list)
    wandb_group: str | None = None
    resume: bool = False
    init: str | None = None
    freeze_encoder_epochs: int | None = None

    @property
    def experiments_dir(self) -> Path:
        return Path(self.experiments) if self.experiments else default_experiments()

    def config_files(self) -> list[Path]:
        root = self.experiments_dir
        files = [root / "base.yaml", *map(Path, self.configs)]
        if self.loss is not None:
            files.append(root / "losses" / f"{self.loss}.yaml")
        for f in files:
            check_yaml_mapping(f)
        return files

    def cli_args(self) -> list[str]:
        """LightningCLI arguments: ``root``, then the layered YAMLs, then the overrides."""
        root = ["--root", str(self.experiments_dir.resolve().parent)]
        return root + [a for f in self.config_files() for a in ("--config", str(f))] + list(self.overrides)

    def edit(self, config: Namespace) -> None:
        """Apply the options that were given to the parsed config (in place)."""
        if self.mixing is not None:
            config.data.mixing = self.mixing
        if self.bn is not None:
            config.model.encoder.init_args.bn = self.bn
        if self.seed is not None:
            config.seed_everything = self.seed
            config.data.seed = self.seed
        fdr = self.fdr if self.fdr is not None else (True if self.fdr_threshold is not None else None)
        if fdr is not None:
            callbacks = [c for c in (config.trainer.callbacks or []) if c.get("class_path") != FDR_CLASS]
            if fdr:
                existing = fdr_callback(config)
                init = {**FDR_DEFAULTS, **(dict(existing.get("init_args") or {}) if existing is not None else {})}
                if self.fdr_threshold is not None:
                    init["threshold"] = self.fdr_threshold
                callbacks.append(Namespace(class_path=FDR_CLASS, init_args=Namespace(**init)))
            config.trainer.callbacks = callbacks
        if self.init is not None:  # the encoder's shape is the source's, or its weights could not be loaded
            config.warm_start.source = model_source(self.init)
            config.model.encoder.init_args.width = source_width(self.init)
        if self.freeze_encoder_epochs is not None:
            config.warm_start.freeze_encoder_epochs = self.freeze_encoder_epochs
        for key, value in self.params.items():
            set_config_value(config, key, value)


CALLBACK_ARGS = "trainer.callbacks.init_args."


def has_config_key(config: Namespace, key: str) -> bool:
    """Whether ``key`` (dotted) names a setting of the resolved ``config``."""
    if key.startswith(CALLBACK_ARGS):
        name = key.removeprefix(CALLBACK_ARGS)
        return any(name in (c.get("init_args") or {}) for c in config.trainer.callbacks or [])
    try:
        return key in config and not isinstance(config[key], Namespace)
    except (KeyError, TypeError):
        return False


def set_config_value(config: Namespace, key: str, value: object) -> None:
    """Set dotted ``key`` of a resolved config (see :attr:`TrainPlan.params`).

    Raises:
        KeyError: ``key`` is not a setting of ``config``.
    """
    if not has_config_key(config, key):
        raise KeyError(f"{key} is not a setting of the resolved config")
    if key.startswith(CALLBACK_ARGS):
        for callback in config.trainer.callbacks:
            if key.removeprefix(CALLBACK_ARGS) in (callback.get("init_args") or {}):
                callback.init_args[key.removeprefix(CALLBACK_ARGS)] = value
    else:
        config[key] = value


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
    metric = objective.get("metric")
    loss = "ce" if not metric else str(metric["class_path"]).rsplit(".", 1)[-1].removesuffix("Loss").lower()
    return {"mixing": str(config.data.mixing), "bn": str(config.model.encoder.init_args.bn),
            "fdr": "nofdr" if fdr is None else "fdr" if threshold == 0.9 else f"fdr{threshold:g}", "loss": loss}


def resolve(plan: TrainPlan) -> Namespace:
    """The config ``plan`` would train with."""
    return _ParseOnlyCLI(args=plan.cli_args(), run=False, edit=plan.edit).config


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


def run_plan(plan: TrainPlan) -> list[ResultRow]:
    """Train and evaluate every model of the scenario; returns (and appends) the result rows."""
    check_writable(plan.results)  # before hours of training, not after
    config = resolve(plan)
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
    for train_libraries, eval_libraries in library_plan(plan, config):
        who = "-".join(train_libraries) if len(train_libraries) == 1 else "all"
        earlier = latest_run(runs, f"{plan.scenario}-{who}-{tag}-") if plan.resume else None
        if earlier is not None and earlier.get("status") == "done":
            print(f"[train] {earlier['run']}: already trained and evaluated, skipped", flush=True)
            continue
        name = f"{plan.scenario}-{who}-{tag}-{stamp}"
        run = earlier["run"] if earlier else _unique_run_name(runs, name) if primary else name
        record = {"run": run, "status": "training", "train_libraries": train_libraries,
                  "wandb_id": (earlier or {}).get("wandb_id") or uuid.uuid4().hex[:8]}
        if primary:
            atomic_write_text(runs / run / "run.json", json.dumps(record, indent=1))
        last = runs / run / "checkpoints" / "last.ckpt"
        resume_from = last if earlier is not None and last.is_file() else None
        args = [*plan.cli_args(),
                "--data.train_libraries", f"[{', '.join(train_libraries)}]",
                "--trainer.logger.init_args.save_dir", str(runs),
                "--trainer.logger.init_args.name", run,
                "--checkpoint.dirpath", str(runs / run / "checkpoints")]
        if wandb:  # the same W&B run when resumed
            args += ["--trainer.logger.init_args.id", record["wandb_id"], "--trainer.logger.init_args.resume", "allow"]
        if resume_from:
            print(f"[train] {run}: resuming from {resume_from}", flush=True)
        start = time.perf_counter()
        trackers = {"val_loss": BestValue("val/loss", "minimize"), "val_macro_f1": BestValue("val/macro_f1", "maximize")}
        best, cli = fit(args, wandb_group=plan.wandb_group or plan.scenario, wandb_tags=[*labels.values(), who],
                        edit=plan.edit, callbacks=[*plan.callbacks, *trackers.values()], ckpt_path=resume_from,
                        finish=not wandb, wandb_config={**run_config(config, labels, plan), "run": run})
        train_seconds = round(time.perf_counter() - start, 1)
        if not cli.trainer.is_global_zero:
            continue
        record["best"] = {key: tracker.best for key, tracker in trackers.items()}
        kept: dict | None = {} if wandb else None
        try:
            ckpt = load_checkpoint(best)
            new = evaluate_checkpoint(ckpt, libraries=eval_libraries, k=plan.k, scenario=plan.scenario, run=run,
                                      meta=plan.meta, keep=kept)
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
    method = ("FDR" if fdr is not None else "BN per library" if labels["bn"] == "per_library" else
              "X-Joint" if labels["mixing"] == "joint" else "X-Sequential" if labels["mixing"] == "sequential"
              else labels["mixing"])
    return {"scenario": plan.scenario, "model": "sfxrep", "mixing": labels["mixing"], "bn": labels["bn"],
            "fdr": fdr is not None, "fdr_threshold": (fdr.get("init_args") or {}).get("threshold") if fdr else None,
            "loss": labels["loss"], "seed": config.data.seed, "method": method, "precision": str(
                config.trainer.precision), "init": config.warm_start.get("source"), **plan.meta, **plan.params,
            "git_commit": git_commit(Path(__file__).resolve().parent)}


def _loggers(config: Namespace) -> list:
    logger = config.trainer.get("logger")
    return [c for c in (logger if isinstance(logger, list) else [logger]) if hasattr(c, "get")]


def latest_run(runs: Path, prefix: str) -> dict | None:
    """The ``run.json`` of the newest run folder named ``<prefix><time stamp>`` (``None`` if there is none)."""
    records = sorted(runs.glob(f"{glob.escape(prefix)}*/run.json"), key=lambda p: p.parent.name, reverse=True)
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
