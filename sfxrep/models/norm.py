"""BatchNorm shared by all libraries, or one set per library (Dataset-Aware Blocks, paper §5.3.3).

Both take ``(x, library)`` so a ConvBlock does not care which one it holds. A per-library norm keeps its
``BatchNorm2d`` layers in a ``ModuleDict`` keyed by library name; a library that was not seen in training
gets a new set through :meth:`PerLibraryBatchNorm2d.add_library` and its statistics re-estimated by
:func:`sfxrep.models.cnn9.CNN9.adapt_library` (AdaBN, see that function for the rule).
"""

from __future__ import annotations

import torch
from torch import nn


class SharedBatchNorm2d(nn.BatchNorm2d):
    """A plain ``BatchNorm2d`` that ignores the library (``bn: shared``)."""

    def forward(self, x: torch.Tensor, library: str | None = None) -> torch.Tensor:
        return super().forward(x)


class PerLibraryBatchNorm2d(nn.Module):
    """One ``BatchNorm2d`` per library; the batch's library picks the layer (``bn: per_library``).

    Args:
        num_features: channels C of the ``(B, C, T, F)`` input.
        libraries: names of the libraries to create layers for now; more can be added later.
    """

    def __init__(self, num_features: int, libraries: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__()
        self.num_features = num_features
        self.norms = nn.ModuleDict()
        for name in libraries:
            self.add_library(name)

    def add_library(self, name: str, init_from: list[str] | None = None) -> nn.BatchNorm2d:
        """Create the layer for ``name`` (no-op if it exists).

        Args:
            name: library name.
            init_from: libraries whose affine parameters (γ, β) are averaged to initialise the new
                layer; ``None`` keeps PyTorch's defaults (γ=1, β=0).
        """
        if name in self.norms:
            return self.norms[name]
        norm = nn.BatchNorm2d(self.num_features)
        if init_from:
            with torch.no_grad():
                norm.weight.copy_(torch.stack([self.norms[n].weight for n in init_from]).mean(0))
                norm.bias.copy_(torch.stack([self.norms[n].bias for n in init_from]).mean(0))
        self.norms[name] = norm.to(next(iter(self.norms.values()), norm).weight.device)
        return norm

    def forward(self, x: torch.Tensor, library: str | None = None) -> torch.Tensor:
        if library is None or library not in self.norms:
            known = ", ".join(self.norms) or "none"
            raise ValueError(
                f"no BatchNorm for library {library!r} (known: {known}); a library unseen in training must be "
                "adapted first with CNN9.adapt_library(name, batches)"
            )
        return self.norms[library](x)
