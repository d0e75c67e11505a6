"""sfxrep index / search / label: ranking, incremental updates, failures, resumption, errors, suggestions."""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

import sfxrep.index.build
import sfxrep.inference.embedding
from sfxrep.cli import main
from sfxrep.index import Index, ModelMismatchError
from sfxrep.index.label import evaluate_labels, ucs_name
from sfxrep.index.vectors import VectorSearch, l2
from tests.helpers import needs_aisfx
from tests.helpers.sounds import distinct_sound

CLASSES, PER_CLASS = 4, 5


@pytest.fixture
def library(tmp_path):
    """4 classes × 5 files of 2.4–4 s (class = folder; whole blocks, so no padding sets them apart)."""
    rng = np.random.default_rng(0)
    for c in range(CLASSES):
        (tmp_path / "lib" / f"c{c:02d}").mkdir(parents=True)
        for i in range(PER_CLASS):
            sf.write(tmp_path / "lib" / f"c{c:02d}" / f"f{i:02d}.wav", distinct_sound(rng, c, rng.uniform(2.4, 4)),
                     22_050)
    return tmp_path / "lib"


@pytest.fixture
def decodes(monkeypatch):
    """Count the files the embedder decodes."""
    calls: list[str] = []
    real = sfxrep.inference.embedding.decode

    def counting(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(sfxrep.inference.embedding, "decode", counting)
    return calls


def build(out, roots, **kw):
    return Index.build(out, roots, model="logmel", progress=False, **kw)


def test_search_ranks_the_query_first_and_same_class_files_above_others(library, tmp_path, capsys):
    index, report = build(tmp_path / "idx", [library], blocks=True)
    assert report.embedded == len(index) == CLASSES * PER_CLASS and not report.failed
    precision = []
    for path in index.paths:
        hits = index.search(path, k=PER_CLASS)
        assert hits[0].path == path and hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert [h.rank for h in hits] == list(range(1, PER_CLASS + 1))
        assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
        precision.append(np.mean([os.path.dirname(h.path) == os.path.dirname(path) for h in hits[1:]]))
        assert [h.path for h in index.search(path, k=3, indexed=True)] == [h.path for h in hits[:3]]
    assert np.mean(precision) >= 0.9  # same-class files fill the ranks after the query itself
    row = index.row(index.paths[0])
    assert row.sample_rate == 22_050 and row.channels == 1 and 2.4 <= row.duration <= 4
    np.testing.assert_allclose(index.file_blocks(row.path).mean(axis=0), index.vectors[0], rtol=1e-5)

    reopened = Index.open(tmp_path / "idx")  # the on-disk format round-trips
    assert reopened.paths == index.paths and np.array_equal(reopened.vectors, index.vectors)
    meta = json.loads((tmp_path / "idx" / "index.json").read_text())
    assert meta["model"]["source"] == "logmel" and meta["files"] == 20 and meta["blocks"] is True

    outside = tmp_path / "outside.wav"  # a sound that is not in the index: class 2's timbre
    sf.write(outside, distinct_sound(np.random.default_rng(9), 2, 2.8), 22_050)
    main(["search", str(tmp_path / "idx"), str(outside), "--k", "3", "--json"])
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(hits) == 3 and all("/c02/" in h["path"] for h in hits)
    main(["search", str(tmp_path / "idx"), str(outside), "--k", "2", "--label", "nothing-has-this"])
    assert "no matching files" in capsys.readouterr().out


def test_an_update_embeds_only_new_and_changed_files_and_drops_deleted_ones(library, tmp_path, decodes):
    index, _ = build(tmp_path / "idx", [library])
    assert len(decodes) == 20
    decodes.clear()
    rng = np.random.default_rng(5)
    for name in ("new1.wav", "new2.wav"):
        sf.write(library / "c00" / name, distinct_sound(rng, 0, 3.0), 22_050)
    (library / "c01" / "f00.wav").unlink()
    changed = library / "c02" / "f00.wav"
    sf.write(changed, distinct_sound(rng, 2, 3.3), 22_050)
    os.utime(changed, ns=(1, 1))  # a different mtime even on a coarse-clock file system
    report = index.update(progress=False)
    assert sorted(os.path.basename(p) for p in decodes) == ["f00.wav", "new1.wav", "new2.wav"]
    assert (report.embedded, report.kept, report.removed) == (3, 18, 1)
    assert len(index) == 21 and str(library / "c01" / "f00.wav") not in index.paths
    decodes.clear()
    assert Index.build(tmp_path / "idx", model="logmel", progress=False)[1].embedded == 0 and not decodes


def test_undecodable_files_are_reported_remembered_and_retried_on_request(library, tmp_path, capsys, decodes):
    (library / "c00" / "broken.wav").write_bytes(b"RIFF\x00\x00not audio at all")
    (library / "c01" / "empty.wav").write_bytes(b"")
    main(["index", str(library), "--out", str(tmp_path / "idx"), "--model", "logmel", "--no-progress"])
    out = capsys.readouterr().out
    assert "skipped" in out and "broken.wav: not decodable audio" in out and "empty.wav: empty file" in out
    assert "20 embedded" in out and "2 could not be decoded" in out
    index = Index.open(tmp_path / "idx")
    assert sorted(os.path.basename(f.path) for f in index.failures) == ["broken.wav", "empty.wav"]
    decodes.clear()
    _, report = Index.build(tmp_path / "idx", model="logmel", progress=False)
    assert report.known_failures == 2 and not decodes  # unchanged since: not decoded again
    _, report = Index.build(tmp_path / "idx", model="logmel", progress=False, retry_failed=True)
    assert len(report.failed) == 2 and len(decodes) == 2


def test_a_file_that_changes_into_garbage_leaves_the_rows_for_the_failures(library, tmp_path):
    index, _ = build(tmp_path / "idx", [library])
    broken = library / "c03" / "f02.wav"
    broken.write_bytes(b"RIFF\x00\x00 no longer audio")
    os.utime(broken, ns=(2, 2))
    report = index.update(progress=False)
    assert len(report.failed) == 1 and report.kept == 19
    again = Index.open(tmp_path / "idx")
    assert str(broken) not in again.paths and len(again) == 19 and [f.path for f in again.failures] == [str(broken)]


def test_a_killed_build_resumes_from_its_parts(library, tmp_path, monkeypatch, decodes):
    monkeypatch.setattr(sfxrep.index.build, "FLUSH_EVERY", 4)
    counting = sfxrep.inference.embedding.decode

    def dies(path, *a, **kw):
        if len(decodes) == 11:
            raise KeyboardInterrupt  # the 11th file never finishes
        return counting(path, *a, **kw)

    monkeypatch.setattr(sfxrep.inference.embedding, "decode", dies)
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path / "idx", [library], batch_size=2)
    parts = sorted((tmp_path / "idx" / "parts").glob("part-*.npz"))
    assert len(parts) == 2  # 8 files flushed in parts of 4 before the kill
    monkeypatch.setattr(sfxrep.inference.embedding, "decode", counting)
    decodes.clear()
    index, report = build(tmp_path / "idx", [library])
    assert report.kept == 8 and report.embedded == 12 == len(decodes)
    assert len(index) == 20 and not list((tmp_path / "idx" / "parts").glob("*.npz"))


