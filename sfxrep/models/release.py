"""Released models shipped inside the package (``sfxrep/models/weights/<name>.pt``), loaded by name.

A release file is small and needs no training code: the encoder width and BatchNorm mode, the heads' classes,
the frontend's settings, the training data's libraries, and the weights stored in half precision
(``torch.save``, read with ``weights_only=True``). :func:`export_release` writes one from a training
checkpoint and checks that its embeddings match the checkpoint's (cosine ≥ :data:`PARITY_MIN` on real files, or
it refuses); ``MODEL_CARD.md`` records each release's SHA-256. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from sfxrep.models.cnn9 import CNN9
from sfxrep.models.frontend import LogMel
from sfxrep.models.net import SfxNet

WEIGHTS = Path(__file__).resolve().parent / "weights"
FORMAT = 1
PARITY_MIN = 0.999  # cosine of a half-precision release's embeddings to the full-precision checkpoint's


def shipped() -> list[str]:
    """The names of the releases in this installation."""
    return sorted(p.stem for p in WEIGHTS.glob("*.pt"))


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _frontend_settings(frontend: LogMel) -> dict:
    return {"n_fft": frontend.n_fft, "hop_length": frontend.hop_length, "n_mels": int(frontend.mel_basis.shape[0]),
            "log_multiplier": frontend.log_multiplier, "value_range": list(frontend.value_range)}


def release_record(module: SfxNet, dtype: torch.dtype = torch.float16, **info) -> dict:
    """What a release file holds for ``module`` (weights in ``dtype``; buffers of other kinds unchanged)."""
    state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in module.state_dict().items()
             if not k.startswith("frontend.")}
    return {"format": FORMAT, "width": module.encoder.width, "bn": module.encoder.bn,
            "num_classes": {k: int(v) for k, v in module.num_classes.items()},
            "frontend": _frontend_settings(module.frontend), "dtype": str(dtype).removeprefix("torch."),
            "state_dict": state, **info}


def load_release(name_or_path: str | Path) -> SfxNet:
    """A shipped release by name (``sfxrep-v1``) or a release file, as an SfxNet in fp32, eval mode.

    Raises:
        FileNotFoundError: no such release in this installation.
        ValueError: not a release file.
    """
    path = Path(name_or_path) if Path(name_or_path).suffix == ".pt" else WEIGHTS / f"{name_or_path}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{name_or_path}: no such release here (shipped: {shipped() or 'none'})")
    record = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{path}: not an sfxrep release file")
    module = SfxNet(CNN9(record["width"], bn=record["bn"]), LogMel(**record["frontend"]), record["num_classes"])
    missing = set(module.state_dict()) - set(record["state_dict"]) - {k for k in module.state_dict()
                                                                      if k.startswith("frontend.")}
    if missing:
        raise ValueError(f"{path}: the release lacks {sorted(missing)[:3]}")
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in record["state_dict"].items()},
                           strict=False)
    return module.eval()


def embedding_parity(reference: SfxNet, release: SfxNet, waves: torch.Tensor) -> float:
    """The smallest cosine between the two models' embeddings of ``(B, S)`` real-audio blocks."""
    with torch.no_grad():
        a, b = reference.eval().embed(waves), release.eval().embed(waves)
    return float(torch.nn.functional.cosine_similarity(a, b, dim=1).min())


def first_blocks(paths: list[str | Path]) -> torch.Tensor:
    """``(N, S)``: the first input block (zero-padded) of each file, at 44.1 kHz."""
    from sfxrep.audio.blocks import block_samples
    from sfxrep.audio.decode import decode

    samples = block_samples(100)
    blocks = [torch.from_numpy(decode(p).samples[:samples]).float() for p in paths]
    return torch.stack([torch.nn.functional.pad(b, (0, samples - len(b))) for b in blocks])


def probe_record(module: SfxNet, paths: list[str | Path]) -> dict:
    """The full-precision embeddings of the first block of each of ``paths`` (real files), with the paths relative
    to their common folder: a release carries them so that anyone with the same files can check its parity."""
    import os

    root = os.path.commonpath([str(Path(p).resolve().parent) for p in paths])
    with torch.no_grad():
        embeddings = module.eval().embed(first_blocks(paths)).float()
    return {"files": [os.path.relpath(Path(p).resolve(), root) for p in paths], "embeddings": embeddings}


def probe_parity(release: SfxNet, probe: dict, root: str | Path) -> float:
    """The smallest cosine between ``release``'s embeddings of the probe files under ``root`` and the recorded
    full-precision ones."""
    with torch.no_grad():
        now = release.eval().embed(first_blocks([Path(root) / f for f in probe["files"]]))
    return float(torch.nn.functional.cosine_similarity(now, probe["embeddings"], dim=1).min())


def export_release(module: SfxNet, out: str | Path, waves: torch.Tensor, dtype: torch.dtype = torch.float16,
                   **info) -> tuple[Path, float]:
    """Write ``module`` as a release file in ``dtype`` if its embeddings of ``waves`` (real audio blocks) keep
    cosine ≥ :data:`PARITY_MIN` with the full-precision ones; returns the file and the parity.

    Raises:
        ValueError: the parity is below :data:`PARITY_MIN` (the file is not written).
    """
    from sfxrep.fileio import atomic_write

    out = Path(out)
    record = release_record(module, dtype, **info)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out.with_suffix(".tmp.pt"), lambda f: torch.save(record, f))
    parity = embedding_parity(module, load_release(out.with_suffix(".tmp.pt")), waves)
    if parity < PARITY_MIN:
        out.with_suffix(".tmp.pt").unlink()
        raise ValueError(f"{dtype} weights change the embeddings (cosine {parity:.5f} < {PARITY_MIN}): not written")
    out.with_suffix(".tmp.pt").replace(out)
    return out, parity
