"""The on-disk format of an index folder (README "Indexing" documents it for other tools):

* ``index.json`` — format version, the model's identity (:mod:`sfxrep.index.identity`), where the files came
  from (roots, a libraries YAML), counts; human-readable, rewritten with every save;
* ``data.npz`` — the arrays, written atomically in one file so they always agree: ``vectors (N, D)``
  float32 file embeddings (mean of the file's block embeddings), ``mean (D,)`` and ``std (D,)`` of the
  normalisation, ``rows.jsonl`` (UTF-8 JSON lines: one :class:`~sfxrep.index.rows.FileRow` per file, line *i* ↔
  ``vectors[i]``), ``failures.jsonl`` (:class:`~sfxrep.index.rows.Failure`) and, with ``blocks``,
  ``block_vectors (M, D)`` in file order. Format 1 held ``rows`` and ``failures`` as one JSON string each (read
  still; JSON lines are written as they stream, so a build never holds them whole);
* ``parts/`` — embeddings of a build that was interrupted, merged by the next run (so a killed build resumes);
* ``hnsw.faiss`` — the HNSW graph of a large index (:mod:`sfxrep.index.vectors`), rebuilt when stale;
* ``references/`` — indexes of labelled reference libraries made by ``sfxrep label``.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import socket
import sys
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from sfxrep.fileio import atomic_write, atomic_write_text, json_line
from sfxrep.index.rows import Failure, FileRow
from sfxrep.index.vectors import Stats, fit_stats

FORMAT = 2  # 2: rows and failures as JSON-lines members (1: one JSON string each); both are read
ROWS, FAILURES = "rows.jsonl", "failures.jsonl"
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)  # what a torn or corrupt .npz raises


@contextlib.contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Hold the index folder's writer lock (``.lock``): a second writer waits, saying who holds it."""
    from filelock import FileLock, Timeout

    folder.mkdir(parents=True, exist_ok=True)
    lock, owner = FileLock(folder / ".lock"), folder / ".lock.owner"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = owner.read_text().strip() if owner.is_file() else "another process"
        print(f"sfxrep index: {folder} is being written by {holder}; waiting for it to finish", file=sys.stderr)
        lock.acquire()
    try:
        owner.write_text(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%H:%M:%S')}\n")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


class Table:
    """The rows of an index with their vectors (and block vectors), always aligned; sorted by path when saved."""

    def __init__(self, rows: list[FileRow], vectors: np.ndarray, block_vectors: np.ndarray | None = None,
                 failures: list[Failure] | None = None) -> None:
        self.rows, self.vectors, self.block_vectors = rows, vectors.astype(np.float32, copy=False), block_vectors
        self.failures = failures or []
        self.by_path = {r.path: i for i, r in enumerate(rows)}

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1] if self.vectors.ndim == 2 else 0

    def select(self, order: list[int]) -> None:
        """Keep the rows ``order`` (in that order) with their vectors and block vectors."""
        if self.block_vectors is not None:
            self.block_vectors = self.blocks_of(order)  # before the rows change: it reads their block counts
        self.rows, self.vectors = [self.rows[i] for i in order], self.vectors[order]
        self.by_path = {r.path: i for i, r in enumerate(self.rows)}

    def replace(self, rows: list[FileRow], vectors: np.ndarray, blocks: np.ndarray | None) -> None:
        """Add rows with their ``(n, D)`` vectors (and block vectors), replacing rows of the same path."""
        if not rows:
            return
        new = {r.path for r in rows}
        self.select([i for i, r in enumerate(self.rows) if r.path not in new])
        empty = np.zeros((0, vectors.shape[1]), np.float32)
        self.vectors = np.concatenate([self.vectors if self.vectors.size else empty, vectors])
        if self.block_vectors is not None:
            pieces = [a for a in (self.block_vectors, blocks) if a is not None and len(a)]
            self.block_vectors = np.concatenate(pieces) if pieces else empty
        self.rows = self.rows + rows
        self.by_path = {r.path: i for i, r in enumerate(self.rows)}

    def record_failures(self, failures: list[Failure], done: set[str]) -> None:
        """Replace the failures of the files in ``done`` (embedded or failed again) by ``failures``."""
        self.failures = [f for f in self.failures if f.path not in done] + failures

    def blocks_of(self, keep: list[int]) -> np.ndarray | None:
        """The block vectors of rows ``keep``, in that order (``None`` for an index without them)."""
        if self.block_vectors is None:
            return None
        if not keep:
            return np.zeros((0, self.dim), np.float32)
        offsets = np.concatenate([[0], np.cumsum([r.blocks for r in self.rows])])
        return np.concatenate([self.block_vectors[offsets[i]:offsets[i + 1]] for i in keep])