def one_line_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1
    return err


def test_clear_one_line_errors(library, tmp_path, capsys):
    err = one_line_error(capsys, ["search", str(tmp_path / "nowhere"), str(library / "c00" / "f00.wav")])
    assert "nowhere: no index here" in err
    build(tmp_path / "idx", [library])
    (tmp_path / "empty.wav").write_bytes(b"")
    err = one_line_error(capsys, ["search", str(tmp_path / "idx"), str(tmp_path / "empty.wav")])
    assert "empty.wav: empty file" in err
    assert "empty query" in one_line_error(capsys, ["search", str(tmp_path / "idx"), " "])
    err = one_line_error(capsys, ["search", str(tmp_path / "idx"), str(tmp_path / "x.wav"), "--path"])
    assert "x.wav: not in the index" in err
    meta_path = tmp_path / "idx" / "index.json"  # the model file changed under the index (e.g. retrained)
    meta = json.loads(meta_path.read_text())
    meta["model"]["sha256"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    err = one_line_error(capsys, ["search", str(tmp_path / "idx"), str(library / "c00" / "f00.wav")])
    assert "built with model logmel (weights 000000000000" in err and "not with logmel" in err
    assert "nothing to index" in one_line_error(capsys, ["index", "--out", str(tmp_path / "new")])


@needs_aisfx
def test_an_index_refuses_another_model(library, tmp_path, capsys):
    build(tmp_path / "idx", [library])
    err = one_line_error(capsys, ["index", "--out", str(tmp_path / "idx"), "--model", "aisfx"])
    assert "built with model logmel" in err and "not with aisfx" in err
    with pytest.raises(ModelMismatchError):
        Index.open(tmp_path / "idx").check_model("aisfx")


def test_an_index_records_its_precision_and_an_update_embeds_the_same_way(library, tmp_path, capsys):
    from tests.helpers.models import tiny_model

    model = tiny_model()
    model.source = "tiny"
    Index.build(tmp_path / "idx", [library], model=model, progress=False, precision="bf16")
    assert json.loads((tmp_path / "idx" / "index.json").read_text())["model"]["precision"] == "bf16"
    (library / "c00" / "f00.wav").unlink()
    Index.build(tmp_path / "idx", [library], model=model, progress=False)  # an update: as it was built
    with pytest.raises(ValueError, match="built with the encoder in bf16"):
        Index.build(tmp_path / "idx", [library], model=model, progress=False, precision="fp32")
    main(["index", str(library), "--out", str(tmp_path / "idx32"), "--model", "logmel", "--precision", "fp32",
          "--no-progress"])
    assert json.loads((tmp_path / "idx32" / "index.json").read_text())["model"]["precision"] == "fp32"


def test_hnsw_agrees_with_exact_search_and_its_graph_is_saved(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((50, 64))
    vectors = l2(np.repeat(centres, 40, axis=0) + 0.3 * rng.standard_normal((2000, 64)))
    queries = l2(centres + 0.3 * rng.standard_normal((50, 64)))
    exact = VectorSearch(vectors)
    hnsw = VectorSearch(vectors, tmp_path / "hnsw.faiss", exact_max=100)
    assert exact.method == "exact" and hnsw.method == "hnsw"
    _, e_rows = exact.search(queries, 10)
    h_scores, h_rows = hnsw.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(e_rows, h_rows, strict=True)])
    assert recall >= 0.95 and (tmp_path / "hnsw.faiss").is_file()
    expected = np.take_along_axis(queries @ vectors.T, h_rows, axis=1)  # HNSW's scores are the true cosines
    np.testing.assert_allclose(h_scores, expected, rtol=1e-4, atol=1e-5)
    again = VectorSearch(vectors, tmp_path / "hnsw.faiss", exact_max=100)
    assert np.array_equal(again.search(queries, 10)[1], h_rows)  # read back, not rebuilt
    subset = np.arange(0, 2000, 7)
    _, rows = hnsw.search(queries[:3], 5, rows=subset)  # a filter: exact among the rows
    assert set(rows.ravel()) <= set(subset.tolist())


