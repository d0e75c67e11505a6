"""Input blocks (paper §3.3): how many samples a block of spectrogram frames takes, and where blocks start.

A block is the audio of ``block_frames`` spectrogram frames: with a centred STFT of hop h, T frames need
(T − 1)·h samples — 100 frames at hop 1024 = 101 376 samples ≈ 2.30 s at 44.1 kHz. Files shorter than a
block are zero-padded at the end, never dropped.
"""

from __future__ import annotations

import numpy as np
import torch


def block_samples(block_frames: int = 100, hop_length: int = 1024) -> int:
    """Samples of a block of ``block_frames`` centred-STFT frames (paper: 100 × 1024 → 101 376)."""
    return (block_frames - 1) * hop_length


def block_starts(num_samples: int, block_length: int, hop_length: int, tail: bool = True) -> np.ndarray:
    """Start sample of every evaluation block of a file: hop ``hop_length``, ≥ 1 block.

    With ``tail`` the last block covers the end of the file (zero-padded): 2300 samples, blocks of 1000,
    hop 500 → [0, 500, 1000, 1500]. Without it only whole blocks count, as in the authors' aiSFX
    inference (→ [0, 500, 1000]); a file shorter than one block still gets one padded block.
    """
    remainder = num_samples - block_length
    count = 1 + max(0, -(-remainder // hop_length) if tail else remainder // hop_length)
    return np.arange(count) * hop_length


def crop(wave: np.ndarray, start: int, length: int) -> torch.Tensor:
    """``wave[start : start + length]`` as float32, zero-padded at the end to ``length``."""
    block = np.zeros(length, dtype=np.float32)
    piece = wave[start : start + length]
    block[: piece.shape[0]] = piece
    return torch.from_numpy(block)
