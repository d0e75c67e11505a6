"""Every shipped experiment YAML instantiates through the real CLI (catches typos in configs)."""

from __future__ import annotations

import pytest

from sfxrep.training.lightning_cli import SfxLightningCLI
from tests.helpers import REPO, tiny_fit_args

# search/: spaces, tested in test_tune; corpus/: recipes of `make corpus`, tested in test_corpus
OVERLAYS = sorted(p for p in (REPO / "experiments").rglob("*.yaml")
                  if p.parent.name not in ("libraries", "search", "corpus") and p.name != "base.yaml")


def test_all_overlays_are_covered():
    names = {str(p.relative_to(REPO / "experiments")) for p in OVERLAYS}
    assert {"demo.yaml", "shared.yaml", "fast.yaml", "methods/fdr.yaml", "methods/joint.yaml",
            "losses/triplet.yaml", "loggers/wandb.yaml"} <= names


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: str(p.relative_to(REPO / "experiments")))
def test_overlay_instantiates(overlay, tiny_libraries, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    args = tiny_fit_args(tiny_libraries, tmp_path)
    base = args[:2]
    cli = SfxLightningCLI(args=[*base, "--config", str(overlay), *args[2:]], run=False)
    assert cli.datamodule.train_libraries == ["lib_a", "lib_b"] and cli.trainer.max_epochs == 1
    if overlay.name == "fdr.yaml":
        assert any(type(c).__name__ == "FocalDatasetRegularization" for c in cli.trainer.callbacks)
    if overlay.name == "bn_per_library.yaml":
        assert cli.model.encoder.bn == "per_library"
    if overlay.stem in ("joint", "round_robin"):
        assert cli.datamodule.mixing == overlay.stem
    if overlay.parent.name == "losses" and overlay.stem != "ce":
        assert cli.model.objective.metric is not None
