"""The embedding API: batching equals one-by-one, timestamps, scene embeddings, files and folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfxrep.api import embed_file, embed_paths, get_scene_embeddings, get_timestamp_embeddings, load_model
from sfxrep.cli import main
from sfxrep.lightning_cli import fit
from tests.conftest import tiny_fit_args, tone, write_tiny_libraries


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    best, _ = fit(tiny_fit_args(write_tiny_libraries(root), root))
    return best


def test_batched_equals_one_by_one_and_timestamps(checkpoint):
    model = load_model(checkpoint)
    audio = torch.randn(3, 160_000) * 0.1
    emb, times = get_timestamp_embeddings(audio, model, batch_size=2)
    assert emb.shape == (3, 3, 32) and times.shape == (3, 3)  # blocks start at 0, 51 200, 102 400
    np.testing.assert_allclose(times[0].numpy(), (np.array([0, 51_200, 102_400]) + 101_376 / 2) / 44.1, rtol=1e-6)
    for i in range(3):
        single, _ = get_timestamp_embeddings(audio[i : i + 1], model)
        torch.testing.assert_close(single[0], emb[i], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(get_scene_embeddings(audio, model), emb.mean(dim=1))


def test_files_and_folders_with_broken_files_reported(checkpoint, tmp_path, capsys):
    model = load_model(checkpoint)
    tone(tmp_path / "lib" / "a.wav", seconds=3.0)
    tone(tmp_path / "lib" / "sub" / "b.flac", seconds=0.5, format="FLAC")
    (tmp_path / "lib" / "broken.wav").write_bytes(b"nope")
    assert embed_file(tmp_path / "lib" / "a.wav", model).shape == (2, 32)
    files, embeddings, skipped = embed_paths([tmp_path / "lib"], model)
    assert [f.rsplit("/", 1)[-1] for f in files] == ["a.wav", "b.flac"] and embeddings.shape == (2, 32)
    assert [s[0].rsplit("/", 1)[-1] for s in skipped] == ["broken.wav"]
    main(["embed", str(checkpoint), str(tmp_path / "lib"), "--out", str(tmp_path / "e.npz")])
    saved = np.load(tmp_path / "e.npz")
    np.testing.assert_allclose(saved["embeddings"], embeddings, rtol=1e-5)
    assert "skipped" in capsys.readouterr().out and len(saved["skipped"]) == 1
