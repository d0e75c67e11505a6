"""Checkpoints written by ``sfxrep fit`` / ``train``: read once, safely, into a model and its run's settings.

A checkpoint is loaded with ``torch.load(weights_only=True)`` (tensors and plain containers only, no code runs)
and the module is rebuilt from its hyper-parameters, which hold ``num_classes`` and the parts' configs. Anything
else — a file that is not a checkpoint, a bare ``state_dict``, the authors' ``(state_dict, ds_dict)`` tuple, a
Lightning checkpoint of another model — is a :class:`ValueError` that says what the file is.

This module imports no data or training code: it is what :mod:`sfxrep.api` loads models with. For inference,
:func:`load_net` rebuilds the plain :class:`~sfxrep.models.net.SfxNet` without importing Lightning; resuming,
fine-tuning and releasing take the whole :class:`~sfxrep.models.module.SfxModule` (:func:`load_checkpoint`).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from sfxrep.models.net import SfxNet

if TYPE_CHECKING:
    from sfxrep.models.module import SfxModule

# the parts an SfxNet is built from without Lightning's class-path instantiation (jsonargparse)
_PARTS = {"sfxrep.models.cnn9.CNN9", "sfxrep.models.frontend.LogMel"}


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        module: the model, in eval mode on the CPU.
        path: the checkpoint file (absolute).
        data: the DataModule's hyper-parameters (libraries YAML, mixing, seed, …).
        callbacks: callback states by callback key (the FDR state among them).
        epoch: epochs completed when it was written.
        run_info: what the run recorded of itself: ``run`` (name) and ``precision``.
    """

    module: SfxModule
    path: Path
    data: dict = field(default_factory=dict)
    callbacks: dict = field(default_factory=dict)
    epoch: int = 0
    run_info: dict = field(default_factory=dict)

    @property
    def fdr(self) -> dict | None:
        """The FDR callback's state (``threshold``, ``crossed``, ``weights`` …), or ``None`` without FDR."""
        return next((s for k, s in self.callbacks.items() if "FocalDatasetRegularization" in k), None)

    @property
    def init(self) -> str | None:
        """The warm-start source the run started from (``aisfx``, a checkpoint path), or ``None``."""
        return next((s.get("source") for k, s in self.callbacks.items() if k.startswith("WarmStart")), None)

    @property
    def init_sha256(self) -> str | None:
        """The SHA-256 of the warm-start source's encoder as the run started from it (``None``: not recorded)."""
        return next((s.get("source_sha256") for k, s in self.callbacks.items() if k.startswith("WarmStart")), None)


def _what_it_is(raw: object) -> str:
    if isinstance(raw, tuple):
        return f"a tuple of {len(raw)} ({', '.join(type(x).__name__ for x in raw)}), not a Lightning checkpoint"
    if isinstance(raw, dict) and raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        return f"a bare state_dict ({len(raw)} tensors) without the hyper-parameters to rebuild a model"
    if isinstance(raw, dict) and "state_dict" in raw:
        return (f"a Lightning checkpoint of {raw.get('hparams_name') or 'another model'} without sfxrep heads "
                "(hyper_parameters.num_classes)")
    return f"a {type(raw).__name__}, not a checkpoint"


