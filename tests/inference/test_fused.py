"""The fused bf16 encoder: BatchNorm folded into each convolution, ReLU inside it; the same function as CNN9."""

from __future__ import annotations

import pytest
import torch

from sfxrep import hardware
from sfxrep.inference import fused
from sfxrep.inference.precision import embed_at
from sfxrep.models.cnn9 import CNN9
from tests.helpers.models import tiny_model, trained_like


def _log_mel(n: int = 6) -> torch.Tensor:
    return torch.randn(n, 1, 100, 96, generator=torch.Generator().manual_seed(3)) * 2 - 4  # (n, 1, T, F)


NATIVE_BF16 = pytest.mark.skipif(not hardware.cpu_has_native_bf16(), reason="this CPU (or its ISA limit) has no "
                                 "native bf16: oneDNN's bf16 convolution refuses it, and the fused path is not used")


def test_folding_is_the_encoder_s_own_function():
    encoder = trained_like(8)
    x = _log_mel()
    with torch.no_grad():
        want = encoder(x)
    assert torch.allclose(fused.FusedCNN9(encoder, torch.float32)(x), want, atol=1e-4, rtol=1e-4)


@NATIVE_BF16
def test_fused_bf16_stays_near_fp32():
    encoder = trained_like(8)
    x = _log_mel()
    with torch.no_grad():
        want = encoder(x)
    got = fused.FusedCNN9(encoder)(x)  # bf16
    assert got.dtype == torch.float32 and got.shape == want.shape
    assert torch.nn.functional.cosine_similarity(got, want).min() > 0.999


@NATIVE_BF16
def test_bf16_embedding_of_a_frozen_cnn9_runs_fused_and_follows_weight_changes():
    model = tiny_model()
    model.encoder = trained_like(4)
    assert fused.fusable(model)
    wave = torch.randn(3, 101_376) * 0.1
    embed = embed_at(model, "bf16")
    first = embed(wave)
    with torch.no_grad():
        assert torch.equal(first, fused.fused_encoder(model)(model.features(wave)))
        fp32 = model.embed(wave)
    assert torch.nn.functional.cosine_similarity(first, fp32).min() > 0.999
    built = fused.fused_encoder(model)
    with torch.no_grad():
        model.encoder.conv_block1.bn1.running_mean += 0.3  # the weights changed: a new fused copy, new embeddings
    assert fused.fused_encoder(model) is not built and not torch.equal(embed(wave), first)


def test_a_cpu_without_native_bf16_keeps_the_autocast_path(monkeypatch):
    model = tiny_model()
    model.encoder = trained_like(4)
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)  # an AVX2 CPU, or one held to AVX2
    assert not fused.fusable(model)


@NATIVE_BF16
def test_broken_weights_are_not_fused_so_their_nan_reaches_the_callers_checks():
    model = tiny_model()
    model.encoder = trained_like(4)
    with torch.no_grad():
        model.encoder.conv_block1.conv1.weight.view(-1)[0] = float("nan")  # oneDNN's fused ReLU would hide it
    assert not fused.fusable(model)
    assert torch.isnan(embed_at(model, "bf16")(torch.randn(2, 101_376) * 0.1)).all()
    with pytest.raises(ValueError, match="non-finite weights"):
        fused.fused_encoder(model)


def test_what_cannot_be_folded_runs_as_it_did():
    per_library = tiny_model()
    per_library.encoder = CNN9(4, bn="per_library", libraries=["a", "b"]).eval()
    training = tiny_model().train()
    assert not fused.fusable(per_library) and not fused.fusable(training)
    wave = torch.randn(2, 101_376) * 0.1
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        want = per_library.embed(wave, "a").float()
    assert torch.equal(embed_at(per_library, "bf16")(wave, "a"), want)
