"""File names are bytes: a library of hostile names goes through prepare → train → index → search → label → audit →
apply, and every file is accounted for (issue: reliability, round three)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfxrep.cli import main
from sfxrep.fileio import json_line, shown
from tests.helpers import REPO, class_sound

HOSTILE = [b"\xff\xfe.wav", b"<!--<script>.wav", b"<img src=x onerror=alert(1)>.wav", b'say "hi" it\'s.wav', b"new\nline.wav",
           b"=HYPERLINK(1).wav", b"+1.wav", b"-2.wav", b"@sum.wav", b"a" * 251 + b".wav", b"caf\xe9 latin-1.wav"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Two classes: 6 plain files each, and the hostile names spread over both (written as raw bytes)."""
    root = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    for c in range(2):
        folder = root / "lib" / f"c{c}"
        folder.mkdir(parents=True)
        for i in range(6):
            sf.write(folder / f"plain{i}.wav", class_sound(rng, c * 4, 1.0), 22_050)
        for name in HOSTILE[c::2]:
            path = os.path.join(os.fsencode(folder), name)
            buffer = folder / "tmp.wav"
            sf.write(buffer, class_sound(rng, c * 4, 1.0), 22_050)
            os.rename(buffer, path)
    (root / "libs.yaml").write_text("split: {seed: 0, min_per_class: 2}\n"
                                    "libraries:\n  - {name: lib, kind: folder, root: lib}\n")
    return root


def test_json_lines_keep_a_non_utf8_name_exactly():
    name = os.fsdecode(b"/x/\xff\xfe.wav")
    line = json_line({"path": name})
    assert line.encode("utf-8") and json.loads(line)["path"] == name and os.fsencode(json.loads(line)["path"]) == \
        b"/x/\xff\xfe.wav"
    assert shown(name) == "/x/\\xff\\xfe.wav"


@pytest.mark.slow
def test_hostile_names_go_through_every_command(hostile, capsys):
    work = ["--work-dir", str(hostile / "w"), "--cache-dir", str(hostile / "c")]
    n_files = 12 + len(HOSTILE)
    main(["prepare", str(hostile / "libs.yaml"), *work])
    report = json.loads(next((hostile / "w").glob("*/report.json")).read_text())["libraries"][0]
    assert report["found"] == report["in_manifest"] == n_files and not report["skipped"]
    manifest = next((hostile / "w").glob("*/manifest.jsonl"))
    names = {os.fsencode(Path(json.loads(line)["path"]).name) for line in manifest.read_text().splitlines()}
    assert set(HOSTILE) <= names  # every name, byte for byte

    main(["fit", "--config", str(REPO / "experiments" / "base.yaml"), "--data.libraries", str(hostile / "libs.yaml"),
          "--data.work_dir", str(hostile / "w"), "--data.cache_dir", str(hostile / "c"), "--data.batches_per_epoch", "2",
          "--data.prepare_workers", "1", "--model.encoder.init_args.width", "4", "--trainer.max_epochs", "1",
          "--trainer.enable_progress_bar", "false", "--trainer.logger.init_args.save_dir", str(hostile / "runs"),
          "--checkpoint.dirpath", str(hostile / "ckpt")])
    ckpt = next((hostile / "ckpt").glob("*.ckpt"))

    main(["index", "--out", str(hostile / "idx"), "--libraries", str(hostile / "libs.yaml"), "--model", str(ckpt),
          "--no-progress", *work])
    index = json.loads((hostile / "idx" / "index.json").read_text())
    assert index["files"] == n_files
    query = os.fsdecode(os.path.join(os.fsencode(hostile / "lib" / "c0"), HOSTILE[0]))
    capsys.readouterr()
    main(["search", str(hostile / "idx"), query, "--k", "3", "--json"])
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(hits) == 3

    main(["label", str(hostile / "idx"), "--reference", f"{hostile / 'libs.yaml'}:lib", "--out",
          str(hostile / "labels.csv"), *work])
    with open(hostile / "labels.csv", newline="", encoding="utf-8") as f:
        labelled = list(csv.reader(f))[1:]
    assert len(labelled) == n_files and any(row[0].endswith("\\xff\\xfe.wav") for row in labelled)

    main(["audit", str(hostile / "idx"), "--out", str(hostile / "audit"), "--no-progress", *work])
    page = (hostile / "audit" / "audit.html").read_text(encoding="utf-8")
    assert "\\\\xff\\\\xfe.wav" in page and "<!--<script>" not in page
    with open(hostile / "audit" / "audit.csv", newline="", encoding="utf-8") as f:
        assert all(not cell.startswith(("=", "+", "@")) for row in csv.reader(f) for cell in row)

    decisions = hostile / "decisions.csv"  # what the page exports: the shown name
    decisions.write_text("kind,path,library,label,suggestion,keep,decision\n"
                         f"relabel,{shown(query)},lib,c0,c1,,accept\n", encoding="utf-8")
    main(["audit", str(hostile / "idx"), "--apply", str(decisions), "--preview-out", str(hostile / "changes.csv")])
    changes = (hostile / "changes.csv").read_text(encoding="utf-8")
    assert "move" in changes and "\\xff\\xfe.wav" in changes
