"""``sfxrep fit|validate|test`` — LightningCLI over SfxModule and SfxDataModule, configured by YAML.

Besides Lightning's own arguments it adds

* ``optimizer:`` / ``lr_scheduler:`` — any ``torch.optim`` optimizer and scheduler, linked into the model
  (``model.optimizer`` / ``model.lr_scheduler``), which builds them in ``configure_optimizers`` once its heads
  exist; the default is the paper's Adam, and ``model.lr`` keeps overriding the rate;
* the link ``model.frontend.init_args.hop_length`` → ``data.hop_length`` (blocks and frontend always agree);
* ``distill.*`` (pull the embedding toward a frozen teacher's: :mod:`sfxrep.training.callbacks.distill`);
* ``warm_start.*`` (start from ``aisfx`` or a checkpoint, heads-only first epochs: :mod:`sfxrep.training.callbacks.warmstart`);
* ``checkpoint.*`` (``best.ckpt``: best mean validation loss over libraries, paper §3.3),
  ``last_checkpoint.*`` (``last.ckpt`` after every epoch, to resume from) and ``early_stopping.*``;
* ``root:`` — the folder relative paths of ``data.libraries``, ``data.work_dir``, ``data.cache_dir``, the
  logger's ``save_dir`` and ``checkpoint.dirpath`` are resolved against (default: the current folder); they are
  stored absolute, so a run and its checkpoint work from any folder.

``trainer.precision`` also takes ``auto`` (bf16 where the hardware has it natively, else fp32; see
:mod:`sfxrep.inference.precision`). It always trains with ``use_distributed_sampler=False`` (the batch samplers shard across ranks themselves) and,
with several devices, with DDP that tolerates idle per-library heads.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, LRSchedulerTypeTuple
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch.optim import Optimizer

from sfxrep.data.datamodule import SfxDataModule
from sfxrep.inference.precision import lightning_precision
from sfxrep.models.module import SfxModule
from sfxrep.training.callbacks.checkpoint import BestCheckpoint, LastCheckpoint
from sfxrep.training.callbacks.distill import Distill
from sfxrep.training.callbacks.warmstart import WarmStart
from sfxrep.training.precision import SfxTrainer

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test")
# (config section, key) of every path setting resolved against ``root``
PATH_KEYS = (("data", "libraries"), ("data", "work_dir"), ("data", "cache_dir"), ("checkpoint", "dirpath"))


class SfxLightningCLI(LightningCLI):
    """LightningCLI with sfxrep's links and callbacks (see module doc)."""

    def __init__(self, args: list[str] | None = None, run: bool = True, **kwargs) -> None:
        kwargs.setdefault("parser_kwargs", {key: {"exit_on_error": False} for key in LIGHTNING_SUBCOMMANDS}
                          | {"exit_on_error": False})
        with warnings.catch_warnings():  # sfxrep train/tune pass args from inside their own command line
            warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter is intended.*")
            try:
                self._init(args, run, **kwargs)
            except argparse.ArgumentError as err:  # bad config or argument: one line naming it
                raise ValueError(" ".join(line.strip() for line in str(err).splitlines() if line.strip())) from err

    def before_fit(self) -> None:
        """``sfxrep fit``: refuse a fit that could choose no checkpoint before its first step."""
        check_validation_runs(self.trainer)

    def _init(self, args: list[str] | None, run: bool, **kwargs) -> None:
        super().__init__(
            SfxModule,
            SfxDataModule,
            trainer_class=SfxTrainer,
            trainer_defaults={"use_distributed_sampler": False},
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--root", type=str | None, default=None,
                            help="folder that relative data/log/checkpoint paths are resolved against (default: .)")
        parser.add_optimizer_args((Optimizer,), link_to="model.optimizer")
        parser.add_lr_scheduler_args(LRSchedulerTypeTuple, link_to="model.lr_scheduler")
        parser.link_arguments("model.frontend.init_args.hop_length", "data.hop_length", apply_on="parse")
        # best.ckpt holds the weights its validation scored: Lightning's own rule (save_on_train_epoch_end None)
        # writes it at train-epoch end when validation runs once an epoch, and right after the check when it runs
        # every N steps (trainer.val_check_interval), where an epoch-end save would hold up to an epoch of
        # unvalidated further steps. Nothing resumes from it; a resumed run adopts the score it stored of itself
        # when that beats the (older, epoch-end) state in last.ckpt (BestCheckpoint).
        parser.add_lightning_class_args(BestCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.monitor": "val/loss", "checkpoint.mode": "min",
                             "checkpoint.filename": "best", "checkpoint.auto_insert_metric_name": False})
        # last.ckpt is written at train-epoch end, after FDR has recorded the epoch (Lightning runs checkpoint
        # callbacks last), so a resumed run continues with the next epoch and that FDR state
        # last.ckpt every epoch (Lightning's save_last writes it only when a best checkpoint was written)
        parser.add_lightning_class_args(LastCheckpoint, "last_checkpoint")
        parser.set_defaults({"last_checkpoint.filename": "last", "last_checkpoint.monitor": None,
                             "last_checkpoint.save_top_k": 1, "last_checkpoint.every_n_epochs": 1,
                             "last_checkpoint.save_on_train_epoch_end": True,
                             "last_checkpoint.enable_version_counter": False})
        parser.link_arguments("checkpoint.dirpath", "last_checkpoint.dirpath", apply_on="parse")
        parser.add_lightning_class_args(WarmStart, "warm_start")  # no source: random weights (the paper)
        parser.add_lightning_class_args(Distill, "distill")  # no teacher: none (the paper)
        parser.add_lightning_class_args(EarlyStopping, "early_stopping")
        parser.set_defaults({"early_stopping.monitor": "val/loss", "early_stopping.mode": "min",
                             "early_stopping.patience": 10})

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        trainer = config["trainer"]
        # the saved config, the checkpoint and the results rows record what `auto` chose here
        trainer["precision"] = lightning_precision(trainer.get("precision"), trainer.get("accelerator"))
        if trainer.get("strategy") in ("auto", "ddp") and several_devices(trainer.get("devices"),
                                                                            trainer.get("accelerator")):
            # a step trains one library's head (and BatchNorm set): the others get no gradient
            trainer["strategy"] = "ddp_find_unused_parameters_true"
        if self.subcommand == "fit" and config.get("ckpt_path") == "last":
            config["ckpt_path"] = str(last_checkpoint(config["checkpoint"].get("dirpath")))
        if self.subcommand == "fit" and config.get("ckpt_path"):
            check_resumable(config["ckpt_path"])
        root = Path(config.get("root") or ".").expanduser()
        for section, key in PATH_KEYS:
            if config[section].get(key) is not None:
                config[section][key] = str((root / Path(config[section][key]).expanduser()).resolve())
        logger = trainer.get("logger")
        for entry in logger if isinstance(logger, list) else [logger]:
            init = entry.get("init_args") if hasattr(entry, "get") else None
            if init is not None and init.get("save_dir") is not None:
                init["save_dir"] = str((root / Path(init["save_dir"]).expanduser()).resolve())


