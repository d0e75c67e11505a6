"""``sfxrep release``: a checkpoint (optionally weight-interpolated with its warm start) written as a half-precision
release shipped in the package, with its parity to the checkpoint measured on real test blocks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from sfxrep.data.datamodule import SfxDataModule
from sfxrep.models.checkpoint import Checkpoint, load_checkpoint
from sfxrep.models.module import SfxModule
from sfxrep.records import read_results


@dataclass(frozen=True)
class Release:
    """What :func:`release_checkpoint` wrote: the file, its name, size, parity and hash."""

    path: Path
    name: str
    blocks: int
    parity: float
    sha256: str


def checkpoint_of(source: str | Path) -> Path:
    """A ``.ckpt``, or the checkpoint the last row of a results file (``.jsonl``) evaluated.

    Raises:
        ValueError: a results file none of whose rows names a checkpoint.
    """
    source = Path(source)
    if source.suffix != ".jsonl":
        return source
    rows = [r for r in read_results(source) if r.checkpoint]
    if not rows:
        raise ValueError(f"{source}: no row names a checkpoint")
    return Path(rows[-1].checkpoint)


def release_checkpoint(source: str | Path, name: str, out: str | Path | None = None,
                       interpolate: str = "off") -> Release:
    """Write the checkpoint ``source`` (or a results file's last one) as the release ``name`` (float16) in ``out``
    (default: the package's ``models/weights/``), checked against the checkpoint on up to 256 of its libraries'
    test blocks; ``interpolate``: ``off``, ``auto`` or an α in [0, 1] (:func:`interpolated`).

    Raises:
        ValueError: a name that is taken or unsafe, or ``interpolate`` on a run without a warm start.
    """
    from sfxrep.inference.registry import NAMED
    from sfxrep.models.release import WEIGHTS, check_release_name, export_release, probe_record, sha256

    check_release_name(name, NAMED)
    ckpt = load_checkpoint(checkpoint_of(source))
    data = SfxDataModule(**{k: v for k, v in ckpt.data.items() if not k.startswith("_")}).ready()
    module, info = ckpt.module, {}
    if interpolate != "off":
        module, info = interpolated(ckpt, data, interpolate)
    blocks = [data.eval_dataset(library, "test") for library in data.spec.names]
    waves = torch.stack([dataset[i]["wave"] for dataset in blocks for i in range(0, len(dataset), 7)][:256])
    probe = [row.path for library in data.spec.names for row in data.rows(library, "test")[:2]]
    path, parity = export_release(module, Path(out or WEIGHTS) / f"{name}.pt", waves, checkpoint=str(ckpt.path),
                                  libraries=data.spec.names, probe=probe_record(module, probe), **info)
    return Release(path, name, len(waves), parity, sha256(path))


def warm_start_source(ckpt: Checkpoint, flag: str = "--interpolate",
                      remedy: str = "release with --interpolate off") -> SfxModule:
    """The model ``ckpt`` was fine-tuned from (its ``init``: aiSFX or a checkpoint), checked against the encoder
    SHA-256 the run recorded of it; ``flag`` and ``remedy`` name the caller in the errors.

    Raises:
        ValueError: ``ckpt`` has no warm start, or the file at its warm-start path is another model.
    """
    from sfxrep.inference.registry import load_trainable
    from sfxrep.models.fingerprint import weights_sha256

    if not ckpt.init:
        raise ValueError(f"{ckpt.path}: {flag} needs a fine-tuned checkpoint (this run has no warm start)")
    start = load_trainable(ckpt.init)
    if ckpt.init_sha256 is not None and weights_sha256(start.encoder) != ckpt.init_sha256:
        raise ValueError(f"{flag}: {ckpt.init} is not the model {ckpt.path.name} was fine-tuned from (its "
                         f"encoder's SHA-256 is not the recorded {ckpt.init_sha256[:12]}…); restore that file, or "
                         f"{remedy}")
    return start


def interpolated(ckpt: Checkpoint, data: SfxDataModule, how: str) -> tuple[SfxModule, dict]:
    """The weight-space ensemble of ``ckpt`` and its warm-start source (``how``: ``auto`` or an α), and its record
    for the release file (``interpolation``: start, alpha, the validation scores of every α tried).

    Raises:
        ValueError: ``ckpt`` has no warm start, or the file at its warm-start path is another model.
    """
    from sfxrep.evaluate.wise import choose_alpha
    from sfxrep.models.interpolate import interpolate

    start = warm_start_source(ckpt)
    record = {"start": ckpt.init}
    if how == "auto":
        choice = choose_alpha(start, ckpt.module, data)
        alpha = choice.alpha
        record["validation_frame_macro_f1"] = {f"{a:g}": round(v, 6) for a, v in choice.mean.items()}
        print(f"alpha {alpha:g} chosen on the validation splits")
    else:
        alpha = float(how)
    return interpolate(start, ckpt.module, alpha), {"interpolation": {**record, "alpha": alpha}}
