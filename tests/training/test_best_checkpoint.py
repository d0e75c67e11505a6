"""BestCheckpoint: the state a resumed run restores, against the score best.ckpt stored of itself."""

from __future__ import annotations

import pytest
import torch

from sfxrep.training.callbacks.checkpoint import BestCheckpoint


def resumed(tmp_path, restored_score: float, stored: object) -> BestCheckpoint:
    """A max-mode BestCheckpoint restored with ``restored_score``, its best.ckpt holding ``stored`` (bytes: as is)."""
    callback = BestCheckpoint(dirpath=tmp_path, filename="best", monitor="val/macro_f1", mode="max")
    best = str(tmp_path / "best.ckpt")
    if isinstance(stored, bytes):
        (tmp_path / "best.ckpt").write_bytes(stored)
    else:
        torch.save({"callbacks": {callback.state_key: {"best_model_path": best, "best_model_score": stored}}}, best)
    callback.load_state_dict({"dirpath": callback.dirpath, "best_model_path": best,
                              "best_model_score": torch.tensor(restored_score), "best_k_models": {best: restored_score},
                              "kth_best_model_path": best, "kth_value": torch.tensor(restored_score)})
    return callback


def test_the_state_key_is_model_checkpoints_so_older_checkpoints_resume_into_it(tmp_path):
    assert BestCheckpoint(dirpath=tmp_path, monitor="val/loss").state_key.startswith("ModelCheckpoint{")


def test_a_better_stored_score_is_adopted_and_a_worse_one_is_not(tmp_path):
    adopted = resumed(tmp_path, 0.25, torch.tensor(0.30))
    assert float(adopted.best_model_score) == pytest.approx(0.30) and float(adopted.kth_value) == pytest.approx(0.30)
    kept = resumed(tmp_path, 0.25, torch.tensor(0.20))
    assert float(kept.best_model_score) == pytest.approx(0.25)


def test_a_damaged_best_checkpoint_warns_and_keeps_the_restored_state(tmp_path):
    with pytest.warns(UserWarning, match="best.ckpt: cannot read its stored score"):
        callback = resumed(tmp_path, 0.25, b"not a checkpoint")
    assert float(callback.best_model_score) == pytest.approx(0.25)
