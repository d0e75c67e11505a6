"""``sfxrep audit --apply DECISIONS --commit`` and ``--undo JOURNAL``: decisions carried out on real files, journaled,
and undone byte for byte; nothing deleted, nothing outside the library touched."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfxrep.audit.commit import Journal, commit, undo
from sfxrep.audit.decisions import Change
from sfxrep.paths import QUARANTINE
from tests.helpers.sounds import damaged_library, write_decisions


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path → bytes)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def indexed(tmp_path):
    """A fresh index of the damaged folder library (log-mel statistics), for each test to change."""
    from sfxrep.cli import main

    spec = damaged_library(tmp_path)
    work = ["--work-dir", str(tmp_path / "prepared"), "--cache-dir", str(tmp_path / "cache")]
    main(["index", "--out", str(tmp_path / "index"), "--libraries", str(spec), "--model", "logmel", "--no-progress",
          *work])
    return tmp_path


def test_commit_then_undo_round_trips_a_folder_library_byte_for_byte(indexed, capsys):
    from sfxrep.cli import main
    from sfxrep.libraries.folder import FolderLibrary

    lib = indexed / "lib"
    before = snapshot(lib)
    decisions = write_decisions(indexed / "d.csv", [
        {"kind": "relabel", "path": str(lib / "c02" / "f03_moved.wav"), "library": "lib", "label": "c02",
         "suggestion": "c00", "decision": "accept"},
        {"kind": "duplicate", "path": str(lib / "c01" / "f00 copy.flac"), "keep": str(lib / "c01" / "f00.wav"),
         "decision": "accept"},
        {"kind": "duplicate", "path": str(lib / "c01" / "f00 again.ogg"), "keep": str(lib / "c01" / "f00.wav"),
         "decision": "reject"},
    ])
    main(["audit", str(indexed / "index"), "--apply", str(decisions), "--commit",
          "--preview-out", str(indexed / "changes.csv")])
    assert "2 changes made" in capsys.readouterr().out
    assert (lib / "c00" / "f03_moved.wav").read_bytes() == before["c02/f03_moved.wav"]
    assert not (lib / "c02" / "f03_moved.wav").exists()
    assert (lib / QUARANTINE / "c01" / "f00 copy.flac").read_bytes() == before["c01/f00 copy.flac"]
    assert (lib / "c01" / "f00 again.ogg").is_file()  # rejected: untouched
    scan = FolderLibrary("lib", lib).scan()  # the quarantine is not part of the library
    assert not any(QUARANTINE in str(c.path) for c in scan.candidates) and scan.ignored["(quarantined)"] == 1
    assert {c.path.name: c.label for c in scan.candidates}["f03_moved.wav"] == "c00"

    journal = indexed / "d.journal.json"
    main(["audit", "--undo", str(journal)])
    assert "2 steps of" in capsys.readouterr().out  # two moves: a folder library has no list to edit
    assert snapshot(lib) == before
    assert not (lib / QUARANTINE).exists() and not journal.exists() and Path(f"{journal}.undone").is_file()


def _csv_library(root: Path, crlf: bool = True, bom: bool = True):
    from sfxrep.libraries.csvlist import CsvLibrary

    (root / "sounds").mkdir(parents=True)
    for i, name in enumerate(["a.wav", "b.wav", "c.wav"]):
        sf.write(root / "sounds" / name, np.sin(np.arange(4000) * (0.01 + i / 100)).astype(np.float32), 16_000)
    newline = "\r\n" if crlf else "\n"
    text = newline.join(["path,label,note", "sounds/a.wav,door,\"first, with a comma\"", "sounds/b.wav,door,",
                         "sounds/c.wav,bell,x"]) + newline
    (root / "labels.csv").write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return CsvLibrary("game", root / "labels.csv")


@pytest.mark.parametrize("crlf, bom", [(True, True), (False, False)])
def test_commit_edits_a_csv_list_and_undo_restores_it_byte_for_byte(tmp_path, crlf, bom):
    lib = _csv_library(tmp_path / "lib", crlf, bom)
    before = snapshot(tmp_path / "lib")
    a, b = str((tmp_path / "lib" / "sounds" / "a.wav").resolve()), str((tmp_path / "lib" / "sounds" / "b.wav").resolve())
    changes = [Change("relabel", a, "knock", "…"), Change("remove", b, a, "a copy")]
    journal = commit(changes, {"game": lib}, {a: "game", b: "game"}, tmp_path / "j.json", "d.csv")
    text = (tmp_path / "lib" / "labels.csv").read_bytes().decode("utf-8-sig")
    with open(tmp_path / "lib" / "labels.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows == [["path", "label", "note"], ["sounds/a.wav", "knock", "first, with a comma"],
                    ["sounds/c.wav", "bell", "x"]]
    assert ("\r\n" in text) == crlf
    assert (tmp_path / "lib" / "labels.csv").read_bytes().startswith(b"\xef\xbb\xbf") == bom
    assert (tmp_path / "lib" / QUARANTINE / "sounds" / "b.wav").is_file()
    assert sorted(c.path.name for c in lib.scan().candidates) == ["a.wav", "c.wav"]
    assert undo(Journal.load(tmp_path / "j.json")) == len(journal.steps) == 2
    assert snapshot(tmp_path / "lib") == before


def test_a_failing_commit_undoes_what_it_did_and_leaves_no_journal(tmp_path):
    lib = _csv_library(tmp_path / "lib")
    a, c = str((tmp_path / "lib" / "sounds" / "a.wav").resolve()), str((tmp_path / "lib" / "sounds" / "c.wav").resolve())
    (tmp_path / "lib" / QUARANTINE / "sounds").mkdir(parents=True)
    (tmp_path / "lib" / QUARANTINE / "sounds" / "c.wav").write_bytes(b"an earlier quarantined file")
    before = snapshot(tmp_path / "lib")
    changes = [Change("remove", a, c, "a copy"), Change("remove", c, a, "a copy")]  # the second target exists
    with pytest.raises(ValueError, match="exists; refusing to overwrite"):
        commit(changes, {"game": lib}, {a: "game", c: "game"}, tmp_path / "j.json", "d.csv")
    assert snapshot(tmp_path / "lib") == before and not (tmp_path / "j.json").exists()


def test_commit_refuses_paths_outside_the_library_and_renames(tmp_path):
    from sfxrep.libraries.ucs import UcsLibrary

    lib = _csv_library(tmp_path / "lib")
    outside = tmp_path / "elsewhere.wav"
    outside.write_bytes(b"x")
    with pytest.raises(ValueError, match="outside its library's folder"):
        commit([Change("remove", str(outside), "", "")], {"game": lib}, {str(outside): "game"}, tmp_path / "j.json",
               "d.csv")
    assert outside.read_bytes() == b"x"
    ucs_list = tmp_path / "ucs.csv"
    ucs_list.write_text("Category,SubCategory,CatID,CatShort,Explanations,Synonyms - Comma Separated\n"
                        "DOORS,WOOD,DOORWood,DOOR,x,y\n")
    (tmp_path / "u").mkdir()
    f = tmp_path / "u" / "DOORWood_Slam_TC_X.wav"
    f.write_bytes(b"y")
    ucs = UcsLibrary("u", tmp_path / "u", ucs_list)
    with pytest.raises(ValueError, match="takes its labels from file names"):
        commit([Change("relabel", str(f.resolve()), "BELLS", "")], {"u": ucs}, {str(f.resolve()): "u"},
               tmp_path / "j2.json", "d.csv")
    assert f.read_bytes() == b"y"


def test_undo_refuses_when_a_file_changed_since_the_commit(tmp_path):
    lib = _csv_library(tmp_path / "lib")
    a = str((tmp_path / "lib" / "sounds" / "a.wav").resolve())
    commit([Change("relabel", a, "knock", "")], {"game": lib}, {a: "game"}, tmp_path / "j.json", "d.csv")
    (tmp_path / "lib" / "labels.csv").write_text("path,label\nsounds/a.wav,edited by hand\n")
    with pytest.raises(ValueError, match="changed since the commit"):
        undo(Journal.load(tmp_path / "j.json"))
    assert (tmp_path / "lib" / "labels.csv").read_text() == "path,label\nsounds/a.wav,edited by hand\n"


def test_commit_needs_apply_and_a_second_commit_needs_the_first_undone(indexed, capsys):
    from sfxrep.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["audit", str(indexed / "index"), "--commit"])
    assert exit_.value.code == 2 and "give both" in capsys.readouterr().err
    lib = indexed / "lib"
    decisions = write_decisions(indexed / "d.csv", [
        {"kind": "duplicate", "path": str(lib / "c01" / "f00 copy.flac"), "keep": str(lib / "c01" / "f00.wav"),
         "decision": "accept"}])
    args = ["audit", str(indexed / "index"), "--apply", str(decisions), "--commit", "--preview-out",
            str(indexed / "c.csv")]
    main(args)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2 and "an earlier commit's journal" in capsys.readouterr().err
