"""State that changes over time: libraries that change, caches that heal, every file accounted for."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

import sfxrep.audio.cache as cache_module
from sfxrep.audio.cache import WaveCache
from sfxrep.audio.decode import AudioDecodeError
from sfxrep.cli import main
from sfxrep.libraries.prepare import prepare
from sfxrep.libraries.spec import load_libraries
from tests.helpers import class_sound, tone, write_folder_library


def libraries_yaml(root: Path, split: dict | None = None) -> Path:
    path = root / "libs.yaml"
    path.write_text(yaml.safe_dump({"split": split or {"seed": 0, "min_per_class": 2},
                                    "libraries": [{"name": "lib", "kind": "folder", "root": "lib"}]}))
    return path


def prepared(yaml_path: Path, tmp_path: Path, **kwargs):
    return prepare(load_libraries(yaml_path), tmp_path / "work", WaveCache(tmp_path / "cache"), log=None, **kwargs)


def test_added_removed_and_changed_files_are_noticed_and_splits_stay(tmp_path):
    write_folder_library(tmp_path / "lib", classes=3, per_class=10)
    spec = libraries_yaml(tmp_path)
    first = prepared(spec, tmp_path)
    before = {r.path: r.split for r in first.rows}
    lib = tmp_path / "lib"
    new = lib / "c01" / "f10.wav"  # a take of the class's one series: the groups stay one per file (takes.py rule 3)
    sf.write(new, class_sound(np.random.default_rng(5), 1, 0.7), 22_050)
    (lib / "c00" / "f03.wav").unlink()
    changed = lib / "c02" / "f04.wav"
    sf.write(changed, class_sound(np.random.default_rng(9), 2, 1.1), 22_050)
    second = prepared(spec, tmp_path)
    (report,) = second.reports
    assert report.added == [str(new)] and report.removed == [str(lib / "c00" / "f03.wav")]
    assert report.changed == [str(changed)]
    assert "+1 added, -1 removed, 1 changed" in report.summary()
    after = {r.path: r.split for r in second.rows}
    assert all(after[p] == split for p, split in before.items() if p in after)  # no unchanged file moved
    assert str(new) in after and str(lib / "c00" / "f03.wav") not in after
    third = prepared(spec, tmp_path)  # nothing changed since
    assert not (third.reports[0].added or third.reports[0].removed or third.reports[0].changed)


def test_a_deleted_file_does_not_break_training_data(tmp_path):
    from sfxrep.data.datamodule import SfxDataModule

    write_folder_library(tmp_path / "lib", classes=3, per_class=6)
    spec = libraries_yaml(tmp_path)
    args = {"libraries": str(spec), "work_dir": str(tmp_path / "work"), "cache_dir": str(tmp_path / "cache")}
    SfxDataModule(**args).ready()
    gone = tmp_path / "lib" / "c01" / "f02.wav"
    gone.unlink()
    data = SfxDataModule(**args).ready()  # prepare_data re-scans: the deleted file is dropped, not decoded
    assert str(gone) not in {r.path for r in data.prepared.rows}
    assert len(data.eval_dataset("lib", "train")) > 0


def adversarial_library(root: Path) -> None:
    write_folder_library(root, classes=2, per_class=4)
    for i in range(7):  # a class over the cap of 5
        tone(root / "big" / f"b{i}.wav", freq=300 + 40 * i)
    tone(root / "lonely" / "only.wav")  # one file: under min_per_class 2
    tone(root / "c00" / "deeper" / "nested.wav", freq=700)
    tone(root / "c00" / "LOUD.WAV", freq=800)
    tone(root / "c01" / "ünïcode ñame.flac", freq=500, format="FLAC")
    tone(root / "at_the_root.wav")  # no class folder
    (root / "c00" / "empty.wav").write_bytes(b"")
    (root / "c01" / "text.wav").write_text("not audio at all")
    good = (root / "c00" / "f00.wav").read_bytes()
    (root / "c01" / "truncated.wav").write_bytes(good[: len(good) // 3])
    sf.write(root / "c00" / "nan.wav", np.full(4410, np.nan, np.float32), 44_100, subtype="FLOAT")
    (root / "c00" / "notes.txt").write_text("credits")
    (root / "c01" / "README").write_text("no extension")
    (root / ".DS_Store").write_bytes(b"\x00\x01")


def test_every_file_under_a_root_ends_in_exactly_one_place(tmp_path):
    adversarial_library(tmp_path / "lib")
    spec = libraries_yaml(tmp_path, {"seed": 0, "min_per_class": 2, "max_per_class": 5})
    result = prepared(spec, tmp_path)
    (report,) = result.reports
    places = {
        "manifest": [r.path for r in result.rows],
        "skipped": [s["path"] for s in report.skipped],
        "ignored": report.ignored_files,
        "left_out": [x["path"] for x in report.left_out],
    }
    everything = sorted(str(p) for p in (tmp_path / "lib").rglob("*") if p.is_file())
    listed = sorted(p for paths in places.values() for p in paths)
    assert listed == everything  # each file once: nothing lost, nothing twice
    reasons = {Path(s["path"]).name: s["reason"] for s in report.skipped}
    assert reasons["empty.wav"].startswith("empty") and "not decodable" in reasons["text.wav"]
    assert reasons["truncated.wav"].startswith("truncated") and "non-finite" in reasons["nan.wav"]
    assert "class folder" in reasons["at_the_root.wav"]
    capped = sorted(Path(x["path"]).parent.name for x in report.left_out if "max_per_class" in x["reason"])
    assert capped == ["big", "big", "c00"]  # 7 → 5 and, with nested.wav and LOUD.WAV, 6 → 5
    assert next(x for x in report.left_out if "min_per_class" in x["reason"])["path"].endswith("only.wav")
    assert {Path(p).name for p in places["manifest"]} >= {"LOUD.WAV", "nested.wav", "ünïcode ñame.flac"}


@pytest.fixture
def decode_calls(monkeypatch):
    calls = []
    real = cache_module.decode

    def counting(path, sample_rate):
        calls.append(Path(path).name)
        return real(path, sample_rate)

    monkeypatch.setattr(cache_module, "decode", counting)
    return calls


def test_cache_and_manifest_files_get_the_usual_mode_not_0600(tmp_path):
    write_folder_library(tmp_path / "lib", classes=2, per_class=2)
    result = prepared(libraries_yaml(tmp_path), tmp_path)
    mask = os.umask(0)
    os.umask(mask)
    files = [*(tmp_path / "cache").rglob("*.npy"), *(tmp_path / "cache").rglob("*.json"),
             result.manifest_path, result.folder / "report.json"]
    assert files and {oct(f.stat().st_mode & 0o777) for f in files} == {oct(0o666 & ~mask)}


def test_an_access_failure_is_never_remembered(tmp_path, monkeypatch):
    path = tone(tmp_path / "a.wav")
    cache = WaveCache(tmp_path / "cache")
    real = cache_module.decode

    def flaky(p, sr):
        monkeypatch.setattr(cache_module, "decode", real)  # the disk recovers
        raise AudioDecodeError(p, "I/O error (Input/output error)", transient=True)

    monkeypatch.setattr(cache_module, "decode", flaky)
    with pytest.raises(AudioDecodeError, match="I/O error"):
        cache.ensure(path)
    assert cache.ensure(path).num_samples == 22_050  # retried, not served from a cached failure


def test_a_remembered_failure_is_retried_with_force_or_when_the_file_changes(tmp_path, decode_calls):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF junk that is not a wave file" * 3)
    cache = WaveCache(tmp_path / "cache")
    for _ in range(2):
        with pytest.raises(AudioDecodeError):
            cache.ensure(bad)
    assert decode_calls == ["bad.wav"]  # remembered
    with pytest.raises(AudioDecodeError):
        cache.ensure(bad, force=True)
    assert len(decode_calls) == 2
    os.chmod(bad, 0o600)  # a metadata change (chmod: the inode change time) misses the remembered failure
    with pytest.raises(AudioDecodeError):
        cache.ensure(bad)
    assert len(decode_calls) == 3


def test_a_damaged_entry_is_decoded_again_with_a_warning_naming_the_source(tmp_path, decode_calls):
    path = tone(tmp_path / "a.wav", seconds=1.0)
    cache = WaveCache(tmp_path / "cache")
    info = cache.ensure(path)
    with open(info.npy, "r+b") as f:
        f.truncate(os.path.getsize(info.npy) - 1000)  # a torn copy of the cache
    with pytest.warns(UserWarning, match=rf"{path}.*damaged.*truncated"):
        again = cache.ensure(path)
    assert len(decode_calls) == 2 and cache.load(again).shape == (44_100,)


def test_verify_reads_every_array_and_orphans_are_cleaned(tmp_path, capsys):
    write_folder_library(tmp_path / "lib", classes=2, per_class=3)
    spec = libraries_yaml(tmp_path)
    cache_dir = tmp_path / "cache"
    args = ["prepare", str(spec), "--work-dir", str(tmp_path / "work"), "--cache-dir", str(cache_dir)]
    main(args)
    npy = sorted(cache_dir.glob("*/*.npy"))[0]
    data = np.load(npy)
    np.save(npy, np.full_like(data, np.nan))  # right size, bad content: only a full read finds it
    orphan = npy.parent / ".x.npy.123.tmp"
    orphan.write_bytes(b"half")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    capsys.readouterr()
    main([*args, "--verify"])
    out = capsys.readouterr().out
    assert "1 bad entry removed" in out and "non-finite" in out and not orphan.exists()
    assert np.isfinite(np.load(next(cache_dir.glob(f"*/{npy.name}")))).all()  # decoded again
    assert "lib: 6/6 files" in out
