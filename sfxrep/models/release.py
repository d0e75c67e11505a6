"""Released models shipped inside the package (``sfxrep/models/weights/<name>.pt``), loaded by name.

A release file is small and needs no training code: the encoder width and BatchNorm mode, the heads' classes,
the frontend's settings, the training data's libraries, and the weights stored in half precision
(``torch.save``, read with ``weights_only=True``). :func:`export_release` writes one from a training
checkpoint and checks that its embeddings match the checkpoint's (cosine ≥ :data:`PARITY_MIN` on real files, or
it refuses); ``MODEL_CARD.md`` records each release's SHA-256. Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import torch

from sfxrep.models.cnn9 import CNN9
from sfxrep.models.fingerprint import state_sha256
from sfxrep.models.frontend import LogMel
from sfxrep.models.net import SfxNet

WEIGHTS = Path(__file__).resolve().parent / "weights"
FORMAT = 1
PARITY_MIN = 0.999  # cosine of a half-precision release's embeddings to the full-precision checkpoint's
# the SHA-256 of each shipped release file as published (MODEL_CARD.md); a file written since carries the hash of its
# weights inside it (``weights_sha256``), checked on every load
SHIPPED_SHA256 = {"sfxrep-v1": "111c5db384e8e0c5a894b4a36eca5121d59c31259493fabfb032c2681225ce8d"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_release_name(name: str, reserved: Iterable[str] = ()) -> str:
    """``name`` if it can name a release: letters, digits, ``.``, ``_``, ``-``, starting with a letter or digit (so
    no path separators, no ``..``), and not one of the ``reserved`` built-in models' names (it would be listed but
    never load).

    Raises:
        ValueError: why it cannot.
    """
    reserved = list(reserved)
    if not _NAME.match(name or "") or ".." in name:
        raise ValueError(f"--name {name!r}: a release name is letters, digits, '.', '_' and '-', starting with a "
                         "letter or digit (it becomes <name>.pt in --out)")
    if name in reserved:
        raise ValueError(f"--name {name!r}: that is a built-in model's name ({', '.join(reserved)}); choose another")
    return name


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
            "state_dict": state, "weights_sha256": state_sha256(state), **info}


def load_release(name_or_path: str | Path) -> SfxNet:
    """A shipped release by name (``sfxrep-v1``) or a release file, as an SfxNet in fp32, eval mode.

    Every load verifies what the file claims: a shipped release its published SHA-256 (:data:`SHIPPED_SHA256`), a
    release written since the hash of its weights recorded inside it.

    Raises:
        FileNotFoundError: no such release in this installation.
        ValueError: not a release file, or its bytes are not those it was written with (damaged).
    """
    path = Path(name_or_path) if Path(name_or_path).suffix == ".pt" else WEIGHTS / f"{name_or_path}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{name_or_path}: no such release here (shipped: {shipped() or 'none'})")
    published = SHIPPED_SHA256.get(path.stem) if path.resolve().parent == WEIGHTS else None
    if published is not None and sha256(path) != published:
        raise ValueError(f"{path}: its SHA-256 is not the published {published[:12]}… (MODEL_CARD.md): the file is "
                         "damaged; reinstall sfxrep")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a truncated or foreign file: torch's own message, one line
        raise ValueError(f"{path}: not a readable release file ({' '.join(str(err).split())[:200]})") from err
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(f"{path}: not an sfxrep release file")
    recorded = record.get("weights_sha256")
    if recorded is not None and state_sha256(record["state_dict"]) != recorded:
        raise ValueError(f"{path}: its weights do not match the SHA-256 recorded in it ({recorded[:12]}…): the file "
                         "is damaged")
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
