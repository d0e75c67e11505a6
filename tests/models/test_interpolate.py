"""WiSE-FT: the weight-space ensemble of a fine-tuned model and its start, with α chosen on validation splits."""

from __future__ import annotations

import copy

import pytest
import torch

from sfxrep.evaluate import wise
from sfxrep.models.cnn9 import CNN9
from sfxrep.models.interpolate import interpolate
from sfxrep.models.module import SfxModule


def pair(width: int = 4) -> tuple[SfxModule, SfxModule]:
    """A start model and a 'fine-tuned' one: every encoder tensor moved, other heads."""
    torch.manual_seed(0)
    start = SfxModule(CNN9(width), {"old": 3})
    tuned = SfxModule(CNN9(width), {"new_a": 2, "new_b": 5})
    tuned.encoder.load_state_dict(start.encoder.state_dict())
    with torch.no_grad():
        for tensor in tuned.encoder.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(torch.rand_like(tensor) + 0.5)
    return start.eval(), tuned.eval()


def test_the_line_from_start_to_tuned_ends_at_both_models_and_keeps_the_tuned_heads():
    start, tuned = pair()
    a, b = start.encoder.state_dict(), tuned.encoder.state_dict()
    for alpha, expect in ((0.0, a), (1.0, b)):
        got = interpolate(start, tuned, alpha).encoder.state_dict()
        assert all(torch.equal(got[k], expect[k]) for k in got if got[k].is_floating_point())
    half = interpolate(start, tuned, 0.25)
    mixed = half.encoder.state_dict()
    weight = "conv_block2.conv1.weight"
    torch.testing.assert_close(mixed[weight], 0.75 * a[weight] + 0.25 * b[weight])
    stat = "conv_block1.bn1.running_var"  # BatchNorm statistics are interpolated with the weights
    torch.testing.assert_close(mixed[stat], 0.75 * a[stat] + 0.25 * b[stat])
    assert half.libraries == ["new_a", "new_b"]
    assert all(torch.equal(p, q) for p, q in zip(half.heads.parameters(), tuned.heads.parameters(), strict=True))
    assert torch.equal(tuned.encoder.state_dict()[weight], b[weight])  # the inputs are left as they were
    wave = torch.randn(2, 20_000) * 0.1
    assert half.embed(wave).shape == (2, 32)


def test_models_that_cannot_be_mixed_are_refused():
    start, tuned = pair()
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        interpolate(start, tuned, 1.5)
    with pytest.raises(ValueError, match="the encoders differ"):
        interpolate(SfxModule(CNN9(8), {"old": 3}), tuned, 0.5)


def test_alpha_is_chosen_by_the_mean_validation_score_and_ties_go_to_the_start(monkeypatch):
    start, tuned = pair()
    table = {0.0: {"a": 0.60, "b": 0.40}, 0.25: {"a": 0.70, "b": 0.50}, 0.5: {"a": 0.80, "b": 0.40},
             0.75: {"a": 0.50, "b": 0.40}, 1.0: {"a": 0.20, "b": 0.30}}
    seen = []

    def scores(module, data, **_):  # the α of a candidate, recovered from its weights
        w = module.encoder.state_dict()["conv_block1.conv1.weight"]
        a, b = start.encoder.state_dict()["conv_block1.conv1.weight"], tuned.encoder.state_dict()["conv_block1.conv1.weight"]
        alpha = round(float(((w - a) / (b - a)).mean()), 2)
        seen.append(alpha)
        return table[alpha]

    monkeypatch.setattr(wise, "validation_scores", scores)
    choice = wise.choose_alpha(start, tuned, data=None, log=lambda _: None)
    assert sorted(seen) == list(wise.ALPHAS)
    assert choice.alpha == 0.25 and choice.mean[0.25] == pytest.approx(0.60)  # 0.25 and 0.5 tie at 0.60
    assert choice.per_library[0.5] == table[0.5]
    monkeypatch.setattr(wise, "validation_scores", lambda module, data, **_: {})

    class NoVal:
        class spec:
            source = "libs.yaml"
    with pytest.raises(ValueError, match="no library has a validation split"):
        wise.choose_alpha(start, copy.deepcopy(tuned), NoVal(), log=lambda _: None)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "half"])
def test_release_refuses_an_alpha_outside_the_unit_interval(value, capsys):
    from sfxrep.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["release", "run.ckpt", "--interpolate", value])
    assert exit_.value.code == 2 and "give off, auto or an alpha in [0, 1]" in capsys.readouterr().err
