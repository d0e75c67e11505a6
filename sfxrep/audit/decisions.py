"""The decisions a librarian exports from ``audit.html``, turned into a preview of the changes (nothing is moved).

``audit-decisions.csv`` has the columns of :data:`sfxrep.audit.page.DECISION_COLUMNS`. An accepted relabel of a
file whose folder is its label becomes a move into the suggested label's folder beside it; of any other file, a
label to edit in the library's list. An accepted duplicate becomes a removal, naming the copy that is kept.
Rejected findings change nothing. Like ``sfxrep label --rename-preview``, this only says what would change.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sfxrep.audit.page import DECISION_COLUMNS


@dataclass(frozen=True)
class Change:
    """One change a decision implies: ``action`` is ``move``, ``relabel`` or ``remove``."""

    action: str
    path: str
    target: str
    reason: str


def read_decisions(path: str | Path) -> list[dict]:
    """The rows of a decisions CSV.

    Raises:
        FileNotFoundError: no such file.
        ValueError: naming the file and line: a missing column, an unknown kind or decision.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such decisions file")
    with path.open(newline="", encoding="utf-8-sig") as f:  # -sig: Excel's UTF-8 CSV starts with a BOM
        reader = csv.DictReader(f)
        missing = [c for c in DECISION_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: not an audit decisions file (missing columns {missing})")
        rows = list(reader)
    for line, row in enumerate(rows, 2):
        if row["kind"] not in ("relabel", "duplicate") or row["decision"] not in ("accept", "reject"):
            raise ValueError(f"{path}:{line}: kind must be relabel|duplicate and decision accept|reject, "
                             f"got {row['kind']!r} / {row['decision']!r}")
    return rows


_PLAIN_LABEL = re.compile(r"^[^/\\\x00-\x1f]+$")


def check_decisions(rows: list[dict], source: str | Path, files: dict[str, tuple[str | None, str | None]]) -> None:
    """Refuse decisions that would act outside the audited index or contradict themselves, naming the line.

    Args:
        rows: the decisions (:func:`read_decisions`).
        source: the decisions file (for messages).
        files: every file of the audited index → (its library, its label).

    Raises:
        ValueError: a path that is not a file of the index; a relabel to a label that is neither the library's nor
            a plain name; a file that is its own copy, copies that keep each other, or two decisions on one file.
    """
    labels: dict[str | None, set[str | None]] = {}
    for library, label in files.values():
        labels.setdefault(library, set()).add(label)
    decided: dict[str, int] = {}
    removed_for: dict[str, str] = {}
    for line, row in enumerate(rows, 2):
        where = f"{source}:{line}"
        for column in ("path", *(("keep",) if row["kind"] == "duplicate" else ())):
            if row[column] not in files:
                raise ValueError(f"{where}: {column} {row[column]!r} is not a file of the audited index; decisions "
                                 "act only on the library they were made for")
        if row["path"] in decided:
            raise ValueError(f"{where}: a second decision on {row['path']} (the first is line {decided[row['path']]})")
        decided[row["path"]] = line
        if row["decision"] != "accept":
            continue
        if row["kind"] == "duplicate":
            if row["keep"] == row["path"]:
                raise ValueError(f"{where}: {row['path']} cannot be removed as a copy of itself")
            removed_for[row["path"]] = row["keep"]
        else:
            library = files[row["path"]][0]
            target = row["suggestion"]
            if target not in labels.get(library, set()) and (not _PLAIN_LABEL.match(target or "")
                                                             or target.strip(". ") == ""):
                raise ValueError(f"{where}: relabel to {target!r}: neither a label of {library} nor a plain name")
    for path, keep in removed_for.items():
        seen = {path}
        while keep in removed_for:  # the kept file is removed too: follow the chain
            if keep in seen:
                raise ValueError(f"{source}: {path} and {keep} are removed as copies of each other; keep one")
            seen.add(keep)
            keep = removed_for[keep]


def preview(rows: list[dict]) -> list[Change]:
    """The changes the accepted decisions imply (rejected ones imply none)."""
    changes = []
    for row in rows:
        if row["decision"] != "accept":
            continue
        path = Path(row["path"])
        if row["kind"] == "duplicate":
            changes.append(Change("remove", row["path"], row["keep"], f"a copy of {row['keep']}"))
        elif path.parent.name == row["label"]:
            changes.append(Change("move", row["path"], str(path.parent.parent / row["suggestion"] / path.name),
                                  f"{row['library']}: {row['label']} → {row['suggestion']}"))
        else:
            changes.append(Change("relabel", row["path"], row["suggestion"],
                                  f"{row['library']}: edit its label {row['label']} → {row['suggestion']} in the "
                                  "library's list"))
    return changes


def write_preview(changes: list[Change], out: str | Path) -> Path:
    """CSV ``action, path, target, reason`` (written atomically)."""
    from sfxrep.fileio import atomic_write_text, spreadsheet_csv

    rows = [("action", "path", "target", "reason"), *((c.action, c.path, c.target, c.reason) for c in changes)]
    atomic_write_text(out, spreadsheet_csv(rows))
    return Path(out)
