"""CNN9-max encoder (Kong et al., DCASE 2019 baseline; Ma & Lerch 2022 Fig. 1).

Four ConvBlocks of width w, 2w, 4w, 8w (paper: w=64 → 64-128-256-512, 4.69 M parameters), mean over
frequency, max over time → an 8w-d embedding. Module names follow the authors' released checkpoint
(``conv_blockK.{conv1,conv2,bn1,bn2}``) so its encoder weights load as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from sfxrep.models.norm import PerLibraryBatchNorm2d, SharedBatchNorm2d

BatchNormMode = Literal["shared", "per_library"]


class ConvBlock(nn.Module):
    """(conv3×3 → BN → ReLU) × 2 → max-pool (run as conv → BN → max-pool → ReLU, the same function). With
    per-library BN this is a Dataset-Aware Block.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        bn: ``shared`` (one BatchNorm) or ``per_library`` (one BatchNorm per library, shared convolutions).
    """

    def __init__(self, in_channels: int, out_channels: int, bn: BatchNormMode = "shared") -> None:
        super().__init__()
        norm = SharedBatchNorm2d if bn == "shared" else PerLibraryBatchNorm2d
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn1 = norm(out_channels)
        self.bn2 = norm(out_channels)
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_uniform_(conv.weight, nonlinearity="leaky_relu")

    def forward(self, x: torch.Tensor, pool_size: tuple[int, int], library: str | None = None) -> torch.Tensor:
        x = F.relu_(self.bn1(self.conv1(x), library))  # (B, C_out, T, F)
        x = self.bn2(self.conv2(x), library)  # (B, C_out, T, F)
        if pool_size != (1, 1):
            x = F.max_pool2d(x, kernel_size=pool_size)  # (B, C_out, T / p_t, F / p_f)
        # ReLU after the pool: max and ReLU commute, and the gradient reaches the same element, so this is
        # relu → pool exactly, with the second ReLU's passes on a quarter of the activations (docs/speed.md)
        return F.relu_(x)


class CNN9(nn.Module):
    """CNN9-max encoder: log-mel block → embedding.

    Args:
        width: channels of the first block; the blocks have width·(1, 2, 4, 8). Paper: 64 (4.69 M params,
            512-d embedding).
        bn: ``shared`` or ``per_library`` BatchNorm (paper §5.3.3, "BN").
        libraries: library names to create per-library BatchNorm layers for (ignored when ``bn='shared'``).

    Shapes:
        input ``(B, 1, T, F)`` (paper: T=100 frames, F=96 mel bins) → output ``(B, 8·width)``.
    """

    pool_sizes: tuple[tuple[int, int], ...] = ((2, 2), (2, 2), (2, 2), (1, 1))

    def __init__(self, width: int = 64, bn: BatchNormMode = "shared", libraries: Iterable[str] = ()) -> None:
        super().__init__()
        if bn not in ("shared", "per_library"):
            raise ValueError(f"bn must be 'shared' or 'per_library', got {bn!r}")
        self.width = width
        self.bn = bn
        self.embedding_dim = 8 * width
        self.conv_block1 = ConvBlock(1, width, bn)
        self.conv_block2 = ConvBlock(width, 2 * width, bn)
        self.conv_block3 = ConvBlock(2 * width, 4 * width, bn)
        self.conv_block4 = ConvBlock(4 * width, 8 * width, bn)
        for name in libraries:
            self.add_library(name)

    @property
    def blocks(self) -> tuple[ConvBlock, ...]:
        return (self.conv_block1, self.conv_block2, self.conv_block3, self.conv_block4)

    def forward(self, x: torch.Tensor, library: str | None = None) -> torch.Tensor:
        return self.forward_from(x, 0, library)

    def forward_from(self, x: torch.Tensor, start: int, library: str | None = None) -> torch.Tensor:
        """The embedding from the output of block ``start`` (0: from the log-mel input ``(B, 1, T, F)``; k: from
        what block k, counted from 1, returned)."""
        for block, pool in zip(self.blocks[start:], self.pool_sizes[start:], strict=True):
            x = block(x, pool, library)  # (B, C, T, F) → (B, 2C, T/2, F/2); last block keeps T, F
        x = x.mean(dim=3)  # (B, 8w, T')   mean over frequency
        return x.amax(dim=2)  # (B, 8w)   max over time

    def _per_library_norms(self) -> list[PerLibraryBatchNorm2d]:
        return [m for m in self.modules() if isinstance(m, PerLibraryBatchNorm2d)]

    @property
    def libraries(self) -> list[str]:
        """Libraries with their own BatchNorm layers (empty for shared BN)."""
        norms = self._per_library_norms()
        return list(norms[0].norms) if norms else []

    def add_library(self, name: str) -> None:
        """Give ``name`` its own BatchNorm layers (no-op for shared BN or a known library)."""
        known = self.libraries
        for norm in self._per_library_norms():
            norm.add_library(name, init_from=known or None)

    @torch.no_grad()
    def adapt_library(self, name: str, batches: Iterable[torch.Tensor]) -> int:
        """Prepare per-library BatchNorm for a library not seen in training (AdaBN).

        Rule: the new library's γ, β are the mean of the trained libraries' γ, β, and its running mean and
        variance are re-estimated from ``batches`` (its train split) as an exact cumulative average; the
        convolutions are untouched. With shared BN there is nothing to adapt and this returns 0.

        Args:
            name: the new library.
            batches: log-mel batches ``(B, 1, T, F)`` of that library's train split.

        Returns:
            the number of items the statistics were estimated from.
        """
        norms = self._per_library_norms()
        if not norms:
            return 0
        self.add_library(name)
        layers = [n.norms[name] for n in norms]
        saved = [(layer.momentum, layer.training) for layer in layers]
        was_training = self.training
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None  # cumulative average over all batches
        self.train()
        seen = 0
        for x in batches:
            self(x, name)
            seen += x.shape[0]
        for layer, (momentum, _) in zip(layers, saved, strict=True):
            layer.momentum = momentum
        self.train(was_training)
        if seen == 0:
            raise ValueError(f"no batches given to adapt BatchNorm for library {name!r}")
        return seen
