"""Frozen-encoder embeddings of every evaluation block of a library split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader

from sfxrep.data.datasets import EvalBlockDataset, collate_library_batch
from sfxrep.inference.precision import embed_at
from sfxrep.models.net import SfxNet

if TYPE_CHECKING:
    from sfxrep.inference.int8 import Int8Encoder


@dataclass(frozen=True)
class Embedded:
    """``embeddings (N, D)`` float32 with the ``labels (N,)`` and ``files (N,)`` of each block."""

    embeddings: np.ndarray
    labels: np.ndarray
    files: np.ndarray


def _batches(dataset: EvalBlockDataset, batch_size: int) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_library_batch)


def _bn(module: torch.nn.Module) -> str | None:
    """The BatchNorm mode of a model's encoder (``None`` for reference embedders without one)."""
    return getattr(getattr(module, "encoder", None), "bn", None)


@torch.no_grad()
def embed_blocks(module: SfxNet, dataset: EvalBlockDataset, batch_size: int = 64, precision: str = "fp32",
                 int8: Int8Encoder | None = None) -> Embedded:
    """Embed every block of ``dataset`` with ``module``'s frozen frontend and encoder (eval mode), the encoder at a
    resolved ``precision`` (``fp32``, ``bf16`` or ``int8``, with ``int8`` the int8 encoder if not the one of the
    model's saved calibration: :func:`sfxrep.inference.precision.embed_at`).

    With per-library BatchNorm, the dataset's library picks the BatchNorm set; a library the encoder has not
    seen must be adapted first (:func:`adapt_batchnorm`).
    """
    module.eval()
    library = dataset.files.library if _bn(module) == "per_library" else None
    device = module.device
    embed = embed_at(module, precision, int8)
    chunks, labels, files = [], [], []
    for batch in _batches(dataset, batch_size):
        chunks.append(embed(batch["wave"].to(device), library).cpu())  # float32
        labels.append(batch["label"])
        files.append(batch["file"])
    return Embedded(torch.cat(chunks).numpy(), torch.cat(labels).numpy(), torch.cat(files).numpy())


@torch.no_grad()
def adapt_batchnorm(module: SfxNet, train: EvalBlockDataset, batch_size: int = 64) -> int:
    """Per-library BN for a library unseen in training: re-estimate its statistics on its train split.

    Returns the number of blocks used (0 with shared BatchNorm or an already known library).
    """
    library = train.files.library
    if _bn(module) != "per_library" or library in module.encoder.libraries:
        return 0
    device = module.device
    features = (module.features(b["wave"].to(device)) for b in _batches(train, batch_size))
    return module.encoder.adapt_library(library, features)
