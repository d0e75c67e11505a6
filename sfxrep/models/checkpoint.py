"""Checkpoints written by ``sfxrep fit`` / ``train``: read once, safely, into a model and its run's settings.

A checkpoint is loaded with ``torch.load(weights_only=True)`` (tensors and plain containers only, no code runs)
and the module is rebuilt from its hyper-parameters, which hold ``num_classes`` and the parts' configs. Anything
else — a file that is not a checkpoint, a bare ``state_dict``, the authors' ``(state_dict, ds_dict)`` tuple, a
Lightning checkpoint of another model — is a :class:`ValueError` that says what the file is.

This module imports no data or training code: it is what :mod:`sfxrep.api` loads models with.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from sfxrep.models.module import SfxModule


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
    return raw


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Rebuild the model of an sfxrep checkpoint (eval mode, CPU) with the run's data and callback settings.

    Raises:
        FileNotFoundError, ValueError: see :func:`read_checkpoint`.
    """
    data = Path(path).read_bytes() if Path(path).is_file() else None  # the file is read once
    raw = read_checkpoint(path, data)
    module = SfxModule.load_from_checkpoint(io.BytesIO(data), map_location="cpu", weights_only=True, strict=True)
    return Checkpoint(module.eval(), Path(path).resolve(), dict(raw.get("datamodule_hyper_parameters") or {}),
                      dict(raw.get("callbacks") or {}), int(raw.get("epoch", 0)), dict(raw.get("sfxrep") or {}))