def demo_libraries(tmp_path):
    spec = {"split": {"seed": 0, "min_per_class": 2},
            "libraries": [{"name": "demo_ucs", "kind": "demo", "flavour": "ucs", "root": str(tmp_path / "ucs"),
                           "files_per_class": 8},
                          {"name": "demo_folder", "kind": "demo", "flavour": "folder",
                           "root": str(tmp_path / "folder"), "files_per_class": 8}]}
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_label_suggestions_beat_a_permuted_baseline_and_name_ucs_classes(tmp_path, capsys):
    libraries = demo_libraries(tmp_path)
    kw = {"work_dir": tmp_path / "prepared", "cache_dir": tmp_path / "cache"}
    reference, _ = Index.build(tmp_path / "ref", model="logmel", libraries=libraries, progress=False, **kw)
    assert reference.meta["ucs_libraries"] == ["demo_ucs"]
    for library in ("demo_ucs", "demo_folder"):
        scores = evaluate_labels(reference, library, k=5)
        assert scores.files >= 10 and scores.top3 >= scores.top1
        # untrained log-mel statistics (measured: top-1 0.50 / 0.83 against 0.14 / 0.08 with permuted labels)
        assert scores.top1 >= scores.chance_top1 + 0.25 and scores.top1 >= 2.5 * scores.chance_top1, scores
        assert scores.macro_f1 >= scores.chance_macro_f1 + 0.25, scores

    new = tmp_path / "incoming"  # unlabelled files: copies of some UCS demo sounds under plain names
    new.mkdir()
    sources = sorted((tmp_path / "ucs").rglob("*.wav"))[::9][:6]
    for n, src in enumerate(sources):
        shutil.copy(src, new / f"take_{n}.wav")
    Index.build(tmp_path / "idx", [new], model="logmel", progress=False)
    main(["label", str(tmp_path / "idx"), "--reference", f"{libraries}:demo_ucs", "--out", str(tmp_path / "s.csv"),
          "--k", "5", "--rename-preview", "--creator-id", "ACME", "--no-progress", "--min-confidence", "0",
          "--work-dir", str(tmp_path / "prepared"), "--cache-dir", str(tmp_path / "cache")])
    with open(tmp_path / "s.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and all(r["catid_1"] and r["label_1"] == r["best_guess"] and 0 <= float(r["score_1"]) <= 1
                                  for r in rows)
    right = sum(r["catid_1"] == src.name.split("_")[0] for r, src in zip(rows, sources, strict=True))
    assert right >= 5  # exact copies of reference sounds (the copies are other paths, so not excluded)
    out = capsys.readouterr().out
    previews = [line for line in out.splitlines() if " → " in line]
    assert len(previews) == 6 and all(line.split(" → ")[1].endswith("_ACME_incoming.wav") for line in previews)
    main(["label", str(tmp_path / "idx"), "--reference", f"{libraries}:demo_folder", "--evaluate", "--no-progress",
          "--work-dir", str(tmp_path / "prepared"), "--cache-dir", str(tmp_path / "cache")])
    assert "demo_folder" in capsys.readouterr().out


