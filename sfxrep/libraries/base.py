"""What every library adapter returns, and the registry that maps a YAML ``kind`` to its adapter."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sfxrep.audio.decode import AUDIO_EXTENSIONS
from sfxrep.paths import QUARANTINE

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Candidate:
    """A file an adapter found and labelled, before decoding.

    Attributes:
        path: absolute path.
        label: class in the library's taxonomy.
        group: stratification key (UCS CatID); ``None`` means the label.
        split: a split fixed by the source (ESC-50 folds); ``None`` lets the seeded 8:1:1 split decide.
        sources: the source recordings the clip was cut from (e.g. Freesound ids); clips sharing one always go
            to the same split, so no recording straddles train and test. Empty: the clip stands alone.
    """

    path: Path
    label: str
    group: str | None = None
    split: str | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    """A file that is not in the manifest, and why."""

    path: str
    reason: str


@dataclass
class Scan:
    """An adapter's result: labelled candidates, files it could not label, and what it ignored.

    Attributes:
        candidates: labelled files.
        skipped: files that look like audio but could not be labelled (with reasons).
        ignored: count of non-audio files by extension (``{".csv": 1}``), so nothing vanishes unreported.
        ignored_files: those files' paths.
    """

    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    ignored: Counter = field(default_factory=Counter)
    ignored_files: list[str] = field(default_factory=list)


class Library:
    """Base of the adapters: a named source of labelled sound files.

    Subclasses implement :meth:`scan`. ``name`` keys the library everywhere (heads, BatchNorm, metrics), so it
    is restricted to letters, digits, ``_`` and ``-``.
    """

    kind: str = ""

    def __init__(self, name: str) -> None:
        if not _NAME.match(name):
            raise ValueError(f"library name {name!r} must use only letters, digits, '_' and '-'")
        self.name = name

    @property
    def is_ucs(self) -> bool:
        """Labelled by the UCS taxonomy (a candidate base of the UCS-transfer scenario)."""
        return False

    def scan(self) -> Scan:
        raise NotImplementedError

    def take_name(self, path: Path) -> str:
        """The part of a file's name its take series is read from (:mod:`sfxrep.libraries.takes`): the stem."""
        return path.stem

    def describe(self) -> dict:
        """What identifies this library's content (for cache invalidation of its manifest): its settings."""
        return {"kind": self.kind, **{k: str(v) for k, v in vars(self).items() if not k.startswith("_")}}


def audio_files(root: Path, scan: Scan) -> Iterator[Path]:
    """Sound files under ``root`` (recursive, sorted); other files are counted in ``scan.ignored``, broken links
    listed in ``scan.skipped``; the quarantine folder of ``sfxrep audit --commit`` is not part of the library."""
    if root.is_file():
        raise NotADirectoryError(f"{root}: a file, not a folder (a library's root is the folder of its sounds)")
    if not root.is_dir():
        raise FileNotFoundError(f"library folder not found: {root}")
    for path in sorted(p for p in root.rglob("*") if p.is_file() or (p.is_symlink() and not p.exists())):
        if QUARANTINE in path.relative_to(root).parts:  # copies `sfxrep audit --commit` set aside
            scan.ignored["(quarantined)"] += 1
        elif not path.exists():  # a dangling link: reported, never silently passed over
            scan.skipped.append(Skipped(str(path), "a broken symbolic link (its target is missing)"))
        elif path.suffix.lower() in AUDIO_EXTENSIONS:
            yield path
        else:
            scan.ignored[path.suffix.lower() or "(no extension)"] += 1
            scan.ignored_files.append(str(path))


ADAPTERS: dict[str, type[Library]] = {}


def register(kind: str) -> Callable[[type[Library]], type[Library]]:
    """Class decorator: make an adapter available as ``kind:`` in a libraries YAML."""

    def add(cls: type[Library]) -> type[Library]:
        cls.kind = kind
        ADAPTERS[kind] = cls
        return cls

    return add