def several_devices(devices: object, accelerator: object) -> bool:
    """Whether a trainer with these ``devices`` and ``accelerator`` runs on more than one device."""
    if isinstance(devices, (list, tuple)):
        return len(devices) > 1
    if isinstance(devices, str) and devices.isdigit():
        devices = int(devices)
    if isinstance(devices, int) and devices > 1:
        return True
    if devices in ("auto", -1, "-1") and accelerator in ("gpu", "cuda", "auto"):
        import torch

        return torch.cuda.device_count() > 1
    return False


def last_checkpoint(dirpath: str | None) -> Path:
    """``<checkpoint.dirpath>/last.ckpt``, for resuming.

    Raises:
        FileNotFoundError: there is none (resuming must never silently start from scratch).
    """
    if not dirpath:
        raise FileNotFoundError("ckpt_path 'last' needs checkpoint.dirpath (the folder holding last.ckpt)")
    path = Path(dirpath).expanduser() / "last.ckpt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no last checkpoint to resume from (the run saved none yet?)")
    return path.resolve()


def check_resumable(path: str | Path) -> None:
    """A truncated or damaged checkpoint to resume from is one line before anything is built, never a traceback.

    Raises:
        ValueError: naming the file, why, and what to do.
    """
    from sfxrep.models.checkpoint import read_checkpoint

    try:
        read_checkpoint(path)
    except ValueError as err:
        raise ValueError(f"cannot resume: {err}; delete it to start the run over (its logs stay)") from err


class Interrupted(Exception):
    """A fit stopped by a signal (SIGTERM: a scheduler's preemption or ``kill``); the run can be resumed."""


def finish_wandb() -> None:
    """End the W&B run, if one is open: otherwise the next fit in this process logs into the same run."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()


def fit(args: list[str], callbacks: list | None = None, ckpt_path: str | Path | None = None,
        finish: bool = True) -> tuple[Path, SfxLightningCLI]:
    """Run one fit from CLI-style arguments; returns the best checkpoint's path and the CLI.

    Args:
        args: LightningCLI arguments.
        callbacks: extra callbacks for this fit.
        ckpt_path: a checkpoint to resume from (its epoch, optimizer, callback and sampler state).
        finish: close the W&B run after fit (``False``: the caller logs more into it, then calls
            :func:`finish_wandb`).
    """
    if ckpt_path:
        check_resumable(ckpt_path)
    cli = SfxLightningCLI(args=args, run=False)
    check_validation_runs(cli.trainer)
    cli.trainer.callbacks.extend(callbacks or [])
    try:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=str(ckpt_path) if ckpt_path else None)
    except SIGTERMException as err:  # Lightning's is a SystemExit with code 0: a scheduler would read success
        finish_wandb()
        raise Interrupted("SIGTERM") from err
    except BaseException:
        finish_wandb()
        raise
    if finish:
        finish_wandb()
    best = cli.trainer.checkpoint_callback.best_model_path if cli.trainer.checkpoint_callback else ""
    if not best:
        raise ValueError(f"training ended after {cli.trainer.global_step} steps without a validation check, so no "
                         "checkpoint was chosen (the checkpoint is chosen on validation): let validation run at least "
                         "once (trainer.val_check_interval, trainer.check_val_every_n_epoch, trainer.limit_val_batches)")
    return Path(best), cli


def check_validation_runs(trainer: SfxTrainer) -> None:
    """Refuse, before any step, a step budget that ends before the first validation check: the checkpoint is chosen
    on validation, so such a fit would train for nothing (``--trainer.max_steps 24`` with the v2 budget's
    ``val_check_interval: 150`` did, and then failed).

    Raises:
        ValueError: naming both settings and the largest interval that works.
    """
    if trainer.limit_val_batches == 0 and not trainer.fast_dev_run:
        raise ValueError("trainer.limit_val_batches 0 runs no validation: the checkpoint is chosen on validation (and "
                         "early stopping watches it), so none would be written; let at least one batch run")
    interval, steps = trainer.val_check_interval, trainer.max_steps
    if (isinstance(interval, int) and not isinstance(interval, bool) and trainer.check_val_every_n_epoch is None
            and steps is not None and 0 < steps < interval):
        raise ValueError(f"trainer.max_steps {steps} ends before the first validation check (trainer.val_check_interval "
                         f"{interval}): the checkpoint is chosen on validation, so none would be written; set "
                         f"trainer.val_check_interval to at most {steps}")