def test_ucs_names():
    assert ucs_name("/x/Door slam_02.WAV", "DOORWood", "ACME", "Lib 1") == "DOORWood_Door slam 02_ACME_Lib1.wav"
    assert ucs_name("/x/DOORMetl_Gate Clank_TC_Src.wav", "DOORMetl", "ME", "S").startswith("DOORMetl_Gate Clank TC")


def _same_index(a: Index, b: Index) -> None:
    """Row for row the same files, metadata, failures and (to float rounding) vectors and statistics."""
    assert [r.to_dict() for r in a.rows] == [r.to_dict() for r in b.rows]
    assert [f.to_dict() for f in a.failures] == [f.to_dict() for f in b.failures]
    np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-5, atol=1e-6)
    for x, y in zip(a.stats, b.stats, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)
    assert {k: a.meta[k] for k in ("model", "sources", "files", "failures", "dim")} == \
        {k: b.meta[k] for k in ("model", "sources", "files", "failures", "dim")}


def test_shards_built_by_hand_merge_into_the_one_machine_index(library, tmp_path, capsys):
    (library / "c01" / "broken.wav").write_bytes(b"RIFF....not audio")
    one, _ = build(tmp_path / "one", [library])
    for i in range(3):
        main(["index", str(library), "--out", str(tmp_path / f"s{i}"), "--model", "logmel", "--shard", f"{i}/3",
              "--no-progress"])
    sizes = [json.loads((tmp_path / f"s{i}" / "index.json").read_text())["files"] for i in range(3)]
    assert sum(sizes) == len(one) and min(sizes) >= 6  # nearly equal, contiguous runs
    with pytest.raises(SystemExit):
        main(["index", "merge", "--out", str(tmp_path / "bad"), str(tmp_path / "s0"), str(tmp_path / "s2")])
    assert "expected each of 0/3" in capsys.readouterr().err
    main(["index", "merge", "--out", str(tmp_path / "merged"), *(str(tmp_path / f"s{i}") for i in (2, 0, 1))])
    _same_index(Index.open(tmp_path / "one"), Index.open(tmp_path / "merged"))
    assert "20 files from 3 shards (1 could not be decoded)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="shard 0/3, not of shard 1/3"):
        build(tmp_path / "s0", [library], shard=(1, 3))
    with pytest.raises(SystemExit):
        main(["index", str(library), "--out", str(tmp_path / "x"), "--shard", "3/3"])
    assert "expected i/n with 0 <= i < n" in capsys.readouterr().err


