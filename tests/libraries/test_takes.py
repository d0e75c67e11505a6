"""Groups of takes: the rule, and on the real libraries no group straddles the splits."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from sfxrep.audio.cache import WaveCache
from sfxrep.libraries.prepare import prepare
from sfxrep.libraries.spec import load_libraries
from sfxrep.libraries.takes import group_files, take_series
from tests.helpers import REPO, shared_libraries


@pytest.mark.parametrize(("name", "series"), [
    ("Sheep Baa 02", "sheep baa"), ("dwarf-hit-3", "dwarf-hit"), ("000_Tom Clap", "tom clap"),
    ("sfx_movement_stairs2a", "sfx_movement_stairs"), ("click_003", "click"), ("take (2)", "take"),
    ("1-100032-A-0", "1-100032"),  # ESC-50: the clip keeps its Freesound id, loses take letter and class
    ("13", "13"), ("bow-miss", "bow-miss"), ("hh3ride", "hh3ride"), ("019_AMENCUT_020", "amencut"),
])
def test_take_series_strips_one_take_mark(name, series):
    assert take_series(name) == series


def test_explicit_sources_win_series_group_within_a_directory_and_a_whole_class_series_is_per_file():
    keys = ["a/hit 1.wav", "a/hit 2.wav", "b/hit 1.wav", "a/boom 1.wav", "a/boom 2.wav", "c/x.wav", "c/y.wav",
            "k/click_001.wav", "k/click_002.wav"]
    labels = ["hit", "hit", "hit", "boom", "boom2", "src", "src", "click", "click"]
    sources = [(), (), (), (), (), ("fs:1",), ("fs:1",), (), ()]
    names = [k.rpartition("/")[2].rpartition(".")[0] for k in keys]
    grouping = group_files(keys, labels, sources, names)
    g = grouping.groups
    assert g[0] == g[1] != g[2]  # same series, same directory: one group; another directory: another
    assert g[3] == g[4]  # a series spanning two classes stays one group
    assert g[5] == g[6] == "fs:1"  # the explicit source
    assert g[7] != g[8] and grouping.series_per_file == ["click"]  # the series is the class: one group per file
    assert grouping.count == 6


def test_grouping_does_not_depend_on_file_order():
    keys = [f"d/take {i}.wav" for i in range(5)] + ["d/other.wav"]
    labels = ["a"] * 5 + ["b"]
    names = [k[2:-4] for k in keys]
    forward = group_files(keys, labels, [()] * 6, names).groups
    backward = group_files(keys[::-1], labels[::-1], [()] * 6, names[::-1]).groups[::-1]
    assert forward == backward


@pytest.mark.slow
def test_on_the_real_libraries_no_group_straddles_the_splits(tmp_path):
    if not (REPO.parent / "shared" / "data").is_dir():
        pytest.skip("../shared/data is absent (the real libraries live beside the repository)")
    yaml_path = shared_libraries(tmp_path, "ucs_sfx", "kenney_ui", "cdda_ccsounds", "retro512_junkala")
    prepared = prepare(load_libraries(yaml_path), tmp_path / "work", WaveCache(tmp_path / "cache"), workers=2, log=None)
    splits_of = defaultdict(set)
    for row in prepared.rows:
        assert row.source, row.path
        splits_of[(row.library, row.source)].add(row.split)
    straddling = [key for key, splits in splits_of.items() if len(splits) > 1]
    assert straddling == []
    report = {r["name"]: r for r in json.loads((prepared.folder / "report.json").read_text())["libraries"]}
    # the leak the review measured: ucs_sfx's "Sheep Baa 01/02" are one group now
    sheep = {r.source for r in prepared.rows if "Sheep Baa" in r.path}
    assert len(sheep) == 1
    assert report["ucs_sfx"]["groups"] < report["ucs_sfx"]["in_manifest"]
    assert report["kenney_ui"]["groups"] == report["kenney_ui"]["in_manifest"]  # every class is one series
    assert "click" in report["kenney_ui"]["series_per_file"]
    assert report["cdda_ccsounds"]["groups"] < 200  # 352 clips, most cut from 143 recordings (linked transitively)
