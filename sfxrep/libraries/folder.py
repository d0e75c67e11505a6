"""Folder-per-class libraries: ``root/<label>/.../file.wav`` (e.g. Dirt-Samples one-shots)."""

from __future__ import annotations

from pathlib import Path

from sfxrep.libraries.base import Candidate, Library, Scan, Skipped, audio_files, register


@register("folder")
class FolderLibrary(Library):
    """The label is the first folder below ``root``; deeper folders belong to that class.

    Args:
        name: library name.
        root: the library folder. Sound files lying directly in it have no class and are skipped (reported).
    """

    def __init__(self, name: str, root: str | Path) -> None:
        super().__init__(name)
        self.root = Path(root).resolve()

    def scan(self) -> Scan:
        scan = Scan()
        for path in audio_files(self.root, scan):
            parts = path.relative_to(self.root).parts
            if len(parts) < 2:
                scan.skipped.append(Skipped(str(path), "not inside a class folder"))
            else:
                scan.candidates.append(Candidate(path, parts[0]))
        return scan
