"""A run's manifest: scan every library, decode every file into the wave cache, split, write.

Output, in ``<work_dir>/<yaml stem>-<fingerprint>/``:

* ``manifest.jsonl`` — one :class:`ManifestRow` per usable file;
* ``report.json`` — per library: files found, in the manifest, skipped with reasons (undecodable, unlabelled),
  non-audio files ignored, files left out with reasons (class under the minimum, over the cap), and what
  changed since the last preparation (added, removed, changed files).

Every file found under a library's root ends in exactly one place: the manifest, ``skipped``, ``ignored_files``
or ``left_out``. Each preparation re-scans the roots (cheap: the wave cache decodes only new or changed files)
and updates the manifest: unchanged files keep their split (all of a group of takes follows its first file's,
should an edit merge groups), new files fill their stratum's shares. The
fingerprint changes with any adapter or split setting, so an edited YAML gets a new manifest.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal, TextIO

from sfxrep.audio.cache import WaveCache, WaveInfo
from sfxrep.audio.decode import AudioDecodeError
from sfxrep.fileio import atomic_write_text, check_writable_folder
from sfxrep.libraries.base import Candidate, Skipped
from sfxrep.libraries.manifest import SPLITS, ManifestRow, read_manifest, write_manifest
from sfxrep.libraries.spec import LibrariesSpec, LibrarySpec
from sfxrep.libraries.split import assign_splits
from sfxrep.libraries.takes import group_files


@dataclass
class LibraryReport:
    """What happened to one library's files."""

    name: str
    found: int = 0
    in_manifest: int = 0
    classes: int = 0
    groups: int = 0
    series_per_file: list[str] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    dropped_classes: dict[str, int] = field(default_factory=dict)
    capped: dict[str, int] = field(default_factory=dict)
    left_out: list[dict] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.name}: {self.in_manifest}/{self.found} files, {self.classes} classes, {self.groups} groups "
                 f"(train {self.splits.get('train', 0)} / val {self.splits.get('val', 0)} / "
                 f"test {self.splits.get('test', 0)})"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.dropped_classes:
            parts.append(f"{len(self.dropped_classes)} classes under the minimum dropped "
                         f"({sum(self.dropped_classes.values())} files)")
        if self.capped:
            parts.append(f"{sum(self.capped.values())} files over the per-class cap left out")
        if self.ignored:
            parts.append("ignored non-audio: " + ", ".join(f"{n}×{ext}" for ext, n in sorted(self.ignored.items())))
        if self.added or self.removed or self.changed:
            parts.append(f"since the last preparation: +{len(self.added)} added, -{len(self.removed)} removed, "
                         f"{len(self.changed)} changed")
        return "; ".join(parts)


@dataclass
class Prepared:
    """A prepared run: its manifest rows, per-library reports and where they were written."""

    folder: Path
    rows: list[ManifestRow]
    reports: list[LibraryReport]

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.jsonl"


def _ensure(cache: WaveCache, force: bool, path: Path) -> WaveInfo | str:
    try:
        return cache.ensure(path, force=force)
    except AudioDecodeError as err:
        return err.reason


def decode_all(cache: WaveCache, paths: list[Path], workers: int = 1, force: bool = False) -> list[WaveInfo | str]:
    """Cache every file (``workers`` threads); returns its :class:`WaveInfo` or the reason it could not be decoded.
    ``force`` retries remembered failures."""
    if workers <= 1 or len(paths) < 32:
        return [_ensure(cache, force, p) for p in paths]
    # threads: libsndfile and soxr release the GIL, and unlike processes they need no __main__ guard
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(partial(_ensure, cache, force), paths))