@pytest.mark.slow  # end to end: three submitit task processes
def test_a_sharded_build_through_submitit_equals_the_one_machine_build(tmp_path):
    rng = np.random.default_rng(1)
    lib = tmp_path / "lib"
    for i in range(240):  # a few hundred files in 6 classes
        (lib / f"k{i % 6}").mkdir(parents=True, exist_ok=True)
        sf.write(lib / f"k{i % 6}" / f"{i:04d}.wav", distinct_sound(rng, i % 3, rng.uniform(0.2, 1.2), 11_025), 11_025)
    build(tmp_path / "one", [lib])
    main(["index", str(lib), "--out", str(tmp_path / "cluster"), "--model", "logmel", "--shards", "3", "--cluster",
          "local", "--cpus", "1"])
    _same_index(Index.open(tmp_path / "one"), Index.open(tmp_path / "cluster"))
    assert sorted(p.name for p in (tmp_path / "cluster.shards").iterdir()) == ["0000", "0001", "0002", "submitit"]


def test_the_scan_streams_every_audio_file_once_in_the_order_of_their_paths(tmp_path):
    """The walk's order is the string order of the full paths (what an index and its shards keep), with names
    that sort differently by folder than by path ("a-b/" before "a/" as strings), and overlapping roots."""
    names = ["a/x.wav", "a-b/y.WAV", "a.b.flac", "a/b/z.ogg", "A/q.mp3", "a b/r.aiff", "a/notes.txt", "a0/s.wav",
             "deep/1/2/3/t.wav", "folder.wav/u.wav"]
    for name in names:
        (tmp_path / "lib" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "lib" / name).write_bytes(b"x")
    os.symlink(tmp_path / "lib" / "a", tmp_path / "lib" / "linked")  # a linked folder is not followed
    lib = str((tmp_path / "lib").resolve())
    expected = sorted(f"{lib}/{n}" for n in names if not n.endswith(".txt"))
    scan = sfxrep.index.build.scan_roots([tmp_path / "lib"])
    assert not isinstance(scan, list)  # a stream
    assert [f.path for f in scan] == expected
    both = sfxrep.index.build.scan_roots([tmp_path / "lib" / "a", tmp_path / "lib", tmp_path / "lib" / "a.b.flac"])
    assert [f.path for f in both] == expected  # each file once
    with pytest.raises(FileNotFoundError, match="nowhere: no such file"):
        sfxrep.index.build.scan_roots([tmp_path / "nowhere"])


def test_a_build_streams_its_parts_one_at_a_time_into_jsonl_rows(library, tmp_path, monkeypatch):
    """Every pass of the final write reads the parts in order, each once: one part is held at a time."""
    monkeypatch.setattr(sfxrep.index.build, "FLUSH_EVERY", 3)
    import sfxrep.index.format as fmt

    reads: list[str] = []
    real = fmt._read_arrays
    monkeypatch.setattr(fmt, "_read_arrays", lambda path: reads.append(path.name) or real(path))
    index, _ = build(tmp_path / "idx", [library], blocks=True)
    parts = [f"part-{i:06d}.npz" for i in range(7)]  # 20 files in parts of 3
    passes = len(reads) // len(parts)
    assert passes >= 3 and reads == parts * passes
    with np.load(tmp_path / "idx" / "data.npz") as data:
        assert {"rows.jsonl", "failures.jsonl"} <= set(data.files)
        lines = data["rows.jsonl"].decode().splitlines()
    assert [json.loads(line)["path"] for line in lines] == index.paths == sorted(index.paths)
    monkeypatch.setattr(sfxrep.index.build, "FLUSH_EVERY", 256)
    one = Index.build(tmp_path / "one", [library], model="logmel", progress=False, blocks=True)[0]  # one part
    _same_index(one, index)
    np.testing.assert_array_equal(one.table.block_vectors, index.table.block_vectors)


