"""The network a trained model is: log-mel frontend → CNN9 encoder → one classifier head per library.

:class:`SfxNet` is a plain ``nn.Module``: everything that embeds (``sfxrep embed``, ``index``, ``evaluate``, the
API) loads a model as one, so inference never imports Lightning (3–4 s of a command's start-up, measured in
README "Speed"). :class:`~sfxrep.models.module.SfxModule` is the same network with its training behaviour, so a
training checkpoint, aiSFX and a release all come back as the same kind of object, with the same state-dict keys
(``encoder.*``, ``heads.<library>.*``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from sfxrep.audio.decode import SAMPLE_RATE
from sfxrep.hardware import channels_last_helps
from sfxrep.models.cnn9 import CNN9
from sfxrep.models.frontend import LogMel
from sfxrep.models.heads import build_heads


class SfxNet(nn.Module):
    """CNN9 encoder on a log-mel frontend, with one head per library (paper Fig. 1).

    Args:
        encoder: the shared encoder (its ``bn`` decides shared or per-library BatchNorm).
        frontend: waveform → log-mel blocks, run on the model's device (default: the paper's :class:`LogMel`).
        num_classes: library → number of classes, one head each; ``None``: no heads yet (:meth:`build_heads`).
        channels_last: run the encoder in channels-last memory format; ``auto``: where it is faster on this machine
            (:func:`sfxrep.hardware.channels_last_helps`: AVX512 and CUDA, ``make bench``). The attribute holds the
            result.

    It meets :class:`~sfxrep.inference.registry.Embedder` (``sample_rate``, ``scene_embedding_size``,
    ``timestamp_embedding_size``, ``embed``).
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, encoder: CNN9, frontend: LogMel | None = None, num_classes: dict[str, int] | None = None,
                 channels_last: bool | Literal["auto"] = False) -> None:
        super().__init__()
        self.frontend = frontend if frontend is not None else LogMel()
        self.encoder = encoder
        self.channels_last = channels_last_helps("cuda" if torch.cuda.is_available() else "cpu") \
            if channels_last == "auto" else bool(channels_last)
        self.heads: nn.ModuleDict | None = None
        if num_classes is not None:
            self.build_heads(num_classes)  # lays the encoder out, its new BatchNorm sets included
        elif self.channels_last:
            self.encoder.to(memory_format=torch.channels_last)

    def build_heads(self, num_classes: dict[str, int]) -> None:
        """One head (and, with per-library BN, one BatchNorm set) per library."""
        if not num_classes:
            raise ValueError("a model needs at least one library to train on")
        for library in num_classes:
            self.encoder.add_library(library)
        if self.channels_last:
            self.encoder.to(memory_format=torch.channels_last)
        self.heads = build_heads(self.encoder.embedding_dim, num_classes)

    @property
    def num_classes(self) -> dict[str, int]:
        """library → classes of its head (empty before the heads are built)."""
        return {lib: int(head.class_weights.shape[0]) for lib, head in (self.heads or {}).items()}

    @property
    def libraries(self) -> list[str]:
        """The trained libraries (one head each); empty before the heads are built."""
        return list(self.heads) if self.heads is not None else []

    @property
    def scene_embedding_size(self) -> int:
        """D of an embedding: 8 × the encoder width (paper: 512)."""
        return self.encoder.embedding_dim

    timestamp_embedding_size = scene_embedding_size

    @property
    def device(self) -> torch.device:
        """Where the model runs (its frontend's filterbank is there with it)."""
        return self.frontend.mel_basis.device

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
