"""``sfxrep fit|validate|test`` — LightningCLI over SfxModule and SfxDataModule, configured by YAML.

Besides Lightning's own arguments it links ``data.num_classes`` into ``model.num_classes`` (the heads'
sizes come from the manifest), adds the checkpoint (best mean validation loss over libraries, paper §3.3)
and early stopping as ``checkpoint.*`` / ``early_stopping.*``, and always trains with
``use_distributed_sampler=False`` (the batch samplers shard across ranks themselves).
"""

from __future__ import annotations

import sys
from pathlib import Path

from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import WandbLogger

from sfxrep.data.datamodule import SfxDataModule
from sfxrep.models.module import SfxModule


class SfxLightningCLI(LightningCLI):
    """LightningCLI with sfxrep's links and callbacks (see module doc)."""

    def __init__(self, args: list[str] | None = None, run: bool = True, **kwargs) -> None:
        super().__init__(
            SfxModule,
            SfxDataModule,
            trainer_defaults={"use_distributed_sampler": False},
            save_config_kwargs={"overwrite": True},
            args=args,
            run=run,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.monitor": "val/loss", "checkpoint.mode": "min",
                             "checkpoint.filename": "best", "checkpoint.auto_insert_metric_name": False})
        parser.add_lightning_class_args(EarlyStopping, "early_stopping")
        parser.set_defaults({"early_stopping.monitor": "val/loss", "early_stopping.mode": "min",
                             "early_stopping.patience": 10})

    def before_instantiate_classes(self) -> None:
        trainer = self.config[self.subcommand]["trainer"] if self.subcommand else self.config["trainer"]
        if trainer.get("strategy") in ("auto", "ddp") and _several_devices(trainer.get("devices"),
                                                                            trainer.get("accelerator")):
            # a step trains one library's head (and BatchNorm set): the others get no gradient
            trainer["strategy"] = "ddp_find_unused_parameters_true"


def _several_devices(devices: object, accelerator: object) -> bool:
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


def finish_wandb() -> None:
    """End the W&B run, if one is open: otherwise the next fit in this process logs into the same run."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()


def label_wandb(trainer: Trainer, group: str, tags: list[str]) -> None:
    """Group and tag the trainer's W&B run before it starts (no-op for other loggers).

    wandb reads ``WANDB_RUN_GROUP`` only once per process, so the logger's init arguments are set instead
    (Lightning keeps them in ``WandbLogger._wandb_init`` until the run is created).
    """
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger._wandb_init.update(group=group, tags=tags)


def fit(args: list[str], wandb_group: str | None = None, wandb_tags: list[str] | None = None,
        ) -> tuple[Path, SfxLightningCLI]:
    """Run one fit from CLI-style arguments; returns the best checkpoint's path and the CLI."""
    cli = SfxLightningCLI(args=args, run=False)
    if wandb_group is not None:
        label_wandb(cli.trainer, wandb_group, wandb_tags or [])
    try:
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    finally:
        finish_wandb()
    best = cli.trainer.checkpoint_callback.best_model_path if cli.trainer.checkpoint_callback else ""
    if not best:
        raise RuntimeError("training produced no checkpoint (was validation run at least once?)")
    return Path(best), cli
