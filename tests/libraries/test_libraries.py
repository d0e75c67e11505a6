"""Library adapters, the libraries YAML, the seeded split and the prepare report."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
import yaml

from sfxrep.audio.cache import WaveCache
from sfxrep.libraries.csvlist import CsvLibrary
from sfxrep.libraries.esc50 import Esc50Library
from sfxrep.libraries.folder import FolderLibrary
from sfxrep.libraries.prepare import prepare
from sfxrep.libraries.regex import RegexLibrary
from sfxrep.libraries.spec import load_libraries
from sfxrep.libraries.split import SplitConfig, assign_splits, split_sizes
from sfxrep.libraries.ucs import UcsLibrary, UnknownCatIDError, parse_catid
from tests.helpers import tone

UCS_ROWS = [("METAL", "IMPACT", "METLImpt"), ("METAL", "TONAL", "METLTonl"), ("GUNS", "AUTOMATIC", "GUNAuto"),
            ("WIND", "GENERAL", "WIND"), ("AMBIENCE", "FOREST", "AMBForst")]


@pytest.fixture
def ucs_list(tmp_path):
    path = tmp_path / "ucs.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Category", "SubCategory", "CatID", "CatShort", "Explanations"])
        w.writerows([(c, s, i, i[:4], "") for c, s, i in UCS_ROWS])
    return path


def test_folder_library_labels_by_first_folder_and_reports_the_rest(tmp_path):
    tone(tmp_path / "kick" / "a.wav")
    tone(tmp_path / "kick" / "deeper" / "b.flac", format="FLAC")
    tone(tmp_path / "snare" / "c.wav")
    tone(tmp_path / "stray.wav")
    (tmp_path / "kick" / "notes.txt").write_text("x")
    scan = FolderLibrary("drums", tmp_path).scan()
    assert sorted((c.path.name, c.label) for c in scan.candidates) == [("a.wav", "kick"), ("b.flac", "kick"),
                                                                         ("c.wav", "snare")]
    assert [s.reason for s in scan.skipped] == ["not inside a class folder"]
    assert scan.ignored == {".txt": 1}


def test_regex_library_takes_label_from_file_name(tmp_path):
    for name in ("click_003.wav", "click_004.wav", "switch_a_001.wav", "nonumber.wav"):
        tone(tmp_path / name)
    scan = RegexLibrary("ui", tmp_path).scan()
    assert Counter(c.label for c in scan.candidates) == {"click": 2, "switch_a": 1}
    assert len(scan.skipped) == 1 and "nonumber.wav" in scan.skipped[0].path
    with pytest.raises(ValueError, match="named group 'label'"):
        RegexLibrary("ui", tmp_path, pattern=r"^(.+)_\d+$")


def test_csv_library_reads_rows_and_reports_missing_files(tmp_path):
    tone(tmp_path / "audio" / "x.wav")
    tone(tmp_path / "audio" / "y.wav")
    (tmp_path / "list.csv").write_text("path,label,group\naudio/x.wav,door,door_wood\naudio/y.wav,door,\n"
                                       "audio/gone.wav,door,\n,empty,\n")
    scan = CsvLibrary("c", tmp_path / "list.csv").scan()
    assert [(c.label, c.group) for c in scan.candidates] == [("door", "door_wood"), ("door", None)]
    reasons = sorted(s.reason for s in scan.skipped)
    assert reasons[0] == "empty path or label" and "missing" in reasons[1]
    (tmp_path / "bad.csv").write_text("file,class\n")
    with pytest.raises(ValueError, match="missing column"):
        CsvLibrary("c", tmp_path / "bad.csv").scan()


def test_parse_catid():
    assert parse_catid("DOORMetl-Gate_Iron Gate Slam 01_TC_Src") == "DOORMetl"
    assert parse_catid("WIND_Howl_AB_Src") == "WIND"
    assert parse_catid("nounderscore") is None


def test_ucs_library_maps_catid_to_category_through_the_list(tmp_path, ucs_list):
    root = tmp_path / "ucs"
    for name in ("METLImpt_Pan Hit 01_AB_Src.wav", "METLTonl-Bowl_Singing Bowl_AB_Src.wav",
                 "GUNAuto_Burst_AB_Src.wav", "WIND_Howl_AB_Src.wav", "ambforst_Birds_AB_Src.wav",
                 "Random name.wav"):
        tone(root / name)
    scan = UcsLibrary("u", root, ucs_list).scan()
    got = {c.path.name.split("_")[0]: (c.label, c.group) for c in scan.candidates}
    assert got == {"METLImpt": ("METAL", "METLImpt"), "METLTonl-Bowl": ("METAL", "METLTonl"),
                   "GUNAuto": ("GUNS", "GUNAuto"), "WIND": ("WIND", "WIND"), "ambforst": ("AMBIENCE", "AMBForst")}
    assert [s.reason for s in scan.skipped] == ["not a UCS file name (CatID_FXName_CreatorID_SourceID)"]
    by_catid = UcsLibrary("u", root, ucs_list, level="catid").scan()
    assert {c.label for c in by_catid.candidates} == {"METLImpt", "METLTonl", "GUNAuto", "WIND", "AMBForst"}


def test_ucs_unknown_catids_are_all_listed_in_the_error_or_skipped(tmp_path, ucs_list):
    root = tmp_path / "ucs"
    for name in ("METLImpt_A_AB_S.wav", "FOOBar_B_AB_S.wav", "FOOBar_C_AB_S.wav", "ZAPZap_D_AB_S.wav"):
        tone(root / name)
    with pytest.raises(UnknownCatIDError) as info:
        UcsLibrary("u", root, ucs_list).scan()
    assert "FOOBar (2 files" in str(info.value) and "ZAPZap (1 files" in str(info.value)
    scan = UcsLibrary("u", root, ucs_list, on_unknown="skip").scan()
    assert len(scan.candidates) == 1 and len(scan.skipped) == 3


def test_esc50_folds_decide_the_split(tmp_path):
    (tmp_path / "meta").mkdir()
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for fold in range(1, 6):
        for k in range(2):
            name = f"{fold}-{k}-A-0.wav"
            tone(tmp_path / "audio" / name)
            rows.append(f"{name},{fold},0,dog,True,{k},A")
    (tmp_path / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    scan = Esc50Library("esc", tmp_path, test_fold=2, val_fold=3).scan()
    assert Counter(c.split for c in scan.candidates) == {"train": 6, "val": 2, "test": 2}
    assert {c.group for c in scan.candidates if c.split == "test"} == {"fold2"}
    with pytest.raises(ValueError):
        Esc50Library("esc", tmp_path, test_fold=2, val_fold=2)


def test_split_sizes_follow_8_1_1_with_at_least_one_train_item():
    assert split_sizes(10, (0.8, 0.1, 0.1)) == (8, 1, 1)
    assert split_sizes(5, (0.8, 0.1, 0.1)) == (3, 1, 1)
    assert split_sizes(2, (0.8, 0.1, 0.1)) == (2, 0, 0)
    assert split_sizes(1, (0.0, 0.5, 0.5)) == (1, 0, 0)


def test_split_is_seeded_stable_and_stratified_by_group():
    keys = [f"f{i}.wav" for i in range(200)]
    labels = ["a" if i < 120 else "b" for i in range(200)]
    groups = [("a1" if i < 60 else "a2") if i < 120 else "b" for i in range(200)]
    cfg = SplitConfig(seed=3)
    first = assign_splits(keys, labels, groups, cfg).splits
    # the same files in another order get the same splits
    order = list(reversed(range(200)))
    second = assign_splits([keys[i] for i in order], [labels[i] for i in order], [groups[i] for i in order], cfg)
    assert {keys[i]: s for i, s in first.items()} == {keys[order[j]]: s for j, s in second.splits.items()}
    for group, n in (("a1", 60), ("a2", 60), ("b", 80)):
        counts = Counter(first[i] for i in range(200) if groups[i] == group)
        assert counts == {"train": n - 2 * round(n / 10), "val": round(n / 10), "test": round(n / 10)}
    other = assign_splits(keys, labels, groups, SplitConfig(seed=4)).splits
    assert other != first


def test_split_cap_and_minimum_per_class_are_reported():
    keys = [f"f{i}" for i in range(23)]
    labels = ["big"] * 20 + ["tiny"] * 3
    out = assign_splits(keys, labels, labels, SplitConfig(max_per_class=10, min_per_class=4))
    assert out.dropped_classes == {"tiny": 3} and out.capped == {"big": 10}
    assert len(out.splits) == 10 and all(labels[i] == "big" for i in out.splits)


def test_libraries_yaml_resolves_paths_and_rejects_bad_entries(tmp_path):
    (tmp_path / "conf").mkdir()
    spec_file = tmp_path / "conf" / "libs.yaml"
    spec_file.write_text(yaml.safe_dump({
        "split": {"seed": 1, "min_per_class": 2},
        "libraries": [{"name": "a", "kind": "folder", "root": "../data/a"},
                      {"name": "b", "kind": "regex", "root": "../data/b", "split": {"min_per_class": 5}}],
    }))
    spec = load_libraries(spec_file)
    assert spec.names == ["a", "b"]
    assert spec.libraries[0].library.root == (tmp_path / "data" / "a").resolve()
    assert spec.libraries[0].split.min_per_class == 2 and spec.libraries[1].split.min_per_class == 5
    assert spec.libraries[1].split.seed == 1
    for bad, message in (
        ({"libraries": [{"name": "a", "kind": "nope", "root": "."}]}, "kind must be one of"),
        ({"libraries": [{"name": "a", "kind": "folder", "root": "."}] * 2}, "unique"),
        ({"libraries": [{"name": "a/b", "kind": "folder", "root": "."}]}, "letters, digits"),
        ({"libraries": [{"name": "a", "kind": "folder", "root": ".", "colour": 1}]}, "colour"),
        ({"split": {"ratios": [0.5, 0.5, 0.5]}, "libraries": [{"name": "a", "kind": "folder", "root": "."}]},
         "sum"),
    ):
        spec_file.write_text(yaml.safe_dump(bad))
        with pytest.raises(ValueError, match=message) as info:
            load_libraries(spec_file)
        assert str(spec_file) in str(info.value)


def test_prepare_reports_undecodable_files_and_reuses_its_manifest(tmp_path):
    root = tmp_path / "lib"
    for c in ("door", "glass"):
        for i in range(10):
            tone(root / c / f"{i}.wav", freq=300 + 50 * i)
    (root / "door" / "broken.wav").write_bytes(b"RIFF garbage")
    (root / "README.md").write_text("about")
    spec_file = tmp_path / "libs.yaml"
    spec_file.write_text(yaml.safe_dump({"libraries": [{"name": "lib", "kind": "folder", "root": "lib"}]}))
    spec = load_libraries(spec_file)
    prepared = prepare(spec, tmp_path / "work", WaveCache(tmp_path / "cache"), log=None)
    (report,) = prepared.reports
    assert (report.found, report.in_manifest, report.classes) == (21, 20, 2)
    assert report.splits == {"train": 16, "val": 2, "test": 2}
    assert report.skipped == [{"path": str((root / "door" / "broken.wav").resolve()),
                               "reason": report.skipped[0]["reason"]}]
    assert "not decodable" in report.skipped[0]["reason"]
    assert report.ignored == {".md": 1}
    on_disk = json.loads((prepared.folder / "report.json").read_text())
    assert on_disk["libraries"][0]["skipped"] == report.skipped
    row = prepared.rows[0]
    assert row.library == "lib" and row.sample_rate == 44_100 and row.duration == pytest.approx(0.5)
    again = prepare(spec, tmp_path / "work", WaveCache(tmp_path / "cache"), log=None)
    assert again.rows == prepared.rows and again.folder == prepared.folder
    spec_file.write_text(yaml.safe_dump({"split": {"seed": 9},
                                         "libraries": [{"name": "lib", "kind": "folder", "root": "lib"}]}))
    assert prepare(load_libraries(spec_file), tmp_path / "work", WaveCache(tmp_path / "cache"),
                   log=None).folder != prepared.folder


def test_fingerprint_follows_adapter_settings_not_derived_state(tmp_path):
    spec_file = tmp_path / "libs.yaml"
    entry = {"name": "ui", "kind": "regex", "root": "ui"}
    spec_file.write_text(yaml.safe_dump({"libraries": [entry]}))
    first = load_libraries(spec_file)
    spec_file.write_text(yaml.safe_dump({"libraries": [{**entry, "pattern": r"^(?P<label>[a-z]+)"}]}))
    assert load_libraries(spec_file).fingerprint() != first.fingerprint()
    assert set(first.libraries[0].library.describe()) == {"kind", "name", "root", "pattern"}


def test_a_file_listed_twice_is_kept_once_or_left_out_and_a_broken_link_is_reported(tmp_path):
    from pathlib import Path

    from sfxrep.audio.cache import WaveCache
    from sfxrep.libraries.prepare import prepare
    from sfxrep.libraries.spec import load_libraries
    from tests.helpers import write_folder_library

    write_folder_library(tmp_path / "lib", classes=2, per_class=4)
    (tmp_path / "lib" / "c00" / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    rows = ["path,label", "c00/f00.wav,a", "c00/f00.wav,a", "c00/f01.wav,a", "c00/f01.wav,b", "c00/f02.wav,a",
            "c00/f03.wav,a", "c01/f00.wav,b", "c01/f01.wav,b", "c01/f02.wav,b"]
    (tmp_path / "lib" / "labels.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "libs.yaml").write_text("split: {seed: 0, min_per_class: 2}\nlibraries:\n"
                                        "  - {name: listed, kind: csv, csv: lib/labels.csv}\n"
                                        "  - {name: folder, kind: folder, root: lib}\n")
    prepared = prepare(load_libraries(tmp_path / "libs.yaml"), tmp_path / "w", WaveCache(tmp_path / "c"), log=None)
    listed = [r for r in prepared.rows if r.library == "listed"]
    assert sorted(Path(r.path).name for r in listed if "c00" in r.path) == ["f00.wav", "f02.wav", "f03.wav"]
    reasons = {Path(s["path"]).name: s["reason"] for s in prepared.reports[0].skipped}
    assert "kept once" in reasons["f00.wav"] and "different labels ['a', 'b']" in reasons["f01.wav"]
    folder = {Path(s["path"]).name: s["reason"] for s in prepared.reports[1].skipped}
    assert folder == {"gone.wav": "a broken symbolic link (its target is missing)"}
