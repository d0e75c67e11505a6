"""Keep ESC-50 and UrbanSound8K clean: no corpus file that came from one of their Freesound sources.

Both benchmarks are cut from Freesound recordings whose ids are public
(``experiments/corpus/benchmark-freesound-ids.txt``, written by ``experiments/corpus/benchmark_ids.py``). A game
sound derived from such a recording carries the id in one of two places: its file name (Freesound's download name
``104089__user__title.wav``) or the package's credits (``freesound.org/people/user/sounds/104089``, or
``freesound … 104089`` next to the file's name). A file whose name carries a benchmark id is excluded; so is a file
named on the credits line that cites one (or, if that line names no file, on the line before, else the line after). A cited benchmark id that no file name can
be tied to is reported as unresolved, with the credits line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

NAME_ID = re.compile(r"(?:^|[^\d])(\d{2,7})__")  # Freesound's download names: "<id>__<user>__<title>"
CREDIT_ID = re.compile(r"freesound\.org/(?:people/[^/\s]+/)?sounds/(\d+)|freesound[^\n\d]{0,40}?#?(\d{3,7})", re.I)


@dataclass(frozen=True)
class Hit:
    """A benchmark source found: the ``member`` it excludes (``""`` if unresolved), the id, its benchmark(s) and
    where it was seen (``name`` or ``credits FILE:LINE``)."""

    member: str
    freesound_id: str
    benchmark: str
    where: str


def load_ids(path: str | Path) -> dict[str, str]:
    """``{freesound id: benchmark names}`` from the committed list (lines ``id esc50,urbansound8k``)."""
    ids = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            fsid, _, names = line.partition(" ")
            ids[fsid] = names.strip()
    return ids


def find(audio: Iterable[str], credits: dict[str, str], ids: dict[str, str]) -> list[Hit]:
    """Benchmark-derived members among ``audio`` (member names), from their names and the ``credits`` texts
    (member name → text)."""
    audio = list(audio)
    hits = []
    for member in audio:
        for fsid in NAME_ID.findall(PurePosixPath(member.rpartition("!")[2]).name):
            if fsid in ids:
                hits.append(Hit(member, fsid, ids[fsid], "name"))
    by_stem: dict[str, list[str]] = {}
    for member in audio:
        by_stem.setdefault(PurePosixPath(member.rpartition("!")[2]).stem.lower(), []).append(member)
    for source, text in credits.items():
        lines = text.splitlines()
        for n, line in enumerate(lines):
            for groups in CREDIT_ID.findall(line):
                fsid = next(g for g in groups if g)
                if fsid not in ids:
                    continue
                tied = []
                for k in (n, n - 1, n + 1):  # the file named on the line itself, else the line before, else after
                    if 0 <= k < len(lines):
                        text_k = lines[k].lower()
                        tied = [m for stem, ms in by_stem.items() if len(stem) > 2 and stem in text_k for m in ms]
                        if tied:
                            break
                where = f"credits {source}:{n + 1}"
                hits += [Hit(m, fsid, ids[fsid], where) for m in tied] or [Hit("", fsid, ids[fsid], where)]
    return hits
