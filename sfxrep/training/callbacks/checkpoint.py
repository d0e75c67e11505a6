"""The checkpoint callbacks: best.ckpt's remembers, on resume, a best checkpoint written after the last.ckpt it
resumes from; both accept a checkpoint from another run's folder (``--continue-from``)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint


class RunCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` that restores quietly from another run's folder, and keeps ``ModelCheckpoint``'s state key
    (so checkpoints written before this class resume into it).

    A run continued from another run's checkpoint (``--continue-from``) writes into its own folder; Lightning then
    restores only ``best_model_path`` and warns that the rest is not reloaded, which is what such a run wants.
    """

    @property
    def state_key(self) -> str:
        return super().state_key.replace(type(self).__qualname__, ModelCheckpoint.__qualname__, 1)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The dirpath has changed")
            super().load_state_dict(state_dict)


class LastCheckpoint(RunCheckpoint):
    """last.ckpt's callback (what ``--resume`` and ``--continue-from`` load), written at every train-epoch end."""


class BestCheckpoint(RunCheckpoint):
    """``ModelCheckpoint`` for best.ckpt that, on resume, adopts the score stored in the best.ckpt it names.

    With validation every N steps, best.ckpt is written right after a check, while last.ckpt (what ``--resume``
    loads) is written at train-epoch end. A run stopped between the two resumes with the callback state of the
    earlier epoch end, which knows an older, lower best; the first replayed check that beats that older score then
    overwrites the better best.ckpt (gate run 4, 2026-12-07: last.ckpt at step 3,277, best.ckpt at step 3,300).
    Here the state restored from last.ckpt is compared with the state best.ckpt saved of itself, and the better one
    is kept, so best.ckpt is only replaced by a check that beats its own score.

    A run continued from another run's checkpoint (``--continue-from``) restores only ``best_model_path``; the
    score read from that file makes it the best to beat.
    """

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        score = self._score_stored_in(self.best_model_path)
        if score is None:
            return
        better = torch.gt if self.mode == "max" else torch.lt
        if self.best_model_score is None or bool(better(score, self.best_model_score.cpu())):
            self.best_model_score = score
            # only with save_top_k 1 is a score read (_score_stored_in): the best is also the k-th
            self.best_k_models = {self.best_model_path: score}
            self.kth_best_model_path, self.kth_value = self.best_model_path, score

    def _score_stored_in(self, path: str) -> torch.Tensor | None:
        """The best score the checkpoint at ``path`` recorded of itself (None: no file, or no such record)."""
        if not path or not Path(path).is_file() or self.save_top_k != 1:
            return None  # top-k > 1 keeps several files: their scores are in best_k_models already
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as error:  # a damaged best.ckpt must not stop a resume
            warnings.warn(f"{path}: cannot read its stored score ({error}); keeping the resumed state's", stacklevel=2)
            return None
        state = (checkpoint.get("callbacks") or {}).get(self.state_key) or {}
        if state.get("best_model_path") != path or state.get("best_model_score") is None:
            return None
        score = torch.as_tensor(state["best_model_score"], dtype=torch.float32).cpu()
        return None if not math.isfinite(float(score)) else score
