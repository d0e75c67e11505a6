"""Decoded waveforms on disk, prepared once: 44.1 kHz mono peak-normalised float16 ``.npy`` per file.

An entry's key hashes the file's absolute path, size, modification time and inode change time with the audio
settings, so a changed file — content, or metadata such as a permission fix — or a changed sample rate
misses the cache and is decoded again. Entries are written to a temp file and renamed (atomic), so an
interrupted prepare resumes where it stopped and never leaves a torn entry; temp files of killed writers are
removed by :meth:`WaveCache.clean_orphans`.

The cache heals itself:

* a decoding failure of the *content* (truncated, not audio, NaN) is remembered (``.err`` with the reason),
  so an unchanged broken file is not decoded again on every run — ``force`` retries it;
* a failure of *access* (permission denied, an I/O error) is never remembered;
* an entry is validated on read (``.npy`` header, shape and file size against the recorded length); a bad
  entry is decoded again, with a warning naming the source file. :meth:`WaveCache.verify` also reads every
  sample (``sfxrep prepare --verify``).

Entries are read by :func:`read_header`, not by numpy's reader: numpy parses a header with ``ast.literal_eval``,
and CPython 3.11's AST constructor is not safe across threads (python/cpython#106905: ``SystemError: AST
constructor recursion depth mismatch``). ``prepare`` validates entries in a thread pool, and that error stopped a
study in this repository after hours of work.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sfxrep.audio.decode import SAMPLE_RATE, AudioDecodeError, decode
from sfxrep.fileio import atomic_write, file_signature, json_line, name_bytes

CACHE_VERSION = 2
DTYPE = np.float16


@dataclass(frozen=True)
class WaveInfo:
    """A cache entry: where the samples are, and what the source file was."""

    npy: str
    num_samples: int
    source_rate: int
    duration: float


_HEADER = re.compile(r"""\{'descr': '(?P<descr>[<>|=]?[a-zA-Z]\d*)', 'fortran_order': (?P<fortran>True|False), """
                     r"""'shape': \((?P<shape>[\d, ]*)\), \}\s*$""")


def read_header(f) -> tuple[tuple[int, ...], np.dtype, int]:
    """The shape, dtype and data offset of the ``.npy`` file open as ``f`` (binary), read without ``ast``.

    Raises:
        ValueError: not a ``.npy`` header this cache writes (version 1.0–3.0, C order, a plain dtype).
    """
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unknown .npy version {version}")
    width = 2 if version == (1, 0) else 4
    length = int.from_bytes(f.read(width), "little")
    text = f.read(length).decode("latin1" if version != (3, 0) else "utf8")
    found = _HEADER.match(text)
    if found is None or found["fortran"] == "True":
        raise ValueError(f"not a C-order .npy header: {text.strip()[:80]!r}")
    shape = tuple(int(n) for n in found["shape"].replace(" ", "").split(",") if n)
    return shape, np.dtype(found["descr"]), f.tell()


def entry_problem(npy: Path, num_samples: int) -> str | None:
    """Why a cached array is unusable (``None`` if it is fine): a cheap check of header, shape and size."""
    try:
        with open(npy, "rb") as f:
            shape, dtype, offset = read_header(f)
    except (OSError, ValueError) as err:
        return f"unreadable header ({err})"
    if shape != (num_samples,) or dtype != DTYPE:
        return f"holds {dtype}{shape}, expected {np.dtype(DTYPE)}({num_samples},)"
    size, expected = npy.stat().st_size, offset + num_samples * np.dtype(DTYPE).itemsize
    return None if size == expected else f"{size} bytes, expected {expected} (truncated?)"


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
        signature = file_signature(path)
        if signature is None:
            path.stat()  # raises the OSError that names the file and the reason
        size, mtime_ns, ctime_ns = signature
        ident = (f"{path}\x00{size}\x00{mtime_ns}\x00{ctime_ns}\x00{self.sample_rate}\x00"
                 f"{np.dtype(DTYPE).name}\x00v{CACHE_VERSION}")
        return hashlib.sha1(name_bytes(ident)).hexdigest()  # the name's bytes, UTF-8 or not

    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        folder = self.root / key[:2]
        return folder / f"{key}.npy", folder / f"{key}.json", folder / f"{key}.err"

    def ensure(self, path: str | Path, force: bool = False) -> WaveInfo:
        """Return the entry for ``path``, decoding and storing it first if needed (see module doc).

        Args:
            path: the sound file.
            force: retry a remembered decoding failure.

        Raises:
            AudioDecodeError: the file cannot be decoded (now or, unchanged, on an earlier run).
        """
        if not Path(path).is_file():
            raise AudioDecodeError(path, "no such file", transient=True)
        npy, meta, err = self._paths(self.key(path))
        if meta.is_file() and npy.is_file():
            info = WaveInfo(npy=str(npy), **json.loads(meta.read_text()))
            problem = entry_problem(npy, info.num_samples)
            if problem is None:
                return info
            warnings.warn(f"wave cache entry of {path} is damaged ({problem}); decoding it again", stacklevel=2)
        elif err.is_file() and not force:
            raise AudioDecodeError(path, err.read_text())
        npy.parent.mkdir(parents=True, exist_ok=True)
        try:
            audio = decode(path, self.sample_rate)
        except AudioDecodeError as failure:
            if not failure.transient:
                reason = failure.reason.encode()
                atomic_write(err, lambda f: f.write(reason))
            raise
        err.unlink(missing_ok=True)
        atomic_write(npy, lambda f: np.save(f, audio.samples.astype(DTYPE)))
        info = {"num_samples": int(audio.samples.shape[0]), "source_rate": audio.source_rate,
                "duration": audio.duration}
        atomic_write(meta, lambda f: f.write(json_line(info).encode()))
        return WaveInfo(npy=str(npy), **info)

    @staticmethod
    def load(info: WaveInfo | str) -> np.ndarray:
        """The cached samples, memory-mapped: ``(num_samples,)`` float16 (the header read by :func:`read_header`)."""
        path = info.npy if isinstance(info, WaveInfo) else info
        with open(path, "rb") as f:
            shape, dtype, offset = read_header(f)
        if not shape[0]:
            return np.zeros(shape, dtype)  # a memory map of no bytes is refused
        return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)

    def clean_orphans(self, older_than_s: float = 3600.0) -> int:
        """Remove temp files that killed writers left (older than ``older_than_s``); returns how many."""
        removed = 0
        cutoff = time.time() - older_than_s
        for tmp in self.root.glob("*/.*.tmp") if self.root.is_dir() else ():
            try:
                if tmp.stat().st_mtime <= cutoff:
                    tmp.unlink()
                    removed += 1
            except FileNotFoundError:  # its writer finished meanwhile
                pass
        return removed

    def verify(self) -> dict[str, str]:
        """Read every cached array in full; remove and return the bad ones (``.npy`` path → problem)."""
        bad = {}
        for meta in sorted(self.root.glob("*/*.json")) if self.root.is_dir() else ():
            npy = meta.with_suffix(".npy")
            try:
                n = int(json.loads(meta.read_text())["num_samples"])
                problem = entry_problem(npy, n) if npy.is_file() else "array missing"
                if problem is None and not np.isfinite(np.load(npy)).all():
                    problem = "non-finite samples"
            except (OSError, ValueError, KeyError) as err:
                problem = f"unreadable ({err})"
            if problem is not None:
                bad[str(npy)] = problem
                npy.unlink(missing_ok=True)
                meta.unlink(missing_ok=True)
        return bad
