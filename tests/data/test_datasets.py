"""Train blocks (random crop, short files padded) and eval blocks (50 % overlap, every sample covered)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfxrep.audio.blocks import block_samples
from sfxrep.data.datasets import (
    EvalBlockDataset,
    LibraryFiles,
    RandomBlockDataset,
    collate_library_batch,
)


@pytest.fixture
def files(tmp_path) -> LibraryFiles:
    lengths = [300, 1000, 2500]
    waves = []
    for i, n in enumerate(lengths):
        path = tmp_path / f"{i}.npy"
        np.save(path, (np.arange(n) % 97 / 97 + i).astype(np.float16))
        waves.append(str(path))
    return LibraryFiles("lib", waves, np.array(lengths), np.array([0, 1, 1]), ["a", "b"])


def test_block_length_of_the_paper():
    assert block_samples(100, 1024) == 101_376  # 100 centred frames at hop 1024 ≈ 2.30 s at 44.1 kHz


def test_random_blocks_pad_short_files_and_crop_long_ones(files):
    ds = RandomBlockDataset(files, block_length=1000)
    short = ds[0]
    assert short["wave"].shape == (1000,) and short["label"] == 0 and short["library"] == "lib"
    assert torch.all(short["wave"][300:] == 0) and torch.any(short["wave"][:300] != 0)  # padded, not dropped
    starts = set()
    source = np.load(files.waves[2]).astype(np.float32)
    for _ in range(40):
        block = ds[2]["wave"].numpy()
        start = int(np.flatnonzero(np.isclose(source[:1501], block[0]) & np.isclose(source[1:1502], block[1]))[0])
        np.testing.assert_array_equal(block, source[start : start + 1000])
        starts.add(start)
    assert len(starts) > 5  # random offsets


def test_eval_blocks_cover_each_file_at_half_overlap(files):
    ds = EvalBlockDataset(files, block_length=1000, hop_length=500)
    # 300 → 1 block; 1000 → 1 block; 2500 → starts 0, 500, 1000, 1500 (the last padded to cover the tail)
    assert ds.file_index.tolist() == [0, 1, 2, 2, 2, 2]
    assert ds.starts.tolist() == [0, 0, 0, 500, 1000, 1500]
    last = ds[5]
    assert last["file"] == 2 and last["label"] == 1 and torch.all(last["wave"][1000:] == 0)
    covered = np.zeros(2500, bool)
    for start in ds.starts[2:]:
        covered[start : start + 1000] = True
    assert covered.all()


def test_collate_keeps_one_library_per_batch(files):
    ds = EvalBlockDataset(files, 1000, 500)
    batch = collate_library_batch([ds[0], ds[3]])
    assert batch["wave"].shape == (2, 1000) and batch["library"] == "lib"
    assert batch["label"].tolist() == [0, 1] and batch["file"].tolist() == [0, 2]
    other = dict(ds[1], library="other")
    with pytest.raises(ValueError, match="mixes libraries"):
        collate_library_batch([ds[0], other])


def test_loaders_pin_memory_only_for_a_gpu(tiny_libraries, tmp_path):
    from types import SimpleNamespace

    from sfxrep.data.datamodule import SfxDataModule

    data = SfxDataModule(libraries=str(tiny_libraries), work_dir=str(tmp_path / "w"), cache_dir=str(tmp_path / "c"),
                         prepare_workers=1).ready()
    assert not data.train_dataloader().pin_memory  # CPU training: pinning would only cost
    data.trainer = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device("cuda", 0)), global_rank=0,
                                   world_size=1)
    assert data.train_dataloader().pin_memory and all(dl.pin_memory for dl in data.val_dataloader().values())