def _arrays(table: Table, dim: int) -> dict:
    arrays = {"rows": np.array(json.dumps([r.to_dict() for r in table.rows])),
              "failures": np.array(json.dumps([f.to_dict() for f in table.failures])),
              "vectors": table.vectors if len(table) else np.zeros((0, dim), np.float32)}
    if table.block_vectors is not None:
        arrays["block_vectors"] = table.block_vectors if len(table.block_vectors) else np.zeros((0, dim), np.float32)
    return arrays


def _records(data: np.lib.npyio.NpzFile, name: str) -> list[dict]:
    """A member of rows or failures: JSON lines (format 2) or, in format 1 and in parts, one JSON list."""
    if f"{name}.jsonl" in data.files:
        return [json.loads(line) for line in data[f"{name}.jsonl"].decode().splitlines()]
    return json.loads(str(data[name]))


def _read_arrays(path: Path) -> Table:
    with np.load(path, allow_pickle=False) as data:
        return Table([FileRow.from_dict(r) for r in _records(data, "rows")], data["vectors"],
                     data["block_vectors"] if "block_vectors" in data.files else None,
                     [Failure.from_dict(f) for f in _records(data, "failures")])


def part_files(folder: Path) -> list[Path]:
    return sorted((folder / "parts").glob("part-*.npz"))


