"""sfxrep-v1 as shipped in the package: it loads by name everywhere a model is named, its file is the one the model
card describes (SHA-256), and its half-precision weights embed real files as the full-precision model did."""

from __future__ import annotations

import re

import pytest
import torch

from sfxrep.inference import registry
from sfxrep.models import release
from tests.helpers import REPO, SHARED

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
    from tests.helpers import tone

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


RELEASE = REPO / "experiments" / "release"


@pytest.mark.parametrize("recipe", ["sfxrep-v1.yaml", *sorted(p.name for p in (RELEASE / "recipes").glob("*.yaml"))])
def test_the_release_recipe_and_every_compared_recipe_resolve(recipe):
    from sfxrep.training.plan import TrainPlan
    from sfxrep.training.scenarios import resolve

    path = RELEASE / recipe if recipe == "sfxrep-v1.yaml" else RELEASE / "recipes" / recipe
    config = resolve(TrainPlan(scenario="cross", configs=[str(RELEASE / "budget.yaml"), str(path)]))
    assert config.data.libraries.endswith("experiments/libraries/shared.yaml")
    assert config.model.encoder.init_args.width == 64 and config.early_stopping.patience == 1000
    if recipe == "sfxrep-v1.yaml":  # the release: keep, 15 epochs
        assert config.trainer.max_epochs == 15 and config.warm_start.source == "aisfx"
        assert config.warm_start.bn_stats == "frozen" and config.warm_start.freeze_encoder_epochs == 1
        assert config.distill.teacher == "aisfx" and config.distill.weight == 1.0
        assert config.model.encoder_lr_scale == 0.1
    else:
        assert config.trainer.max_epochs == 6


@pytest.mark.slow  # end to end: the release recipe itself from aiSFX, one short epoch on tiny libraries, released
def test_the_release_recipe_runs_end_to_end_and_is_released(tiny_libraries, tmp_path):
    from sfxrep.cli import main
    from sfxrep.models.checkpoint import load_checkpoint
    from sfxrep.training.lightning_cli import fit
    from tests.helpers import needs_aisfx, tiny_overrides

    if needs_aisfx.args[0]:
        pytest.skip(needs_aisfx.kwargs["reason"])
    overrides = [a for a in tiny_overrides(tiny_libraries, tmp_path) if a != "4"]  # the width comes from aiSFX
    overrides = [a for a in overrides if a != "--model.encoder.init_args.width"]
    best, cli = fit(["--config", str(REPO / "experiments" / "base.yaml"), "--config", str(RELEASE / "budget.yaml"),
                     "--config", str(RELEASE / "sfxrep-v1.yaml"), *overrides,
                     "--warm_start.freeze_encoder_epochs", "0", "--trainer.logger.init_args.save_dir",
                     str(tmp_path / "runs"), "--checkpoint.dirpath", str(tmp_path / "ckpt")])
    assert load_checkpoint(best).init == "aisfx" and cli.model.encoder.width == 64
    assert any(k.endswith("/distill") for k in cli.trainer.callback_metrics)
    main(["release", str(best), "--name", "tiny-release", "--out", str(tmp_path / "weights"), "--interpolate", "0.5"])
    record = torch.load(tmp_path / "weights" / "tiny-release.pt", weights_only=True)
    assert record["interpolation"] == {"start": "aisfx", "alpha": 0.5} and record["libraries"] == ["lib_a", "lib_b"]
