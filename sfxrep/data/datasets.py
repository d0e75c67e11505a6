"""Waveform blocks of one library: random blocks for training, every block for evaluation (paper §3.3).

Block geometry is in :mod:`sfxrep.audio.blocks`. Items are dicts so that a batch carries its library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from sfxrep.audio.blocks import block_starts, crop
from sfxrep.audio.cache import WaveCache


@dataclass(frozen=True)
class LibraryFiles:
    """The files of one library split, with integer labels.

    Attributes:
        library: library name.
        waves: cached ``.npy`` path per file.
        lengths: samples per file (44.1 kHz).
        labels: ``(N,)`` int64 class index per file.
        classes: class names; ``labels`` index into it.
    """

    library: str
    waves: Sequence[str]
    lengths: np.ndarray
    labels: np.ndarray
    classes: Sequence[str]

    def __len__(self) -> int:
        return len(self.waves)


class RandomBlockDataset(Dataset):
    """One random block per draw (paper §3.3: "2 s frames are randomly sampled whenever a batch is retrieved").

    Item: ``{"wave": (S,) float32, "label": int, "index": int, "library": str}``, S = block length in samples,
    ``index`` the file's position in ``files``.
    The offset is drawn from torch's RNG, which Lightning seeds per run and DataLoader per worker.
    """

    def __init__(self, files: LibraryFiles, block_length: int) -> None:
        self.files = files
        self.block_length = block_length

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict:
        slack = int(self.files.lengths[index]) - self.block_length
        start = int(torch.randint(0, slack + 1, ()).item()) if slack > 0 else 0
        wave = WaveCache.load(self.files.waves[index])
        return {"wave": crop(wave, start, self.block_length), "label": int(self.files.labels[index]),
                "index": index, "library": self.files.library}


class EvalBlockDataset(Dataset):
    """Every block of every file, hop ``hop_length`` samples (paper: 50 % overlap).

    Item: ``{"wave": (S,), "label": int, "file": int, "library": str}``; ``file`` indexes ``files``.
    The last block of a file is padded if needed, so every sample is covered and every file has ≥ 1 block.
    """

    def __init__(self, files: LibraryFiles, block_length: int, hop_length: int) -> None:
        self.files = files
        self.block_length = block_length
        starts = [block_starts(int(n), block_length, hop_length) for n in files.lengths]
        self.file_index = np.repeat(np.arange(len(files)), [len(s) for s in starts])
        self.starts = np.concatenate(starts) if starts else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.file_index)

    def __getitem__(self, index: int) -> dict:
        f = int(self.file_index[index])
        wave = WaveCache.load(self.files.waves[f])
        return {"wave": crop(wave, int(self.starts[index]), self.block_length),
                "label": int(self.files.labels[f]), "file": f, "library": self.files.library}


def collate_library_batch(items: list[dict]) -> dict:
    """Stack items of ONE library into a batch: tensors stacked, ``library`` a single string."""
    library = items[0]["library"]
    if any(item["library"] != library for item in items):
        raise ValueError(f"a batch mixes libraries {sorted({i['library'] for i in items})}; batches must be single-library")
    batch = {key: torch.as_tensor([item[key] for item in items]) for key in items[0] if key not in ("wave", "library")}
    batch["wave"] = torch.stack([item["wave"] for item in items])
    batch["library"] = library
    return batch
