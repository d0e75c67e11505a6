"""Decoded waveforms on disk, prepared once: 44.1 kHz mono peak-normalised float16 ``.npy`` per file.

An entry's key hashes the file's absolute path, size and modification time with the audio settings, so a
changed file or a changed sample rate misses the cache and is decoded again. Entries are written to a temp
file and renamed (atomic), so an interrupted prepare resumes where it stopped and never leaves a torn
entry. Decoding failures are cached too (``.err`` with the reason) so a re-run does not retry a broken file
that has not changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sfxrep.audio import SAMPLE_RATE, AudioDecodeError, decode
from sfxrep.fileio import atomic_write

CACHE_VERSION = 1


@dataclass(frozen=True)
class WaveInfo:
    """A cache entry: where the samples are, and what the source file was."""

    npy: str
    num_samples: int
    source_rate: int
    duration: float


class WaveCache:
    """A folder of decoded waveforms.

    Args:
        root: cache folder (created on demand).
        sample_rate: rate of the cached audio in Hz (paper: 44 100).
    """

    def __init__(self, root: str | Path, sample_rate: int = SAMPLE_RATE) -> None:
        self.root = Path(root)
        self.sample_rate = sample_rate

    def key(self, path: str | Path) -> str:
        path = Path(path).resolve()
        st = path.stat()
        ident = f"{path}\x00{st.st_size}\x00{st.st_mtime_ns}\x00{self.sample_rate}\x00float16\x00v{CACHE_VERSION}"
        return hashlib.sha1(ident.encode()).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.npy", folder / f"{key}.json", folder / f"{key}.err"

    def ensure(self, path: str | Path) -> WaveInfo:
        """Return the entry for ``path``, decoding and storing it first if needed.

        Raises:
            AudioDecodeError: the file cannot be decoded (now or, unchanged, on an earlier run).
        """
        if not Path(path).is_file():
            raise AudioDecodeError(path, "no such file")
        npy, meta, err = self._paths(self.key(path))
        if meta.is_file() and npy.is_file():
            return WaveInfo(npy=str(npy), **json.loads(meta.read_text()))
        if err.is_file():
            raise AudioDecodeError(path, err.read_text())
        npy.parent.mkdir(parents=True, exist_ok=True)
        try:
            audio = decode(path, self.sample_rate)
        except AudioDecodeError as failure:
            reason = failure.reason.encode()
            atomic_write(err, lambda f: f.write(reason))
            raise
        atomic_write(npy, lambda f: np.save(f, audio.samples.astype(np.float16)))
        info = {"num_samples": int(audio.samples.shape[0]), "source_rate": audio.source_rate,
                "duration": audio.duration}
        atomic_write(meta, lambda f: f.write(json.dumps(info).encode()))
        return WaveInfo(npy=str(npy), **info)

    @staticmethod
    def load(info: WaveInfo | str) -> np.ndarray:
        """The cached samples, memory-mapped: ``(num_samples,)`` float16."""
        return np.load(info.npy if isinstance(info, WaveInfo) else info, mmap_mode="r")
