"""Decode any sound file into the paper's input: mono, 44.1 kHz, peak-normalised float32 (paper §3.2).

Decoding is libsndfile's (via soundfile): WAV incl. 8-bit, A-law, µ-law and MP3-in-WAV, FLAC, OGG/Vorbis,
MP3, AIFF. Resampling is soxr's (high quality). Every way a file can be unusable — empty, truncated, not
audio, NaN/Inf samples — raises :class:`AudioDecodeError`, which names the file and the reason, so a caller
can report it and go on with the next file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from sfxrep.paths import QUARANTINE

SAMPLE_RATE = 44_100  # Hz, paper §3.2
AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc"})

# libsndfile's header dump says "data : 88200 (should be 44078)" when a chunk is cut short.
_SHORT_CHUNK = re.compile(r"^\s*(data|SSND|FORM|RIFF)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
# Compressed streams may decode a few frames short of the header's estimate (encoder padding, VBR).
_MISSING_FRAMES_TOLERATED = 2304


class AudioDecodeError(Exception):
    """A file could not be turned into audio. ``str(err)`` is ``"<path>: <reason>"``.

    ``transient`` marks a failure of access rather than of content (permission denied, an I/O error): the
    same file may decode on the next try, so it is never remembered as broken.
    """

    def __init__(self, path: str | Path, reason: str, transient: bool = False) -> None:
        self.path = str(path)
        self.reason = reason
        self.transient = transient
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # crosses process boundaries whole (a decoder process hands it back)
        return type(self), (self.path, self.reason, self.transient)


@dataclass(frozen=True)
class DecodedAudio:
    """A decoded file.

    Attributes:
        samples: ``(n,)`` float32 at ``sample_rate``, mono, peak 1.0 (all zeros stays all zeros).
        sample_rate: rate of ``samples`` in Hz (44 100 by default).
        source_rate: the file's own sample rate in Hz.
        duration: the file's duration in seconds.
        channels: the file's channel count (before the down-mix).
    """

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    duration: float
    channels: int = 1


def _check_truncation(path: Path, info: sf._SoundFileInfo, frames_read: int) -> None:
    for chunk, declared, actual in _SHORT_CHUNK.findall(info.extra_info):
        if int(actual) < int(declared) and chunk in ("data", "SSND"):
            raise AudioDecodeError(path, f"truncated: header declares {declared} bytes of audio, file holds {actual}")
    if info.frames > 0 and frames_read < info.frames - max(_MISSING_FRAMES_TOLERATED, info.frames // 100):
        raise AudioDecodeError(path, f"truncated: decoded {frames_read} of {info.frames} frames")


def decode(path: str | Path, sample_rate: int = SAMPLE_RATE, normalize: bool = True) -> DecodedAudio:
    """Decode, down-mix, resample and peak-normalise one file.

    Args:
        path: the sound file.
        sample_rate: output rate in Hz (paper: 44 100).
        normalize: divide by the peak absolute value (a silent file is left as zeros).

    Raises:
        AudioDecodeError: missing, empty, truncated, not audio, or non-finite samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioDecodeError(path, "no such file", transient=True)
    if path.stat().st_size == 0:
        raise AudioDecodeError(path, "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise AudioDecodeError(path, "permission denied (not readable by this user)", transient=True)
    try:
        info = sf.info(os.fsencode(path))  # bytes: libsndfile opens any name, UTF-8 or not
        data, source_rate = sf.read(os.fsencode(path), dtype="float32", always_2d=True)
    except OSError as err:  # the disk, not the file's content: worth another try
        raise AudioDecodeError(path, f"I/O error ({err.strerror or err})", transient=True) from err
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError) as err:
        raise AudioDecodeError(path, f"not decodable audio ({err})") from err
    if data.shape[0] == 0:
        raise AudioDecodeError(path, "no audio frames (empty or truncated stream)")
    _check_truncation(path, info, data.shape[0])
    if not np.isfinite(data).all():
        raise AudioDecodeError(path, f"{int((~np.isfinite(data)).sum())} non-finite samples (NaN or Inf)")

    mono = data.mean(axis=1, dtype=np.float32)  # (n,)
    if source_rate != sample_rate:
        mono = soxr.resample(mono, source_rate, sample_rate, quality="HQ").astype(np.float32, copy=False)
    if normalize:
        peak = float(np.abs(mono).max(initial=0.0))
        if peak > 0.0:
            mono = mono / peak
    return DecodedAudio(mono, sample_rate, int(source_rate), data.shape[0] / float(source_rate), data.shape[1])


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``(n,)`` float32 samples of ``path``: mono, ``sample_rate`` Hz, peak-normalised. See :func:`decode`."""
    return decode(path, sample_rate).samples


def audio_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files, and the audio files below folders (:func:`walk_audio`'s order), in the order given."""
    return [Path(f) for p in paths for f in walk_audio(str(p))]


def walk_audio(root: str) -> Iterator[str]:
    """The audio files at or below ``root`` (a file or folder; paths come back prefixed with it as given), streamed
    in the string order of their paths: the order an index keeps, so a scan of any size is never held or sorted
    whole. A folder's entries are sorted by
    name with ``/`` after a subfolder's name, which is the order of the full paths; a linked file is listed under
    its link's path, and linked folders are not followed."""
    if not os.path.isdir(root):
        yield root
        return
    with os.scandir(root) as listing:
        entries = sorted((e.name + "/" if e.is_dir(follow_symlinks=False) else e.name, e.path) for e in listing
                         if (e.is_dir(follow_symlinks=False) and e.name != QUARANTINE)
                         or (e.is_file() and os.path.splitext(e.name)[1].lower() in AUDIO_EXTENSIONS))
    for key, path in entries:
        if key.endswith("/"):
            yield from walk_audio(path)
        else:
            yield path
