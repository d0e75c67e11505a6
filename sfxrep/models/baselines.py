"""Reference embedders for RQ4, evaluated under the same kNN protocol as sfxrep models (loaded by name through
:mod:`sfxrep.inference.registry`, like the released ``aisfx``).

* ``logmel`` — no training: a block's embedding is the mean and standard deviation over time of each of its
  96 log-mel bands (192-d), computed by sfxrep's own frontend;
* ``openl3`` — used when the optional ``openl3`` package and its weights are installed, else skipped with the
  reason (nothing is ever downloaded).
"""

from __future__ import annotations

import importlib.util

import torch
from torch import nn

from sfxrep.audio.decode import SAMPLE_RATE
from sfxrep.models.frontend import LogMel


class LogMelStats(nn.Module):
    """The untrained log-mel statistics baseline: ``(B, S)`` → ``(B, 2·n_mels)`` (mean ‖ SD over frames)."""

    libraries: tuple[str, ...] = ()
    sample_rate = SAMPLE_RATE

    def __init__(self, frontend: LogMel | None = None) -> None:
        super().__init__()
        self.frontend = frontend if frontend is not None else LogMel()

    @property
    def device(self) -> torch.device:
        return self.frontend.mel_basis.device

    @property
    def scene_embedding_size(self) -> int:
        return 2 * self.frontend.mel_basis.shape[0]

    timestamp_embedding_size = scene_embedding_size

    @torch.no_grad()
    def embed(self, wave: torch.Tensor, library: str | None = None) -> torch.Tensor:
        x = self.frontend(wave).squeeze(1)  # (B, T, F)
        return torch.cat([x.mean(dim=1), x.std(dim=1)], dim=1)  # (B, 2F)


class OpenL3Unavailable(RuntimeError):
    """openl3 (or its weights) is not installed: the reference is skipped, with this reason."""


class OpenL3(nn.Module):
    """OpenL3 (env, mel256, 512-d) over each block, mean over its frames. Needs the installed package's weights.

    Raises:
        OpenL3Unavailable: the package is not installed.
    """

    libraries: tuple[str, ...] = ()
    sample_rate = SAMPLE_RATE
    scene_embedding_size = timestamp_embedding_size = 512

    def __init__(self) -> None:
        super().__init__()
        if importlib.util.find_spec("openl3") is None:
            raise OpenL3Unavailable("openl3 is not installed (pip install openl3, with its weights); skipped")
        import openl3

        self._openl3 = openl3
        self._model = openl3.models.load_audio_embedding_model(input_repr="mel256", content_type="env",
                                                                embedding_size=512)

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def embed(self, wave: torch.Tensor, library: str | None = None) -> torch.Tensor:
        out = []
        for block in wave.cpu().numpy():
            emb, _ = self._openl3.get_audio_embedding(block, SAMPLE_RATE, model=self._model, verbose=False)
            out.append(torch.from_numpy(emb.mean(axis=0)))
        return torch.stack(out).float()
