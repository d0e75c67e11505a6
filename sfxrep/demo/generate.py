"""The built-in demo: three small synthetic libraries with three different taxonomies.

* ``ucs`` — UCS file names (``METLImpt_Metal Impact 03_SFXR_Demo.wav``), 14 CatIDs in 10 Categories;
* ``folder`` — one folder per fine class (12 classes), plus one truncated file to show the skip report;
* ``prefix`` — class in the file-name prefix (``alert_007.wav``), 6 coarse classes that each mix several
  sound families (the hardest taxonomy of the three).

The libraries share sound families but not labels, as real vendors' libraries do. Files vary in sample
rate (22.05–48 kHz), channels and format (16/8-bit WAV, FLAC, OGG). Everything is a function of the seed.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf

from sfxrep.demo.sounds import FAMILIES

Flavour = Literal["ucs", "folder", "prefix"]
DEMO_VERSION = 1

# class → sound families it draws from (and, for UCS, the FXName used in file names)
TAXONOMIES: dict[str, dict[str, tuple[str, ...]]] = {
    "ucs": {
        "METLImpt": ("metal_hit",), "METLTonl": ("bell",), "ALRMSirn": ("siren",), "ALRMBuzr": ("hum",),
        "LASRGun": ("laser",), "VEHCar": ("engine",), "WINDGust": ("wind",), "RAIN": ("rain",),
        "WHSH": ("whoosh",), "SWSH": ("sweep_down",), "WATRBubl": ("bubbles",), "EXPLReal": ("explosion",),
        "UIClick": ("click_train",), "UIBeep": ("beep",),
    },
    "folder": {
        "kick": ("thud",), "metal_hit": ("metal_hit",), "bell": ("bell",), "sweep_up": ("sweep_up",),
        "sweep_down": ("sweep_down",), "laser": ("laser",), "siren": ("siren",), "engine": ("engine",),
        "wind": ("wind",), "footsteps": ("footsteps",), "hum": ("hum",), "zap": ("zap",),
    },
    "prefix": {
        "alert": ("beep", "siren", "bell"), "hit": ("thud", "metal_hit", "explosion"),
        "motion": ("whoosh", "sweep_up", "sweep_down"), "ambience": ("wind", "rain"),
        "machine": ("engine", "hum"), "ui": ("click_train", "glitch", "zap"),
    },
}
FILES_PER_CLASS: dict[str, int] = {"ucs": 12, "folder": 16, "prefix": 20}
_FLAVOUR_SEED = {"ucs": 11, "folder": 22, "prefix": 33}
_RATES = (22_050, 32_000, 44_100, 48_000)


def ucs_demo_list() -> Path:
    """The UCS list rows (public domain, UCS v8.2.1) for the CatIDs the demo uses."""
    return Path(str(resources.files("sfxrep.demo") / "ucs_demo_list.csv"))


def _render(rng: np.random.Generator, families: tuple[str, ...]) -> tuple[np.ndarray, int]:
    sr = int(rng.choice(_RATES))
    x = FAMILIES[families[int(rng.integers(len(families)))]](rng, sr)
    x = x / (np.abs(x).max() + 1e-9) * 10 ** (rng.uniform(-20, -1) / 20)
    x = x + 10 ** (-55 / 20) * rng.standard_normal(x.size)
    if rng.random() < 0.25:  # stereo with a slightly different right channel
        x = np.stack([x, np.roll(x, int(rng.integers(1, 30))) * rng.uniform(0.6, 1.0)], axis=1)
    return np.clip(x, -1, 1).astype(np.float32), sr


def _write(path: Path, x: np.ndarray, sr: int, rng: np.random.Generator) -> Path:
    kind = rng.random()
    if kind < 0.08:
        path = path.with_suffix(".flac")
        sf.write(path, x, sr, format="FLAC")
    elif kind < 0.15:
        path = path.with_suffix(".ogg")
        sf.write(path, x, sr, format="OGG")
    else:
        sf.write(path, x, sr, subtype="PCM_U8" if kind < 0.20 else "PCM_16")
    return path


def _file_path(root: Path, flavour: Flavour, label: str, index: int) -> Path:
    if flavour == "ucs":
        return root / f"{label}_{label} Demo {index:02d}_SFXR_Demo.wav"
    if flavour == "folder":
        return root / label / f"{label}{index:02d}.wav"
    return root / f"{label}_{index:03d}.wav"


def generate_library(root: str | Path, flavour: Flavour, seed: int = 0, files_per_class: int | None = None) -> int:
    """Synthesise one demo library into ``root`` unless it is already there with the same settings.

    Args:
        root: output folder.
        flavour: which taxonomy (``ucs``, ``folder``, ``prefix``).
        seed: master seed; the same seed writes the same audio.
        files_per_class: files per class (defaults: ucs 12 per CatID, folder 16, prefix 20).

    Returns:
        the number of files written (0 when the library was already complete).
    """
    root = Path(root)
    n = files_per_class or FILES_PER_CLASS[flavour]
    stamp = {"version": DEMO_VERSION, "flavour": flavour, "seed": seed, "files_per_class": n}
    marker = root / ".sfxrep-demo.json"
    if marker.is_file() and json.loads(marker.read_text()) == stamp:
        return 0
    written = 0
    for c, (label, families) in enumerate(TAXONOMIES[flavour].items()):
        for i in range(n):
            rng = np.random.default_rng([seed, _FLAVOUR_SEED[flavour], c, i])
            path = _file_path(root, flavour, label, i + 1)
            path.parent.mkdir(parents=True, exist_ok=True)
            x, sr = _render(rng, families)
            _write(path, x, sr, rng)
            written += 1
    if flavour == "folder":  # a real library always has one: a file cut short by a failed copy
        good = min((root / "engine").glob("engine[0-9]*.wav")).read_bytes()
        (root / "engine" / "engine_truncated.wav").write_bytes(good[: len(good) // 3])
    marker.write_text(json.dumps(stamp))
    return written
