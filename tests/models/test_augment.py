"""Training-time augmentation: each part does what it says, labels stay exact, and only training batches change."""

from __future__ import annotations

import pytest
import torch

from sfxrep.models.augment import Augment


def _log_mel(b: int = 8) -> torch.Tensor:
    return torch.rand(b, 1, 100, 96, generator=torch.Generator().manual_seed(0))  # (B, 1, T, F) in [0, 1]


def test_gain_is_within_its_decibels_and_a_zero_amount_changes_nothing():
    torch.manual_seed(0)
    wave = torch.ones(16, 10)
    ratio_db = 20 * torch.log10(Augment(gain_db=6.0).wave(wave)[:, 0])
    assert ratio_db.abs().max() <= 6.0 + 1e-4 and ratio_db.std() > 1.0
    off = Augment(gain_db=0, tilt=0, freq_masks=0, time_masks=0, mixup=0)
    x, labels = _log_mel(), torch.zeros(8, dtype=torch.long)
    assert torch.equal(off.wave(wave), wave) and torch.equal(off.features(x, labels), x)


def test_specaugment_masks_whole_bands_and_spans_with_the_block_minimum():
    torch.manual_seed(1)
    x = _log_mel()
    out = Augment(gain_db=0, tilt=0, freq_masks=1, freq_width=12, time_masks=0, mixup=0).features(x, torch.arange(8))
    floor = x.amin(dim=(1, 2, 3))
    for i in range(8):
        changed = (out[i, 0] != x[i, 0]).any(dim=0)  # (F,) bins with a change
        bins = changed.nonzero().flatten()
        assert len(bins) <= 12 and (len(bins) == 0 or bins.max() - bins.min() + 1 == len(bins))  # one band
        assert torch.all(out[i, 0][:, changed] == floor[i])  # the whole band, every frame


def test_mixup_mixes_only_items_of_one_class_and_keeps_the_rest():
    torch.manual_seed(2)
    labels = torch.tensor([0, 0, 1, 1, 2, 3, 3, 3])
    x = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 1, 4, 4).clone()  # item i is all i
    out = Augment(gain_db=0, tilt=0, freq_masks=0, time_masks=0, mixup=1.0).features(x, labels)
    values = out[:, 0, 0, 0]
    assert values[4] == 4  # alone in its class: unchanged
    for i in range(8):
        mates = [j for j in range(8) if labels[j] == labels[i]]
        assert min(mates) <= values[i] <= max(mates)  # a mix of its own class only
    assert (values != torch.arange(8.0)).sum() >= 4


def test_bad_amounts_are_refused():
    with pytest.raises(ValueError, match=r"model\.augment"):
        Augment(mixup=1.5)


def test_the_module_augments_training_batches_only():
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.module import SfxModule

    torch.manual_seed(3)
    module = SfxModule(CNN9(4), {"lib": 3}, augment=Augment(mixup=0))
    batch = {"library": "lib", "label": torch.tensor([0, 1, 2]), "wave": torch.randn(3, 101_376) * 0.1}
    module.eval()
    with torch.no_grad():
        a, b = module._step(batch)[0], module._step(batch)[0]
    assert torch.equal(a, b)  # evaluation: the same batch gives the same logits
    module.train()
    with torch.no_grad():
        c = module._step(batch)[0]
    assert not torch.allclose(c, module._step(batch)[0])  # training: a new draw every time
    module.augment = None
    with torch.no_grad():
        assert torch.equal(module._step(batch)[0], module._step(batch)[0])  # what changed was the augmentation
