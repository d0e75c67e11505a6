"""sfxrep-v2's recipe flow end to end on tiny libraries: two seeds of a recipe trained without evaluation (and
resumed), scored on a panel by the k-fold protocol, their weight soup and its WiSE-FT mix with the warm-start source
scored, and the paired table written."""

from __future__ import annotations

import importlib.util
import json

import pytest

from sfxrep.cli import main
from sfxrep.records import read_results
from sfxrep.training.lightning_cli import fit
from tests.helpers import REPO, tiny_fit_args, tiny_overrides


def _v2():
    spec = importlib.util.spec_from_file_location("v2", REPO / "experiments" / "release" / "v2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # end to end: three real fits and four k-fold evaluations
def test_a_recipe_trains_per_seed_and_its_candidates_and_soup_are_compared_on_the_panel(tiny_libraries, tmp_path,
                                                                                         capsys):
    v2, runs, results = _v2(), tmp_path / "runs", tmp_path / "release-v2" / "panel.jsonl"
    source, _ = fit(tiny_fit_args(tiny_libraries, tmp_path / "source"))  # stands in for aiSFX: a width-4 source

    def train(seed: int) -> None:
        main(["train", "--scenario", "cross", "-c", str(REPO / "experiments/release/v2/budget.yaml"),
              "-c", str(REPO / "experiments/release/v2/keep-augment.yaml"), "--name", "v2-keep-augment",
              "--seed", str(seed), "--no-eval", "--runs", str(runs), "--results", str(tmp_path / "train.jsonl"),
              "--resume", "--", *tiny_overrides(tiny_libraries, tmp_path), "--trainer.val_check_interval", "2",
              "--warm_start.source", str(source), "--distill.teacher", str(source)])

    train(0), train(1)
    assert not (tmp_path / "train.jsonl").exists()  # --no-eval: no rows, the checkpoint named in run.json
    found = v2.candidates(runs)
    assert len(found) == 2 and all(path.is_file() for path in found.values())
    train(0)
    assert "already trained and evaluated, skipped" in capsys.readouterr().out  # resumable: a finished seed stays
    panel = str(tiny_libraries)
    v2.evaluate(runs, results, panel, reference="logmel")
    soup = v2.soup("keep-augment", runs, results, panel)
    wise = v2.wise("keep-augment", 0.5, runs, results, panel)
    assert wise == "v2-wise0.5-soup-keep-augment"  # of the two seeds' soup
    rows = read_results(results)
    assert {r.run for r in rows if r.model == "sfxrep"} == {*found, soup, wise}
    assert all(r.protocol == "kfold" and r.predictions for r in rows)
    assert next(r for r in rows if r.run == soup).extra["soup_of"] == sorted(found)
    mixed = next(r for r in rows if r.run == wise).extra
    assert (mixed["wise_of"], mixed["alpha"], mixed["start"]) == (sorted(found), 0.5, str(source))
    v2.evaluate(runs, results, panel, reference="logmel")
    assert len(read_results(results)) == len(rows)  # nothing scored twice
    text = v2.table(results, tmp_path / "TABLE.md", reference="logmel")
    assert len(text.splitlines()) == 2 + 4 and (tmp_path / "TABLE.md").read_text().strip() == text
    assert json.loads((runs / next(iter(found)) / "run.json").read_text())["status"] == "done"
