"""The decisions a librarian exports from ``audit.html``, turned into a preview of the changes (nothing is moved).

``audit-decisions.csv`` has the columns of :data:`sfxrep.audit.page.DECISION_COLUMNS`. An accepted relabel of a
file whose folder is its label becomes a move into the suggested label's folder beside it; of any other file, a
label to edit in the library's list. An accepted duplicate becomes a removal, naming the copy that is kept.
Rejected findings change nothing. Like ``sfxrep label --rename-preview``, this only says what would change.
"""

from __future__ import annotations

import csv
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
    with path.open(newline="", encoding="utf-8") as f:
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
    import io

    from sfxrep.fileio import atomic_write_text

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["action", "path", "target", "reason"])
    for c in changes:
        writer.writerow([c.action, c.path, c.target, c.reason])
    atomic_write_text(out, buffer.getvalue())
    return Path(out)
