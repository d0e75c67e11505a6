"""The LightningModule: routes each batch through the shared encoder to its library's head (paper §3.1).

It receives its parts (frontend, encoder, objective) and only adds the heads. Their sizes come from the data:
``num_classes`` when given (a checkpoint stores it), otherwise :meth:`SfxModule.configure_model` reads them from
the trainer's DataModule after its ``setup`` (so decoding stays in ``prepare_data``). A batch is one library's
(``{"wave", "label", "library"}``); in round-robin mixing a step gets ``{library: batch}`` and sums the
libraries' losses. Each library's loss is scaled by its weight α_d (1 unless the FDR callback sets them).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Literal

import torch
from lightning.pytorch import LightningModule
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassF1Score

from sfxrep.models.augment import Augment
from sfxrep.models.cnn9 import CNN9
from sfxrep.models.distillation import Distillation
from sfxrep.models.frontend import LogMel
from sfxrep.models.losses import Objective
from sfxrep.models.net import SfxNet


def _f1(num_classes: dict[str, int]) -> nn.ModuleDict:
    return nn.ModuleDict({lib: MulticlassF1Score(n, average="macro") for lib, n in num_classes.items()})


class SfxModule(SfxNet, LightningModule):
    """CNN9 encoder + one head per library: :class:`~sfxrep.models.net.SfxNet` with its training behaviour.

    Args:
        encoder: the shared encoder (its ``bn`` decides shared or per-library BatchNorm).
        num_classes: library → number of classes (one head each); ``None``: read from the trainer's DataModule
            in :meth:`configure_model`.
        frontend: waveform → log-mel blocks, run on the model's device.
        objective: CE [+ metric loss] [+ RegularFace]; default CE alone.
        optimizer: ``{class_path, init_args}`` of a ``torch.optim`` optimizer (LightningCLI's ``optimizer:``
            key is linked here); ``None`` = Adam, as in the paper.
        lr_scheduler: ``{class_path, init_args}`` of a scheduler (LightningCLI's ``lr_scheduler:``), stepped
            per epoch; ``ReduceLROnPlateau`` watches ``val/loss``. ``None`` = constant rate.
        lr: learning rate; when set it overrides the optimizer's (a stable key for search spaces). ``None`` =
            the optimizer's own (Adam: 1e-3).
        weight_decay: likewise for weight decay (``None`` = the optimizer's own, Adam: 0).
        channels_last: run the encoder in channels-last memory format; ``auto``: where it is faster on this
            machine (:func:`sfxrep.hardware.channels_last_helps`; ``make bench``). The attribute holds the result.
        encoder_lr_scale: the encoder's learning rate as a fraction of the heads' (1: one rate; fine-tuning a
            warm-started encoder gently: e.g. 0.1).
        augment: training-time augmentation of each library's batch (:class:`~sfxrep.models.augment.Augment`:
            gain, EQ tilt, SpecAugment, within-class mixup); ``None`` (default, as the paper): none.

    Where its first weights come from (a warm start) and which parts train when is the business of callbacks
    (:class:`~sfxrep.training.callbacks.warmstart.WarmStart`), not of the module.
    Inference (``features``, ``embed``, ``forward``) is :class:`~sfxrep.models.net.SfxNet`'s, so the state-dict
    keys are the same and a checkpoint loads for inference as a plain ``SfxNet``
    (:func:`sfxrep.models.checkpoint.load_net`).
    """

    def __init__(
        self,
        encoder: CNN9,
        num_classes: dict[str, int] | None = None,
        frontend: LogMel | None = None,
        objective: Objective | None = None,
        optimizer: dict | None = None,
        lr_scheduler: dict | None = None,
        lr: float | None = None,
        weight_decay: float | None = None,
        channels_last: bool | Literal["auto"] = False,
        encoder_lr_scale: float = 1.0,
        augment: Augment | None = None,
    ) -> None:
        if lr is not None and not lr > 0:  # torch checks only what it is given; model.lr is applied afterwards
            raise ValueError(f"model.lr must be > 0, not {lr}")
        if weight_decay is not None and not weight_decay >= 0:
            raise ValueError(f"model.weight_decay must be >= 0, not {weight_decay}")
        if not encoder_lr_scale > 0:
            raise ValueError(f"model.encoder_lr_scale must be > 0, not {encoder_lr_scale}")
        super().__init__(encoder, frontend, None, channels_last)  # SfxNet, then LightningModule; "auto" resolved there
        with warnings.catch_warnings():  # under LightningCLI hparams are the parts' config; built in Python,
            warnings.filterwarnings("ignore", message=".*is an instance of `nn.Module`")  # the parts themselves
            self.save_hyperparameters(logger=False)
        self.objective = objective if objective is not None else Objective()
        self.optimizer_config, self.scheduler_config = optimizer, lr_scheduler
        self.lr, self.weight_decay = lr, weight_decay
        self.encoder_lr_scale = encoder_lr_scale
        self.augment = augment
        self.distillation: Distillation | None = None  # set while fitting by the Distill callback (distill.*)
        self.library_weights: dict[str, float] = {}
        if num_classes is not None:
            self.build_heads(num_classes)

    def build_heads(self, num_classes: dict[str, int]) -> None:
        """Create one head (and, with per-library BN, one BatchNorm set) and the metrics per library."""
        super().build_heads(num_classes)
        self.library_weights = {lib: self.library_weights.get(lib, 1.0) for lib in num_classes}
        self.train_f1, self.val_f1, self.test_f1 = _f1(num_classes), _f1(num_classes), _f1(num_classes)
        self.val_loss = nn.ModuleDict({lib: MeanMetric() for lib in num_classes})
        self.hparams["num_classes"] = dict(num_classes)  # a checkpoint rebuilds the heads from it

    def configure_model(self) -> None:
        """Build the heads from the DataModule's classes (after its ``setup``), unless they exist."""
        if self.heads is None:
            datamodule = getattr(self.trainer, "datamodule", None)
            if datamodule is None or not hasattr(datamodule, "num_classes"):
                raise ValueError("SfxModule without num_classes needs a DataModule that has them (SfxDataModule)")
            self.build_heads(datamodule.num_classes)

    # ---- training --------------------------------------------------------------------------------------
    @staticmethod
    def _library_batches(batch: dict) -> Iterable[dict]:
        return [batch] if "library" in batch else [b for b in batch.values() if b is not None]

    def _step(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        library, labels = batch["library"], batch["label"]
        augment = self.augment if self.training else None  # training batches only
        features = self.features(augment.wave(batch["wave"]) if augment else batch["wave"])
        if augment:
            features = augment.features(features, labels)
            features = features.contiguous(memory_format=torch.channels_last) if self.channels_last else features
        embedding = self.encoder(features, library)
        logits = self.heads[library](embedding)
        terms = self.objective(logits, labels, embedding, self.heads[library].class_weights)
        if self.distillation is not None and self.training:
            terms["distill"] = self.distillation(embedding, features, library)
            terms["loss"] = terms["loss"] + terms["distill"]
        return logits, terms

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        total = torch.zeros((), device=self.device)
        for b in self._library_batches(batch):
            library, size = b["library"], b["label"].shape[0]
            logits, terms = self._step(b)
            if not torch.isfinite(terms["loss"]):  # diverged: stop, write no rows (paper-level runs never recover)
                raise ValueError(f"the loss of library {library} is {terms['loss'].item()} at epoch "
                                         f"{self.current_epoch} (diverged: lower the learning rate?)")
            total = total + self.library_weights[library] * terms["loss"]
            for name, value in terms.items():
                self.log(f"train/{library}/{name}", value, on_step=False, on_epoch=True, batch_size=size)
            self.train_f1[library].update(logits.argmax(-1), b["label"])
            self.log(f"train/{library}/macro_f1", self.train_f1[library], on_step=False, on_epoch=True)
        return total

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        library, size = batch["library"], batch["label"].shape[0]
        logits, terms = self._step(batch)
        self.val_loss[library].update(terms["loss"], weight=size)
        self.val_f1[library].update(logits.argmax(-1), batch["label"])
        self.log(f"val/{library}/macro_f1", self.val_f1[library], on_epoch=True, add_dataloader_idx=False)

    def on_validation_epoch_end(self) -> None:
        losses = {lib: m.compute() for lib, m in self.val_loss.items() if m.update_called}
        for lib, value in losses.items():
            self.log(f"val/{lib}/loss", value)
        if losses:  # paper §3.3: cross-dataset checkpoints on the mean validation loss over libraries
            self.log("val/loss", torch.stack(list(losses.values())).mean(), prog_bar=True)
            f1 = [self.val_f1[lib].compute() for lib in losses]  # cached: Lightning's own compute reuses it
            self.log("val/macro_f1", torch.stack(f1).mean())
        for m in self.val_loss.values():
            m.reset()

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        library, size = batch["library"], batch["label"].shape[0]
        logits, terms = self._step(batch)
        self.log(f"test/{library}/loss", terms["loss"], batch_size=size, add_dataloader_idx=False)
        self.test_f1[library].update(logits.argmax(-1), batch["label"])
        self.log(f"test/{library}/macro_f1", self.test_f1[library], on_epoch=True, add_dataloader_idx=False)

    def configure_optimizers(self) -> dict:
        """The configured optimizer (default Adam) over every parameter, heads included, and its scheduler."""
        from lightning.pytorch.cli import instantiate_class  # jsonargparse: only where configs are instantiated

        config = self.optimizer_config or {"class_path": "torch.optim.Adam", "init_args": {}}
        others = [p for name, p in self.named_parameters() if not name.startswith("encoder.")]
        groups = [{"params": list(self.encoder.parameters())}, {"params": others}] if self.encoder_lr_scale != 1 \
            else self.parameters()
        optimizer = instantiate_class(groups, config)
        for group in optimizer.param_groups:  # model.lr / model.weight_decay win when set
            if self.lr is not None:
                group["lr"] = self.lr
            if self.weight_decay is not None:
                group["weight_decay"] = self.weight_decay
        if self.encoder_lr_scale != 1:  # the first group is the encoder's
            optimizer.param_groups[0]["lr"] *= self.encoder_lr_scale
        if not self.scheduler_config:
            return {"optimizer": optimizer}
        scheduler = instantiate_class(optimizer, self.scheduler_config)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val/loss"}}

    # ---- FDR weights and the run's identity travel with the checkpoint -------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["library_weights"] = dict(self.library_weights)
        trainer = self._trainer
        from sfxrep.models.fingerprint import state_sha256

        checkpoint["sfxrep"] = {"weights_sha256": state_sha256(checkpoint["state_dict"])}  # checked at every load
        if trainer is not None:
            checkpoint["sfxrep"] |= {"run": getattr(trainer.logger, "name", None) if trainer.logger else None,
                                     "precision": str(trainer.precision)}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.library_weights.update(checkpoint.get("library_weights", {}))
