"""The embedding API: batching equals one-by-one, timestamps, scene embeddings, files and folders."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from sfxrep.api import embed_file, embed_paths, get_scene_embeddings, get_timestamp_embeddings, load_model
from sfxrep.cli import main
from sfxrep.training.lightning_cli import fit
from tests.helpers import AISFX_MISSING, REPO, needs_aisfx, tiny_fit_args, tone, write_tiny_libraries


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
    assert embed_file(tmp_path / "lib" / "a.wav", model).shape == (1, 32)  # 3 s: one whole 2.3 s block
    assert embed_file(tmp_path / "lib" / "a.wav", model, tail=True).shape == (2, 32)  # + the padded tail
    files, embeddings, skipped = embed_paths([tmp_path / "lib"], model)
    assert [f.rsplit("/", 1)[-1] for f in files] == ["a.wav", "b.flac"] and embeddings.shape == (2, 32)
    assert [s[0].rsplit("/", 1)[-1] for s in skipped] == ["broken.wav"]
    main(["embed", str(checkpoint), str(tmp_path / "lib"), "--out", str(tmp_path / "e.npz")])
    saved = np.load(tmp_path / "e.npz")
    np.testing.assert_allclose(saved["embeddings"], embeddings, rtol=1e-5)
    assert "skipped" in capsys.readouterr().out and len(saved["skipped"]) == 1


def test_the_api_imports_no_data_or_training_code():
    code = ("import sys, sfxrep.api; sfxrep.api.load_model('logmel'); import sfxrep.models.checkpoint; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('sfxrep'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    loaded = set(done.stdout.split())
    assert {"sfxrep.inference.registry", "sfxrep.models.baselines", "sfxrep.models.checkpoint"} <= loaded
    assert not {m for m in loaded if m.startswith(("sfxrep.data", "sfxrep.libraries", "sfxrep.evaluate", "sfxrep.training",
                                                   "sfxrep.demo", "sfxrep.tune", "sfxrep.results"))}



def test_embedding_models_load_without_lightning(checkpoint):
    """Inference loads a plain SfxNet: a checkpoint, the shipped release (and aiSFX where installed) load and
    embed in a process that never imports Lightning (3–4 s of a command's start-up), as the checkpoint's own
    SfxModule would embed."""
    names = ["sfxrep-v1"] + ([] if AISFX_MISSING else ["aisfx"])
    code = ("import sys, torch; from sfxrep.api import load_model\n"
            f"for name in {[str(checkpoint), *names]!r}:\n"
            "    model = load_model(name); assert type(model).__name__ == 'SfxNet', type(model)\n"
            "    model.embed(torch.zeros(1, 101_376))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning', 'torchmetrics')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip() == "[]"
    from sfxrep.models.checkpoint import load_checkpoint

    net, module, wave = load_model(checkpoint), load_checkpoint(checkpoint).module, torch.randn(2, 101_376) * 0.1
    assert net.num_classes == dict(module.hparams["num_classes"]) and net.channels_last == module.channels_last
    with torch.inference_mode():
        torch.testing.assert_close(net.embed(wave), module.embed(wave))
        torch.testing.assert_close(net(wave, net.libraries[0])[1], module(wave, net.libraries[0])[1])

def test_a_file_that_is_not_an_sfxrep_checkpoint_is_named_for_what_it_is(tmp_path):
    from sfxrep.models.checkpoint import load_checkpoint

    cases = {
        "empty.ckpt": (b"", "empty file"),
        "text.ckpt": (b"hello, not a checkpoint", "not a readable checkpoint"),
        "state.ckpt": (lambda p: torch.save({"w": torch.zeros(2)}, p), "bare state_dict"),
        "tuple.ckpt": (lambda p: torch.save(({"w": torch.zeros(1)}, {"lib": 3}), p), "tuple of 2"),
        "other.ckpt": (lambda p: torch.save({"state_dict": {}, "hyper_parameters": {"x": 1}}, p), "without sfxrep"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        content(path) if callable(content) else path.write_bytes(content)
        with pytest.raises(ValueError, match=message) as info:
            load_checkpoint(path)
        assert str(path) in str(info.value)
    good = (tmp_path / "cut.ckpt")
    good.write_bytes(b"PK\x03\x04" + b"\x00" * 40)  # a torn zip: the start of a torch file
    with pytest.raises(ValueError, match="truncated or not a torch file"):
        load_checkpoint(good)


@needs_aisfx
def test_embed_accepts_the_released_model(tmp_path, capsys):
    tone(tmp_path / "a.wav", seconds=3.0)
    main(["embed", "aisfx", str(tmp_path / "a.wav"), "--out", str(tmp_path / "e.npz")])
    assert np.load(tmp_path / "e.npz")["embeddings"].shape == (1, 512)
