"""Embeddings for other programs (the HEAR API shape): load a trained model, embed audio or files.

    model = load_model("runs/<run>/checkpoints/best.ckpt")
    emb, times = get_timestamp_embeddings(audio, model)   # (n_sounds, n_blocks, D), (n_sounds, n_blocks) ms
    scene = get_scene_embeddings(audio, model)            # (n_sounds, D)
    file_emb = embed_file("door.wav", model)              # (n_blocks, D)
    paths, vectors, skipped = embed_paths(["SFX/"], model)  # every file below, batched: (n_files, D)

Audio is 44.1 kHz mono float (``sfxrep.audio.decode.load_audio`` gives that from any file). Blocks are the
model's input blocks, 2.3 s at 50 % overlap, so an embedding is the paper's frame-level representation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sfxrep.audio.blocks import block_samples, block_starts, crop
from sfxrep.audio.decode import SAMPLE_RATE, AudioDecodeError
from sfxrep.inference import registry
from sfxrep.inference.embedding import TAIL_DEFAULT, FileEmbedder
from sfxrep.inference.embedding import embed_paths as embed_paths  # part of the API: files and folders at once
from sfxrep.inference.registry import Embedder


def load_model(model: str | Path, device: str | torch.device = "cpu") -> Embedder:
    """A model in eval mode on ``device``: an sfxrep ``.ckpt``, ``"aisfx"`` for the authors' release, or
    ``"logmel"`` for the untrained log-mel statistics baseline (every name: :mod:`sfxrep.inference.registry`)."""
    return registry.load_model(model, device)


def _geometry(model: Embedder, hop_frames: int, block_frames: int) -> tuple[int, int]:
    hop = model.frontend.hop_length
    return block_samples(block_frames, hop), hop_frames * hop


@torch.no_grad()
def get_timestamp_embeddings(audio: torch.Tensor, model: Embedder, library: str | None = None,
                             hop_frames: int = 50, block_frames: int = 100, batch_size: int = 64,
                             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Embed every block of every sound.

    Args:
        audio: ``(n_sounds, n_samples)`` 44.1 kHz mono float (pad shorter sounds with zeros).
        model: from :func:`load_model`.
        library: BatchNorm set for a per-library-BN model (a trained library); ignored with shared BN.
        hop_frames: block hop in frames (paper: 50, i.e. 50 % overlap).
        block_frames: block length in frames (paper: 100 ≈ 2.3 s).
        batch_size: blocks per forward pass.

    Returns:
        embeddings ``(n_sounds, n_blocks, D)`` and the centre of each block in milliseconds ``(n_sounds, n_blocks)``.
    """
    length, hop = _geometry(model, hop_frames, block_frames)
    starts = block_starts(audio.shape[1], length, hop)
    blocks = torch.stack([crop(x.numpy(), int(s), length) for x in audio.cpu().float() for s in starts])
    device = next(model.parameters()).device
    parts = [model.embed(chunk.to(device), library).cpu() for chunk in blocks.split(batch_size)]
    embeddings = torch.cat(parts).reshape(audio.shape[0], len(starts), -1)
    centres = torch.as_tensor((starts + length / 2) * 1000 / SAMPLE_RATE, dtype=torch.float32)
    return embeddings, centres.expand(audio.shape[0], -1)


def get_scene_embeddings(audio: torch.Tensor, model: Embedder, library: str | None = None) -> torch.Tensor:
    """One embedding per sound, the mean of its block embeddings: ``(n_sounds, n_samples)`` → ``(n_sounds, D)``."""
    embeddings, _ = get_timestamp_embeddings(audio, model, library)
    return embeddings.mean(dim=1)


def embed_file(path: str | Path, model: Embedder, library: str | None = None, tail: bool = TAIL_DEFAULT,
               precision: str = "auto") -> np.ndarray:
    """``(n_blocks, D)`` block embeddings of one sound file (any format, rate, channels); the encoder at
    ``precision`` (``auto``: int8 for a model whose calibration passed its gate on a VNNI CPU, else bf16 where
    native: :func:`sfxrep.inference.precision.resolve_precision`).

    Raises:
        AudioDecodeError: the file cannot be decoded.
    """
    (item,) = FileEmbedder(model, library, tail=tail, decode_workers=0, precision=precision)([path])
    if isinstance(item, AudioDecodeError):
        raise item
    return item.blocks


