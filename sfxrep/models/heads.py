"""One classifier head per library (paper Fig. 1: MLP 512-256-128-C on the encoder's embedding)."""

from __future__ import annotations

import torch
from torch import nn


class MLPHead(nn.Module):
    """Embedding → class logits: Linear(D, D/2) → ReLU → Linear(D/2, D/4) → ReLU → Linear(D/4, C).

    With the paper's D = 512 that is 512-256-128-C, laid out as the authors' ``fc.I.{0,2,4}``.

    Args:
        embedding_dim: D, the encoder's output size.
        num_classes: C, classes of the library.

    Shapes:
        ``(B, D)`` → ``(B, C)``.
    """

    def __init__(self, embedding_dim: int, num_classes: int) -> None:
        super().__init__()
        hidden1, hidden2 = embedding_dim // 2, embedding_dim // 4
        self.mlp = nn.Sequential(
            nn.Linear(embedding_dim, hidden1), nn.ReLU(), nn.Linear(hidden1, hidden2), nn.ReLU(),
            nn.Linear(hidden2, num_classes),
        )

    @property
    def class_weights(self) -> torch.Tensor:
        """The last layer's weight, one row per class: ``(C, D/4)`` (what RegularFace regularises)."""
        return self.mlp[-1].weight

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.mlp(embedding)  # (B, C)


def build_heads(embedding_dim: int, num_classes: dict[str, int]) -> nn.ModuleDict:
    """``ModuleDict{library → MLPHead}``."""
    return nn.ModuleDict({name: MLPHead(embedding_dim, n) for name, n in num_classes.items()})
