"""Carrying out an audit's decisions (``sfxrep audit INDEX --apply DECISIONS.csv --commit``), and undoing them.

Nothing is ever deleted. A removed copy moves into the library's quarantine folder
(:data:`sfxrep.paths.QUARANTINE`, which no scan reads), under its path in the library. A new label is written where
the library keeps its labels: a folder library's file moves into the new label's folder; a ``csv`` library's list
gets the new label in the file's row (a removed copy's row leaves the list). Libraries whose labels are file names
(``ucs``, ``regex``, ``esc50``) take removals only: renaming is the librarian's (``sfxrep label
--rename-preview``). Every path must lie inside its library's folder; a target that exists is never overwritten.

Each step is recorded in a journal (JSON, beside the decisions file) before the next one starts: a move with the
file's SHA-256, an edited list with a copy of its bytes before and its hash after. ``--undo JOURNAL`` walks it
backwards and restores every file and list byte for byte, refusing where something changed since (a hash that no
longer matches). A commit that fails half-way undoes the steps it made before reporting the error.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from sfxrep.audit.decisions import Change
from sfxrep.paths import QUARANTINE

JOURNAL_FORMAT = 1


@dataclass
class Step:
    """One thing done: ``move`` (``source`` → ``target``, the file's ``sha256``) or ``edit`` (the list ``target``,
    its old bytes kept at ``source``, ``sha256`` of the new bytes). ``made``: folders the step created."""

    action: str
    source: str
    target: str
    sha256: str
    made: list[str]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inside(path: Path, root: Path, what: str) -> Path:
    path = Path(path).resolve()  # a link is judged by where it leads
    if not path.is_relative_to(root):
        raise ValueError(f"{what} {path} is outside its library's folder {root}; refused")
    return path


class Journal:
    """The steps of one commit, saved after each step (``path``: the journal file)."""

    def __init__(self, path: Path, decisions: str) -> None:
        self.path, self.decisions, self.steps = path, decisions, []

    def add(self, step: Step) -> None:
        self.steps.append(step)
        self.save()

    def save(self) -> None:
        from sfxrep.fileio import atomic_write_text

        atomic_write_text(self.path, json.dumps({"format": JOURNAL_FORMAT, "decisions": self.decisions,
                                                 "steps": [asdict(s) for s in self.steps]}, indent=1))

    @classmethod
    def load(cls, path: str | Path) -> Journal:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such journal")
        try:
            raw = json.loads(path.read_text())
            journal = cls(path, raw["decisions"])
            journal.steps = [Step(**s) for s in raw["steps"]]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: not an sfxrep audit journal ({err})") from err
        return journal


def _move(source: Path, target: Path, root: Path) -> Step:
    if target.exists():
        raise ValueError(f"{target} exists; refusing to overwrite it with {source}")
    made = []
    for parent in reversed(target.parents):
        if parent.is_relative_to(root) and not parent.exists():
            parent.mkdir()
            made.append(str(parent))
    digest = _sha256(source)
    os.replace(source, target)
    return Step("move", str(source), str(target), digest, made)


def _edit_csv(library, changes: dict[Path, str | None], journal: Journal) -> None:
    """Set the label of the rows of ``changes`` (path → new label, ``None``: drop the row) in a csv library's list,
    keeping every other byte; its old bytes go into the quarantine folder first."""
    from sfxrep.fileio import atomic_write

    listing: Path = library.csv
    old = listing.read_bytes()
    text = old.decode("utf-8-sig")
    bom = old.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    path_col, label_col = header.index(library.path_column), header.index(library.label_column)
    found, kept = set(), []
    for row in body:
        key = (Path(library.root) / row[path_col]).resolve() if len(row) > path_col else None
        if key in changes:
            found.add(key)
            if changes[key] is None:
                continue
            row = [*row[:label_col], changes[key], *row[label_col + 1:]]
        kept.append(row)
    missing = set(changes) - found
    if missing:
        raise ValueError(f"{listing}: no row for {sorted(map(str, missing))[:3]}")
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n").writerows([header, *kept])
    new = (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")
    quarantine = Path(library.root) / QUARANTINE
    backup = quarantine / f"{listing.name}.{hashlib.sha256(old).hexdigest()[:12]}.before"
    made = [] if quarantine.exists() else [str(quarantine)]
    quarantine.mkdir(exist_ok=True)
    backup.write_bytes(old)
    atomic_write(listing, lambda f: f.write(new))
    journal.add(Step("edit", str(backup), str(listing), hashlib.sha256(new).hexdigest(), made))


def commit(changes: list[Change], libraries: dict, library_of: dict[str, str], journal_path: Path,
           decisions: str) -> Journal:
    """Carry out ``changes`` (:func:`sfxrep.audit.decisions.preview`) on the libraries (name → adapter), each file's
    library given by ``library_of``; journaled in ``journal_path``. On an error every step made is undone first."""
    if journal_path.exists():
        raise ValueError(f"{journal_path} exists (an earlier commit's journal): undo it or move it away first")
    journal = Journal(journal_path, decisions)
    try:
        csv_edits: dict[str, dict[Path, str | None]] = {}
        for change in changes:
            library = libraries[library_of[change.path]]
            root = Path(getattr(library, "root", "") or "/").resolve()
            path = _inside(Path(change.path), root, "file")
            is_csv = library.kind == "csv"
            if change.action == "remove":
                target = _inside(root / QUARANTINE / path.relative_to(root), root, "quarantine")
                journal.add(_move(path, target, root))
                if is_csv:
                    csv_edits.setdefault(library.name, {})[path] = None
            elif change.action == "relabel" and is_csv:
                csv_edits.setdefault(library.name, {})[path] = change.target
            elif change.action in ("move", "relabel") and library.kind == "folder":
                label = path.relative_to(root).parts[0]
                rest = path.relative_to(root / label)
                new_label = change.target if change.action == "relabel" else Path(change.target).parent.name
                journal.add(_move(path, _inside(root / new_label / rest, root, "target"), root))
            else:
                raise ValueError(f"{change.path}: library {library.name} ({library.kind}) takes its labels from file "
                                 "names; relabel it by renaming (sfxrep label --rename-preview), or remove it")
        for name, edits in csv_edits.items():
            _edit_csv(libraries[name], edits, journal)
    except Exception:
        undo(journal)  # nothing half-done stays behind
        journal_path.unlink(missing_ok=True)
        raise
    return journal


def undo(journal: Journal) -> int:
    """Restore what ``journal`` records, last step first; returns the steps undone. Refuses (before touching
    anything) where a file changed or a restored path is taken."""
    for step in journal.steps:
        target = Path(step.target)
        if not target.is_file() or _sha256(target) != step.sha256:
            raise ValueError(f"{target} changed since the commit (or is gone); nothing was undone")
        if step.action == "move" and Path(step.source).exists():
            raise ValueError(f"{step.source} exists again; nothing was undone")
    for step in reversed(journal.steps):
        if step.action == "move":
            os.replace(step.target, step.source)
        else:
            shutil.copyfile(step.source, step.target)
            Path(step.source).unlink()
        for folder in reversed(step.made):
            with contextlib.suppress(OSError):  # only if empty: a folder with the user's files stays
                Path(folder).rmdir()
    done = len(journal.steps)
    journal.steps = []
    return done
