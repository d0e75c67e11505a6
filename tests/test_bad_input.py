"""Every bad input is one line naming the file, key or value, with exit code 2 — for every command."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from sfxrep.cli import main
from tests.helpers import AISFX_MISSING, REPO, needs_aisfx, tiny_fit_args, tiny_overrides, tone


def fit(tmp, libs, *extra):
    return ["fit", *tiny_fit_args(libs, tmp), *extra]


def train(tmp, libs, *configs, options=(), results=None):
    conf = [a for c in configs for a in ("-c", str(c))]
    return ["train", "--experiments", str(REPO / "experiments"), *conf, *options, "--results",
            str(results or tmp / "r.jsonl"), "--runs", str(tmp / "runs"), "--", *tiny_overrides(libs, tmp)]


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


def libraries_with_split(tmp: Path, split: dict) -> Path:
    return write(tmp, "libs.yaml", yaml.safe_dump({"split": split, "libraries": [
        {"name": "a", "kind": "folder", "root": str(tmp / "lib_a")}]}))


def checkpoint_file(tmp: Path, kind: str) -> Path:
    path = tmp / f"{kind}.ckpt"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a checkpoint")
    elif kind == "state_dict":
        torch.save({"w": torch.zeros(3)}, path)
    else:  # truncated: the first half of a real torch file
        torch.save({"state_dict": {"w": torch.zeros(1000)}}, tmp / "whole.ckpt")
        data = (tmp / "whole.ckpt").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return path


CASES = {
    # name: (argv builder (tmp, libs) → argv, text the one line must contain)
    "config YAML is invalid": (lambda t, lib: train(t, lib, write(t, "bad.yaml", "trainer: [1, 2\n")), "bad.yaml"),
    "config YAML is a list": (lambda t, lib: train(t, lib, write(t, "list.yaml", "- 1\n- 2\n")), "list.yaml"),
    "config path is a folder": (lambda t, lib: train(t, lib, t), str("{tmp}")),
    "libraries YAML is invalid": (lambda t, lib: ["prepare", str(write(t, "lib.yaml", "libraries: [oops\n"))],
                                  "not valid YAML"),
    "libraries YAML is a list": (lambda t, lib: ["prepare", str(write(t, "lib.yaml", "- a\n"))], "expected a mapping"),
    "libraries YAML is a folder": (lambda t, lib: ["prepare", str(t)], "Is a directory"),
    "split ratio is not a number": (lambda t, lib: ["prepare", str(libraries_with_split(t, {"ratios": ["a", 0.1, 0.1]}))],
                                    "ratios must be three"),
    "split cap is not a number": (lambda t, lib: ["prepare", str(libraries_with_split(t, {"max_per_class": "many"}))],
                                  "max_per_class must be a positive integer"),
    "batch_size 0": (lambda t, lib: fit(t, lib, "--data.batch_size", "0"), "data.batch_size (0)"),
    "batch_size negative": (lambda t, lib: fit(t, lib, "--data.batch_size", "-64"), "data.batch_size (-64)"),
    "items_per_class 0": (lambda t, lib: fit(t, lib, "--data.items_per_class", "0"), "data.items_per_class (0)"),
    "batch not a multiple": (lambda t, lib: fit(t, lib, "--data.items_per_class", "3"), "positive multiple"),
    "a value of the wrong type": (lambda t, lib: fit(t, lib, "--trainer.max_epochs", "many"), "trainer.max_epochs"),
    "an unknown option": (lambda t, lib: fit(t, lib, "--data.no_such_thing", "1"), "no_such_thing"),
    "fit: the step budget ends before validation": (lambda t, lib: fit(
        t, lib, "--trainer.max_steps", "2", "--trainer.val_check_interval", "5", "--trainer.check_val_every_n_epoch",
        "null"), "trainer.max_steps 2 ends before the first validation check"),
    "train: the step budget ends before validation": (lambda t, lib: [*train(t, lib), "--trainer.max_steps", "3",
                                                                       "--trainer.val_check_interval", "150",
                                                                       "--trainer.check_val_every_n_epoch", "null"],
                                                      "trainer.max_steps 3 ends before the first validation check"),
    "fit: validation never runs": (lambda t, lib: fit(t, lib, "--trainer.limit_val_batches", "0"),
                                   "trainer.limit_val_batches 0 runs no validation"),
    "unknown mixing": (lambda t, lib: fit(t, lib, "--data.mixing", "diagonal"), "data.mixing"),
    "fit: libraries file missing": (lambda t, lib: fit(t, lib, "--data.libraries", str(t / "nope.yaml")), "nope.yaml"),
    "fit: library folder missing": (lambda t, lib: fit(t, lib, "--data.libraries", str(write(
        t, "gone.yaml", "libraries: [{name: g, kind: folder, root: missing}]\n"))), "library folder not found"),
    "FDR threshold out of range": (lambda t, lib: train(t, lib, options=("--fdr-threshold", "1.5")), "FDR threshold"),
    "checkpoint empty": (lambda t, lib: ["evaluate", str(checkpoint_file(t, "empty"))], "empty file"),
    "checkpoint truncated": (lambda t, lib: ["evaluate", str(checkpoint_file(t, "truncated"))],
                             "truncated or not a torch file"),
    "checkpoint not one": (lambda t, lib: ["evaluate", str(checkpoint_file(t, "text"))], "text.ckpt: not a readable"),
    "fit: config YAML is invalid": (lambda t, lib: fit(t, lib, "-c", str(write(t, "broken.yaml", "a: [1\n"))),
                                    "broken.yaml: not valid YAML"),
    "checkpoint a bare state_dict": (lambda t, lib: ["evaluate", str(checkpoint_file(t, "state_dict"))],
                                     "bare state_dict"),
    "checkpoint missing": (lambda t, lib: ["evaluate", str(t / "nope.ckpt")], "nope.ckpt"),
    "results file missing": (lambda t, lib: ["compare", str(t / "none.jsonl")], "none.jsonl"),
    "results path is a folder": (lambda t, lib: train(t, lib, results=t), "is a folder"),
    "embed: every file broken": (lambda t, lib: ["embed", "aisfx", str(write(t, "x.wav", "junk")), "--out",
                                               str(t / "e")], "no file could be embedded"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_with_exit_2(case, tiny_libraries, tmp_path, capsys):
    build, expected = CASES[case]
    argv = build(tmp_path, tiny_libraries)
    if case.startswith("embed") and AISFX_MISSING:
        pytest.skip(AISFX_MISSING)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    errors = [line for line in err.splitlines() if line.startswith(f"sfxrep {argv[0]}: error: ")]
    assert len(errors) == 1 and "Traceback" not in err and "usage:" not in err, err  # Lightning's info lines may precede
    assert expected.format(tmp=tmp_path) in errors[0]


def test_evaluate_with_an_unknown_library_names_the_known_ones(tiny_libraries, tmp_path, capsys):
    main(fit(tmp_path, tiny_libraries))
    with pytest.raises(SystemExit):
        main(["evaluate", str(tmp_path / "ckpt" / "best.ckpt"), "--libraries", "lib_z"])
    err = capsys.readouterr().err
    assert "lib_z" in err and "lib_a" in err and "Traceback" not in err


@needs_aisfx
def test_embed_writes_the_file_it_names(tiny_libraries, tmp_path, capsys):
    tone(tmp_path / "a.wav", seconds=2.5)
    main(["embed", "aisfx", str(tmp_path / "a.wav"), "--out", str(tmp_path / "named")])
    assert (tmp_path / "named.npz").is_file() and str(tmp_path / "named.npz") in capsys.readouterr().out