def read_checkpoint(path: str | Path, data: bytes | None = None) -> dict:
    """The raw checkpoint dict of an sfxrep checkpoint (``weights_only=True``); ``data``: the file's bytes, read.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not readable as a checkpoint, or not an sfxrep one (saying what it is).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes), not a checkpoint")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut-off one lacks its directory
        raise ValueError(f"{path}: not a readable checkpoint (truncated or not a torch file)")
    try:
        raw = torch.load(io.BytesIO(data) if data is not None else path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # weights_only refused a global: a pickle of other objects
        first = str(err).strip().splitlines()[0][:160]
        raise ValueError(f"{path}: not loadable as weights only ({first})") from err
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise ValueError(f"{path}: not a readable checkpoint (truncated or not a torch file: {first})") from err
    hparams = raw.get("hyper_parameters") if isinstance(raw, dict) else None
    if not isinstance(hparams, dict) or not hparams.get("num_classes") or "state_dict" not in raw:
        raise ValueError(f"{path}: not an sfxrep checkpoint: {_what_it_is(raw)}")
    foreign = sorted({c for c in _class_paths(hparams) if not c.startswith(TRUSTED)})
    if foreign:  # refused before anything imports it: importing a module runs its code
        raise ValueError(f"{path}: its hyper-parameters name {foreign[0]!r}, outside sfxrep, torch and "
                         "pytorch-metric-learning; refused without importing it")
    recorded = (raw.get("sfxrep") or {}).get("weights_sha256")
    if recorded is not None:
        from sfxrep.models.fingerprint import state_sha256

        if state_sha256(raw["state_dict"]) != recorded:
            raise ValueError(f"{path}: its weights do not match the SHA-256 recorded when it was written "
                             f"({recorded[:12]}…): the file is damaged")
    return raw


TRUSTED = ("sfxrep.", "torch.", "pytorch_metric_learning.")  # where a checkpoint's class_path may point


def _class_paths(config: object) -> list[str]:
    """Every ``class_path`` in a nested hyper-parameter structure."""
    if isinstance(config, dict):
        own = [config["class_path"]] if isinstance(config.get("class_path"), str) else []
        return own + [c for v in config.values() for c in _class_paths(v)]
    if isinstance(config, (list, tuple)):
        return [c for v in config for c in _class_paths(v)]
    return []


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Rebuild the model of an sfxrep checkpoint (eval mode, CPU) with the run's data and callback settings.

    Raises:
        FileNotFoundError, ValueError: see :func:`read_checkpoint`.
    """
    from sfxrep.models.module import SfxModule

    data = Path(path).read_bytes() if Path(path).is_file() else None  # the file is read once
    raw = read_checkpoint(path, data)
    module = SfxModule.load_from_checkpoint(io.BytesIO(data), map_location="cpu", weights_only=True, strict=True)
    return Checkpoint(module.eval(), Path(path).resolve(), dict(raw.get("datamodule_hyper_parameters") or {}),
                      dict(raw.get("callbacks") or {}), int(raw.get("epoch", 0)), dict(raw.get("sfxrep") or {}))


def _part(config: object):
    """An encoder or frontend from its hyper-parameter (``{class_path, init_args}``), or ``None`` where it is
    something :data:`_PARTS` does not name (then only the whole module rebuilds it)."""
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.frontend import LogMel

    if not isinstance(config, dict) or config.get("class_path") not in _PARTS:
        return None
    cls = {"sfxrep.models.cnn9.CNN9": CNN9, "sfxrep.models.frontend.LogMel": LogMel}[config["class_path"]]
    return cls(**(config.get("init_args") or {}))


def load_net(path: str | Path) -> SfxNet:
    """The network of an sfxrep checkpoint for inference (eval mode, CPU), without importing Lightning.

    The encoder and frontend are rebuilt from their hyper-parameters and the weights loaded strictly; a checkpoint
    whose parts are other classes comes back as the whole module (:func:`load_checkpoint`), which is an SfxNet too.

    Raises:
        FileNotFoundError, ValueError: see :func:`read_checkpoint`.
    """
    from sfxrep.models.frontend import LogMel

    raw = read_checkpoint(path)
    hparams = raw["hyper_parameters"]
    encoder = _part(hparams.get("encoder"))
    frontend = _part(hparams["frontend"]) if hparams.get("frontend") is not None else LogMel()
    if encoder is None or frontend is None:
        return load_checkpoint(path).module
    net = SfxNet(encoder, frontend, {k: int(v) for k, v in hparams["num_classes"].items()},
                 hparams.get("channels_last", False))  # "auto" resolved as the module resolves it
    state = {k: v for k, v in raw["state_dict"].items() if k.startswith(("encoder.", "heads.", "frontend."))}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: its weights do not fit the network its hyper-parameters describe "
                         f"({str(err).splitlines()[0]})") from err
    return net.eval()

