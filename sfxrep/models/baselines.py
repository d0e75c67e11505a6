"""Reference embeddings for RQ4, evaluated under the same kNN protocol as sfxrep models.

* ``logmel`` — no training: a block's embedding is the mean and standard deviation over time of each of its
  96 log-mel bands (192-d), computed by sfxrep's own frontend;
* ``aisfx`` — the authors' released X-Sequential-CE model (:mod:`sfxrep.models.pretrained`);
* ``openl3`` — used when the optional ``openl3`` package and its weights are installed, else skipped with the
  reason (nothing is ever downloaded).

Every reference has ``embed(wave, library=None)``: ``(B, S)`` 44.1 kHz blocks → ``(B, D)``.
"""

from __future__ import annotations

import importlib.util

import torch
from torch import nn

from sfxrep.models.frontend import LogMel

REFERENCES = ("logmel", "aisfx", "openl3")


class LogMelStats(nn.Module):
    """The untrained log-mel statistics baseline: ``(B, S)`` → ``(B, 2·n_mels)`` (mean ‖ SD over frames)."""

    libraries: tuple[str, ...] = ()

    def __init__(self, frontend: LogMel | None = None) -> None:
        super().__init__()
        self.frontend = frontend if frontend is not None else LogMel()

    @property
    def device(self) -> torch.device:
        return self.frontend.mel_basis.device

    @torch.no_grad()
    def embed(self, wave: torch.Tensor, library: str | None = None) -> torch.Tensor:
        x = self.frontend(wave).squeeze(1)  # (B, T, F)
        return torch.cat([x.mean(dim=1), x.std(dim=1)], dim=1)  # (B, 2F)


class OpenL3Unavailable(RuntimeError):
    """openl3 (or its weights) is not installed: the reference is skipped, with this reason."""


def load_reference(name: str) -> nn.Module:
    """A reference embedder by name (``logmel``, ``aisfx``, ``openl3``).

    Raises:
        OpenL3Unavailable: ``openl3`` was asked for and is not installed.
        ValueError: an unknown name.
    """
    if name == "logmel":
        return LogMelStats().eval()
    if name == "aisfx":
        from sfxrep.models.pretrained import load_aisfx

        return load_aisfx()
    if name == "openl3":
        if importlib.util.find_spec("openl3") is None:
            raise OpenL3Unavailable("openl3 is not installed (pip install openl3, with its weights); skipped")
        return _OpenL3()
    raise ValueError(f"unknown reference model {name!r}; known: {', '.join(REFERENCES)}")


class _OpenL3(nn.Module):
    """OpenL3 (env, mel256, 512-d) over each block, mean over its frames. Needs the installed package's weights."""

    libraries: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
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
            emb, _ = self._openl3.get_audio_embedding(block, 44_100, model=self._model, verbose=False)
            out.append(torch.from_numpy(emb.mean(axis=0)))
        return torch.stack(out).float()
