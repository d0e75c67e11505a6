"""The training objective, composed from pytorch-metric-learning parts (paper §5.1.1, Fig. 1).

    loss = CE(logits, y) + λ · metric(embeddings, y [, miner tuples]) + μ · RegularFace(head class weights)

The metric loss, miner and regulariser are pml objects passed in (from YAML via ``class_path``), never chosen
by name here. Use ``CosineSimilarity`` with them, as the paper does: with it, ContrastiveLoss needs
``pos_margin=1, neg_margin=0`` (its defaults are for distances); TripletMarginLoss's margin is a cosine gap;
CircleLoss is cosine by default. A batch holds one library, so the metric loss only ever compares items of
the same library.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pytorch_metric_learning.losses import BaseMetricLossFunction
from pytorch_metric_learning.miners import BaseMiner
from pytorch_metric_learning.regularizers import BaseRegularizer
from torch import nn

# one name per metric loss: the name of its overlay in experiments/losses/, of --loss, and of results rows
METRIC_NAMES = {"ContrastiveLoss": "contrastive", "TripletMarginLoss": "triplet", "CircleLoss": "circle"}


def loss_name(metric: str | None, regularizer: str | None) -> str:
    """The name of an objective from its parts' class names: ``ce`` (CE alone), ``triplet`` (the paper's metric
    recipe: CE + Triplet + RegularFace), and for any other composition its parts, e.g. ``ce+triplet``.

    Args:
        metric: the metric loss's class name (``TripletMarginLoss``), or ``None``.
        regularizer: the regulariser's class name (``RegularFaceRegularizer``), or ``None``.
    """
    short = METRIC_NAMES.get(metric, (metric or "").removesuffix("Loss").lower()) if metric else None
    reg = regularizer.removesuffix("Regularizer").lower() if regularizer else None
    if short and reg == "regularface":
        return short
    return "+".join(["ce", *(p for p in (short, reg) if p)])


class Objective(nn.Module):
    """Cross-entropy plus optional metric loss and RegularFace.

    Args:
        metric: a pml metric loss on the encoder embeddings (e.g. ``TripletMarginLoss(distance=CosineSimilarity())``);
            ``None`` trains with cross-entropy alone (the paper's CE models).
        metric_weight: λ.
        miner: a pml miner whose tuples the metric loss uses (paper: online mining); ``None`` = all pairs/triplets.
        regularizer: a pml weight regulariser applied to each head's last-layer weight (paper: RegularFace).
        regularizer_weight: μ.
    """

    def __init__(
        self,
        metric: BaseMetricLossFunction | None = None,
        metric_weight: float = 1.0,
        miner: BaseMiner | None = None,
        regularizer: BaseRegularizer | None = None,
        regularizer_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.metric, self.miner, self.regularizer = metric, miner, regularizer
        self.metric_weight, self.regularizer_weight = metric_weight, regularizer_weight

    @property
    def name(self) -> str:
        """``ce``, ``contrastive``, ``triplet``, ``circle``, or the parts of another composition (see
        :func:`loss_name`): what results rows, W&B and ``--loss`` call it."""
        return loss_name(*(type(p).__name__ if p is not None else None for p in (self.metric, self.regularizer)))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor, embeddings: torch.Tensor,
                class_weights: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each term and their weighted sum ``loss``.

        Args:
            logits: ``(B, C)`` head output.
            labels: ``(B,)`` int64 classes.
            embeddings: ``(B, D)`` encoder output.
            class_weights: ``(C, H)`` the head's last-layer weight.
        """
        terms = {"ce": F.cross_entropy(logits.float(), labels)}
        loss = terms["ce"]
        # pml fills similarity matrices with ±inf of the input dtype: under bf16 autocast its float32 inputs
        # would meet bfloat16 matmul results and overflow, so its parts always run in float32
        with torch.autocast(device_type=embeddings.device.type, enabled=False):
            if self.metric is not None:
                emb = embeddings.float()
                tuples = self.miner(emb, labels) if self.miner is not None else None
                terms["metric"] = self.metric(emb, labels, tuples)
                loss = loss + self.metric_weight * terms["metric"]
            if self.regularizer is not None:
                terms["regularizer"] = self.regularizer(class_weights.float())
                loss = loss + self.regularizer_weight * terms["regularizer"]
        terms["loss"] = loss
        return terms
