"""The grouped k-fold protocol and the paired comparison built on its per-file predictions."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import f1_score

from sfxrep.evaluate.embed import Embedded
from sfxrep.evaluate.kfold import assign_folds, kfold_evaluate, scorable
from sfxrep.results.paired import Scored, holm, paired_compare, weighted_score
from tests.helpers import write_folder_library


def blocks_of(file_embeddings: np.ndarray, labels: np.ndarray, per_file: int = 2, noise: float = 0.01,
              seed: int = 0) -> Embedded:
    """``per_file`` noisy blocks around each file's embedding."""
    rng = np.random.default_rng(seed)
    files = np.repeat(np.arange(len(labels)), per_file)
    emb = file_embeddings[files] + noise * rng.standard_normal((len(files), file_embeddings.shape[1]))
    return Embedded(emb.astype(np.float32), labels[files], files)


def test_folds_are_grouped_and_stratified():
    labels = np.repeat(np.arange(4), 20)
    groups = [f"g{i // 2}" for i in range(80)]  # pairs of takes
    folds = assign_folds(labels, groups, 5, seed=3)
    for g in set(groups):
        assert len({folds[i] for i in range(80) if groups[i] == g}) == 1
    for c in range(4):
        assert np.bincount(folds[labels == c], minlength=5).tolist() == [4] * 5
    assert not np.array_equal(folds, assign_folds(labels, groups, 5, seed=4))  # the fold seed matters


def test_a_class_of_one_group_is_not_scored():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert scorable(labels, ["a", "b", "c", "d", "e", "e"]).tolist() == [True] * 4 + [False] * 2


def test_grouping_removes_the_take_leak():
    """Each group is a tight cluster of takes with a class drawn at random: with the takes split across folds 1-NN
    finds the sibling take (near 1.0); grouped, it is at chance."""
    rng = np.random.default_rng(0)
    n_groups, takes = 60, 4
    centres = rng.standard_normal((n_groups, 16))
    group_of = np.repeat(np.arange(n_groups), takes)
    labels = np.repeat(np.arange(n_groups) % 3, takes)  # 20 groups per class
    embedded = blocks_of(centres[group_of] + 0.05 * rng.standard_normal((len(group_of), 16)), labels)
    paths = [f"f{i}.wav" for i in range(len(labels))]
    grouped, _ = kfold_evaluate(embedded, ["a", "b", "c"], paths, [f"g{g}" for g in group_of], library="x")
    leaky, _ = kfold_evaluate(embedded, ["a", "b", "c"], paths, paths, library="x")
    assert leaky.frame_macro_f1 > 0.95
    assert grouped.frame_macro_f1 < 0.6


def test_kfold_scores_every_file_once_per_seed_and_nested_queries_only_those():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 10)
    centres = np.eye(3, 8)[labels] * 5 + 0.1 * rng.standard_normal((30, 8))
    embedded = blocks_of(centres, labels, per_file=3)
    paths = [f"f{i}.wav" for i in range(30)]
    score, records = kfold_evaluate(embedded, ["a", "b", "c"], paths, paths, library="x", fold_seeds=(0, 1))
    assert score.frame_macro_f1 == 1.0 and score.folds == 5 and score.n_test_files == 30
    assert [r.fold_seed for r in records] == [0, 1]
    assert sorted(records[0].paths) == sorted(paths) and all(len(b) == 3 for b in records[0].block_pred)
    queries = np.zeros(30, bool)
    queries[[0, 11, 22]] = True
    nested, records = kfold_evaluate(embedded, ["a", "b", "c"], paths, paths, library="x", queries=queries)
    assert nested.n_test_files == 3 and records[0].paths == ["f0.wav", "f11.wav", "f22.wav"]


def test_weighted_macro_f1_is_sklearns_and_weights_are_repeats():
    rng = np.random.default_rng(2)
    truth, pred = rng.integers(0, 5, 200), rng.integers(0, 6, 200)
    pred[:50] = truth[:50]
    expected = f1_score(truth, pred, labels=np.unique(truth), average="macro", zero_division=0)
    assert weighted_score(truth, pred, 6, None, "frame_macro_f1") == pytest.approx(expected)
    w = rng.integers(0, 3, 200).astype(float)
    repeated = f1_score(np.repeat(truth, w.astype(int)), np.repeat(pred, w.astype(int)),
                        labels=np.unique(np.repeat(truth, w.astype(int))), average="macro", zero_division=0)
    assert weighted_score(truth, pred, 6, w, "frame_macro_f1") == pytest.approx(repeated)


def test_holm_matches_the_step_down_by_hand():
    assert holm([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.09, 0.09, 0.2])


def _scored(truth, pred, group):
    return Scored(truth, pred, group, 4)


def test_paired_comparison_sees_a_real_gain_and_not_a_null_one():
    rng = np.random.default_rng(3)
    n = 400
    truth, group = rng.integers(0, 4, n), np.arange(n) // 2
    weak = np.where(rng.random(n) < 0.5, truth, rng.integers(0, 4, n))
    strong = np.where(rng.random(n) < 0.5, truth, weak)  # fixes about half of weak's errors
    a = {"lib": [[_scored(truth, weak, group)] * 3]}
    same = paired_compare(a, a, metric="frame_macro_f1", n_files={"lib": n}, n_boot=200)
    assert same[0].diff == 0 and same[0].p == 1.0 and same[0].lo <= 0 <= same[0].hi
    better = paired_compare(a, {"lib": [[_scored(truth, strong, group)] * 3]}, metric="frame_macro_f1",
                            n_files={"lib": n}, n_boot=200)
    lib, overall = better
    assert lib.diff > 0.1 and lib.lo > 0 and lib.p < 0.01 and 0 < lib.mde < lib.diff
    assert overall.library == "overall" and overall.diff == pytest.approx(lib.diff)


@pytest.mark.slow
def test_evaluate_two_models_then_compare_them_from_the_cli(tmp_path):
    """The interface: ``sfxrep evaluate A B --protocol kfold --results R`` then ``sfxrep compare R --models A B
    --json``."""
    write_folder_library(tmp_path / "lib", classes=4, per_class=6)
    (tmp_path / "libs.yaml").write_text("split: {seed: 0, min_per_class: 2}\n"
                                        "libraries:\n  - {name: lib, kind: folder, root: lib}\n")
    results = tmp_path / "r.jsonl"
    run = lambda *args: subprocess.run([sys.executable, "-m", "sfxrep.cli", *args], capture_output=True, text=True,
                                       cwd=tmp_path, check=True).stdout
    run("evaluate", "logmel", "cnn9-random", "--libraries-yaml", "libs.yaml", "--results", str(results),
        "--fold-seeds", "0", "1", "--precision", "fp32")
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [(r["model"], r["protocol"], r["folds"], r["fold_seeds"]) for r in rows] == \
        [("logmel", "kfold", 5, [0, 1]), ("cnn9-random", "kfold", 5, [0, 1])]
    assert (tmp_path / "r.predictions.jsonl").is_file()
    out = [json.loads(line) for line in run("compare", str(results), "--models", "logmel", "cnn9-random",
                                            "--json", "--boot", "100").splitlines()]
    assert [o["library"] for o in out] == ["lib", "overall"]
    for o in out:
        assert set(o) >= {"a", "b", "diff", "lo", "hi", "p", "p_holm", "mde"}
        assert o["lo"] <= o["diff"] <= o["hi"] and o["diff"] == pytest.approx(o["b"] - o["a"])
    assert out[0]["a"] == pytest.approx(rows[0]["frame_macro_f1"])
