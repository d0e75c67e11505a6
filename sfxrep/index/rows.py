"""The typed rows of an index: one :class:`FileRow` per embedded file, one :class:`Failure` per file that could
not be decoded. On disk they are JSON objects (``data.npz``: ``rows``, ``failures``); in memory, these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from sfxrep.fileio import file_signature

LABELS = ("library", "label", "group", "split")  # what a libraries YAML tells about a file


def unchanged(recorded: FileRow | Failure, path: str) -> bool:
    """Whether the file at ``path`` still has the signature ``recorded`` saw (:func:`sfxrep.fileio.file_signature`,
    the wave cache's rule too). Rows written before the change time was recorded compare size and mtime."""
    now = file_signature(path)
    if now is None or recorded.size is None:
        return False
    return (recorded.size, recorded.mtime_ns, recorded.ctime_ns if recorded.ctime_ns is not None else now[2]) == now


@dataclass
class Found:
    """A file a scan found: its absolute path and, from a libraries YAML, its library, label, group and split."""

    path: str
    library: str | None = None
    label: str | None = None
    group: str | None = None
    split: str | None = None


@dataclass
class FileRow(Found):
    """An embedded file: row *i* of an index ↔ ``vectors[i]``.

    Attributes:
        size, mtime_ns, ctime_ns: its signature when it was embedded (:func:`sfxrep.fileio.file_signature`).
        duration: seconds; sample_rate: Hz of the file; channels: of the file.
        blocks: input blocks embedded (its rows in ``block_vectors``).
    """

    size: int | None = None
    mtime_ns: int | None = None
    ctime_ns: int | None = None
    duration: float = 0.0
    sample_rate: int | None = None
    channels: int | None = None
    blocks: int = 0

    def relabel(self, found: Found) -> None:
        """Take the labels a fresh scan found (a libraries YAML may relabel an unchanged file)."""
        for key in LABELS:
            setattr(self, key, getattr(found, key))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> FileRow:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


@dataclass
class Failure:
    """A file that could not be decoded, with the reason and its signature then (retried when it changes)."""

    path: str
    reason: str
    size: int | None = None
    mtime_ns: int | None = None
    ctime_ns: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> Failure:
        return cls(raw["path"], raw.get("reason", ""), raw.get("size"), raw.get("mtime_ns"), raw.get("ctime_ns"))
