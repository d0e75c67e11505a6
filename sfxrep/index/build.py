"""Building an index incrementally: scan the sources, keep what did not change, embed the rest in resumable parts.

A file is identified by its absolute path and known unchanged while its size and modification time are;
re-running a build embeds only new and changed files and drops the rows of deleted ones. Finished files are
written to ``parts/`` every :data:`FLUSH_EVERY` files or :data:`FLUSH_SECONDS`, whichever comes first, so a
killed build resumes from them and loses at most that much work. One build writes an index folder at a time (a
second waits for the first's lock). An update that would drop a recorded root's every file (an unmounted drive)
or more than half of the index is refused unless ``prune`` says the files are gone for good.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import json
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from torch import nn

from sfxrep.audio.decode import AudioDecodeError, walk_audio
from sfxrep.fileio import file_signature, name_bytes
from sfxrep.index import format as fmt
from sfxrep.index.identity import check_same_model, identity
from sfxrep.index.rows import Failure, FileRow, Found, unchanged
from sfxrep.inference.registry import load_model, model_source
from sfxrep.paths import CACHE_DIR, WORK_DIR

FLUSH_EVERY = 256  # files per part of a running build ...
FLUSH_SECONDS = 30.0  # ... or seconds: what a killed build loses at most


@dataclass
class BuildReport:
    """What a build or update did. Every file found is embedded, kept, or listed in ``failed``."""

    found: int = 0
    embedded: int = 0
    kept: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # newly failed: (path, reason)
    known_failures: int = 0  # failed before, unchanged since, not retried
    seconds: float = 0.0
    audio_seconds: float = 0.0

    def summary(self) -> str:
        rate = f", {self.embedded / self.seconds:.1f} files/s" if self.embedded and self.seconds else ""
        return (f"{self.found} files found: {self.embedded} embedded{rate}, {self.kept} unchanged, "
                f"{self.removed} removed (deleted), {len(self.failed)} could not be decoded"
                + (f", {self.known_failures} failed before and unchanged (not retried)" if self.known_failures else ""))


def scan_roots(roots: Sequence[str | Path]) -> Iterator[Found]:
    """Every audio file below ``roots`` (folders or files), unlabelled, in path order, each once, streamed.

    Raises:
        FileNotFoundError: a root does not exist (before anything is yielded).
    """
    resolved = sorted({str(Path(r).resolve()) for r in roots})
    missing = [str(r) for r in roots if not Path(r).exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: no such file or folder")
    return (Found(path) for path, _ in itertools.groupby(heapq.merge(*map(walk_audio, resolved))))


def scan_libraries(libraries: str | Path, names: Sequence[str] | None, work_dir: str | Path,
                   cache_dir: str | Path) -> tuple[list[Found], list[str]]:
    """The files of a libraries YAML with their library, label, group and split, as training prepares them (same
    splits), and the names of its UCS-named libraries."""
    from sfxrep.audio.cache import WaveCache
    from sfxrep.libraries.prepare import prepare
    from sfxrep.libraries.spec import LibrariesSpec, load_libraries

    spec = load_libraries(libraries)
    if names:
        unknown = sorted(set(names) - set(spec.names))
        if unknown:
            raise ValueError(f"{spec.source}: no librar{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
                             f"it has {spec.names}")
        spec = LibrariesSpec(spec.source, tuple(s for s in spec.libraries if s.name in names))
    prepared = prepare(spec, work_dir, WaveCache(cache_dir), log=None)
    for report in prepared.reports:  # what the split settings or the scan left out never reaches the index: say so
        if report.in_manifest < report.found:
            print(f"note: {report.found - report.in_manifest} of {report.found} files of {report.name} are not in "
                  f"the index: {report.summary()} (the split settings of {spec.source.name}; every file named in "
                  f"{prepared.folder / 'report.json'})", file=sys.stderr)
    rows = [Found(str(Path(r.path).resolve()), r.library, r.label, r.group, r.split) for r in prepared.rows]
    return rows, [s.name for s in spec.libraries if s.library.is_ucs]


def load_indexing_model(model: str | Path | nn.Module) -> tuple[nn.Module, str]:
    """A model to index with and how the index names it (a loaded module keeps its ``source``)."""
    if isinstance(model, nn.Module):
        return model, getattr(model, "source", None) or "module"
    module = load_model(model)
    module.source = model_source(model)
    return module, module.source


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """How an index is built, declared once for :func:`build`, :meth:`sfxrep.index.Index.build`,
    :meth:`~sfxrep.index.Index.update` and :class:`Builder` (what is indexed, and with which model, are their
    arguments).

    Attributes:
        blocks: also store every block's embedding.
        tail: embed the padded last partial block (default :data:`sfxrep.inference.embedding.TAIL_DEFAULT`; an update:
            as recorded).
        library: BatchNorm set of a per-library-BN model.
        work_dir, cache_dir: where a libraries YAML is prepared (as for training).
        progress: a progress bar (files/s, ETA) on stderr.
        retry_failed: decode again the files that failed before although they did not change.
        batch_size: blocks per forward pass.
        compile: run the encoder through ``torch.compile`` (faster for large jobs; see
            :class:`~sfxrep.inference.embedding.FileEmbedder`).
        prune: allow an update to drop a recorded root's every file, or more than half of the index.
        repair: an unreadable ``data.npz`` is rebuilt from the readable parts and the files.
        precision: the encoder's precision of a new index (``auto``: bf16 where native, else fp32), recorded in
            ``index.json``; an update embeds as the index was built.
        shard: ``(i, n)``: index only shard ``i`` of ``n`` of the files (:func:`shard_of`), for :func:`merge`.
    """

    blocks: bool = False
    tail: bool | None = None
    library: str | None = None
    work_dir: str | Path = WORK_DIR
    cache_dir: str | Path = CACHE_DIR
    progress: bool = True
    retry_failed: bool = False
    batch_size: int = 64
    compile: bool = False
    prune: bool = False
    repair: bool = False
    precision: str | None = None
    shard: tuple[int, int] | None = None

    def but(self, **changes: object) -> BuildOptions:
        """These options with ``changes`` (each a field name).

        Raises:
            TypeError: a name that is not an option.
        """
        return replace(self, **changes) if changes else self


@dataclass
class Builder:
    """One run of a build over an index folder: what to scan, with which model, and how."""

    folder: Path
    meta: dict
    table: fmt.Table
    model: nn.Module
    options: BuildOptions
    new_parts: list[Path] = field(default_factory=list)

    def refresh(self) -> BuildReport:
        """Scan the recorded sources, keep unchanged files, embed the rest, drop deleted ones, save.

        The scan streams in path order and is walked twice (what would be removed is checked before anything is
        embedded), so a build holds the index it updates and a constant, not its sources' every file."""
        start = time.perf_counter()
        scan = self._scan(self.options.work_dir, self.options.cache_dir)
        roots, table = self.meta["sources"]["roots"], self.table
        seen, hit, failed_seen = np.zeros(len(table), bool), set(), set()
        failed_before = {f.path: f for f in table.failures}
        found = to_embed = 0
        for entry in scan():
            found += 1
            if (i := table.by_path.get(entry.path)) is not None:
                seen[i] = True
            if entry.path in failed_before:
                failed_seen.add(entry.path)
            hit.update(r for r in roots if r not in hit and _below(entry.path, r))
            to_embed += self._action(entry, failed_before) == "embed"
        report = BuildReport(found=found, removed=int(len(table) - seen.sum()))
        if not self.options.prune:
            self._check_removal(roots, hit, report.removed)
        table.select(np.flatnonzero(seen).tolist())
        table.failures = [f for f in table.failures if f.path in failed_seen]
        failed_before = {f.path: f for f in table.failures}

        def todo() -> Iterator[Found]:  # in path order: each part is read back once
            for entry in scan():
                action = self._action(entry, failed_before)
                if action == "keep":
                    table.rows[table.by_path[entry.path]].relabel(entry)
                    report.kept += 1
                elif action == "known":
                    report.known_failures += 1
                else:
                    yield entry

        self._embed(todo(), to_embed, report)
        report.seconds = time.perf_counter() - start
        fmt.write(self.folder, self.meta, table, self.new_parts)
        return report

    def _scan(self, work_dir: str | Path, cache_dir: str | Path) -> Callable[[], Iterator[Found]]:
        """What to index, as a function giving a fresh stream of it in path order (this build's shard of it)."""
        sources = self.meta["sources"]
        roots = sources["roots"] or []
        scan_roots(roots)  # a missing root is an error before anything is done
        labelled: list[Found] = []
        if sources["libraries"]:
            labelled, self.meta["ucs_libraries"] = scan_libraries(sources["libraries"], sources["library_names"],
                                                                  work_dir, cache_dir)
            labelled.sort(key=lambda f: f.path)

        def scan() -> Iterator[Found]:  # a file a library labels, and found below a root too: once, labelled
            both = heapq.merge(labelled, scan_roots(roots), key=lambda f: f.path)
            return (next(same) for _, same in itertools.groupby(both, key=lambda f: f.path))

        if self.options.shard is None:
            return scan
        sharded, self.meta["shard_plan"] = shard_of(scan, *self.options.shard)
        return sharded

    def _action(self, entry: Found, failed_before: dict[str, Failure]) -> str:
        """``keep`` an unchanged file's row, skip a ``known`` failure (unchanged, not retried) or ``embed`` it."""
        i = self.table.by_path.get(entry.path)
        if i is not None and unchanged(self.table.rows[i], entry.path):
            return "keep"
        old = failed_before.get(entry.path)
        if old is not None and not self.options.retry_failed and unchanged(old, entry.path):
            return "known"
        return "embed"

    def _check_removal(self, roots: list[str], hit: set[str], removed: int) -> None:
        """Refuse to drop what an unmounted drive or a mistyped root would drop (see module doc)."""
        for root in roots:
            held = sum(1 for r in self.table.rows if _below(r.path, root))
            if held and root not in hit:
                raise ValueError(f"{root}: no audio files there now, but the index {self.folder} holds {held} from "
                                 "it (an unmounted drive?); nothing changed. Mount it, or give --prune to drop them")
        if removed > len(self.table) / 2:
            raise ValueError(f"{self.folder}: this update would drop {removed} of {len(self.table)} files (deleted or "
                             "moved?); nothing changed. Give --prune to drop them")

    def _embed(self, todo: Iterator[Found], total: int, report: BuildReport) -> None:
        """Embed the files of ``todo`` (a stream, in path order; ``total`` of them) into parts of at most
        :data:`FLUSH_EVERY` files."""
        from tqdm import tqdm

        from sfxrep.inference.embedding import FileEmbedder

        model = self.meta["model"]
        embedder = FileEmbedder(self.model, model["library"], batch_size=self.options.batch_size, tail=model["tail"],
                                compile=self.options.compile, precision=model.get("precision", "fp32"))
        entries: dict[str, Found] = {}  # the files the embedder has taken and not yet given back

        def paths() -> Iterator[str]:
            for entry in todo:
                entries[entry.path] = entry
                yield entry.path

        with_blocks = self.table.block_vectors is not None
        rows: list[FileRow] = []
        vectors: list[np.ndarray] = []
        blocks: list[np.ndarray] = []
        failures: list[Failure] = []
        flushed = [time.monotonic()]

        def flush() -> None:
            flushed[0] = time.monotonic()
            if not rows and not failures:
                return
            dim = self.meta.get("dim") or 0
            empty = np.zeros((0, dim), np.float32)
            part = fmt.Table(list(rows), np.stack(vectors) if vectors else empty,
                             (np.concatenate(blocks) if blocks else empty) if with_blocks else None, list(failures))
            self.new_parts.append(fmt.write_part(self.folder, part, dim, self.meta["model"]["sha256"]))
            rows.clear(), vectors.clear(), blocks.clear(), failures.clear()

        bar = tqdm(total=total, unit="file", desc="sfxrep index", disable=not self.options.progress, file=sys.stderr,
                   dynamic_ncols=True)
        with bar:
            for item in embedder(paths()):
                bar.update(1)
                size, mtime_ns, ctime_ns = file_signature(item.path) or (None, None, None)
                if isinstance(item, AudioDecodeError):
                    entries.pop(item.path, None)
                    failures.append(Failure(item.path, item.reason, size, mtime_ns, ctime_ns))
                    report.failed.append((item.path, item.reason))
                    bar.write(f"sfxrep index: skipped {item.path}: {item.reason}", file=sys.stderr)
                else:
                    if not np.isfinite(item.blocks).all():  # broken weights: never index what cannot be searched
                        raise ValueError(f"{item.path}: the model {model['source']} gives non-finite embeddings "
                                         "(NaN or inf; are its weights broken?); nothing of this file was indexed")
                    found = entries.pop(item.path)
                    self.meta["dim"] = item.blocks.shape[1]
                    rows.append(FileRow(found.path, found.library, found.label, found.group, found.split, size=size,
                                        mtime_ns=mtime_ns, ctime_ns=ctime_ns, duration=round(item.duration, 4),
                                        sample_rate=item.sample_rate, channels=item.channels,
                                        blocks=int(item.blocks.shape[0])))
                    vectors.append(item.vector)
                    if with_blocks:
                        blocks.append(item.blocks)
                    report.embedded += 1
                    report.audio_seconds += item.duration
                if len(rows) + len(failures) >= FLUSH_EVERY or time.monotonic() - flushed[0] >= FLUSH_SECONDS:
                    flush()
            flush()


