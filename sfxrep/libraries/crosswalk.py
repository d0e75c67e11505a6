"""UCS crosswalks: each class of a corpus library → one UCS CatID (or ``none``), with a one-line reason.

A crosswalk is a CSV (``experiments/corpus/ucs/<library>.csv``) with columns ``class,catid,reason``. Every class of
the built library must appear once; a CatID must be in the official UCS list; ``none`` says the class has no UCS
home (the reason says why) and its files stay out of the UCS reference. Through its crosswalk a library becomes a
UCS-labelled library (label = the CatID's Category, group = the CatID) that ``sfxrep label`` can vote with.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sfxrep.libraries.ucs import read_ucs_list

NONE = "none"


class CrosswalkError(ValueError):
    """A crosswalk that cannot be used; the message names the file, the line and what is wrong."""


@dataclass(frozen=True)
class Crosswalk:
    """``catid[class]`` (``None`` for ``none``), ``reason[class]``, the UCS ``category`` of each CatID used;
    ``source``: the CSV file."""

    catid: dict[str, str | None]
    reason: dict[str, str]
    source: str
    category: dict[str, str]


def load_crosswalk(path: str | Path, ucs_list: str | Path) -> Crosswalk:
    """Read and check one crosswalk against the UCS list (CatIDs are case-sensitive, as UCS spells them)."""
    path = Path(path)
    known = read_ucs_list(ucs_list)
    catid, reason = {}, {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if set(reader.fieldnames or ()) != {"class", "catid", "reason"}:
            raise CrosswalkError(f"{path}: needs the columns class, catid, reason; found {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            name, cat, why = (row["class"] or "").strip(), (row["catid"] or "").strip(), (row["reason"] or "").strip()
            if not name:
                raise CrosswalkError(f"{path}:{line}: empty class")
            if name in catid:
                raise CrosswalkError(f"{path}:{line}: class {name!r} is listed twice")
            if cat != NONE and cat not in known:
                raise CrosswalkError(f"{path}:{line}: {cat!r} is not a CatID of the UCS list ({Path(ucs_list).name})")
            if not why:
                raise CrosswalkError(f"{path}:{line}: class {name!r} needs a one-line reason")
            catid[name], reason[name] = (None if cat == NONE else cat), why
    return Crosswalk(catid, reason, str(path), {c: known[c] for c in catid.values() if c is not None})


def check_covers(crosswalk: Crosswalk, classes: set[str]) -> None:
    """Every class of the built library is mapped, and nothing else is."""
    missing, extra = classes - set(crosswalk.catid), set(crosswalk.catid) - classes
    if missing or extra:
        raise CrosswalkError(f"{crosswalk.source}: " + "; ".join(
            part for part in (f"classes not mapped: {sorted(missing)}" if missing else "",
                              f"classes the library does not have: {sorted(extra)}" if extra else "") if part))


def coverage(class_sizes: dict[str, dict[str, int]], crosswalks: dict[str, Crosswalk]) -> Counter:
    """Files per CatID over all libraries (``class_sizes[library][class]`` files, mapped by its crosswalk)."""
    files: Counter = Counter()
    for library, sizes in class_sizes.items():
        for name, n in sizes.items():
            cat = crosswalks[library].catid.get(name)
            if cat:
                files[cat] += n
    return files
