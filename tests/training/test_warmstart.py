"""Fine-tuning: --warm_start.source loads the released model's (or a checkpoint's) encoder and known heads."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch import Callback

from sfxrep.models.checkpoint import load_checkpoint
from sfxrep.training.lightning_cli import fit
from tests.helpers import needs_aisfx, tiny_fit_args, write_tiny_libraries

WAVE = torch.randn(2, 101_376, generator=torch.Generator().manual_seed(0)) * 0.1


class Snapshot(Callback):
    """Embeddings, encoder and heads as fitting starts (before any step) and as it ends."""

    def on_train_start(self, trainer, module):
        self.start = self._take(module)

    def on_train_end(self, trainer, module):
        self.end = self._take(module)

    @staticmethod
    def _take(module):
        module.eval()
        with torch.no_grad():
            emb = module.embed(WAVE)
        module.train()
        return {"embedding": emb, "encoder": {k: v.clone() for k, v in module.encoder.state_dict().items()},
                "heads": {k: v.clone() for k, v in module.heads.state_dict().items()}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("warm")
    libraries = write_tiny_libraries(root)
    best, _ = fit(tiny_fit_args(libraries, root / "source"))
    return libraries, root, best


@needs_aisfx
@pytest.mark.slow  # end to end: a real fit
def test_an_embedding_before_any_step_equals_the_released_models(tiny, tmp_path):
    from sfxrep.models.pretrained import load_aisfx

    libraries, _, _ = tiny
    snap = Snapshot()
    fit(tiny_fit_args(libraries, tmp_path, "--model.encoder.init_args.width", "64", "--warm_start.source", "aisfx",
                      "--data.batches_per_epoch", "1"), callbacks=[snap])
    with torch.no_grad():
        released = load_aisfx().embed(WAVE)
    torch.testing.assert_close(snap.start["embedding"], released, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(snap.end["embedding"], released, atol=1e-4)  # and then it trains


@needs_aisfx
def test_a_train_plan_with_init_takes_the_sources_width():
    from jsonargparse import Namespace

    from sfxrep.training.plan import TrainPlan

    layer = TrainPlan(init="aisfx", freeze_encoder_epochs=2).overlay(Namespace(trainer=Namespace(callbacks=[])))
    assert layer == {"warm_start": {"source": "aisfx", "freeze_encoder_epochs": 2},
                     "model": {"encoder": {"init_args": {"width": 64}}}}


def fit_from_source(tiny, tmp_path, *args: str):
    """The tiny source's module, and snapshots of a fit warm-started from it with ``args``."""
    libraries, _, source = tiny
    snap = Snapshot()
    fit(tiny_fit_args(libraries, tmp_path, "--warm_start.source", str(source), *args), callbacks=[snap])
    return load_checkpoint(source).module, snap


@pytest.mark.slow  # end to end: a real fit
def test_known_heads_are_loaded_and_a_frozen_encoder_stays_put(tiny, tmp_path):
    src, snap = fit_from_source(tiny, tmp_path, "--warm_start.freeze_encoder_epochs", "1")
    for key, value in src.encoder.state_dict().items():  # weights and BatchNorm statistics: the source's,
        torch.testing.assert_close(snap.start["encoder"][key], value)  # before and after the frozen epoch
        torch.testing.assert_close(snap.end["encoder"][key], value)
    for key, value in src.heads.state_dict().items():  # same libraries, same classes: the heads are loaded ...
        torch.testing.assert_close(snap.start["heads"][key], value)
    assert any(not torch.equal(snap.end["heads"][k], v) for k, v in src.heads.state_dict().items())  # ... and train


@pytest.mark.slow  # end to end: a real fit
def test_frozen_blocks_keep_the_sources_weights_and_statistics_and_the_blocks_above_train(tiny, tmp_path):
    src, snap = fit_from_source(tiny, tmp_path, "--warm_start.frozen_blocks", "3")
    kept = {k: v for k, v in src.encoder.state_dict().items() if not k.startswith("conv_block4.")}
    assert kept and any(k.endswith("running_mean") for k in kept)
    for key, value in kept.items():  # blocks 1-3: weights and BatchNorm statistics as the source had them
        torch.testing.assert_close(snap.end["encoder"][key], value, rtol=0, atol=0)
    top = [k for k in src.encoder.state_dict() if k.startswith("conv_block4.") and k.endswith("weight")]
    assert top and all(not torch.equal(snap.end["encoder"][k], src.encoder.state_dict()[k]) for k in top)


