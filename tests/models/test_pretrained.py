"""The authors' released model (aisfx 0.1.2) loads into sfxrep's modules and computes what theirs computes."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from sfxrep.cli import main
from sfxrep.models import pretrained as aisfx

try:
    CHECKPOINT = aisfx.aisfx_checkpoint()
except FileNotFoundError as err:  # make install adds it; a bare pip install -e .[dev] does not
    pytest.skip(str(err), allow_module_level=True)


def authors_embedding_net():
    """Their EmbeddingNet from aisfx/models/cnn2d.py (pure torch), loaded without the package's imports."""
    spec = importlib.util.spec_from_file_location("aisfx_cnn2d", CHECKPOINT.parent / "cnn2d.py")
    cnn2d = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cnn2d)
    state, _ = torch.load(CHECKPOINT, map_location="cpu", weights_only=False)
    net = cnn2d.EmbeddingNet("max", 3, 1, 64)  # as aisfx.inference.load_bestModel builds it
    net.load_state_dict({k.removeprefix("embedding_net."): v for k, v in state.items()
                         if k.startswith("embedding_net.")})
    return net.eval(), state


def test_released_weights_give_the_authors_embeddings_and_logits():
    theirs, state = authors_embedding_net()
    ours = aisfx.load_aisfx()
    assert {lib: ours.heads[lib].mlp[-1].out_features for lib in ours.libraries} == {
        "prosfx": 78, "soundlyTrain": 79, "ucsMixed": 69, "soundstormBalanced": 81,
        "productionelementsBalanced": 10, "cartoonexpressBalanced": 27, "hpxdigitalBalanced": 3,
        "series6000Balanced": 23, "series9000Balanced": 8}
    spec = torch.rand(4, 100, 96)  # (B, T, F) min-max normalised log-mel, their input layout
    with torch.no_grad():
        expected = theirs(spec)
        got = ours.encoder(spec.unsqueeze(1))
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
        fc = torch.nn.Sequential(torch.nn.Linear(512, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                 torch.nn.ReLU(), torch.nn.Linear(128, 10))
        fc.load_state_dict({k.removeprefix("fc.4."): v for k, v in state.items() if k.startswith("fc.4.")})
        torch.testing.assert_close(ours.heads["productionelementsBalanced"](got), fc(expected), rtol=1e-4, atol=1e-5)


def test_released_model_is_evaluated_like_any_checkpoint(tiny_libraries, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "r.jsonl"
    main(["evaluate", "aisfx", "--libraries-yaml", str(tiny_libraries), "--libraries", "lib_b",
          "--results", str(results)])
    assert "aisfx-0.1.2" in capsys.readouterr().out
    assert '"scenario": "released"' in results.read_text()
    with pytest.raises(SystemExit, match="libraries-yaml"):
        main(["evaluate", "aisfx"])
