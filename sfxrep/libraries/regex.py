"""Libraries whose class is in the file name: ``click_003.wav`` → ``click`` (e.g. Kenney UI sounds)."""

from __future__ import annotations

import re
from pathlib import Path

from sfxrep.libraries.base import Candidate, Library, Scan, Skipped, audio_files, register

DEFAULT_PATTERN = r"^(?P<label>.+?)_\d+$"


@register("regex")
class RegexLibrary(Library):
    """The label is the ``label`` group of a regular expression matched against the file stem.

    Args:
        name: library name.
        root: folder searched recursively.
        pattern: regex with a named group ``label`` (and optionally ``group``), matched with ``re.match`` on
            the stem (file name without extension). Default: everything before a trailing ``_<digits>``.
    """

    def __init__(self, name: str, root: str | Path, pattern: str = DEFAULT_PATTERN) -> None:
        super().__init__(name)
        self.root = Path(root).resolve()
        self.pattern = pattern
        self._regex = re.compile(pattern)
        if "label" not in self._regex.groupindex:
            raise ValueError(f"library {name}: pattern {pattern!r} has no named group 'label'")

    def scan(self) -> Scan:
        scan = Scan()
        for path in audio_files(self.root, scan):
            match = self._regex.match(path.stem)
            if match is None or not match.group("label"):
                scan.skipped.append(Skipped(str(path), f"file name does not match {self.pattern!r}"))
                continue
            group = match.groupdict().get("group")
            scan.candidates.append(Candidate(path, match.group("label"), group))
        return scan