@pytest.mark.slow  # end to end: a real fit
def test_a_distillation_teacher_that_is_the_source_shares_the_frozen_blocks(tiny, tmp_path, caplog):
    libraries, _, source = tiny

    class Shared(Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            self.shared = module.distillation.shared_blocks

    seen = Shared()
    fit(tiny_fit_args(libraries, tmp_path, "--warm_start.source", str(source), "--warm_start.frozen_blocks", "3",
                      "--distill.teacher", str(source)), callbacks=[seen])
    assert seen.shared == 3 and "the teacher's first 3 blocks are the student's frozen ones" in caplog.text


@pytest.mark.parametrize(("args", "message"), [
    (("--warm_start.frozen_blocks", "2"), "frozen_blocks keeps a source's blocks: it needs warm_start.source"),
    (("--warm_start.frozen_blocks", "-1", "--warm_start.source", "SOURCE"), "frozen_blocks must be >= 0, not -1"),
    (("--warm_start.frozen_blocks", "5", "--warm_start.source", "SOURCE"),
     r"warm_start.frozen_blocks 5: the encoder \(CNN9\) has 4 blocks"),
])
def test_frozen_blocks_that_cannot_be_kept_are_a_clear_error(tiny, tmp_path, args, message):
    libraries, _, source = tiny
    args = tuple(str(source) if a == "SOURCE" else a for a in args)
    with pytest.raises(ValueError, match=message):
        fit(tiny_fit_args(libraries, tmp_path, *args))


def test_an_encoder_of_another_width_is_a_clear_error(tiny, tmp_path):
    libraries, _, source = tiny
    with pytest.raises(ValueError, match=r"--warm_start.source .*encoder does not fit this model's \(width 4 vs 8"):
        fit(tiny_fit_args(libraries, tmp_path, "--warm_start.source", str(source), "--model.encoder.init_args.width", "8"))


@pytest.mark.slow  # end to end: a real fit
def test_sfxrep_train_init_fine_tunes_and_its_rows_say_so(tiny, tmp_path):
    from sfxrep.records import read_results
    from sfxrep.training.plan import TrainPlan
    from sfxrep.training.scenarios import run_plan
    from tests.helpers import REPO, tiny_overrides

    libraries, _, source = tiny
    plan = TrainPlan(scenario="cross", configs=[], results=str(tmp_path / "results.jsonl"),
                     experiments=str(REPO / "experiments"), runs=str(tmp_path / "runs"),
                     overrides=tiny_overrides(libraries, tmp_path), init=str(source), freeze_encoder_epochs=1)
    rows = run_plan(plan)
    assert {r.init for r in rows} == {str(source.resolve())} and {r.width for r in rows} == {4}
    assert [r.init for r in read_results(tmp_path / "results.jsonl")] == [str(source.resolve())] * len(rows)


def test_release_interpolates_only_with_the_source_it_was_fine_tuned_from(tiny, tmp_path, capsys):
    """The warm-start source's hash travels in the checkpoint; a different file at its path is refused."""
    import shutil

    from sfxrep.cli import main

    libraries, _, source = tiny
    copy = tmp_path / "source.ckpt"
    shutil.copy(source, copy)
    tuned, _ = fit(tiny_fit_args(libraries, tmp_path / "tuned", "--warm_start.source", str(copy)))
    assert load_checkpoint(tuned).init_sha256
    other, _ = fit(tiny_fit_args(libraries, tmp_path / "other", "--seed_everything", "7"))
    shutil.copy(other, copy)  # another model now sits at the warm-start path
    with pytest.raises(SystemExit) as exit_:
        main(["release", str(tuned), "--name", "mine", "--out", str(tmp_path / "out"), "--interpolate", "0.5"])
    assert exit_.value.code == 2 and "is not the model" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
