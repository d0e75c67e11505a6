"""Copies across the corpus and the shared libraries: exact duplicates by a hash of the decoded audio, near-copies
by the audit's verified duplicate finder (:mod:`sfxrep.audit.duplicates`).

Every file is decoded once at :data:`~sfxrep.audit.duplicates.VERIFY_RATE` (mono, as stored: not normalised). Its
*content hash* is the SHA-1 of those samples rounded to 16 bits, so one sound stored as WAV and as FLAC, or under
two names, hashes alike. Near-copies (re-encoded as Ogg, resampled, trimmed, level-changed) are found as the audit
finds them: candidate pairs by the spectral signature, each verified on the two waveforms (correlation and
steadiness at the best lag), so two takes of one kind of sound are never called copies. The candidate threshold
is stricter than the audit's (:data:`CANDIDATE_COSINE`): a corpus of game sounds holds thousands of look-alike
takes and only a copy matters here.

Of each set of copies the first by priority is kept (the shared libraries first, then the recipes in file-name
order, then path order) and every other file is reported as a duplicate of it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sfxrep.audio.decode import AudioDecodeError, decode
from sfxrep.audit.duplicates import (
    SIGNATURE_BANDS,
    VERIFY_RATE,
    PairEvidence,
    SignalCache,
    candidate_pairs,
    signature,
    verify_pair,
)
from sfxrep.fileio import append_jsonl, atomic_write_text, read_jsonl

CANDIDATE_COSINE = 0.97  # signature cosine a pair needs to be verified (the audit's is 0.70, see the module doc)
NEIGHBOURS = 6  # nearest files by signature checked per file


@dataclass(frozen=True)
class Fingerprint:
    """What the cleaning needs of one file: its content hash, signature and duration (s); ``error`` if undecodable."""

    content: str
    signature: np.ndarray
    duration: float
    error: str = ""


def fingerprint(path: str) -> Fingerprint:
    """Decode ``path`` once; its :class:`Fingerprint` (``error`` set, and no hash, when it cannot be decoded)."""
    try:
        x = decode(path, VERIFY_RATE, normalize=False).samples
    except AudioDecodeError as err:
        return Fingerprint("", np.zeros(SIGNATURE_BANDS, np.float32), 0.0, err.reason)
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    sig = signature(x, VERIFY_RATE) if np.any(x) else np.zeros(SIGNATURE_BANDS, np.float32)
    return Fingerprint(hashlib.sha1(pcm.tobytes()).hexdigest(), sig, len(x) / VERIFY_RATE)


class FingerprintCache:
    """Fingerprints kept on disk (``file``: JSON lines) by path, size and modification time, so a second build
    decodes nothing."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._rows = {row["key"]: row for row in read_jsonl(file)} if file.is_file() else {}

    @staticmethod
    def _key(path: str) -> str:
        st = os.stat(path)
        return f"{path}|{st.st_size}|{st.st_mtime_ns}"

    def get(self, paths: Sequence[str], progress: Callable | None = None) -> list[Fingerprint]:
        out, fresh = [], []
        for path in paths:
            key = self._key(path)
            row = self._rows.get(key)
            if row is None:
                fp = fingerprint(path)
                row = {"key": key, "content": fp.content, "signature": [round(float(v), 5) for v in fp.signature],
                       "duration": fp.duration, "error": fp.error}
                self._rows[key] = row
                fresh.append(row)
            out.append(Fingerprint(row["content"], np.asarray(row["signature"], np.float32), row["duration"],
                                   row["error"]))
            if progress:
                progress(1)
        append_jsonl(fresh, self.file)
        return out


def cached_copies(file: Path, paths: Sequence[str], prints: Sequence[Fingerprint], progress: Callable | None = None
                  ) -> tuple[dict[int, tuple[int, str]], list[PairEvidence]]:
    """:func:`find_copies`, kept in ``file`` and reused while the files (path and content, in order) and the
    thresholds are the same: the verification of tens of thousands of candidate pairs is the slow part of a build."""
    ident = hashlib.sha1(json.dumps([CANDIDATE_COSINE, NEIGHBOURS, list(paths), [p.content for p in prints]])
                         .encode()).hexdigest()
    if file.is_file():
        saved = json.loads(file.read_text())
        if saved["ident"] == ident:
            return ({int(i): (j, how) for i, (j, how) in saved["copies"].items()},
                    [PairEvidence(**e) for e in saved["evidence"]])
    copies, evidence = find_copies(paths, prints, progress=progress)
    atomic_write_text(file, json.dumps({"ident": ident, "copies": copies, "evidence": [e.to_dict() for e in evidence]}))
    return copies, evidence


def find_copies(paths: Sequence[str], prints: Sequence[Fingerprint], *, threshold: float = CANDIDATE_COSINE,
                neighbours: int = NEIGHBOURS, progress: Callable | None = None
                ) -> tuple[dict[int, tuple[int, str]], list[PairEvidence]]:
    """Which files are copies of an earlier one (``paths`` in priority order: the first of each set is kept).

    Returns:
        ``{i: (j, how)}``: file ``i`` is a copy of the kept file ``j < i`` (``how``: ``exact`` for the same
        content hash, else the verified pair's kind), and the evidence of every verified candidate pair.
    """
    parent = list(range(len(paths)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    how: dict[int, str] = {}

    def join(i: int, j: int, kind: str) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
        how.setdefault(max(i, j), kind)

    first: dict[str, int] = {}
    for i, fp in enumerate(prints):
        if fp.content:
            if fp.content in first:
                join(first[fp.content], i, "exact")
            else:
                first[fp.content] = i
    usable = [i for i, fp in enumerate(prints) if fp.content and np.any(fp.signature)]
    vectors = np.stack([prints[i].signature for i in usable]) if usable else np.zeros((0, SIGNATURE_BANDS))
    signals, evidence = SignalCache(keep=4096), []
    pairs = candidate_pairs(vectors, threshold, neighbours) if len(usable) > 1 else []
    for a, b, cosine in pairs:
        i, j = usable[a], usable[b]
        if progress:
            progress(1)
        if root(i) == root(j):
            continue
        d_i, d_j = prints[i].duration, prints[j].duration
        if min(d_i, d_j) < 0.7 * max(d_i, d_j):  # a copy keeps ≥ MIN_OVERLAP of the longer file's length too
            continue
        pair = verify_pair(paths[i], paths[j], cosine, signals)
        if pair is not None:
            evidence.append(pair)
            if pair.kind != "different":
                join(i, j, pair.kind)
    copies = {i: (root(i), how.get(i, "near")) for i in range(len(paths)) if root(i) != i}
    return copies, evidence
