"""'Focal' Dataset Regularization: Eq. 1 on a scripted F1 history, and the weights reaching the loss."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from sfxrep.training.callbacks.fdr import FocalDatasetRegularization, fdr_weights
from sfxrep.training.lightning_cli import SfxLightningCLI
from tests.helpers import tiny_fit_args


def eq1(n: int, beta: float) -> float:
    return (1 - beta**n) / (1 - beta)


def normalised(epochs: dict[str, int], beta: float) -> dict[str, float]:
    raw = {k: eq1(n, beta) for k, n in epochs.items()}
    return {k: v * len(raw) / sum(raw.values()) for k, v in raw.items()}


def test_weights_follow_equation_1_and_sum_to_the_number_of_libraries():
    for beta in (0.999, 0.9, 0.5):
        got = fdr_weights({"a": 2, "b": 5, "c": 9}, beta)
        assert got == pytest.approx(normalised({"a": 2, "b": 5, "c": 9}, beta))
        assert sum(got.values()) == pytest.approx(3)
    assert fdr_weights({"a": 3, "b": 3}) == {"a": 1.0, "b": 1.0}
    with pytest.raises(ValueError):
        fdr_weights({"a": 1}, beta=1.0)


def test_scripted_history_crossing_epochs_and_the_not_yet_crossed_rule():
    history = [  # train macro-F1 per epoch
        {"easy": 0.50, "mid": 0.30, "hard": 0.10},
        {"easy": 0.92, "mid": 0.60, "hard": 0.20},  # easy crosses at epoch 2
        {"easy": 0.85, "mid": 0.90, "hard": 0.40},  # mid at 3 (exactly the threshold); easy's dip is ignored
        {"easy": 0.99, "mid": 0.95, "hard": 0.70},
        {"easy": 0.99, "mid": 0.97, "hard": 0.91},  # hard at 5
    ]
    fdr = FocalDatasetRegularization(threshold=0.9, beta=0.999)
    expected_epochs = [
        {"easy": 2, "mid": 2, "hard": 2},  # after epoch 1 nobody crossed: all e + 1 → equal weights
        {"easy": 2, "mid": 3, "hard": 3},
        {"easy": 2, "mid": 3, "hard": 4},
        {"easy": 2, "mid": 3, "hard": 5},
        {"easy": 2, "mid": 3, "hard": 5},
    ]
    for epoch, (f1, n_e) in enumerate(zip(history, expected_epochs, strict=True), start=1):
        weights = fdr.update(epoch, f1)
        assert weights == pytest.approx(normalised(n_e, 0.999))
    assert fdr.crossed == {"easy": 2, "mid": 3, "hard": 5}
    assert weights["hard"] > weights["mid"] > weights["easy"]  # slow libraries weigh more


def test_epochs_from_an_earlier_run_are_fixed():
    fdr = FocalDatasetRegularization(epochs={"a": 7, "b": 2})
    weights = fdr.update(1, {"a": 0.95, "b": 0.1, "c": 0.1})
    assert weights == pytest.approx(normalised({"a": 7, "b": 2, "c": 2}, 0.999))


def _train_f1_per_epoch(log_dir) -> list[dict[str, float]]:
    rows = csv.DictReader((log_dir / "metrics.csv").read_text().splitlines())
    return [{lib: float(r[f"train/{lib}/macro_f1"]) for lib in ("lib_a", "lib_b")} for r in rows
            if r.get("train/lib_a/macro_f1")]


@pytest.mark.slow  # end to end: a real fit
def test_an_attainable_threshold_moves_the_weights_as_the_logged_f1_says(tiny_libraries, tmp_path):
    save_to = tmp_path / "fdr_epochs.json"
    fdr = FocalDatasetRegularization(threshold=0.3, save_to=str(save_to))  # lib_b (3 classes) crosses, lib_a not
    cli = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path, "--trainer.max_epochs", "3",
                                             "--model.lr", "0.01"), run=False)
    cli.trainer.callbacks.append(fdr)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    history = _train_f1_per_epoch(tmp_path / "runs" / "sfxrep" / "version_0")
    assert len(history) == 3
    crossed = {}
    for epoch, f1 in enumerate(history, start=1):  # the rule, recomputed from what was logged
        crossed.update({lib: epoch for lib, v in f1.items() if v >= 0.3 and lib not in crossed})
    assert crossed and set(crossed) != {"lib_a", "lib_b"}, f"expected exactly one crossing, got {history}"
    expected = normalised({lib: crossed.get(lib, 4) for lib in ("lib_a", "lib_b")}, 0.999)
    assert fdr.crossed == crossed and cli.model.library_weights == pytest.approx(expected)
    slow, fast = ("lib_a", "lib_b") if "lib_b" in crossed else ("lib_b", "lib_a")
    assert cli.model.library_weights[slow] > 1.0 > cli.model.library_weights[fast]  # α moved
    metrics = cli.trainer.callback_metrics
    assert float(metrics[f"fdr/{slow}/alpha"]) == pytest.approx(expected[slow])
    assert float(metrics[f"fdr/{fast}/n_e"]) == crossed[fast]
    assert json.loads(save_to.read_text()) == crossed
    ckpt = torch.load(cli.trainer.checkpoint_callback.best_model_path, weights_only=True)
    assert set(ckpt["library_weights"]) == {"lib_a", "lib_b"}


@pytest.mark.slow  # end to end: a real fit
def test_a_missing_train_f1_is_an_error_not_a_zero(tiny_libraries, tmp_path):
    fdr = FocalDatasetRegularization(metric="train/{library}/renamed_f1")
    cli = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path), run=False)
    cli.trainer.callbacks.append(fdr)
    with pytest.raises(ValueError, match="renamed_f1"):
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)


@pytest.mark.slow  # end to end: a real fit
def test_resuming_restores_the_crossing_epochs_and_weights(tiny_libraries, tmp_path):
    args = tiny_fit_args(tiny_libraries, tmp_path, "--model.lr", "0.01")
    first = FocalDatasetRegularization(threshold=0.3)
    cli = SfxLightningCLI(args=[*args, "--trainer.max_epochs", "2"], run=False)
    cli.trainer.callbacks.append(first)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert first.crossed, "the first two epochs must cross for this test to mean anything"
    weights = dict(cli.model.library_weights)
    resumed = FocalDatasetRegularization(threshold=0.3)  # a fresh callback: its state must come from the checkpoint
    again = SfxLightningCLI(args=[*args, "--trainer.max_epochs", "3"], run=False)
    again.trainer.callbacks.append(resumed)
    seen = []
    resumed.on_train_epoch_start = lambda trainer, module: seen.append(
        (trainer.current_epoch, dict(resumed.crossed), dict(module.library_weights)))
    again.trainer.fit(again.model, datamodule=again.datamodule, ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"))
    assert seen == [(2, first.crossed, pytest.approx(weights))]  # epoch 3 only, starting from the saved state
    assert all(resumed.crossed[lib] == epoch for lib, epoch in first.crossed.items())


def test_library_weight_scales_that_librarys_loss(tiny_libraries, tmp_path):
    cli = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path), run=False)
    module, data = cli.model, cli.datamodule.ready()
    module.build_heads(data.num_classes)
    batch = next(iter(data.train_dataloader()))
    module.train()
    torch.manual_seed(0)
    base = module.training_step(batch, 0)
    module.library_weights[batch["library"]] = 2.5
    torch.manual_seed(0)
    assert module.training_step(batch, 0).item() == pytest.approx(2.5 * base.item(), rel=1e-4)


@pytest.mark.slow  # end to end: a real fit
def test_epochs_file_from_an_earlier_run_and_default_save_location(tiny_libraries, tmp_path):
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"lib_a": 4, "lib_b": 2}))
    fdr = FocalDatasetRegularization(epochs_file=str(earlier), epochs={"lib_b": 1})
    assert fdr.fixed == {"lib_a": 4, "lib_b": 1}  # explicit epochs win over the file
    cli = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path), run=False)
    cli.trainer.callbacks.append(fdr)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    saved = json.loads((tmp_path / "runs" / "sfxrep" / "version_0" / "fdr_epochs.json").read_text())
    assert saved == {"lib_a": 4, "lib_b": 1}
    assert cli.model.library_weights == pytest.approx(normalised({"lib_a": 4, "lib_b": 1}, 0.999))