def _below(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or inside it."""
    return path == root or path.startswith(root.rstrip("/") + "/")


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Hold the folder's writer lock; a new index whose build fails before embedding anything leaves nothing."""
    new = not out.exists()
    try:
        with fmt.writer_lock(out):
            yield
    except BaseException:
        if new and not fmt.part_files(out):
            shutil.rmtree(out, ignore_errors=True)
        raise


def build(out: str | Path, roots: Sequence[str | Path] = (), model: str | Path | nn.Module | None = None, *,
          libraries: str | Path | None = None, library_names: Sequence[str] | None = None,
          options: BuildOptions = BuildOptions()) -> tuple[dict, nn.Module, BuildReport]:
    """Create the index folder ``out``, or bring an existing one up to date (see :meth:`sfxrep.index.Index.build`
    for the arguments, :class:`BuildOptions` for ``options``), holding the folder's writer lock. Returns its ``index.json``, the model and what the build
    did. The new vectors stream from the build's parts into ``data.npz`` (:func:`sfxrep.index.format.write`)."""
    from sfxrep.inference.embedding import TAIL_DEFAULT
    from sfxrep.inference.precision import resolve_precision

    out = Path(out)
    blocks, tail, library, precision, shard = (options.blocks, options.tail, options.library, options.precision,
                                               options.shard)
    with _writing(out):
        existing = (out / "index.json").is_file()
        if not roots and libraries is None and not existing:
            raise ValueError(f"{out}: nothing to index (give folders or files, or --libraries)")
        meta, table, _ = fmt.read(out, repair=options.repair) if existing else (None, None, None)
        sources = {"roots": [str(Path(r).resolve()) for r in roots], "libraries": None, "library_names": None}
        if libraries is not None:
            sources.update(libraries=str(Path(libraries).resolve()), library_names=list(library_names or []) or None)
        if meta is not None and not roots and libraries is None:
            sources = meta["sources"]  # an update: the recorded sources
        recorded = meta["model"]["source"] if meta else "aisfx"
        module, source = load_indexing_model(model if model is not None else recorded)
        if meta is not None and tail is None:
            tail = meta["model"]["tail"]
        if shard is None and meta is not None and meta.get("shard"):
            shard = tuple(meta["shard"])  # an update of a shard index stays that shard (of the files found now)
        if shard is not None and meta is not None and meta.get("shard") != list(shard):
            had = "/".join(map(str, meta["shard"])) if meta.get("shard") else "no shard (a whole index)"
            raise ValueError(f"{out}: an index of shard {had}, not of shard {shard[0]}/{shard[1]}")
        recorded_precision = meta["model"].get("precision", "fp32") if meta else None  # older indexes: fp32
        if recorded_precision and precision not in (None, "auto", recorded_precision):
            raise ValueError(f"{out}: built with the encoder in {recorded_precision}; an update embeds the same way "
                             f"(not --precision {precision}): build a new index for {precision}")
        precision = recorded_precision or resolve_precision(precision or "auto", module)
        ident = identity(module, source, library, TAIL_DEFAULT if tail is None else tail, precision)
        if meta is None:
            meta = {"format": fmt.FORMAT, "model": ident, "sources": sources, "ucs_libraries": [],
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "dim": None}
            if shard is not None:
                meta["shard"] = list(shard)
            table = fmt.Table([], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32) if blocks else None)
            out.mkdir(parents=True, exist_ok=True)
            fmt.write(out, meta, table)  # index.json first: a build killed before its end resumes from its parts
        else:
            check_same_model(meta["model"], ident, out)
            if blocks and table.block_vectors is None:
                print(f"sfxrep index: {out} was built without block embeddings; --blocks needs a new index",
                      file=sys.stderr)
            meta["sources"] = sources
        builder = Builder(out, meta, table, module, options.but(shard=shard))
        return meta, module, builder.refresh()


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` → ``(i, n)``: shard ``i`` (0-based, as ``$SLURM_ARRAY_TASK_ID`` of ``--array=0-(n-1)``) of ``n``.

    Raises:
        ValueError: not ``i/n`` with 0 ≤ i < n.
    """
    i, sep, n = text.partition("/")
    try:
        shard = (int(i), int(n))
    except ValueError:
        shard = (-1, 0)
    if not sep or not 0 <= shard[0] < shard[1]:
        raise ValueError(f"--shard {text!r}: expected i/n with 0 <= i < n (e.g. 3/16)")
    return shard


def shard_of(scan: Callable[[], Iterator[Found]], i: int, n: int) -> tuple[Callable[[], Iterator[Found]], dict]:
    """Shard ``i`` of ``n`` of a scan (a function giving a fresh stream in path order): the ``i``-th of ``n``
    contiguous, nearly equal runs of its files, and the plan it was cut from: the number of files, the SHA-256 of
    their paths in order, and this shard's ``[start, end)``. Every machine scanning the same sources gets the same
    runs, and the shards' rows concatenated are the whole index's in its order, so :func:`merge` streams them one
    after the other, once the plans show that they tile one list of files. Planning walks the scan once more."""
    digest, total = hashlib.sha256(), 0
    for found in scan():
        digest.update(name_bytes(found.path) + b"\0")
        total += 1
    start, end = i * total // n, (i + 1) * total // n
    plan = {"files": total, "sha256": digest.hexdigest(), "start": start, "end": end}
    return (lambda: itertools.islice(scan(), start, end)), plan


def check_plans(folders: list[Path], metas: list[dict]) -> None:
    """The shards were cut from one list of files, and tile it: no gap, no overlap, every file of its range there.

    Raises:
        ValueError: which shard, what is wrong, and how to rebuild it.
    """
    rebuild = "rebuild it with sfxrep index … --out {folder} --shard {i}/{n} (the library changed between the builds)"
    plans = [m.get("shard_plan") for m in metas]
    if any(p is None for p in plans):
        folder = folders[plans.index(None)]
        i, n = metas[plans.index(None)]["shard"]
        raise ValueError(f"{folder}: a shard without its plan (built before shard plans); "
                         + rebuild.format(folder=folder, i=i, n=n))
    order = sorted(range(len(metas)), key=lambda k: metas[k]["shard"][0])
    reference = plans[order[0]]
    expected = 0
    for k in order:
        plan, (i, n), folder = plans[k], metas[k]["shard"], folders[k]
        if (plan["files"], plan["sha256"]) != (reference["files"], reference["sha256"]):
            raise ValueError(f"{folder}: shard {i}/{n} was planned from {plan['files']} files, shard "
                             f"{metas[order[0]]['shard'][0]}/{n} from {reference['files']} other ones; "
                             + rebuild.format(folder=folder, i=i, n=n))
        if plan["start"] != expected:
            kind = "a gap" if plan["start"] > expected else "an overlap"
            raise ValueError(f"{folder}: shard {i}/{n} starts at file {plan['start']}, the one before ends at "
                             f"{expected}: {kind}; " + rebuild.format(folder=folder, i=i, n=n))
        held = metas[k].get("files", 0) + metas[k].get("failures", 0)
        if held != plan["end"] - plan["start"]:
            raise ValueError(f"{folder}: shard {i}/{n} holds {held} files of its {plan['end'] - plan['start']}; "
                             + rebuild.format(folder=folder, i=i, n=n))
        expected = plan["end"]
    if expected != reference["files"]:
        raise ValueError(f"the shards end at file {expected} of {reference['files']}: the last is missing files")


def merge(out: str | Path, shards: Sequence[str | Path]) -> dict:
    """Merge the shard indexes built with ``--shard i/n`` (all ``n`` of them, same model and sources) into ``out``,
    streaming one shard at a time; returns the merged ``index.json``.

    Raises:
        ValueError: a shard is missing, repeated, of another model or of other sources.
    """
    metas = []
    for folder in map(Path, shards):
        if not (folder / "index.json").is_file():
            raise ValueError(f"{folder}: not an index (no index.json)")
        if fmt.part_files(folder):
            raise ValueError(f"{folder}: a shard whose build did not finish (it has parts/); run its build again")
        metas.append(json.loads((folder / "index.json").read_text()))
    numbers = [tuple(m.get("shard") or ()) for m in metas]
    if any(len(s) != 2 for s in numbers):
        raise ValueError(f"{[str(s) for s, n in zip(shards, numbers, strict=True) if len(n) != 2]}: not shard indexes "
                         "(built without --shard i/n)")
    total = numbers[0][1]
    if sorted(numbers) != [(i, total) for i in range(total)]:
        raise ValueError(f"shards {sorted(f'{i}/{n}' for i, n in numbers)}: expected each of 0/{total} … "
                         f"{total - 1}/{total} once")
    first = metas[0]
    for folder, m in zip(shards, metas, strict=True):
        check_same_model(first["model"], m["model"], Path(folder))
        if m["sources"] != first["sources"]:
            raise ValueError(f"{folder}: indexes other sources ({m['sources']}) than {shards[0]} ({first['sources']})")
        if m["model"].get("precision") != first["model"].get("precision"):
            raise ValueError(f"{folder}: embedded in {m['model'].get('precision')}, {shards[0]} in "
                             f"{first['model'].get('precision')}; build every shard with one --precision")
        if bool(m.get("blocks")) != bool(first.get("blocks")):
            raise ValueError(f"{folder}: {'has' if m.get('blocks') else 'lacks'} block embeddings (--blocks) and "
                             f"{shards[0]} {'does' if first.get('blocks') else 'does not'}; build every shard alike")
    check_plans(list(map(Path, shards)), metas)
    ordered = [Path(s) / "data.npz" for _, s in sorted(zip(numbers, shards, strict=True))]
    meta = {k: v for k, v in first.items() if k not in ("shard", "shard_plan")}
    meta["ucs_libraries"] = sorted({u for m in metas for u in m.get("ucs_libraries", [])})
    out = Path(out)
    with _writing(out):
        if (out / "index.json").is_file():
            raise ValueError(f"{out}: an index is already there; merge into a new folder")
        blocks = all(m.get("blocks") for m in metas)
        empty = fmt.Table([], np.zeros((0, first.get("dim") or 0), np.float32),
                          np.zeros((0, first.get("dim") or 0), np.float32) if blocks else None)
        fmt.write(out, meta, empty, ordered)
    return meta
