"""Faults injected for real, and what each must do (issue: reliability, round two). One table per kind of fault,
in the manner of test_bad_input.py: the fault, the command, the outcome checked. README "Reliability" lists them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import sfxrep.index.build
import sfxrep.index.vectors
import sfxrep.inference.embedding
from sfxrep.cli import main
from sfxrep.index import Index
from tests.helpers import REPO, tiny_fit_args, tiny_overrides
from tests.helpers.sounds import distinct_sound


@pytest.fixture
def library(tmp_path):
    """4 classes × 5 files (class = folder)."""
    rng = np.random.default_rng(0)
    for c in range(4):
        (tmp_path / "lib" / f"c{c}").mkdir(parents=True)
        for i in range(5):
            sf.write(tmp_path / "lib" / f"c{c}" / f"f{i}.wav", distinct_sound(rng, c, 2.5), 22_050)
    return tmp_path / "lib"


def build(out, roots=(), **kw):
    return Index.build(out, roots, model=kw.pop("model", "logmel"), progress=False, **kw)


def run(argv, capsys) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


# ---- silently wrong results ---------------------------------------------------------------------------------


def test_a_stale_hnsw_graph_is_never_used(library, tmp_path, monkeypatch):
    monkeypatch.setattr(sfxrep.index.vectors, "EXACT_MAX", 5)  # 20 files: searched through the HNSW graph
    build(tmp_path / "idx", [library])
    reader = Index.open(tmp_path / "idx")  # opened before the update
    rng = np.random.default_rng(1)
    for c, folder in enumerate(sorted(library.iterdir())):  # every file re-recorded: same count, new vectors
        for f in folder.iterdir():
            sf.write(f, distinct_sound(rng, 3 - c, 2.5), 22_050)
    build(tmp_path / "idx")
    reader.search(reader.paths[0], k=1, indexed=True)  # builds its graph from the old vectors and saves it
    fresh = Index.open(tmp_path / "idx")
    for path in fresh.paths:
        (hit,) = fresh.search(path, k=1, indexed=True)
        assert hit.path == path and hit.score == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("fault", ["unmounted root", "most files gone"])
def test_an_update_never_drops_what_a_missing_drive_would_drop(library, tmp_path, capsys, fault):
    build(tmp_path / "idx", [library])
    if fault == "unmounted root":  # the mount point is there, empty
        shutil.move(library, tmp_path / "elsewhere")
        library.mkdir()
    else:
        for f in sorted(library.rglob("*.wav"))[:11]:
            f.unlink()
    code, _, err = run(["index", "--out", str(tmp_path / "idx"), "--no-progress"], capsys)
    assert code == 2 and "--prune" in err and len(Index.open(tmp_path / "idx")) == 20  # nothing changed
    code, _, _ = run(["index", "--out", str(tmp_path / "idx"), "--no-progress", "--prune"], capsys)
    assert code == 0 and len(Index.open(tmp_path / "idx")) == (0 if fault == "unmounted root" else 9)


def test_a_file_changed_with_the_same_size_and_mtime_is_embedded_again(library, tmp_path):
    build(tmp_path / "idx", [library])
    path = sorted(library.rglob("*.wav"))[0]
    before, stat = Index.open(tmp_path / "idx").vectors[0].copy(), path.stat()
    data, rate = sf.read(path, dtype="float32")
    sf.write(path, data[::-1].copy(), rate)  # same length, other sound
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the old modification time
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    _, report = build(tmp_path / "idx")
    assert report.embedded == 1 and not np.allclose(Index.open(tmp_path / "idx").vectors[0], before)


def test_non_finite_embeddings_are_refused_naming_the_file_and_the_model(library, tmp_path):
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.module import SfxModule

    module = SfxModule(CNN9(4), {"x": 2}).eval()
    with torch.no_grad():
        next(module.encoder.parameters()).view(-1)[0] = float("nan")  # one NaN weight
    module.source = "broken.ckpt"
    with pytest.raises(ValueError, match=r"\.wav: the model broken\.ckpt gives non-finite embeddings"):
        build(tmp_path / "idx", [library], model=module)
    assert not list((tmp_path / "idx").glob("parts/*.npz"))


# ---- crashes instead of healing ------------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(100, len(data), 97):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPT = {"truncated": _truncate, "empty": lambda p: p.write_bytes(b""), "bit-flipped": _flip}


@pytest.mark.parametrize("corrupt", list(CORRUPT))
def test_a_corrupt_data_file_is_one_line_and_repair_rebuilds_it(library, tmp_path, capsys, corrupt):
    build(tmp_path / "idx", [library])
    CORRUPT[corrupt](tmp_path / "idx" / "data.npz")
    for argv in (["search", str(tmp_path / "idx"), str(next(library.rglob("*.wav")))],
                 ["index", "--out", str(tmp_path / "idx"), "--no-progress"]):
        code, _, err = run(argv, capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "--repair" in err
    code, _, _ = run(["index", "--out", str(tmp_path / "idx"), "--no-progress", "--repair"], capsys)
    assert code == 0 and len(Index.open(tmp_path / "idx")) == 20


@pytest.mark.parametrize("corrupt", list(CORRUPT))
def test_a_corrupt_part_is_left_out_and_its_files_embedded_again(library, tmp_path, monkeypatch, corrupt):
    monkeypatch.setattr(sfxrep.index.build, "FLUSH_EVERY", 5)
    real = sfxrep.index.build.fmt.write

    def killed(*args, **kwargs):  # the build dies before its final save: its 4 parts stay
        raise KeyboardInterrupt

    monkeypatch.setattr(sfxrep.index.build.fmt, "write", lambda folder, meta, table, parts=():
                        real(folder, meta, table) if not parts else killed())
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path / "idx", [library])
    monkeypatch.setattr(sfxrep.index.build.fmt, "write", real)
    parts = sorted((tmp_path / "idx" / "parts").glob("*.npz"))
    assert len(parts) == 4
    CORRUPT[corrupt](parts[1])
    _, report = build(tmp_path / "idx", [library])
    assert report.kept == 15 and report.embedded == 5 and len(Index.open(tmp_path / "idx")) == 20


def test_a_corrupt_graph_is_rebuilt(library, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sfxrep.index.vectors, "EXACT_MAX", 5)
    index, _ = build(tmp_path / "idx", [library])
    index.search(index.paths[0], k=3, indexed=True)
    _flip(tmp_path / "idx" / "hnsw.faiss")
    fresh = Index.open(tmp_path / "idx")
    assert fresh.search(fresh.paths[0], k=1, indexed=True)[0].path == fresh.paths[0]
    assert "unreadable HNSW graph" in capsys.readouterr().err


def test_a_part_of_another_model_is_never_merged(library, tmp_path, monkeypatch):
    index, _ = build(tmp_path / "idx", [library])
    other = tmp_path / "other"
    monkeypatch.setattr(sfxrep.index.build, "FLUSH_EVERY", 5)
    monkeypatch.setattr(sfxrep.index.build.fmt, "write", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt)
                        if a[3:] and a[3] else None)  # the final save (with the build's parts) dies
    with pytest.raises(KeyboardInterrupt):  # a build with another model, killed: its parts stay
        from sfxrep.models.cnn9 import CNN9
        from sfxrep.models.module import SfxModule

        module = SfxModule(CNN9(4), {"x": 2}).eval()
        module.source = "other.ckpt"
        Index.build(other, [library], model=module, progress=False)
    monkeypatch.undo()
    (tmp_path / "idx" / "parts").mkdir(exist_ok=True)
    for part in sorted((other / "parts").glob("*.npz")):  # ... and land in this index's folder
        shutil.copy(part, tmp_path / "idx" / "parts" / part.name)
    again = Index.open(tmp_path / "idx")
    assert len(again) == 20 and again.vectors.shape[1] == index.vectors.shape[1]  # 192-d logmel, not 32-d CNN9


def test_a_second_writer_waits_for_the_first_and_says_who_holds_it(library, tmp_path, capsys):
    build(tmp_path / "idx", [library])
    lock, owner = tmp_path / "idx" / ".lock", tmp_path / "idx" / ".lock.owner"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from filelock import FileLock; "
                               "l = FileLock(sys.argv[1]); l.acquire(); open(sys.argv[2], 'w').write('pid 1 on "
                               "elsewhere since 12:00:00'); time.sleep(1.5); l.release()", str(lock), str(owner)])
    while not owner.is_file() and holder.poll() is None:  # another process holds the lock
        time.sleep(0.05)
    start = time.monotonic()
    build(tmp_path / "idx")
    holder.wait()
    assert time.monotonic() - start >= 0.5 and "being written by pid 1 on elsewhere" in capsys.readouterr().err


def test_a_killed_build_loses_at_most_the_last_seconds(library, tmp_path, monkeypatch):
    monkeypatch.setattr(sfxrep.index.build, "FLUSH_SECONDS", 0.0)  # every file is its own part
    real = sfxrep.inference.embedding.decode
    done = []

    def dies(path, *a, **kw):
        if len(done) == 7:
            raise KeyboardInterrupt
        done.append(path)
        return real(path, *a, **kw)

    monkeypatch.setattr(sfxrep.inference.embedding, "decode", dies)
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path / "idx", [library], batch_size=1)
    assert len(list((tmp_path / "idx" / "parts").glob("*.npz"))) >= 6  # not 0 (a part every 256 files)


# ---- training: bad numbers and signals ------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "message"), [
    (["--model.lr", "-0.01"], "model.lr must be > 0"),
    (["--model.lr", "0"], "model.lr must be > 0"),
    (["--model.weight_decay", "-1"], "model.weight_decay must be >= 0"),
])
def test_bad_numbers_are_refused_before_training(tiny_libraries, tmp_path, capsys, setting, message):
    code, _, err = run(["fit", *tiny_fit_args(tiny_libraries, tmp_path), *setting], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("options", "message"), [
    (["--k", "0"], "--k must be >= 1"), (["--fdr-threshold", "1.5"], "the FDR threshold is a train macro-F1"),
])
def test_bad_plan_numbers_are_refused(tmp_path, capsys, options, message):
    code, _, err = run(["train", *options, "--results", str(tmp_path / "r.jsonl")], capsys)
    assert code == 2 and message in err


def test_a_non_finite_loss_stops_naming_the_epoch_and_library():
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.module import SfxModule

    module = SfxModule(CNN9(4), {"lib_a": 3})
    wave = torch.full((4, 20_000), float("nan"))
    with pytest.raises(ValueError, match=r"the loss of library lib_a is nan at epoch 0"):
        module.training_step({"wave": wave, "label": torch.tensor([0, 1, 2, 0]), "library": "lib_a"}, 0)


def _sigterm_when(process: subprocess.Popen, ready, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while not ready() and time.time() < deadline and process.poll() is None:
        time.sleep(0.3)
    assert process.poll() is None, "the process ended before it could be interrupted"
    process.send_signal(signal.SIGTERM)


@pytest.mark.slow  # end to end: a real fit in a child process, stopped by SIGTERM as a preempted job is
def test_sigterm_exits_143_marks_the_run_interrupted_and_writes_no_rows(tiny_libraries, tmp_path):
    results, runs = tmp_path / "r.jsonl", tmp_path / "runs"
    argv = [sys.executable, "-m", "sfxrep.cli", "train", "--experiments", str(REPO / "experiments"), "-c",
            str(REPO / "experiments" / "base.yaml"), "--results", str(results), "--runs", str(runs), "--",
            *tiny_overrides(tiny_libraries, tmp_path), "--trainer.max_epochs", "200"]
    process = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    _sigterm_when(process, lambda: any(runs.glob("*/checkpoints/last.ckpt")))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143 and "interrupted (SIGTERM); resume with --resume" in err
    (record,) = [p.read_text() for p in runs.glob("*/run.json")]
    assert '"status": "interrupted"' in record and not results.exists()


@pytest.mark.slow  # end to end: a tuning worker stopped mid-trial
def test_sigterm_fails_the_trial_and_queues_its_retry(tiny_libraries, tmp_path):
    from sfxrep.tune.storage import load_study, storage_url

    url = storage_url(None, "t", tmp_path / "runs")
    argv = [sys.executable, "-m", "sfxrep.cli", "tune", "--experiments", str(REPO / "experiments"), "-c",
            str(REPO / "experiments" / "base.yaml"), "--results", str(tmp_path / "r.jsonl"), "--runs",
            str(tmp_path / "runs"), "--study", "t", "--trials", "2", "--", *tiny_overrides(tiny_libraries, tmp_path),
            "--trainer.max_epochs", "200"]
    process = subprocess.Popen(argv, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    _sigterm_when(process, lambda: any((tmp_path / "runs").glob("*/checkpoints/last.ckpt")))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err[-2000:]
    states = [t.state.name for t in load_study(url, "t").trials]
    assert states == ["FAIL", "WAITING"]  # the interrupted trial, and its retry with the same settings


# ---- one line for everything else ------------------------------------------------------------------------------


def test_small_things_are_one_clear_line(library, tiny_libraries, tmp_path, capsys):
    build(tmp_path / "idx", [library])
    code, _, err = run(["search", str(tmp_path / "idx"), str(library / "c0" / "f0.wav"), "--k", "0"], capsys)
    assert code == 2 and "must be >= 1" in err
    code, _, err = run(["search", str(tmp_path / "idx"), str(library)], capsys)
    assert code == 2 and "a folder, not an audio file" in err
    spec = tmp_path / "libs.yaml"
    spec.write_text(f"libraries: [{{name: a, kind: folder, root: {library / 'c0' / 'f0.wav'}}}]\n")
    code, _, err = run(["prepare", str(spec), "--work-dir", str(tmp_path / "w"), "--cache-dir", str(tmp_path / "c")],
                       capsys)
    assert code == 2 and "a file, not a folder" in err
    code, _, err = run(["tune", "show", "--study", "nope", "--runs", str(tmp_path / "runs")], capsys)
    assert code == 2 and "no study storage" in err and not (tmp_path / "runs" / "tune").exists()
    code, out, _ = run(["index", "--out", str(tmp_path / "idx"), "--failures"], capsys)
    assert code == 0 and out == ""
    code, _, err = run(["index", "--out", str(tmp_path / "idx"), "--blocks", "--no-progress"], capsys)
    assert code == 0 and "built without block embeddings" in err
    one_class = tmp_path / "one.yaml"
    one_class.write_text(f"libraries: [{{name: one, kind: folder, root: {tmp_path / 'oneclass'}}}]\n")
    shutil.copytree(library / "c0", tmp_path / "oneclass" / "c0")
    code, _, err = run(["label", str(tmp_path / "idx"), "--reference", str(one_class), "--out",
                        str(tmp_path / "s.csv"), "--no-progress", "--work-dir", str(tmp_path / "w"), "--cache-dir",
                        str(tmp_path / "c")], capsys)
    assert code == 0 and "has 1 class (c0)" in err
    gone = tmp_path / "gone.yaml"
    gone.write_text(f"libraries: [{{name: g, kind: folder, root: {tmp_path / 'missing'}}}]\n")
    code, _, _ = run(["label", str(tmp_path / "idx"), "--reference", str(gone), "--no-progress", "--work-dir",
                      str(tmp_path / "w"), "--cache-dir", str(tmp_path / "c")], capsys)
    assert code == 2 and not (tmp_path / "idx" / "references" / "gone-all").exists()


def test_a_full_disk_names_the_file_and_says_disk_full(tiny_libraries, tmp_path, capsys, monkeypatch):
    import errno

    import sfxrep.fileio

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sfxrep.fileio.os, "fsync", full)
    code, _, err = run(["prepare", str(tiny_libraries), "--work-dir", str(tmp_path / "w"), "--cache-dir",
                        str(tmp_path / "c")], capsys)
    assert code == 2 and "No space left on device" in err and "(disk full" in err and str(tmp_path / "c") in err


def test_an_unwritable_work_dir_is_found_before_decoding(tiny_libraries, tmp_path, capsys):
    read_only = Path("/proc/sfxrep-work")  # a read-only file system: unwritable even for root
    code, _, err = run(["prepare", str(tiny_libraries), "--work-dir", str(read_only), "--cache-dir",
                        str(tmp_path / "c")], capsys)
    assert code == 2 and "cannot write there" in err and str(read_only) in err
    assert not list((tmp_path / "c").rglob("*.npy"))  # nothing was decoded first


def test_a_journal_study_with_a_dead_trial_says_how_to_fail_it(tmp_path, capsys):
    import optuna

    from sfxrep.tune.storage import open_storage, storage_url

    url = storage_url(str(tmp_path / "j.log"), "j")
    study = optuna.create_study(study_name="j", storage=open_storage(url))
    study.ask()  # a worker took it and died: no heartbeats in a journal, so it stays RUNNING
    code, out, _ = run(["tune", "show", "--study", "j", "--storage", str(tmp_path / "j.log")], capsys)
    assert code == 0 and "RUNNING in a journal storage, which has no heartbeats" in out and "TrialState.FAIL" in out


# ---- round three (issue 36) ------------------------------------------------------------------------------------


def test_embed_refuses_a_model_that_gives_nan_and_writes_nothing(library, tmp_path, capsys, monkeypatch):
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.net import SfxNet

    module = SfxNet(CNN9(4)).eval()
    with torch.no_grad():
        next(module.encoder.parameters()).view(-1)[0] = float("nan")
    monkeypatch.setattr("sfxrep.inference.registry.load_model", lambda model, device="cpu": module)
    code, _, err = run(["embed", "nan.ckpt", str(library), "--out", str(tmp_path / "e.npz"), "--precision", "fp32"],
                       capsys)
    assert code == 2 and "nan.ckpt gives non-finite embeddings (NaN or inf) for 20 of 20 files" in err
    assert ".wav:" in err and not (tmp_path / "e.npz").exists()


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx"])
def test_audit_csv_cells_never_start_a_formula(cell):
    from sfxrep.fileio import spreadsheet_safe

    assert spreadsheet_safe(cell) == f"'{cell}"
    assert spreadsheet_safe("-0.25") == "-0.25" and spreadsheet_safe("door") == "door" and spreadsheet_safe(3) == 3


def test_a_hostile_file_name_cannot_end_or_hold_open_the_pages_script(tmp_path):
    """``<!--<script>`` (and ``</script>``) in any string of the audit's data: the inline script holds no ``<``, so the
    HTML parser never leaves or re-enters its script-data state, and the JSON reads back every name as it was."""
    import json
    import re

    from sfxrep.audit.page import render

    names = ["<!--<script>.wav", "</script><b>x.wav", "a<!--b.wav"]
    data = {"suspects": [{"path": str(tmp_path / n), "label": n} for n in names], "audio_paths": []}
    page = render(data, tmp_path).read_text()
    script = re.search(r"<script>(.*)</script>", page, re.S).group(1)
    assert "<" not in script.replace("</script", "")  # the only "<" is the closing tag's
    payload = json.loads(re.search(r"const DATA = (\{.*?\});\nconst KEY", script, re.S).group(1))
    assert [s["label"] for s in payload["suspects"]] == names


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """One tiny checkpoint written by a real fit (it records the SHA-256 of its weights)."""
    from tests.helpers import write_tiny_libraries

    tmp = tmp_path_factory.mktemp("fitted")
    main(["fit", *tiny_fit_args(write_tiny_libraries(tmp), tmp)])
    return next((tmp / "ckpt").glob("*.ckpt"))


def _flip_a_weight(path: Path, out: Path) -> Path:
    """A copy of a checkpoint with one byte of one stored tensor flipped (the zip and the pickle stay valid)."""
    import zipfile

    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        names = src.namelist()
        tensors = sorted((n for n in names if "/data/" in n), key=lambda n: -src.getinfo(n).file_size)
        for name in names:
            data = bytearray(src.read(name))
            if name == tensors[0]:
                data[len(data) // 2] ^= 0x40
            dst.writestr(src.getinfo(name), bytes(data))
    return out


@pytest.mark.slow
def test_a_bit_flip_inside_a_checkpoints_weights_is_one_line(fitted, tmp_path, capsys):
    from sfxrep.models.checkpoint import read_checkpoint

    assert read_checkpoint(fitted)["sfxrep"]["weights_sha256"]
    flipped = _flip_a_weight(fitted, tmp_path / "flipped.ckpt")
    code, _, err = run(["embed", str(flipped), str(tmp_path), "--out", str(tmp_path / "e.npz")], capsys)
    assert code == 2 and "do not match the SHA-256 recorded when it was written" in err and "flipped.ckpt" in err


@pytest.mark.slow
def test_a_checkpoint_naming_a_foreign_class_is_refused_before_importing_it(fitted, tmp_path, capsys, monkeypatch):
    raw = torch.load(fitted, map_location="cpu", weights_only=True)
    raw["hyper_parameters"]["encoder"] = {"class_path": "evil_module_xyz.Foo", "init_args": {}}
    raw.get("sfxrep", {}).pop("weights_sha256", None)
    torch.save(raw, tmp_path / "foreign.ckpt")
    imported = []
    monkeypatch.setattr("builtins.__import__", lambda name, *a, __real=__import__, **k:
                        imported.append(name) or __real(name, *a, **k))
    code, _, err = run(["embed", str(tmp_path / "foreign.ckpt"), str(tmp_path), "--out", str(tmp_path / "e.npz")],
                       capsys)
    assert code == 2 and "'evil_module_xyz.Foo', outside sfxrep" in err
    assert "evil_module_xyz" not in imported


@pytest.mark.parametrize("name", ["../escaped", "", "a/b", "aisfx", "logmel", ".hidden", "a..b"])
def test_a_release_name_that_escapes_or_shadows_is_refused_before_anything_runs(name, tmp_path, capsys):
    code, _, err = run(["release", str(tmp_path / "missing.ckpt"), "--name", name, "--out", str(tmp_path)], capsys)
    assert code == 2 and "--name" in err and not list(tmp_path.iterdir())


def test_a_release_verifies_its_weights_and_loads_by_path(tmp_path):
    from sfxrep.inference.registry import load_model
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.net import SfxNet
    from sfxrep.models.release import SHIPPED_SHA256, WEIGHTS, load_release, release_record, sha256

    torch.manual_seed(0)
    record = release_record(SfxNet(CNN9(4), num_classes={"a": 3}).eval())
    torch.save(record, tmp_path / "mine.pt")
    assert load_model(tmp_path / "mine.pt").encoder.width == 4  # a release written with --out loads by its path
    record["state_dict"]["encoder.conv_block1.conv1.weight"].view(-1)[0] += 1  # a changed weight
    torch.save(record, tmp_path / "changed.pt")
    with pytest.raises(ValueError, match="do not match the SHA-256 recorded in it"):
        load_release(tmp_path / "changed.pt")
    assert sha256(WEIGHTS / "sfxrep-v1.pt") == SHIPPED_SHA256["sfxrep-v1"]  # the shipped file is the published one


@pytest.mark.parametrize("blocks", ["-5", "0"])
def test_quantize_refuses_a_block_count_that_is_not_positive(blocks, tmp_path, capsys):
    code, _, err = run(["quantize", "aisfx", "--libraries", str(tmp_path / "x.yaml"), "--blocks", blocks,
                        "--out", str(tmp_path / "int8")], capsys)
    assert code == 2 and "--blocks" in err and not (tmp_path / "int8").exists()


def test_local_shard_tasks_run_at_most_one_per_core(tmp_path, monkeypatch):
    from sfxrep.index import cluster

    waves = []

    class Task:
        def __init__(self, shard):
            self.shard = shard

        def result(self):
            return str(tmp_path / f"s{self.shard}")

    class Executor:
        def map_array(self, job, ids, totals):
            waves.append(list(ids))
            return [Task(i) for i in ids]

    monkeypatch.setattr(cluster, "executor", lambda *a, **k: Executor())
    monkeypatch.setattr(cluster, "local_cores", lambda: 2)
    monkeypatch.setattr("sfxrep.index.build.merge", lambda out, folders: {"folders": folders})
    job = cluster.ShardJob(str(tmp_path / "idx"), (), None, None, None, None, "w", "c")
    merged = cluster.build_on_cluster(job, 5, cluster="local", log=lambda m: None)
    assert waves == [[0, 1], [2, 3], [4]] and len(merged["folders"]) == 5


def test_a_setting_lightning_refuses_is_one_line(tiny_libraries, tmp_path, capsys):
    code, _, err = run(["fit", *tiny_fit_args(tiny_libraries, tmp_path), "--trainer.max_epochs", "-3"], capsys)
    assert code == 2 and "max_epochs" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_resuming_from_a_truncated_last_checkpoint_is_one_line(tiny_libraries, tmp_path, capsys):
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "last.ckpt").write_bytes(b"PK\x03\x04 truncated")
    code, _, err = run(["fit", *tiny_fit_args(tiny_libraries, tmp_path), "--ckpt_path", "last"], capsys)
    assert code == 2 and "cannot resume" in err and "last.ckpt" in err and "delete it" in err


@pytest.mark.parametrize("content", ["[]", '"text"', '{"format": "2"}', '{"format": 2, "model": []}'])
def test_an_index_json_of_the_wrong_shape_is_one_line(library, tmp_path, capsys, content):
    build(tmp_path / "idx", [library])
    (tmp_path / "idx" / "index.json").write_text(content)
    code, _, err = run(["search", str(tmp_path / "idx"), str(next(library.rglob("*.wav"))), "--k", "2"], capsys)
    assert code == 2 and "not an sfxrep index" in err


def test_quantize_refuses_a_model_with_nan_weights(tmp_path, capsys, monkeypatch):
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.net import SfxNet

    module = SfxNet(CNN9(4)).eval()
    with torch.no_grad():
        next(module.encoder.parameters()).view(-1)[0] = float("nan")
    monkeypatch.setattr("sfxrep.evaluate.quantize.load_model", lambda model, device="cpu": module)
    code, _, err = run(["quantize", "nan.ckpt", "--libraries", str(tmp_path / "x.yaml"), "--out", str(tmp_path / "q")],
                       capsys)
    assert code == 2 and "non-finite weights (NaN or inf)" in err and not (tmp_path / "q").exists()


def test_a_bit_flip_in_the_shipped_release_loaded_by_name_is_one_line(tmp_path, monkeypatch, capsys):
    from sfxrep.models import release

    data = bytearray((release.WEIGHTS / "sfxrep-v1.pt").read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one weight
    (tmp_path / "sfxrep-v1.pt").write_bytes(bytes(data))
    monkeypatch.setattr(release, "WEIGHTS", tmp_path)
    code, _, err = run(["embed", "sfxrep-v1", str(tmp_path), "--out", str(tmp_path / "e.npz")], capsys)
    assert code == 2 and "is not the published" in err and "reinstall sfxrep" in err
