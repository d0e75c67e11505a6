"""The manifest: one row per usable file of every library in a run, written once as JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from sfxrep.fileio import write_jsonl

SPLITS = ("train", "val", "test")
# bump when the adapters, the split or the row layout change what a manifest holds: an older manifest then
# no longer matches the fingerprint and is rebuilt (see LibrariesSpec.fingerprint)
MANIFEST_VERSION = 4


@dataclass(frozen=True)
class ManifestRow:
    """One file of one library.

    Attributes:
        library: library name (the key of its head and, optionally, its BatchNorm).
        path: absolute path of the sound file.
        label: class in the library's own taxonomy (UCS: Category or CatID).
        group: the finer class the split is stratified by (UCS: CatID); equals ``label`` otherwise.
        duration: seconds, as decoded.
        sample_rate: the file's own rate in Hz (audio is resampled to 44.1 kHz on use).
        split: ``train``, ``val`` or ``test``.
        key: the file's wave-cache key (changes with its content or metadata).
        source: the file's group of takes of one source (:mod:`sfxrep.libraries.takes`): files of one source never
            straddle a split or an evaluation fold.
    """

    library: str
    path: str
    label: str
    group: str
    duration: float
    sample_rate: int
    split: str
    key: str = ""
    source: str = ""


def write_manifest(rows: Iterable[ManifestRow], path: str | Path) -> None:
    write_jsonl((asdict(r) for r in rows), path)


def read_manifest(path: str | Path) -> list[ManifestRow]:
    """The rows of a manifest. Unknown keys (a newer writer) are ignored.

    Raises:
        ValueError: a row lacks a field or is not JSON, naming ``path:line``.
    """
    fields = ManifestRow.__dataclass_fields__
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                rows.append(ManifestRow(**{k: v for k, v in raw.items() if k in fields}))
            except (json.JSONDecodeError, TypeError, AttributeError) as err:
                raise ValueError(f"{path}:{n}: not a manifest row ({err}); delete the file to rebuild it") from err
    return rows
