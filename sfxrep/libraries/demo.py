"""``kind: demo`` — a synthetic library, written on first use, then read like any other."""

from __future__ import annotations

from pathlib import Path

from sfxrep.demo.generate import Flavour, generate_library, ucs_demo_list
from sfxrep.libraries.base import Library, Scan, register
from sfxrep.libraries.folder import FolderLibrary
from sfxrep.libraries.regex import RegexLibrary
from sfxrep.libraries.ucs import UcsLibrary

_READERS = {
    "ucs": lambda name, root: UcsLibrary(name, root, ucs_demo_list()),
    "folder": FolderLibrary,
    "prefix": RegexLibrary,
}


@register("demo")
class DemoLibrary(Library):
    """A built-in demo library (see :mod:`sfxrep.demo.generate`).

    Args:
        name: library name.
        root: folder to write it into (re-used when already complete).
        flavour: ``ucs`` (read by the UCS adapter, Category level), ``folder`` or ``prefix`` (regex adapter).
        seed: synthesis seed.
        files_per_class: override the flavour's default size.
    """

    def __init__(self, name: str, root: str | Path, flavour: Flavour, seed: int = 0,
                 files_per_class: int | None = None) -> None:
        super().__init__(name)
        if flavour not in _READERS:
            raise ValueError(f"library {name}: flavour must be one of {sorted(_READERS)}, got {flavour!r}")
        self.root = Path(root).resolve()
        self.flavour, self.seed, self.files_per_class = flavour, seed, files_per_class

    @property
    def is_ucs(self) -> bool:
        return self.flavour == "ucs"

    def scan(self) -> Scan:
        generate_library(self.root, self.flavour, self.seed, self.files_per_class)
        return _READERS[self.flavour](self.name, self.root).scan()
