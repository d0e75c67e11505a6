"""sfxrep-v1 as shipped in the package: it loads by name everywhere a model is named, its file is the one the model
card describes (SHA-256), and its half-precision weights embed real files as the full-precision model did."""

from __future__ import annotations

import re

import pytest
import torch

from sfxrep.models import registry, release
from tests.conftest import REPO, SHARED

NAME = "sfxrep-v1"
SHARED_LIBRARIES = ["ucs_sfx", "dirt_oneshots", "kenney_ui", "cdda_ccsounds", "redeclipse_sounds",
                    "retro512_junkala", "lmms_samples"]


def test_the_release_is_shipped_and_is_the_file_the_model_card_names():
    assert NAME in release.shipped() and NAME in registry.names()
    card = (REPO / "MODEL_CARD.md").read_text()
    recorded = re.findall(r"SHA-256 `([0-9a-f]{64})`", card)
    assert recorded, "MODEL_CARD.md names no SHA-256"
    assert release.sha256(release.WEIGHTS / f"{NAME}.pt") == recorded[0]


def test_it_loads_by_name_for_embedding_indexing_evaluation_and_fine_tuning(tmp_path):
    from sfxrep import api
    from tests.conftest import tone

    model = api.load_model(NAME)
    assert isinstance(model, registry.Embedder) and model.scene_embedding_size == 512
    assert model.libraries == SHARED_LIBRARIES and registry.model_source(NAME) == NAME
    assert registry.load_trainable(NAME).encoder.width == 64  # --init sfxrep-v1
    record = torch.load(release.WEIGHTS / f"{NAME}.pt", weights_only=True)
    assert record["dtype"] == "float16" and record["interpolation"]["start"] == "aisfx"
    paths, embeddings, skipped = api.embed_paths([tone(tmp_path / "a.wav", seconds=3.0)], model)
    assert len(paths) == 1 and embeddings.shape == (1, 512) and not skipped and torch.isfinite(torch.from_numpy(embeddings)).all()


def test_its_half_precision_weights_embed_real_files_as_the_full_precision_model():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the release's probe files are real files of ../shared/data")
    record = torch.load(release.WEIGHTS / f"{NAME}.pt", weights_only=True)
    probe = record["probe"]
    assert len(probe["files"]) >= 7
    assert release.probe_parity(registry.load_model(NAME), probe, SHARED) >= release.PARITY_MIN