def read(folder: str | Path, repair: bool = False) -> tuple[dict, Table, tuple[np.ndarray, np.ndarray] | None]:
    """``index.json``, the table (with the parts of an interrupted build merged in memory) and the stored
    normalisation statistics (``None`` when parts changed the vectors or the index is empty).

    A part that cannot be read, or was embedded by another model, is left out with a warning (its files are
    embedded again by the next build). With ``repair``, an unreadable ``data.npz`` is left out the same way.

    Raises:
        FileNotFoundError: no index there.
        ValueError: an unreadable or newer-format index.
    """
    folder = Path(folder)
    if not (folder / "index.json").is_file():
        raise FileNotFoundError(f"{folder}: no index here (no index.json); build one with sfxrep index")
    try:
        meta = json.loads((folder / "index.json").read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{folder / 'index.json'}: not readable ({err})") from err
    if not isinstance(meta, dict) or not isinstance(meta.get("format", 0), int) or not isinstance(
            meta.get("model", {}) if meta.get("model") is not None else {}, dict):
        raise ValueError(f"{folder / 'index.json'}: not an sfxrep index (a JSON {type(meta).__name__} without its "
                         "format and model); rebuild it with sfxrep index")
    if meta.get("format", 0) > FORMAT:
        raise ValueError(f"{folder}: index format {meta.get('format')} is newer than this sfxrep's ({FORMAT})")
    data_path, table, stats = folder / "data.npz", Table([], np.zeros((0, meta.get("dim") or 0), np.float32)), None
    if data_path.is_file():
        try:
            table = _read_arrays(data_path)
            with np.load(data_path, allow_pickle=False) as data:
                stats = (data["mean"], data["std"]) if len(table) else None
        except UNREADABLE as err:
            if not repair:
                raise ValueError(f"{data_path}: corrupt ({type(err).__name__}: {err}); sfxrep index --repair --out "
                                 f"{folder} keeps every readable part and embeds the rest again") from err
            print(f"sfxrep index: {data_path}: corrupt ({type(err).__name__}), rebuilt from the parts and the files",
                  file=sys.stderr)
    parts = part_files(folder)
    model = (meta.get("model") or {}).get("sha256")
    for part in parts:
        try:
            done = _read_arrays(part)
            with np.load(part, allow_pickle=False) as data:
                made_by = str(data["model"]) if "model" in data.files else None
        except UNREADABLE as err:  # a part cut short by the kill: its files are embedded again
            print(f"sfxrep index: {part}: unreadable part left out ({type(err).__name__}); its files are embedded "
                  "again", file=sys.stderr)
            continue
        if made_by != model:  # a build with another model wrote it: its vectors live in another space
            print(f"sfxrep index: {part}: embedded by another model ({str(made_by)[:12]}), left out", file=sys.stderr)
            continue
        table.replace(done.rows, done.vectors, done.block_vectors)
        table.record_failures(done.failures, {f.path for f in done.failures} | {r.path for r in done.rows})
    return meta, table, (fit_stats(table.vectors) if len(table) else None) if parts else stats


STREAM_ROWS = 4096  # rows per chunk when a build streams its vectors into data.npz


class _Pieces:
    """The pieces a build writes from: the table in memory (piece 0) and part files, each read when its rows are
    reached and dropped when the next part is (a build's parts are in path order, so each is read once)."""

    def __init__(self, table: Table, parts: Sequence[Path]) -> None:
        self.table, self.parts = table, list(parts)
        self._loaded: tuple[int, Table, np.ndarray] | None = None
        self._offsets = {0: _offsets(table)}
        self.failures, self.failed = self._failures()

    def get(self, piece: int) -> tuple[Table, np.ndarray]:
        """The piece's table and its rows' block offsets."""
        if piece == 0:
            return self.table, self._offsets[0]
        if self._loaded is None or self._loaded[0] != piece:
            part = _read_arrays(self.parts[piece - 1])
            self._loaded = (piece, part, _offsets(part))
        return self._loaded[1], self._loaded[2]

    def rows(self) -> Iterator[tuple[str, int, int, FileRow]]:
        """``(path, piece, row, FileRow)`` of the index being written, in path order, a part's row replacing the
        table's row of the same path, and a file that failed in a part (changed, now undecodable) dropping its
        table row. Streams: the table is sorted by path, and the parts are consecutive runs in
        path order (one build's embedding order, or shards in order), so it holds one part at a time."""
        parts = self._part_rows()
        table = ((r.path, 0, i, r) for i, r in enumerate(self.table.rows) if r.path not in self.failed)
        last = None
        for entry in heapq.merge(parts, table, key=lambda e: (e[0], -e[1])):
            if entry[0] != last:  # the first of a path is the newest (highest piece)
                last = entry[0]
                yield entry

    def _part_rows(self) -> Iterator[tuple[str, int, int, FileRow]]:
        last = ""
        for piece in range(1, len(self.parts) + 1):
            for i, row in enumerate(self.get(piece)[0].rows):
                if row.path <= last:
                    raise RuntimeError(f"{self.parts[piece - 1]}: rows out of path order after {last} (parts of one "
                                       "build are written in path order)")
                last = row.path
                yield row.path, piece, i, row

    def _failures(self) -> tuple[dict[str, Failure], set[str]]:
        """The failures of the index being written (the table's, replaced by the parts' for the files a part
        embedded or failed again, the newest part winning) and the paths that failed in a part: one pass over the
        parts."""
        failures, failed = {f.path: f for f in self.table.failures}, set()
        for piece in range(1, len(self.parts) + 1):
            part = self.get(piece)[0]
            for path in [r.path for r in part.rows] + [f.path for f in part.failures]:
                failures.pop(path, None)
            failures.update({f.path: f for f in part.failures})
            failed.update(f.path for f in part.failures)
        return failures, failed


def _offsets(table: Table) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([r.blocks for r in table.rows], dtype=np.int64)])


def _stream_member(zf: zipfile.ZipFile, name: str, shape: tuple[int, int], chunks: Iterator[np.ndarray]) -> None:
    """Write ``name.npy`` of float32 ``shape`` into ``zf`` from row chunks, never holding the whole array."""
    with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
        np.lib.format.write_array_header_1_0(out, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                                                   "fortran_order": False, "shape": shape})
        written = 0
        for chunk in chunks:
            out.write(np.ascontiguousarray(chunk, np.float32).tobytes())
            written += len(chunk)
        if written != shape[0]:
            raise RuntimeError(f"{name}: wrote {written} rows, expected {shape[0]}")


