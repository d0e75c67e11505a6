"""Every model sfxrep can embed with, by name or by path: the one resolver.

``api.load_model``, ``sfxrep embed|index|evaluate``, warm starts (``--init``) and the index's model identity all
resolve a model here, so a new model (a release, another reference) is one entry of :data:`NAMED`:

* ``aisfx`` — the authors' released X-Sequential-CE model (:mod:`sfxrep.models.pretrained`);
* ``logmel`` — untrained log-mel statistics (:class:`~sfxrep.models.baselines.LogMelStats`);
* ``cnn9-random`` — the paper's width-64 CNN9 with seeded random weights, never trained (the floor a trained
  encoder must clear: its BatchNorm statistics are the identity, so it is a random projection of log-mel);
* ``openl3`` — OpenL3, when its package and weights are installed (nothing is downloaded);
* ``sfxrep-v1`` … — a release trained by sfxrep and shipped in the package (:mod:`sfxrep.models.release`);
* any other string — an sfxrep ``.ckpt`` path (:mod:`sfxrep.models.checkpoint`).

Every model meets :class:`Embedder`: the HEAR attributes and ``embed(wave, library)``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class Embedder(Protocol):
    """What every model sfxrep embeds with offers (the HEAR API's attributes, plus ``embed``).

    Attributes:
        sample_rate: Hz of the audio it takes (44 100 for every sfxrep model: paper §3.2).
        scene_embedding_size: D of a sound's embedding (the mean of its block embeddings).
        timestamp_embedding_size: D of one block's embedding (the same D here).
    """

    sample_rate: int
    scene_embedding_size: int
    timestamp_embedding_size: int

    def embed(self, wave: torch.Tensor, library: str | None = None) -> torch.Tensor:
        """``(B, S)`` 44.1 kHz blocks → ``(B, D)`` embeddings; ``library`` picks per-library BatchNorm."""
        ...


def _aisfx() -> nn.Module:
    from sfxrep.models.pretrained import load_aisfx

    return load_aisfx()


def _logmel() -> nn.Module:
    from sfxrep.models.baselines import LogMelStats

    return LogMelStats()


def _cnn9_random() -> nn.Module:
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.net import SfxNet

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return SfxNet(CNN9(64))


def _openl3() -> nn.Module:
    from sfxrep.models.baselines import OpenL3

    return OpenL3()


# name → loader; the names are what commands, results rows (``model``) and indexes record
NAMED: dict[str, Callable[[], nn.Module]] = {"aisfx": _aisfx, "logmel": _logmel, "cnn9-random": _cnn9_random,
                                             "openl3": _openl3}


def names() -> list[str]:
    """Every name :func:`load_model` takes: the built-in models and the releases shipped here."""
    from sfxrep.models.release import shipped

    return [*NAMED, *shipped()]


def is_named(model: str | Path) -> bool:
    """Whether ``model`` is the name of a built-in model or a shipped release (else it is a checkpoint path)."""
    return str(model) in names()


def model_source(model: str | Path) -> str:
    """How a model is recorded (indexes, results rows): a name as it is, a checkpoint as its absolute path."""
    return str(model) if is_named(model) else str(Path(model).resolve())


def load_model(model: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """A model by name (:data:`NAMED`) or ``.ckpt`` path, in eval mode on ``device``; it meets :class:`Embedder`.

    Raises:
        FileNotFoundError, ValueError: no such checkpoint, or not an sfxrep one (saying what it is).
        OpenL3Unavailable: ``openl3`` is not installed.
    """
    if str(model) in NAMED:
        module = NAMED[str(model)]()
    elif is_named(model) or _is_release_file(model):
        from sfxrep.models.release import load_release

        module = load_release(str(model))
    else:
        from sfxrep.models.checkpoint import load_net

        module = load_net(model)
    return module.to(device).eval()


def _is_release_file(model: str | Path) -> bool:
    """A release written elsewhere (``sfxrep release --out DIR``) is loaded by its path like a shipped one."""
    return Path(model).suffix == ".pt" and Path(model).is_file()


def load_trainable(model: str | Path) -> nn.Module:
    """A model whose encoder and heads training can start from (``--init``): ``aisfx`` or a checkpoint.

    Raises:
        ValueError: the model has no trainable encoder (``logmel``, ``openl3``).
    """
    module = load_model(model)
    if not hasattr(module, "encoder") or not hasattr(module, "heads"):
        raise ValueError(f"--init {model}: has no CNN9 encoder to start from (use aisfx or an sfxrep .ckpt)")
    return module