def test_an_index_of_format_1_is_read_and_updated_to_format_2(library, tmp_path):
    index, _ = build(tmp_path / "idx", [library])
    with np.load(tmp_path / "idx" / "data.npz") as data:  # rewrite it as sfxrep wrote format 1: JSON strings
        arrays = {k: data[k] for k in ("vectors", "mean", "std")}
        rows, failures = data["rows.jsonl"].decode().splitlines(), data["failures.jsonl"].decode().splitlines()
    np.savez(tmp_path / "idx" / "data.npz", **arrays, rows=np.array(json.dumps([json.loads(r) for r in rows])),
             failures=np.array(json.dumps([json.loads(f) for f in failures])))
    meta = json.loads((tmp_path / "idx" / "index.json").read_text())
    (tmp_path / "idx" / "index.json").write_text(json.dumps({**meta, "format": 1}))
    old = Index.open(tmp_path / "idx")
    assert old.paths == index.paths and np.array_equal(old.vectors, index.vectors)
    sf.write(library / "c00" / "new.wav", distinct_sound(np.random.default_rng(3), 0, 3.0), 22_050)
    assert old.update(progress=False).embedded == 1
    assert json.loads((tmp_path / "idx" / "index.json").read_text())["format"] == 2 and len(Index.open(
        tmp_path / "idx")) == 21


def _shard(library, out, i, n, *extra):
    main(["index", str(library), "--out", str(out), "--model", "logmel", "--shard", f"{i}/{n}", "--no-progress",
          *extra])


def test_merge_refuses_shards_of_a_library_that_changed_between_their_builds(library, tmp_path, capsys):
    """48 files on disk, shards planned from 44 and 48: a silent gap before; now a refusal naming the shard."""
    _shard(library, tmp_path / "s0", 0, 2)
    for k in range(4):  # files added between the two shard builds
        sf.write(library / "c00" / f"late{k}.wav", distinct_sound(np.random.default_rng(40 + k), 0, 2.5), 22_050)
    _shard(library, tmp_path / "s1", 1, 2)
    with pytest.raises(SystemExit):
        main(["index", "merge", "--out", str(tmp_path / "m"), str(tmp_path / "s0"), str(tmp_path / "s1")])
    err = capsys.readouterr().err
    assert "was planned from 24 files" in err and "rebuild it with sfxrep index" in err and "--shard 1/2" in err
    assert not (tmp_path / "m" / "index.json").exists()


def test_an_updated_shard_stays_its_shard_and_mixed_shards_are_refused(library, tmp_path, capsys):
    for i in range(2):
        _shard(library, tmp_path / f"s{i}", i, 2)
    main(["index", "--out", str(tmp_path / "s0"), "--no-progress"])  # an update without --shard
    assert json.loads((tmp_path / "s0" / "index.json").read_text())["shard"] == [0, 2]
    main(["index", "merge", "--out", str(tmp_path / "m"), str(tmp_path / "s0"), str(tmp_path / "s1")])
    assert len(Index.open(tmp_path / "m")) == len(list(library.rglob("*.wav")))
    _shard(library, tmp_path / "b1", 1, 2, "--blocks")
    with pytest.raises(SystemExit):
        main(["index", "merge", "--out", str(tmp_path / "m2"), str(tmp_path / "s0"), str(tmp_path / "b1")])
    assert "block embeddings (--blocks)" in capsys.readouterr().err


