"""The LightningModule: routes each batch through the shared encoder to its library's head (paper §3.1).

It receives its parts (frontend, encoder, objective) and only adds the heads, whose sizes come from the
data (``num_classes``, linked from the DataModule by the CLI). A batch is one library's
(``{"wave", "label", "library"}``); in round-robin mixing a step gets ``{library: batch}`` and sums the
libraries' losses. Each library's loss is scaled by its weight α_d (1 unless the FDR callback sets them).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import torch
from lightning.pytorch import LightningModule
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassF1Score

from sfxrep.losses import Objective
from sfxrep.models.cnn9 import CNN9
from sfxrep.models.frontend import LogMel
from sfxrep.models.heads import build_heads


def _f1(num_classes: dict[str, int]) -> nn.ModuleDict:
    return nn.ModuleDict({lib: MulticlassF1Score(n, average="macro") for lib, n in num_classes.items()})


class SfxModule(LightningModule):
    """CNN9 encoder + one head per library.

    Args:
        encoder: the shared encoder (its ``bn`` decides shared or per-library BatchNorm).
        num_classes: library → number of classes (one head each).
        frontend: waveform → log-mel blocks, run on the model's device.
        objective: CE [+ metric loss] [+ RegularFace]; default CE alone.
        lr: Adam learning rate (paper: Adam; value from its random search).
        weight_decay: Adam weight decay.
        channels_last: run the encoder in channels-last memory format (with bf16 autocast ≈ 3× faster on CPU).
    """

    def __init__(
        self,
        encoder: CNN9,
        num_classes: dict[str, int],
        frontend: LogMel | None = None,
        objective: Objective | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        with warnings.catch_warnings():  # under LightningCLI hparams are the parts' config; built in Python,
            warnings.filterwarnings("ignore", message=".*is an instance of `nn.Module`")  # the parts themselves
            self.save_hyperparameters(logger=False)
        self.frontend = frontend if frontend is not None else LogMel()
        self.encoder = encoder
        self.objective = objective if objective is not None else Objective()
        for library in num_classes:
            encoder.add_library(library)
        self.heads = build_heads(encoder.embedding_dim, num_classes)
        self.lr, self.weight_decay, self.channels_last = lr, weight_decay, channels_last
        self.library_weights: dict[str, float] = {lib: 1.0 for lib in num_classes}
        self.train_f1, self.val_f1, self.test_f1 = _f1(num_classes), _f1(num_classes), _f1(num_classes)
        self.val_loss = nn.ModuleDict({lib: MeanMetric() for lib in num_classes})
        if channels_last:
            self.encoder.to(memory_format=torch.channels_last)

    @property
    def libraries(self) -> list[str]:
        return list(self.heads)

    # ---- inference -------------------------------------------------------------------------------------
    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """``(B, S)`` waveform → ``(B, 1, T, F)`` log-mel, in the encoder's memory format."""
        x = self.frontend(wave)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def embed(self, wave: torch.Tensor, library: str | None = None) -> torch.Tensor:
        """``(B, S)`` 44.1 kHz waveform blocks → ``(B, D)`` embeddings (D = 8·width; paper 512).

        ``library`` picks per-library BatchNorm; ignored with shared BN.
        """
        return self.encoder(self.features(wave), library).float()

    def forward(self, wave: torch.Tensor, library: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, S)`` → embeddings ``(B, D)`` and the library head's logits ``(B, C)``."""
        embedding = self.encoder(self.features(wave), library)
        return embedding, self.heads[library](embedding)

    def setup(self, stage: str) -> None:
        hop = getattr(getattr(self.trainer, "datamodule", None), "hop_length", self.frontend.hop_length)
        if hop != self.frontend.hop_length:
            raise ValueError(f"data.hop_length={hop} but the frontend's hop_length={self.frontend.hop_length}: "
                             "blocks would not have the intended number of frames; set both to the same value")

    # ---- training --------------------------------------------------------------------------------------
    @staticmethod
    def _library_batches(batch: dict) -> Iterable[dict]:
        return [batch] if "library" in batch else [b for b in batch.values() if b is not None]

    def _step(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        library, labels = batch["library"], batch["label"]
        embedding, logits = self(batch["wave"], library)
        terms = self.objective(logits, labels, embedding, self.heads[library].class_weights)
        return logits, terms

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        total = torch.zeros((), device=self.device)
        for b in self._library_batches(batch):
            library, size = b["library"], b["label"].shape[0]
            logits, terms = self._step(b)
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
        for m in self.val_loss.values():
            m.reset()

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        library, size = batch["library"], batch["label"].shape[0]
        logits, terms = self._step(batch)
        self.log(f"test/{library}/loss", terms["loss"], batch_size=size, add_dataloader_idx=False)
        self.test_f1[library].update(logits.argmax(-1), batch["label"])
        self.log(f"test/{library}/macro_f1", self.test_f1[library], on_epoch=True, add_dataloader_idx=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    # ---- FDR weights travel with the checkpoint --------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["library_weights"] = dict(self.library_weights)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.library_weights.update(checkpoint.get("library_weights", {}))
