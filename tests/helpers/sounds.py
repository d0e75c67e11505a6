"""Synthetic sounds whose classes any embedding tells apart, and a damaged library to audit."""

from __future__ import annotations

import shutil

import numpy as np
import soundfile as sf
import soxr
import yaml

from sfxrep.audit.duplicates import VERIFY_RATE


def distinct_sound(rng: np.random.Generator, cls: int, seconds: float, sr: int = 22_050) -> np.ndarray:
    """Class ``cls``: a tone two octaves above class ``cls - 1`` (±3 %), with noise: easy for any embedding."""
    t = np.arange(int(sr * seconds)) / sr
    x = np.sin(2 * np.pi * 150 * 4 ** cls * rng.uniform(0.97, 1.03) * t) + 0.05 * rng.standard_normal(t.size)
    return (0.8 * x / np.abs(x).max()).astype(np.float32)



def take(rng: np.random.Generator, cls: int, seconds: float, sr: int = VERIFY_RATE) -> np.ndarray:
    """One recording of a kind of sound: noise in the class's own octave band, struck and decaying (another
    take of the same class has the same band and envelope but its own fine structure)."""
    n = int(seconds * sr)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    centre = 150.0 * 2 ** cls
    spectrum[(freqs < centre / 1.5) | (freqs > centre * 1.5)] = 0
    x = np.fft.irfft(spectrum, n) * np.exp(-np.arange(n) / (sr * rng.uniform(0.2, 0.5)))
    return (0.8 * x / np.abs(x).max()).astype(np.float32)


def damaged_library(root):
    """A 4-class folder library with one file moved into the wrong class and one file copied three ways."""
    rng = np.random.default_rng(3)
    for c in range(4):
        (root / "lib" / f"c{c:02d}").mkdir(parents=True)
        for i in range(8):
            sf.write(root / "lib" / f"c{c:02d}" / f"f{i:02d}.wav", take(rng, c, rng.uniform(1.0, 1.6), 22_050), 22_050)
    shutil.move(root / "lib" / "c00" / "f03.wav", root / "lib" / "c02" / "f03_moved.wav")  # a c00 sound labelled c02
    samples, rate = sf.read(root / "lib" / "c01" / "f00.wav", dtype="float32")
    trim = int(0.15 * rate)
    sf.write(root / "lib" / "c01" / "f00 copy.flac", soxr.resample(samples[trim:] * 0.5, rate, 16_000), 16_000)
    sf.write(root / "lib" / "c01" / "f00 again.ogg", samples, rate, format="OGG", subtype="VORBIS")
    spec = root / "libs.yaml"
    spec.write_text(yaml.safe_dump({"split": {"seed": 0, "min_per_class": 2},
                                    "libraries": [{"name": "lib", "kind": "folder", "root": "lib"}]}))
    return spec


def write_decisions(path, rows, bom=False):
    import csv

    from sfxrep.audit.page import DECISION_COLUMNS

    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(DECISION_COLUMNS)
        for row in rows:
            writer.writerow([row.get(c, "") for c in DECISION_COLUMNS])
    return path