def test_label_abstains_below_its_calibrated_probability_and_marks_far_files(tmp_path, capsys):
    """Three classes of distinct sounds as the reference; queries: a take of each class
    and a click track. The probabilities come from the reference's own held-out files; below --min-confidence the
    suggestion is 'unknown' with its best guess kept; the clicks, far from every reference file, are marked far."""
    from sfxrep.index.calibration import Calibration

    rng = np.random.default_rng(11)
    ref = tmp_path / "ref"
    for c in range(3):
        (ref / f"class{c}").mkdir(parents=True)
        for i in range(8):
            sf.write(ref / f"class{c}" / f"s{c}_{i}x.wav", distinct_sound(rng, c, 2.5), 22_050)
    (tmp_path / "libs.yaml").write_text("split: {seed: 0, min_per_class: 2}\nlibraries:\n"
                                        "  - {name: ref, kind: folder, root: ref}\n")
    new = tmp_path / "new"
    new.mkdir()
    for c in range(3):
        sf.write(new / f"take{c}.wav", distinct_sound(rng, c, 2.5), 22_050)
    ticks = np.where(np.arange(22_050 * 3) % 2205 == 0, 0.8, 0.0)  # a click every 100 ms: like nothing in the reference
    sf.write(new / "clicks.wav", ticks.astype(np.float32), 22_050)
    Index.build(tmp_path / "idx", [new], model="logmel", progress=False)
    work = ["--work-dir", str(tmp_path / "w"), "--cache-dir", str(tmp_path / "c")]
    main(["label", str(tmp_path / "idx"), "--reference", str(tmp_path / "libs.yaml"), "--out", str(tmp_path / "s.csv"),
          "--no-progress", "--min-confidence", "0.6", *work])
    out = capsys.readouterr()
    with open(tmp_path / "s.csv") as f:
        rows = {Path(r["path"]).name: r for r in csv.DictReader(f)}
    for c in range(3):
        assert rows[f"take{c}.wav"]["label_1"] == f"class{c}" and float(rows[f"take{c}.wav"]["score_1"]) >= 0.6
    assert rows["clicks.wav"]["far"] == "yes" and "farther from every reference file" in out.err
    assert not any(rows[f"take{c}.wav"]["far"] for c in range(3))
    assert "stated P(right)" in out.out and "unknown" in out.out
    saved = Calibration.from_dict(json.loads(next((tmp_path / "idx" / "references").glob("*/calibration.json"))
                                            .read_text()))
    assert saved.categories == 3 and saved.few_categories and len(saved.shares) == 24
    main(["label", str(tmp_path / "idx"), "--reference", str(tmp_path / "libs.yaml"), "--out", str(tmp_path / "t.csv"),
          "--no-progress", "--min-confidence", "1.01", *work])  # nothing is that sure: every label_1 unknown
    with open(tmp_path / "t.csv") as f:
        assert {r["label_1"] for r in csv.DictReader(f)} == {"unknown"}


def test_merge_refuses_shards_embedded_at_two_precisions(library, tmp_path, capsys):
    for i in range(2):
        _shard(library, tmp_path / f"s{i}", i, 2)
    meta = json.loads((tmp_path / "s1" / "index.json").read_text())
    meta["model"]["precision"] = "bf16" if meta["model"].get("precision") != "bf16" else "fp32"
    (tmp_path / "s1" / "index.json").write_text(json.dumps(meta))
    with pytest.raises(SystemExit):
        main(["index", "merge", "--out", str(tmp_path / "m"), str(tmp_path / "s0"), str(tmp_path / "s1")])
    assert "build every shard with one --precision" in capsys.readouterr().err


def test_files_the_split_settings_leave_out_are_counted_not_silently_dropped(tmp_path, capsys):
    """An index of a libraries YAML holds its prepared files: a class over ``max_per_class`` loses files there, and
    the index says how many and where they are listed."""
    rng = np.random.default_rng(5)
    for label, n in (("big", 6), ("small", 3)):
        (tmp_path / "lib" / label).mkdir(parents=True)
        for i in range(n):
            sf.write(tmp_path / "lib" / label / f"{i}.wav", 0.3 * rng.standard_normal(8000).astype(np.float32), 16_000)
    spec = tmp_path / "libs.yaml"
    spec.write_text(yaml.safe_dump({"split": {"seed": 0, "max_per_class": 4, "min_per_class": 2},
                                    "libraries": [{"name": "lib", "kind": "folder", "root": "lib"}]}))
    main(["index", "--out", str(tmp_path / "idx"), "--libraries", str(spec), "--model", "logmel", "--no-progress",
          "--work-dir", str(tmp_path / "w"), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert "note: 2 of 9 files of lib are not in the index" in err and "2 files over the per-class cap" in err
    assert "report.json" in err and len(Index.open(tmp_path / "idx").rows) == 7


def test_build_options_are_declared_once_and_a_wrong_name_is_refused(library, tmp_path):
    from sfxrep.index.build import BuildOptions

    index, report = Index.build(tmp_path / "idx", [library], model="logmel",
                                options=BuildOptions(progress=False, blocks=True))
    assert report.embedded == CLASSES * PER_CLASS and index.table.block_vectors is not None
    assert BuildOptions(progress=False).but(batch_size=8) == BuildOptions(progress=False, batch_size=8)
    with pytest.raises(TypeError, match="bach_size"):
        Index.build(tmp_path / "idx", model="logmel", bach_size=8)
