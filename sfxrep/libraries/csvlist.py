"""Libraries listed in a CSV file: columns ``path``, ``label`` and optionally ``group``; optionally read through a
UCS crosswalk (:mod:`sfxrep.libraries.crosswalk`), which makes the library UCS-labelled."""

from __future__ import annotations

import csv
from pathlib import Path

from sfxrep.audio.decode import AUDIO_EXTENSIONS
from sfxrep.libraries.base import Candidate, Library, Scan, Skipped, register


@register("csv")
class CsvLibrary(Library):
    """One row per file.

    Args:
        name: library name.
        csv: the CSV file (with a header row).
        root: base folder of relative paths in the CSV; default: the CSV's folder.
        path_column, label_column, group_column: column names; ``group`` (a finer class to stratify the split
            by) is optional.
        source_column: a column naming each clip's source recordings (ids separated by spaces or ``;``): clips
            that share one stay in one split (``freesound_ids`` of CDDA's CC-Sounds); ``None``: no such column.
        crosswalk, ucs_list: a crosswalk CSV (class → UCS CatID) and the official UCS list: each file's label
            becomes its class's UCS Category and its group the CatID (as the ``ucs`` adapter labels); files of a
            class mapped to ``none`` are skipped with that reason. Both or neither.
    """

    def __init__(
        self,
        name: str,
        csv: str | Path,
        root: str | Path | None = None,
        path_column: str = "path",
        label_column: str = "label",
        group_column: str = "group",
        source_column: str | None = None,
        crosswalk: str | Path | None = None,
        ucs_list: str | Path | None = None,
    ) -> None:
        super().__init__(name)
        self.csv = Path(csv).resolve()
        self.root = Path(root).resolve() if root is not None else self.csv.parent
        self.path_column, self.label_column, self.group_column = path_column, label_column, group_column
        self.source_column = source_column
        if (crosswalk is None) != (ucs_list is None):
            raise ValueError("crosswalk and ucs_list go together (the crosswalk's CatIDs are checked against the list)")
        self.crosswalk = Path(crosswalk).resolve() if crosswalk is not None else None
        self.ucs_list = Path(ucs_list).resolve() if ucs_list is not None else None

    @property
    def is_ucs(self) -> bool:
        return self.crosswalk is not None

    def scan(self) -> Scan:
        scan = Scan()
        lines: dict[Path, list[int]] = {}
        with open(self.csv, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = {self.path_column, self.label_column, *([self.source_column] if self.source_column else [])} \
                - set(reader.fieldnames or ())
            if missing:
                raise ValueError(f"{self.csv}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
            for line, row in enumerate(reader, start=2):
                raw = (row.get(self.path_column) or "").strip()
                label = (row.get(self.label_column) or "").strip()
                path = (self.root / raw).resolve()
                if not raw or not label:
                    scan.skipped.append(Skipped(f"{self.csv}:{line}", "empty path or label"))
                elif not path.is_file():
                    scan.skipped.append(Skipped(str(path), f"listed in {self.csv.name} line {line} but missing"))
                elif path.suffix.lower() not in AUDIO_EXTENSIONS:
                    scan.skipped.append(Skipped(str(path), f"not a sound file extension ({path.suffix})"))
                else:
                    group = (row.get(self.group_column) or "").strip() or None
                    sources = (row.get(self.source_column) or "").replace(";", " ").split() if self.source_column \
                        else []
                    scan.candidates.append(Candidate(path, label, group, sources=tuple(sources)))
                    lines.setdefault(path, []).append(line)
        scan = _one_listing_each(scan, lines, self.csv.name)
        return self._through_crosswalk(scan) if self.crosswalk is not None else scan

    def _through_crosswalk(self, scan: Scan) -> Scan:
        from sfxrep.libraries.crosswalk import check_covers, load_crosswalk

        walk = load_crosswalk(self.crosswalk, self.ucs_list)
        check_covers(walk, {c.label for c in scan.candidates})
        kept = []
        for cand in scan.candidates:
            catid = walk.catid[cand.label]
            if catid is None:
                scan.skipped.append(Skipped(str(cand.path), f"class {cand.label!r} has no UCS CatID in "
                                                             f"{self.crosswalk.name}: {walk.reason[cand.label]}"))
            else:
                kept.append(Candidate(cand.path, walk.category[catid], catid, sources=cand.sources))
        scan.candidates = kept
        return scan


def _one_listing_each(scan: Scan, lines: dict, csv_name: str) -> Scan:
    """A file listed more than once is kept once when every listing gives it the same label; with different labels
    it is left out (which label is right is the librarian's call); either way each extra listing is reported."""
    labels: dict = {}
    for cand in scan.candidates:
        labels.setdefault(cand.path, []).append(cand.label)
    kept, seen = [], set()
    for cand in scan.candidates:
        listed = lines[cand.path]
        if len(set(labels[cand.path])) > 1:
            if cand.path not in seen:
                scan.skipped.append(Skipped(str(cand.path), f"listed {len(listed)} times in {csv_name} (lines "
                                            f"{', '.join(map(str, listed))}) with different labels "
                                            f"{sorted(set(labels[cand.path]))}"))
        elif cand.path in seen:
            scan.skipped.append(Skipped(str(cand.path), f"listed again in {csv_name} (lines "
                                        f"{', '.join(map(str, listed))}); kept once"))
        else:
            kept.append(cand)
        seen.add(cand.path)
    scan.candidates = kept
    return scan
