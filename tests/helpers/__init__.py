"""The helpers every test package shares: tiny synthetic audio and libraries, tiny runs, and the real libraries of
../shared when present (skipped with a reason where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SFXREP_SHARED", REPO.parent / "shared")) / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"real libraries not found at {SHARED}")


def _aisfx_missing() -> str | None:
    from sfxrep.models.pretrained import aisfx_checkpoint

    try:
        aisfx_checkpoint()
    except FileNotFoundError as err:  # make install adds it; a bare pip install -e .[dev] does not
        return str(err)
    return None


def shared_libraries(folder: Path, *names: str) -> Path:
    """A libraries YAML in ``folder`` with the named libraries of ``experiments/libraries/shared.yaml`` (paths made
    absolute): a test prepares only the libraries it needs."""
    source = REPO / "experiments" / "libraries" / "shared.yaml"
    spec = yaml.safe_load(source.read_text())
    chosen = [dict(entry) for entry in spec["libraries"] if entry["name"] in names]
    assert [e["name"] for e in chosen] == [n for n in [e["name"] for e in spec["libraries"]] if n in names], names
    for entry in chosen:
        for key in ("root", "csv", "ucs_list"):
            if key in entry:
                entry[key] = str((source.parent / entry[key]).resolve())
    path = Path(folder) / f"shared-{'-'.join(names)}.yaml"
    path.write_text(yaml.safe_dump({**spec, "libraries": chosen}))
    return path


AISFX_MISSING = _aisfx_missing()
needs_aisfx = pytest.mark.skipif(AISFX_MISSING is not None, reason=AISFX_MISSING or "")

torch.set_num_threads(2)


def tone(path: Path, freq: float = 440.0, seconds: float = 0.5, sr: int = 44_100, channels: int = 1,
         amplitude: float = 0.5, **write_kwargs) -> Path:
    """Write a sine tone (optionally multi-channel) and return its path."""
    t = np.arange(int(sr * seconds)) / sr
    x = amplitude * np.sin(2 * np.pi * freq * t)
    data = np.stack([x * (1 - 0.25 * c) for c in range(channels)], axis=1) if channels > 1 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data.astype(np.float32), sr, **write_kwargs)
    return path


def class_sound(rng: np.random.Generator, cls: int, seconds: float, sr: int = 22_050) -> np.ndarray:
    """A noisy harmonic tone whose pitch and brightness identify class ``cls`` (easy to separate)."""
    t = np.arange(int(sr * seconds)) / sr
    f0 = 110.0 * 2 ** (cls / 3)
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k ** (1 + cls % 3) for k in range(1, 5))
    return (0.5 * x / np.abs(x).max() + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def write_folder_library(root: Path, classes: int, per_class: int, seed: int = 0, seconds=(0.3, 1.5)) -> Path:
    """``root/cK/fileN.wav`` with ``classes`` × ``per_class`` short files."""
    rng = np.random.default_rng(seed)
    for c in range(classes):
        for i in range(per_class):
            path = root / f"c{c:02d}" / f"f{i:02d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, class_sound(rng, c, rng.uniform(*seconds)), 22_050)
    return root


def write_prefix_library(root: Path, classes: int, per_class: int, seed: int = 1) -> Path:
    """``root/<name>_NNN.wav`` (label in the file name)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for c in range(classes):
        for i in range(per_class):
            sf.write(root / f"kind{c}_{i:03d}.wav", class_sound(rng, c + 5, rng.uniform(0.2, 1.0)), 22_050)
    return root


def write_tiny_libraries(root: Path, per_class_a: int = 6, per_class_b: int = 8,
                         lib_b_split: dict | None = None) -> Path:
    """Two tiny synthetic libraries in ``root`` — lib_a: 18 folder classes, lib_b: 3 file-name classes — and
    the libraries YAML listing them (returned)."""
    write_folder_library(root / "lib_a", classes=18, per_class=per_class_a)
    write_prefix_library(root / "lib_b", classes=3, per_class=per_class_b)
    lib_b = {"name": "lib_b", "kind": "regex", "root": "lib_b", **({"split": lib_b_split} if lib_b_split else {})}
    spec = {"split": {"seed": 0, "min_per_class": 2},
            "libraries": [{"name": "lib_a", "kind": "folder", "root": "lib_a"}, lib_b]}
    path = root / "libraries.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def tiny_overrides(libraries: Path, tmp_path: Path) -> list[str]:
    """LightningCLI arguments that make any config a tiny, fast run (width 4, 1 epoch, 2 batches a library)."""
    return [
        "--data.libraries", str(libraries),
        "--data.work_dir", str(tmp_path / "prepared"),
        "--data.cache_dir", str(tmp_path / "cache"),
        "--data.batches_per_epoch", "2",
        "--data.eval_batch_size", "32",
        "--data.prepare_workers", "1",
        "--model.encoder.init_args.width", "4",
        "--trainer.max_epochs", "1",
        "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
    ]


def tiny_fit_args(libraries: Path, tmp_path: Path, *extra: str) -> list[str]:
    """``tiny_overrides`` over ``experiments/base.yaml``, logging and checkpointing into ``tmp_path``."""
    return ["--config", str(REPO / "experiments" / "base.yaml"), *tiny_overrides(libraries, tmp_path),
            "--trainer.logger.init_args.save_dir", str(tmp_path / "runs"),
            "--checkpoint.dirpath", str(tmp_path / "ckpt"), *extra]
