"""The built-in demo libraries: three taxonomies, deterministic from the seed, written once."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np

from sfxrep.audio.decode import load_audio
from sfxrep.demo.generate import TAXONOMIES, generate_library
from sfxrep.libraries.demo import DemoLibrary


def audio_digest(root) -> str:
    h = hashlib.sha1()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".wav", ".flac", ".ogg")):
        h.update(path.name.encode())
        h.update(np.round(load_audio(path), 3).tobytes())
    return h.hexdigest()


def test_three_flavours_have_their_own_taxonomies(tmp_path):
    counts = {}
    for flavour in ("ucs", "folder", "prefix"):
        scan = DemoLibrary(f"d_{flavour}", tmp_path / flavour, flavour, files_per_class=3).scan()
        counts[flavour] = Counter(c.label for c in scan.candidates)
    assert set(counts["ucs"]) == {"METAL", "ALARMS", "LASERS", "VEHICLES", "WIND", "RAIN", "SWOOSHES", "WATER",
                                  "EXPLOSIONS", "USER INTERFACE"}
    assert counts["ucs"]["METAL"] == 6  # two CatIDs (METLImpt, METLTonl) × 3
    assert set(counts["folder"]) == set(TAXONOMIES["folder"]) and set(counts["prefix"]) == set(TAXONOMIES["prefix"])
    assert len({frozenset(c) for c in counts.values()}) == 3


def test_same_seed_same_audio_and_no_rewrite(tmp_path):
    assert generate_library(tmp_path / "a", "prefix", seed=5, files_per_class=2) == 12
    assert generate_library(tmp_path / "a", "prefix", seed=5, files_per_class=2) == 0  # already complete
    generate_library(tmp_path / "b", "prefix", seed=5, files_per_class=2)
    generate_library(tmp_path / "c", "prefix", seed=6, files_per_class=2)
    assert audio_digest(tmp_path / "a") == audio_digest(tmp_path / "b") != audio_digest(tmp_path / "c")


def test_folder_flavour_carries_one_truncated_file(tmp_path):
    generate_library(tmp_path, "folder", files_per_class=2)
    assert (tmp_path / "engine" / "engine_truncated.wav").is_file()
