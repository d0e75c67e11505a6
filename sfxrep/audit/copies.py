"""What a librarian needs to decide on a set of copies: each file's format and quality, which one to keep, and how
each other file relates to it.

The default *keep* is the best-quality original: lossless before lossy, then the longest (a trimmed copy is
shorter), then the highest sample rate and bit depth, then the largest file. Each other file is described against
it from the verified pair evidence (:class:`~sfxrep.audit.duplicates.PairEvidence`): *identical audio*, or the
ways it is derived — *trimmed by x s*, *gain y dB*, *resampled a → b Hz*, *re-encoded as FORMAT* — or, when the
waveforms agree only in part, a *re-mix*. The user may keep any file (the page lets them choose).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from sfxrep.audit.duplicates import Cluster, PairEvidence

LOSSLESS = frozenset({"WAV", "FLAC", "AIFF", "WAVEX", "W64", "RF64", "CAF"})
_DEPTH = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}


@dataclass(frozen=True)
class FileFacts:
    """One file as stored: ``duration`` (s), ``format`` (container), ``subtype``, ``sample_rate`` (Hz),
    ``channels``, ``bit_depth`` (0 for lossy codecs), ``size`` (bytes), ``loudness`` (RMS over the file, dBFS),
    ``lossless``; ``error`` when it cannot be read."""

    duration: float = 0.0
    format: str = ""
    subtype: str = ""
    sample_rate: int = 0
    channels: int = 0
    bit_depth: int = 0
    size: int = 0
    loudness: float = -120.0
    lossless: bool = False
    error: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def file_facts(path: str | Path) -> FileFacts:
    """The :class:`FileFacts` of ``path`` (read with libsndfile; the loudness decodes the file once)."""
    try:
        info = sf.info(os.fsencode(path))  # bytes: libsndfile opens any name, UTF-8 or not
        samples, _ = sf.read(os.fsencode(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as err:
        return FileFacts(error=str(err))
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0
    return FileFacts(round(info.frames / info.samplerate, 3), info.format, info.subtype, info.samplerate,
                     info.channels, _DEPTH.get(info.subtype, 0), Path(path).stat().st_size,
                     round(20 * np.log10(rms + 1e-12), 1), info.format in LOSSLESS)


def best_original(files: list[str], facts: dict[str, FileFacts]) -> str:
    """The file to keep by default (the module doc's order); ties go to the first by path."""
    return min(files, key=lambda p: (bool(facts[p].error), not facts[p].lossless, -facts[p].duration,
                                     -facts[p].sample_rate, -facts[p].bit_depth, -facts[p].size, p))


def relation(keep: str, other: str, pairs: list[PairEvidence], facts: dict[str, FileFacts]) -> str:
    """How ``other`` relates to ``keep``, in words (see the module doc), from their pair (or, for files joined
    through a third, the pair of ``other`` with the strongest correlation)."""
    pair = next((p for p in pairs if {p.a, p.b} == {keep, other}), None)
    direct = pair is not None  # else the gain is to a third file, not to ``keep``
    if not direct:
        pair = max((p for p in pairs if other in (p.a, p.b)), key=lambda p: p.correlation)
    if pair.kind == "exact":
        parts = ["identical audio"]
    else:
        parts = []
        a, b = facts[keep], facts[other]
        if abs(a.duration - b.duration) >= 0.01:
            parts.append(f"trimmed by {a.duration - b.duration:.2f} s" if b.duration < a.duration
                         else f"{b.duration - a.duration:.2f} s longer")
        gain = pair.gain_db if pair.a == keep else -pair.gain_db
        if direct and abs(gain) >= 0.5:
            parts.append(f"gain {gain:+.1f} dB")
        if a.sample_rate and b.sample_rate and a.sample_rate != b.sample_rate:
            parts.append(f"resampled {a.sample_rate} → {b.sample_rate} Hz")
        if a.format != b.format or a.subtype != b.subtype:
            parts.append(f"re-encoded as {b.format} {b.subtype}".strip())
        if pair.steady < 0.98:
            parts.append("re-mix (the waveforms agree in part)")
        parts = parts or ["near-identical audio"]
    return ", ".join(parts)


def describe(cluster: Cluster) -> dict:
    """A cluster as the audit writes it: files with the default keep first, per-file facts and relation."""
    facts = {p: file_facts(p) for p in cluster.files}
    keep = best_original(cluster.files, facts)
    files = [keep, *(p for p in cluster.files if p != keep)]
    return {"kind": cluster.kind, "files": files, "keep": keep,
            "facts": {p: facts[p].to_dict() for p in files},
            "relation": {p: relation(keep, p, cluster.pairs, facts) for p in files[1:]},
            "pairs": [p.to_dict() for p in cluster.pairs]}