def _stream_jsonl(zf: zipfile.ZipFile, name: str, items: Iterator) -> None:
    """Write ``name`` (UTF-8 JSON lines, one object per item's ``to_dict()``) into ``zf`` as they come."""
    with zf.open(name, "w", force_zip64=True) as out:
        for item in items:
            out.write(json_line(item.to_dict()).encode() + b"\n")


def write(folder: Path, meta: dict, table: Table, parts: Sequence[Path] = ()) -> tuple[np.ndarray, np.ndarray] | None:
    """Write ``data.npz`` and ``index.json`` atomically, rows sorted by path, then drop the parts and a stale HNSW
    graph. Returns the normalisation statistics it stored (``None`` for an empty index).

    ``parts`` are part files of this build (:func:`write_part`), consecutive runs in path order, not yet in
    ``table``: their rows replace rows of the same path. Rows, vectors and block vectors stream from the parts into
    ``data.npz`` (:data:`STREAM_ROWS` rows at a time, the rows as JSON lines), so what a build holds does not grow
    with the files it embedded (``make bench``: peak memory at 1k, 10k, 100k files).
    """
    pieces = _Pieces(table, parts)
    failures = pieces.failures
    files = total_blocks = labelled = 0
    dim = table.dim
    for _, piece, _, row in pieces.rows():  # a first pass for the arrays' shapes (metadata only)
        files, total_blocks, labelled = files + 1, total_blocks + row.blocks, labelled + (row.label is not None)
        dim = dim or pieces.get(piece)[0].dim
    dim = dim or meta.get("dim") or 0
    with_blocks = table.block_vectors is not None
    stats = Stats(dim)  # the normalisation statistics, in the same pass as the vectors

    def chunks(blocks: bool) -> Iterator[np.ndarray]:
        batch: list[np.ndarray] = []
        for _, piece, i, _ in pieces.rows():
            source, offsets = pieces.get(piece)
            batch.append(source.block_vectors[offsets[i]:offsets[i + 1]] if blocks else source.vectors[i:i + 1])
            if len(batch) >= STREAM_ROWS:
                yield np.concatenate(batch)
                batch.clear()
        if batch:
            yield np.concatenate(batch)

    def vectors() -> Iterator[np.ndarray]:
        for chunk in chunks(blocks=False):
            stats.add(chunk)
            yield chunk

    def save(f) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            _stream_member(zf, "vectors", (files, dim), vectors())
            if with_blocks:
                _stream_member(zf, "block_vectors", (total_blocks, dim), chunks(blocks=True))
            mean, std = stats.result() or (np.zeros(dim, np.float32), np.ones(dim, np.float32))
            for name, value in (("mean", mean), ("std", std)):
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, value, allow_pickle=False)
            _stream_jsonl(zf, ROWS, (entry[3] for entry in pieces.rows()))
            _stream_jsonl(zf, FAILURES, iter(sorted(failures.values(), key=lambda f: f.path)))

    atomic_write(folder / "data.npz", save)
    meta.update(format=FORMAT, files=files, failures=len(failures), dim=dim, blocks=with_blocks,
                updated=time.strftime("%Y-%m-%dT%H:%M:%S"), labelled=labelled)
    atomic_write_text(folder / "index.json", json.dumps(meta, indent=2) + "\n")  # ASCII: any name, escaped
    for part in part_files(folder):
        part.unlink()
    (folder / "hnsw.faiss").unlink(missing_ok=True)
    return stats.result()


def write_part(folder: Path, part: Table, dim: int, model: str) -> Path:
    """Write the files a running build has finished as the next ``parts/part-NNNNNN.npz``, with the SHA-256 of
    the ``model`` that embedded them (a part of another model is never merged); returns its path."""
    path = folder / "parts" / f"part-{len(part_files(folder)):06d}.npz"
    atomic_write(path, lambda f: np.savez(f, model=np.array(model), **_arrays(part, dim)))
    return path
