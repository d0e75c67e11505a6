"""The manifest: one row per usable file of every library in a run, written once as JSON lines."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

SPLITS = ("train", "val", "test")


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
    """

    library: str
    path: str
    label: str
    group: str
    duration: float
    sample_rate: int
    split: str


def write_jsonl(records: Iterable[dict], path: str | Path) -> None:
    """Write dicts as JSON lines atomically (a reader never sees a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(rows: Iterable[ManifestRow], path: str | Path) -> None:
    write_jsonl((asdict(r) for r in rows), path)


def read_manifest(path: str | Path) -> list[ManifestRow]:
    with open(path, encoding="utf-8") as f:
        return [ManifestRow(**json.loads(line)) for line in f if line.strip()]
