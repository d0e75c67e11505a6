"""The parts of a fine-tuning recipe that keep what the source knows: distillation, a gentler encoder rate,
frozen BatchNorm statistics and L2-SP (the release model's candidates; measured in MODEL_CARD.md)."""

from __future__ import annotations

import copy

import pytest
import torch

from sfxrep.models.cnn9 import CNN9
from sfxrep.models.distillation import Distillation
from sfxrep.models.module import SfxModule
from sfxrep.training.callbacks.warmstart import WarmStart
from sfxrep.training.lightning_cli import fit
from tests.helpers import tiny_fit_args

WAVE = torch.randn(4, 20_000, generator=torch.Generator().manual_seed(0)) * 0.1


def tiny(**kwargs) -> SfxModule:
    torch.manual_seed(0)
    return SfxModule(CNN9(4), {"lib": 3}, **kwargs)


def test_distillation_is_zero_for_the_teacher_itself_and_trains_only_the_student():
    module = tiny()
    distill = Distillation(copy.deepcopy(module.encoder), weight=2.0)  # the teacher: the module as it starts
    module.eval()
    features = module.features(WAVE)
    same = distill(module.encoder(features, None), features, None)
    assert same.item() == pytest.approx(0.0, abs=1e-5)
    with torch.no_grad():
        for p in module.encoder.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    moved = distill(module.encoder(features, None), features, None)
    assert 0 < moved.item() <= 2 * 2.0  # weight · (1 − cos) ∈ [0, 2·weight]
    moved.backward()
    assert all(p.grad is None for p in distill.teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.encoder.parameters())


def test_a_teacher_sharing_the_students_frozen_trunk_gives_the_same_term_from_its_top_blocks_only():
    module = tiny()
    teacher = copy.deepcopy(module.encoder)
    with torch.no_grad():  # the student's top block has trained away from the teacher's; blocks 1-3 are the same
        for p in module.encoder.conv_block4.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    module.eval()
    features = module.features(WAVE)
    full = Distillation(teacher, weight=1.0)
    expected = full(module.encoder(features, None), features, None)
    shared = Distillation(teacher, weight=1.0)
    assert shared.share_trunk(module.encoder, 3) == 3
    calls = []
    hooks = [b.register_forward_hook(lambda *_: calls.append(1)) for b in teacher.blocks]
    got = shared(module.encoder(features, None), features, None)
    assert len(calls) == 1  # the teacher ran its top block alone
    torch.testing.assert_close(got, expected)
    assert expected.item() > 0.01  # a term that is there to match
    shared.release()
    got = shared(module.encoder(features, None), features, None)  # released: the whole teacher again
    assert len(calls) == 1 + 4 and shared.shared_blocks == 0
    for hook in hooks:
        hook.remove()
    with torch.no_grad():  # a lower block that differs: nothing is shared
        module.encoder.conv_block2.bn1.running_mean.add_(1.0)
    assert shared.share_trunk(module.encoder, 3) == 0 and shared.share_trunk(module.encoder, 1) == 1


def test_the_encoder_learns_at_a_fraction_of_the_heads_rate():
    module = tiny(lr=0.01, encoder_lr_scale=0.1)
    groups = module.configure_optimizers()["optimizer"].param_groups
    assert [g["lr"] for g in groups] == pytest.approx([0.001, 0.01])
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in module.encoder.parameters()}
    assert len(tiny(lr=0.01).configure_optimizers()["optimizer"].param_groups) == 1
    with pytest.raises(ValueError, match="encoder_lr_scale must be > 0"):
        tiny(encoder_lr_scale=0)


def test_frozen_statistics_and_l2sp_act_on_the_encoder():
    module = tiny().train()
    callback = WarmStart("aisfx", bn_stats="frozen", l2sp=0.5)
    callback.on_train_batch_start(None, module, None, 0)
    norms = [m for m in module.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms) and module.heads.training
    callback._anchor = {k: v.detach() + 1.0 for k, v in module.encoder.named_parameters()}  # the source: w + 1
    for p in module.encoder.parameters():
        p.grad = torch.zeros_like(p)
    callback.on_after_backward(None, module)
    assert all(torch.allclose(p.grad, torch.full_like(p, -0.5)) for p in module.encoder.parameters())
    with pytest.raises(ValueError, match=r"need warm_start\.source"):
        WarmStart(None, l2sp=0.1)


