"""Choosing the weight-space ensemble of a fine-tuned model and its start (WiSE-FT) on validation data.

:func:`~sfxrep.models.interpolate.interpolate` gives one model per mixing weight α; :func:`choose_alpha` embeds
every library's train and validation splits with each candidate and keeps the α with the best mean kNN frame
macro-F1 on the validation splits (train split as reference, the paper's 1-NN protocol). The test splits are
never looked at, so the test scores of the chosen model stay an honest estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sfxrep.data.datamodule import SfxDataModule
from sfxrep.evaluate.embed import embed_blocks
from sfxrep.evaluate.knn import knn_evaluate
from sfxrep.models.interpolate import interpolate
from sfxrep.models.net import SfxNet

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)  # the grid: both ends and three points between


@dataclass(frozen=True)
class Choice:
    """The chosen α and every candidate's validation scores.

    Attributes:
        alpha: the mixing weight kept (0: the start model, 1: the fine-tuned one).
        mean: α → mean validation frame macro-F1 over the libraries.
        per_library: α → library → validation frame macro-F1.
    """

    alpha: float
    mean: dict[float, float] = field(default_factory=dict)
    per_library: dict[float, dict[str, float]] = field(default_factory=dict)


def validation_scores(module: SfxNet, data: SfxDataModule, *, k: int = 1, precision: str = "fp32") -> dict[str, float]:
    """Library → kNN frame macro-F1 of ``module`` on its validation split (train split as reference)."""
    scores = {}
    for library in data.spec.names:
        val = data.eval_dataset(library, "val")
        if not len(val):
            continue
        train = data.eval_dataset(library, "train")
        a, b = embed_blocks(module, train, precision=precision), embed_blocks(module, val, precision=precision)
        scores[library] = knn_evaluate(a.embeddings, a.labels, b.embeddings, b.labels, b.files, k=k).frame_macro_f1
    return scores


def choose_alpha(start: SfxNet, tuned: SfxNet, data: SfxDataModule, *, alphas: tuple[float, ...] = ALPHAS,
                 k: int = 1, precision: str = "fp32", log=print) -> Choice:
    """The α of ``alphas`` whose interpolated model scores best on the validation splits of ``data``.

    Ties go to the smaller α (the model closer to the start, which forgets less of what it knew).

    Raises:
        ValueError: ``data`` has no library with a validation split.
    """
    per_library: dict[float, dict[str, float]] = {}
    for alpha in sorted(alphas):
        per_library[alpha] = validation_scores(interpolate(start, tuned, alpha), data, k=k, precision=precision)
        if not per_library[alpha]:
            raise ValueError(f"{data.spec.source}: no library has a validation split to choose alpha on")
        log(f"alpha {alpha:.2f}: mean validation frame macro-F1 {np.mean(list(per_library[alpha].values())):.3f} "
            f"({', '.join(f'{lib} {v:.3f}' for lib, v in per_library[alpha].items())})")
    mean = {alpha: float(np.mean(list(scores.values()))) for alpha, scores in per_library.items()}
    best = max(mean, key=lambda alpha: (round(mean[alpha], 9), -alpha))
    return Choice(best, mean, per_library)