def prepare_library(spec: LibrarySpec, cache: WaveCache, workers: int = 1, force: bool = False,
                    previous: dict[str, ManifestRow] | None = None) -> tuple[list[ManifestRow], LibraryReport]:
    """Scan, decode and split one library.

    Args:
        spec: the library and its split settings.
        cache: the wave cache.
        workers: decoding threads.
        force: retry files whose decoding failed before.
        previous: the library's rows of the last manifest, by path (their splits are kept).
    """
    library = spec.library
    previous = previous or {}
    scan = library.scan()
    report = LibraryReport(library.name, ignored=dict(scan.ignored), ignored_files=list(scan.ignored_files))
    report.found = len(scan.candidates) + len(scan.skipped)
    skipped: list[Skipped] = list(scan.skipped)
    usable: list[tuple[Candidate, WaveInfo]] = []
    results = decode_all(cache, [c.path for c in scan.candidates], workers, force)
    for cand, result in zip(scan.candidates, results, strict=True):
        if isinstance(result, WaveInfo):
            usable.append((cand, result))
        else:
            skipped.append(Skipped(str(cand.path), result))
    report.skipped = [asdict(s) for s in skipped]

    root = getattr(library, "root", None)
    keys = [os.path.relpath(c.path, root) if root else str(c.path) for c, _ in usable]
    grouping = group_files(keys, [c.label for c, _ in usable], [c.sources for c, _ in usable],
                           [library.take_name(c.path) for c, _ in usable])
    outcome = assign_splits(
        keys,
        [c.label for c, _ in usable],
        [c.group or c.label for c, _ in usable],
        spec.split,
        fixed=lambda i: usable[i][0].split,
        sources=[(g,) for g in grouping.groups] if spec.split.by_takes else [c.sources for c, _ in usable],
        previous=lambda i: getattr(previous.get(str(usable[i][0].path)), "split", None),
    )
    report.dropped_classes, report.capped = outcome.dropped_classes, outcome.capped
    report.left_out = [{"path": str(usable[i][0].path), "reason": r} for i, r in sorted(outcome.left_out.items())]
    rows = [
        ManifestRow(library.name, str(c.path), c.label, c.group or c.label, round(info.duration, 4),
                    info.source_rate, outcome.splits[i], Path(info.npy).stem, grouping.groups[i])
        for i, (c, info) in enumerate(usable) if i in outcome.splits
    ]
    if previous:
        now = {r.path: r for r in rows}
        report.added = sorted(set(now) - set(previous))
        report.removed = sorted(set(previous) - set(now))
        report.changed = sorted(p for p in set(now) & set(previous) if now[p].key != previous[p].key)
    report.in_manifest = len(rows)
    report.classes = len({r.label for r in rows})
    report.groups = len({r.source for r in rows})
    report.series_per_file = grouping.series_per_file
    counts = Counter(r.split for r in rows)
    report.splits = {s: counts.get(s, 0) for s in SPLITS}
    return rows, report


def prepared_folder(spec: LibrariesSpec, work_dir: str | Path) -> Path:
    """Where ``spec``'s manifest and report live: ``<work_dir>/<yaml stem>-<fingerprint>/``."""
    return Path(work_dir) / f"{spec.source.stem}-{spec.fingerprint()}"


def load_prepared(spec: LibrariesSpec, work_dir: str | Path) -> Prepared | None:
    """The prepared manifest and reports of ``spec`` if a complete preparation exists, else ``None``."""
    folder = prepared_folder(spec, work_dir)
    manifest, report_path = folder / "manifest.jsonl", folder / "report.json"
    if not (manifest.is_file() and report_path.is_file()):
        return None
    reports = [LibraryReport(**r) for r in json.loads(report_path.read_text())["libraries"]]
    return Prepared(folder, read_manifest(manifest), reports)


def prepare(spec: LibrariesSpec, work_dir: str | Path, cache: WaveCache, workers: int = 1,
            force: bool = False, log: TextIO | Literal["stderr"] | None = "stderr") -> Prepared:
    """Prepare every library of ``spec``: re-scan, decode what is new or changed, update the manifest.

    Args:
        spec: the run's libraries.
        work_dir: parent folder of prepared manifests.
        cache: the wave cache to fill.
        workers: decoding threads.
        force: retry files whose decoding failed before. Splits of files already in the manifest are kept
            either way (delete the prepared folder to split anew).
        log: where progress and the summary are printed: ``"stderr"`` (the ``sys.stderr`` of the call, not of
            the import, which a test harness may have closed since), a text stream, or ``None`` for silence.
    """
    log = sys.stderr if log == "stderr" else log
    folder = prepared_folder(spec, work_dir)
    for writable in (folder, cache.root):  # found before decoding anything, not after
        check_writable_folder(writable)
    last = load_prepared(spec, work_dir)
    cache.clean_orphans()
    rows: list[ManifestRow] = []
    reports: list[LibraryReport] = []
    for lib in spec.libraries:
        if log:
            print(f"[prepare] {lib.name}: scanning and decoding …", file=log, flush=True)
        previous = {r.path: r for r in last.rows if r.library == lib.name} if last else None
        lib_rows, report = prepare_library(lib, cache, workers, force, previous)
        rows += lib_rows
        reports.append(report)
        if log:
            print(f"[prepare] {report.summary()}", file=log, flush=True)
            for s in report.skipped[:10]:
                print(f"[prepare]   skipped {s['path']}: {s['reason']}", file=log)
            if len(report.skipped) > 10:
                print(f"[prepare]   … {len(report.skipped) - 10} more in {folder / 'report.json'}", file=log)
    atomic_write_text(folder / "report.json",
                      json.dumps({"source": str(spec.source), "libraries": [asdict(r) for r in reports]}, indent=1))
    write_manifest(rows, folder / "manifest.jsonl")  # last: its presence marks a complete preparation
    return Prepared(folder, rows, reports)