@pytest.mark.slow  # end to end: a real fit of the release recipe's parts from a tiny source
def test_a_recipe_fit_keeps_the_sources_statistics_and_logs_its_distillation(tiny_libraries, tmp_path):
    from sfxrep.models.checkpoint import load_checkpoint

    source, _ = fit(tiny_fit_args(tiny_libraries, tmp_path / "source"))
    best, cli = fit(tiny_fit_args(tiny_libraries, tmp_path, "--warm_start.source", str(source),
                                  "--warm_start.bn_stats", "frozen", "--warm_start.l2sp", "0.01",
                                  "--model.encoder_lr_scale", "0.1", "--distill.teacher", str(source),
                                  "--data.batches_per_epoch", "3"))
    before, after = load_checkpoint(source).module.encoder.state_dict(), cli.model.encoder.state_dict()
    stats = [k for k in before if k.endswith(("running_mean", "running_var"))]
    assert stats and all(torch.equal(before[k], after[k]) for k in stats)  # the source's statistics, kept
    assert any(not torch.equal(before[k], after[k]) for k in before if k.endswith("weight"))  # and it trained
    assert "train/lib_a/distill" in cli.trainer.callback_metrics
    assert load_checkpoint(best).init == str(source.resolve())
    from sfxrep.cli import main  # and sfxrep release writes it as a half-precision release that loads by path
    from sfxrep.models.release import load_release

    main(["release", str(best), "--name", "tiny-v0", "--out", str(tmp_path / "weights")])
    released = load_release(tmp_path / "weights" / "tiny-v0.pt")
    assert released.libraries == ["lib_a", "lib_b"] and released.encoder.width == 4
    # --interpolate auto: the weight-space ensemble with the source, α chosen on the validation splits
    from sfxrep.evaluate.wise import ALPHAS
    from sfxrep.models.interpolate import interpolate

    main(["release", str(best), "--name", "tiny-wise", "--out", str(tmp_path / "weights"), "--interpolate", "auto"])
    full = torch.load(tmp_path / "weights" / "tiny-wise.pt", weights_only=True)
    record = full["interpolation"]
    assert record["start"] == str(source.resolve()) and record["alpha"] in ALPHAS
    from sfxrep.models.release import probe_parity  # real files' full-precision embeddings travel with it

    assert len(full["probe"]["files"]) == 4 and full["probe"]["embeddings"].shape == (4, 32)
    parity = probe_parity(load_release(tmp_path / "weights" / "tiny-wise.pt"), full["probe"], tiny_libraries.parent)
    assert parity >= 0.999
    assert set(record["validation_frame_macro_f1"]) == {f"{a:g}" for a in ALPHAS}
    expect = interpolate(load_checkpoint(source).module, load_checkpoint(best).module, record["alpha"])
    got = load_release(tmp_path / "weights" / "tiny-wise.pt").encoder.state_dict()
    for key, value in expect.encoder.state_dict().items():
        if value.is_floating_point():
            torch.testing.assert_close(got[key], value, rtol=2e-3, atol=1e-3)  # as stored in float16


def test_a_release_in_half_precision_embeds_as_its_checkpoint_and_loads_by_name(tmp_path, monkeypatch):
    import soundfile as sf

    from sfxrep.audio.decode import decode
    from sfxrep.inference import registry
    from sfxrep.models import release
    from tests.helpers import SHARED

    module = tiny().eval()
    with torch.no_grad():  # trained-looking BatchNorm statistics
        for m in module.encoder.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2)
    files = sorted(SHARED.glob("kenney_ui/*.wav"))[:8] if SHARED.is_dir() else []
    if not files:  # real audio when the shared libraries are here, else a recorded-like noise burst
        sf.write(tmp_path / "a.wav", (torch.randn(44_100) * torch.linspace(1, 0, 44_100)).numpy() * 0.3, 44_100)
        files = [tmp_path / "a.wav"]
    def block(path):  # the first 20 000 samples, zero-padded
        samples = torch.from_numpy(decode(path).samples[:20_000]).float()
        return torch.nn.functional.pad(samples, (0, 20_000 - len(samples)))

    waves = torch.stack([block(f) for f in files])
    monkeypatch.setattr(release, "WEIGHTS", tmp_path / "weights")
    path, parity = release.export_release(module, tmp_path / "weights" / "sfxrep-test.pt", waves,
                                          libraries=["lib"])
    assert parity >= release.PARITY_MIN and release.shipped() == ["sfxrep-test"]
    loaded = registry.load_model("sfxrep-test")
    assert isinstance(loaded, registry.Embedder) and loaded.scene_embedding_size == 32
    assert path.stat().st_size < 0.6 * sum(p.numel() * 4 for p in module.parameters()) + 20_000  # half precision
    monkeypatch.setattr(release, "PARITY_MIN", 1.0 + 1e-6)  # a bar no rounding meets: refused, nothing written
    with pytest.raises(ValueError, match="change the embeddings"):
        release.export_release(module, tmp_path / "weights" / "bad.pt", waves)
    assert release.shipped() == ["sfxrep-test"]
