"""Training through the real LightningCLI on tiny synthetic libraries (width 4, a few batches)."""

from __future__ import annotations

import re

import pytest
import torch

from sfxrep.evaluate.run import evaluate_checkpoint
from sfxrep.inference.precision import lightning_precision as resolve_precision
from sfxrep.models.checkpoint import load_checkpoint
from sfxrep.training.lightning_cli import SfxLightningCLI, fit
from tests.helpers import tiny_fit_args
from tests.helpers.training import RecordBatches


@pytest.mark.slow  # end to end: a real fit
def test_fit_logs_per_library_metrics_and_checkpoints_on_mean_val_loss(tiny_libraries, tmp_path):
    best, cli = fit(tiny_fit_args(tiny_libraries, tmp_path))
    metrics = cli.trainer.callback_metrics
    for lib in ("lib_a", "lib_b"):
        for key in ("train/{}/ce", "train/{}/loss", "train/{}/macro_f1", "val/{}/loss", "val/{}/macro_f1"):
            assert key.format(lib) in metrics
    mean = (metrics["val/lib_a/loss"] + metrics["val/lib_b/loss"]) / 2
    assert metrics["val/loss"] == pytest.approx(float(mean))
    assert best.is_file() and cli.trainer.checkpoint_callback.monitor == "val/loss"
    assert cli.model.heads["lib_a"].mlp[-1].out_features == 18 and cli.model.heads["lib_b"].mlp[-1].out_features == 3

    ckpt = load_checkpoint(best)  # rebuilt from the checkpoint alone
    module = ckpt.module
    assert module.libraries == ["lib_a", "lib_b"] and module.encoder.width == 4
    wave = torch.randn(2, 20_000)
    cli.model.eval()
    torch.testing.assert_close(module.embed(wave), cli.model.embed(wave))
    assert ckpt.data["libraries"] == str(tiny_libraries.resolve())  # absolute: evaluates from any folder
    info = dict(ckpt.run_info)
    assert len(info.pop("weights_sha256")) == 64  # checked at every load (tests/test_faults.py)
    assert info == {"run": "sfxrep", "precision": resolve_precision("auto", "auto")}  # base.yaml: auto
    assert (tmp_path / "ckpt" / "last.ckpt").is_file()


@pytest.mark.slow  # end to end: a real fit
@pytest.mark.parametrize(
    ("mixing", "extra"),
    [
        ("sequential", []),
        ("joint", ["--trainer.precision", "bf16-mixed", "--model.channels_last", "true"]),
        ("round_robin", ["--model.frontend.init_args.backend", "nnaudio"]),
    ],
)
def test_every_mixing_trains_and_lightning_advances_the_sampler_epoch(tiny_libraries, tmp_path, mixing, extra):
    recorder = RecordBatches()
    args = tiny_fit_args(tiny_libraries, tmp_path, "--data.mixing", mixing, "--trainer.max_epochs", "2", *extra)
    cli = SfxLightningCLI(args=args, run=False)
    cli.trainer.callbacks.append(recorder)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    first, second = recorder.epochs
    assert first != second  # new items each epoch: the sampler got set_epoch
    if mixing == "round_robin":
        assert all({lib for lib, _ in step} == {"lib_a", "lib_b"} for step in first)  # every library each step
    else:
        libs = [step[0][0] for step in first]
        assert sorted(libs) == ["lib_a", "lib_a", "lib_b", "lib_b"]
        if mixing == "sequential":
            assert libs == ["lib_a", "lib_a", "lib_b", "lib_b"]
    assert torch.isfinite(cli.trainer.callback_metrics["val/loss"])


@pytest.mark.slow  # end to end: a real fit
def test_unseen_library_gets_adapted_batchnorm_at_evaluation(tiny_libraries, tmp_path):
    best, _ = fit(tiny_fit_args(tiny_libraries, tmp_path, "--data.train_libraries", '["lib_a"]',
                                "--model.encoder.init_args.bn", "per_library"))
    rows = evaluate_checkpoint(best, results=tmp_path / "results.jsonl", precision="bf16")
    by_lib = {r.library: r for r in rows}
    assert {r.embed_precision for r in rows} == {"bf16"}  # the precision the rows were embedded at
    assert by_lib["lib_a"].scenario == "within" and by_lib["lib_a"].bn_adapted_blocks == 0
    assert by_lib["lib_b"].scenario == "ucs_transfer" and not by_lib["lib_b"].seen_in_training
    assert by_lib["lib_b"].bn_adapted_blocks > 0
    assert all(0.0 <= r.frame_macro_f1 <= 1.0 for r in rows)
    assert (tmp_path / "results.jsonl").read_text().count("\n") == 2


def test_the_frontend_hop_length_decides_the_block_length(tiny_libraries, tmp_path):
    cli = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path, "--model.frontend.init_args.hop_length", "512"),
                          run=False)
    assert cli.datamodule.hop_length == 512 and cli.datamodule.block_length == 99 * 512
    with pytest.raises(ValueError, match=re.escape('must be given via "model.frontend.init_args.hop_length"')):
        SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path, "--data.hop_length", "512"), run=False)


@pytest.mark.slow  # end to end: a real fit
def test_optimizer_and_scheduler_are_configurable_and_model_lr_still_wins(tiny_libraries, tmp_path):
    cli = SfxLightningCLI(args=tiny_fit_args(
        tiny_libraries, tmp_path, "--optimizer", "torch.optim.SGD", "--optimizer.lr", "0.5", "--optimizer.momentum",
        "0.9", "--lr_scheduler", "torch.optim.lr_scheduler.StepLR", "--lr_scheduler.step_size", "1",
        "--lr_scheduler.gamma", "0.1", "--trainer.max_epochs", "2"), run=False)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    optimizer = cli.trainer.optimizers[0]
    assert type(optimizer).__name__ == "SGD" and optimizer.param_groups[0]["momentum"] == 0.9
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * 0.1 ** 2)  # two epochs of StepLR
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert {id(p) for p in cli.model.heads.parameters()} <= trained  # heads built before the optimizer
    default = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path / "d", "--model.lr", "0.02"), run=False)
    default.trainer.fit(default.model, datamodule=default.datamodule)
    (adam,) = default.trainer.optimizers
    assert type(adam).__name__ == "Adam" and adam.param_groups[0]["lr"] == 0.02


@pytest.mark.slow  # end to end: a real fit
def test_a_library_without_validation_files_is_reported_not_silently_dropped(tmp_path):
    from tests.helpers import write_tiny_libraries

    libraries = write_tiny_libraries(tmp_path, lib_b_split={"ratios": [0.9, 0.0, 0.1]})
    with pytest.warns(UserWarning, match="lib_b has no val files"):
        _, cli = fit(tiny_fit_args(libraries, tmp_path))
    metrics = cli.trainer.callback_metrics
    assert "val/lib_b/loss" not in metrics and metrics["val/loss"] == pytest.approx(float(metrics["val/lib_a/loss"]))


def test_several_devices_get_ddp_that_tolerates_idle_heads(tiny_libraries, tmp_path):
    from sfxrep.training.lightning_cli import SfxLightningCLI

    cli = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path, "--trainer.accelerator", "cpu",
                                             "--trainer.devices", "2"), run=False)
    assert cli.trainer.strategy._ddp_kwargs.get("find_unused_parameters") is True
    single = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path / "one"), run=False)
    assert type(single.trainer.strategy).__name__ == "SingleDeviceStrategy"
