"""UCS-named libraries: ``CatID[-UserCategory]_FXName_CreatorID_SourceID.ext`` (Universal Category System).

A CatID cannot be split into Category and SubCategory by letter case (``GUNAuto``, ``AMBForst``, ``WIND``),
so it is mapped through the official UCS list (CSV with columns Category, SubCategory, CatID, …) whose path
the user gives. As in the paper (§4), the label is the Category and the split is stratified by CatID.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Literal

from sfxrep.libraries.base import Candidate, Library, Scan, Skipped, audio_files, register


class UnknownCatIDError(ValueError):
    """File names use CatIDs that are not in the UCS list."""


def read_ucs_list(path: str | Path) -> dict[str, str]:
    """CatID → Category from the official UCS list CSV."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not {"Category", "CatID"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{path}: not a UCS list (needs columns Category and CatID; found {reader.fieldnames})")
        return {row["CatID"].strip(): row["Category"].strip() for row in reader if row["CatID"].strip()}


def parse_catid(stem: str) -> str | None:
    """The CatID of a UCS file stem, or ``None`` if the stem is not UCS-shaped.

    ``"DOORMetl-Gate_Iron Gate Slam 01_TC_Src"`` → ``"DOORMetl"`` (the optional ``-UserCategory`` is dropped).
    """
    head, sep, _ = stem.partition("_")
    if not sep or not head:
        return None
    return head.partition("-")[0] or None


def fx_name(stem: str) -> str:
    """The FXName of a UCS file name, where its take series is read (``ANMLFarm_Sheep Baa 02_TC_DirtSamples`` →
    ``Sheep Baa 02``); the stem itself if it has no ``_``."""
    parts = stem.split("_")
    return parts[1] if len(parts) > 1 else stem


@register("ucs")
class UcsLibrary(Library):
    """A library named by the UCS convention.

    Args:
        name: library name.
        root: folder searched recursively.
        ucs_list: path of the official UCS list CSV.
        level: label by ``category`` (paper) or by ``catid``.
        on_unknown: a CatID missing from the list is an ``error`` (all unknown CatIDs listed at once) or the
            file is ``skip``-ped and reported.
    """

    def __init__(
        self,
        name: str,
        root: str | Path,
        ucs_list: str | Path,
        level: Literal["category", "catid"] = "category",
        on_unknown: Literal["error", "skip"] = "error",
    ) -> None:
        super().__init__(name)
        if level not in ("category", "catid"):
            raise ValueError(f"library {name}: level must be 'category' or 'catid', got {level!r}")
        self.root = Path(root).resolve()
        self.ucs_list = Path(ucs_list).resolve()
        self.level = level
        self.on_unknown = on_unknown

    @property
    def is_ucs(self) -> bool:
        return True

    def take_name(self, path: Path) -> str:
        return fx_name(path.stem)

    def scan(self) -> Scan:
        categories = read_ucs_list(self.ucs_list)
        by_lower = {catid.lower(): catid for catid in categories}
        scan = Scan()
        unknown: dict[str, list[str]] = defaultdict(list)
        for path in audio_files(self.root, scan):
            catid = parse_catid(path.stem)
            if catid is None:
                scan.skipped.append(Skipped(str(path), "not a UCS file name (CatID_FXName_CreatorID_SourceID)"))
                continue
            catid = catid if catid in categories else by_lower.get(catid.lower(), catid)
            if catid not in categories:
                unknown[catid].append(path.name)
                scan.skipped.append(Skipped(str(path), f"CatID {catid!r} is not in {self.ucs_list.name}"))
                continue
            label = categories[catid] if self.level == "category" else catid
            scan.candidates.append(Candidate(path, label, group=catid))
        if unknown and self.on_unknown == "error":
            listing = "; ".join(f"{c} ({len(f)} files, e.g. {f[0]!r})" for c, f in sorted(unknown.items()))
            raise UnknownCatIDError(
                f"library {self.name}: {len(unknown)} CatID(s) not in {self.ucs_list}: {listing}. "
                "Fix the file names, or set on_unknown: skip to leave those files out (they are then reported)."
            )
        return scan
