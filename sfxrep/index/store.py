"""An index of sound files: one embedding per file, their metadata, and the model that made them.

On disk an index is a folder (README "Indexing" documents it for other tools):

* ``index.json`` — format version, the model's identity (:mod:`sfxrep.index.identity`), where the files came
  from (roots, a libraries YAML), counts; human-readable, rewritten with every save;
* ``data.npz`` — the arrays, written atomically in one file so they always agree: ``vectors (N, D)``
  float32 file embeddings (mean of the file's block embeddings), ``mean (D,)`` and ``std (D,)`` of the
  normalisation, ``rows`` (JSON: one object per file, row *i* ↔ ``vectors[i]``: path, size, mtime_ns,
  duration, sample_rate, channels, blocks, library, label, group, split), ``failures`` (JSON: files that
  could not be decoded, with the reason) and, with ``blocks=True``, ``block_vectors (M, D)`` in file order;
* ``parts/`` — embeddings of a build that was interrupted, merged by the next run (so a killed build resumes);
* ``hnsw.faiss`` — the HNSW graph of a large index (:mod:`sfxrep.index.vectors`), rebuilt when stale;
* ``references/`` — indexes of labelled reference libraries made by ``sfxrep label``.

A file is identified by its absolute path and known unchanged while its size and modification time are;
re-running a build embeds only new and changed files and drops the rows of deleted ones.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import nn

from sfxrep.audio.decode import AudioDecodeError
from sfxrep.fileio import atomic_write, atomic_write_text
from sfxrep.index.identity import check_same_model, identity
from sfxrep.index.vectors import VectorSearch, fit_stats, normalise
from sfxrep.models.registry import load_model, model_source

FORMAT = 1
FLUSH_EVERY = 256  # files per part of a running build: what a killed build loses at most


@dataclass(frozen=True)
class Hit:
    """One search result: ``score`` is the cosine similarity in [-1, 1]."""

    rank: int
    path: str
    score: float
    library: str | None = None
    label: str | None = None


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


def _signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def scan_roots(roots: Sequence[str | Path]) -> list[dict]:
    """An unlabelled row (``{"path"}``) for every audio file below ``roots`` (files are taken as given)."""
    from sfxrep.audio.decode import audio_files

    missing = [str(r) for r in roots if not Path(r).exists()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: no such file or folder")
    return [{"path": str(Path(p).resolve())} for p in audio_files(roots)]


def scan_libraries(libraries: str | Path, names: Sequence[str] | None, work_dir: str | Path,
                   cache_dir: str | Path) -> tuple[list[dict], list[str]]:
    """Labelled rows (path, library, label, group, split) of a libraries YAML, as training prepares them (same
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
    rows = [{"path": str(Path(r.path).resolve()), "library": r.library, "label": r.label, "group": r.group,
             "split": r.split} for r in prepared.rows]
    return rows, [s.name for s in spec.libraries if s.library.is_ucs]


class Index:
    """File embeddings with metadata, searchable by example. Open one with :meth:`open`, make or refresh one
    with :meth:`build` / :meth:`update`; query with :meth:`search`, label with :meth:`label`."""

    def __init__(self, folder: Path, meta: dict, rows: list[dict], vectors: np.ndarray,
                 failures: list[dict] | None = None, block_vectors: np.ndarray | None = None,
                 stats: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.folder, self.meta, self.rows = Path(folder), meta, rows
        self.vectors = vectors.astype(np.float32, copy=False)
        self.failures = failures or []
        self.block_vectors = block_vectors
        self.stats = stats if stats is not None else (fit_stats(self.vectors) if len(self.vectors) else None)
        self._by_path = {r["path"]: i for i, r in enumerate(rows)}
        self._search: VectorSearch | None = None
        self._model: nn.Module | None = None

    # ---- reading -------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: str | Path) -> Index:
        """Read an index folder (merging the parts of an interrupted build).

        Raises:
            FileNotFoundError: no index there.
            ValueError: an unreadable or newer-format index.
        """
        folder = Path(folder)
        data_path = folder / "data.npz"
        if not (folder / "index.json").is_file():
            raise FileNotFoundError(f"{folder}: no index here (no index.json); build one with sfxrep index")
        try:
            meta = json.loads((folder / "index.json").read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{folder / 'index.json'}: not readable ({err})") from err
        if meta.get("format", 0) > FORMAT:
            raise ValueError(f"{folder}: index format {meta.get('format')} is newer than this sfxrep's ({FORMAT})")
        rows, vectors, failures, blocks, stats = [], np.zeros((0, meta.get("dim") or 0), np.float32), [], None, None
        if data_path.is_file():
            try:
                with np.load(data_path, allow_pickle=False) as data:
                    rows, failures = json.loads(str(data["rows"])), json.loads(str(data["failures"]))
                    vectors = data["vectors"]
                    blocks = data["block_vectors"] if "block_vectors" in data.files else None
                    stats = (data["mean"], data["std"]) if len(vectors) else None
            except (OSError, ValueError, KeyError) as err:
                raise ValueError(f"{data_path}: not a readable index ({err}); delete the folder and build again") from err
        index = cls(folder, meta, rows, vectors, failures, blocks, stats)
        index._merge_parts()
        return index

    def _part_files(self) -> list[Path]:
        return sorted((self.folder / "parts").glob("part-*.npz"))

    def _merge_parts(self) -> None:
        """Fold the parts of an interrupted build into this index (in memory; the next save makes it whole)."""
        parts = self._part_files()
        if not parts:
            return
        for part in parts:
            try:
                with np.load(part, allow_pickle=False) as data:
                    rows, vectors = json.loads(str(data["rows"])), data["vectors"]
                    failures = json.loads(str(data["failures"]))
                    blocks = data["block_vectors"] if "block_vectors" in data.files else None
            except (OSError, ValueError, KeyError) as err:  # a part cut short by the kill: embed its files again
                print(f"sfxrep index: {part}: unreadable part ignored ({err})", file=sys.stderr)
                continue
            self._replace(rows, vectors, blocks)
            done = {f["path"] for f in failures}
            self.failures = [f for f in self.failures if f["path"] not in done] + failures
        self.stats = fit_stats(self.vectors) if len(self.vectors) else None

    def _select(self, order: list[int]) -> None:
        """Keep the rows ``order`` (in that order) with their vectors and block vectors."""
        if self.block_vectors is not None:
            self.block_vectors = self._blocks_of(order)  # before the rows change: it reads their block counts
        self.rows, self.vectors = [self.rows[i] for i in order], self.vectors[order]
        self._by_path = {r["path"]: i for i, r in enumerate(self.rows)}
        self._search = None

    def _replace(self, rows: list[dict], vectors: np.ndarray, blocks: np.ndarray | None) -> None:
        """Add rows with their ``(n, D)`` vectors (and block vectors), replacing rows of the same path."""
        if not rows:
            return
        new = {r["path"] for r in rows}
        self._select([i for i, r in enumerate(self.rows) if r["path"] not in new])
        empty = np.zeros((0, vectors.shape[1]), np.float32)
        self.vectors = np.concatenate([self.vectors if self.vectors.size else empty, vectors])
        if self.block_vectors is not None:
            pieces = [a for a in (self.block_vectors, blocks) if a is not None and len(a)]
            self.block_vectors = np.concatenate(pieces) if pieces else empty
        self.rows = self.rows + rows
        self._by_path = {r["path"]: i for i, r in enumerate(self.rows)}

    def _blocks_of(self, keep: list[int]) -> np.ndarray | None:
        """The block vectors of rows ``keep``, in that order (``None`` for an index without them)."""
        if self.block_vectors is None:
            return None
        if not keep:
            return np.zeros((0, self.vectors.shape[-1]), np.float32)
        offsets = np.concatenate([[0], np.cumsum([r["blocks"] for r in self.rows])])
        return np.concatenate([self.block_vectors[offsets[i]:offsets[i + 1]] for i in keep])

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def paths(self) -> list[str]:
        return [r["path"] for r in self.rows]

    def row(self, path: str | Path) -> dict | None:
        """The row of an indexed file (by path, resolved), or ``None``."""
        i = self._by_path.get(str(Path(path).resolve()))
        return None if i is None else self.rows[i]

    def file_blocks(self, path: str | Path) -> np.ndarray:
        """``(n_blocks, D)`` block embeddings of an indexed file (an index built with ``blocks=True``)."""
        if self.block_vectors is None:
            raise ValueError(f"{self.folder}: built without block embeddings (sfxrep index --blocks)")
        i = self._by_path[str(Path(path).resolve())]
        return self._blocks_of([i])

    # ---- writing -------------------------------------------------------------------------------------------

    def save(self) -> None:
        """Write ``data.npz`` and ``index.json`` atomically, then drop the merged parts and a stale HNSW graph."""
        self._select(sorted(range(len(self.rows)), key=lambda i: self.rows[i]["path"]))
        blocks = self.block_vectors
        self.stats = fit_stats(self.vectors) if len(self.vectors) else None
        dim = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        mean, std = self.stats if self.stats else (np.zeros(dim, np.float32), np.ones(dim, np.float32))
        arrays = {"vectors": self.vectors, "mean": mean, "std": std, "rows": np.array(json.dumps(self.rows)),
                  "failures": np.array(json.dumps(self.failures))}
        if blocks is not None:
            arrays["block_vectors"] = blocks
        atomic_write(self.folder / "data.npz", lambda f: np.savez(f, **arrays))
        self.meta.update(format=FORMAT, files=len(self.rows), failures=len(self.failures), dim=dim,
                         blocks=blocks is not None, updated=time.strftime("%Y-%m-%dT%H:%M:%S"),
                         labelled=sum(1 for r in self.rows if r.get("label") is not None))
        atomic_write_text(self.folder / "index.json", json.dumps(self.meta, indent=2) + "\n")
        for part in self._part_files():
            part.unlink()
        (self.folder / "hnsw.faiss").unlink(missing_ok=True)

    def _write_part(self, rows: list[dict], vectors: list[np.ndarray], blocks: list[np.ndarray] | None,
                    failures: list[dict]) -> None:
        n = len(self._part_files())
        dim = self.meta.get("dim") or 0
        arrays = {"rows": np.array(json.dumps(rows)), "failures": np.array(json.dumps(failures)),
                  "vectors": np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)}
        if blocks is not None:
            arrays["block_vectors"] = np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float32)
        atomic_write(self.folder / "parts" / f"part-{n:06d}.npz", lambda f: np.savez(f, **arrays))

    # ---- building ------------------------------------------------------------------------------------------

    @classmethod
    def build(cls, out: str | Path, roots: Sequence[str | Path] = (), model: str | Path | nn.Module | None = None,
              libraries: str | Path | None = None, library_names: Sequence[str] | None = None,
              blocks: bool = False, tail: bool | None = None, library: str | None = None,
              work_dir: str | Path = "runs/prepared", cache_dir: str | Path = "runs/cache", progress: bool = True,
              retry_failed: bool = False, batch_size: int = 64, compile: bool = False) -> tuple[Index, BuildReport]:
        """Create the index ``out``, or bring an existing one up to date (only new and changed files are embedded).

        Args:
            out: the index folder.
            roots: folders (searched recursively) and files to index, unlabelled.
            model: ``"aisfx"``, ``"logmel"``, an sfxrep ``.ckpt`` path, or a loaded module with ``source``;
                ``None``: the existing index's model, else ``"aisfx"``.
            libraries: a libraries YAML whose files are indexed with their library, label and split.
            library_names: only these libraries of ``libraries``.
            blocks: also store every block's embedding.
            tail: embed the padded last partial block (default :data:`sfxrep.models.embedding.TAIL_DEFAULT`).
            library: BatchNorm set of a per-library-BN model.
            work_dir, cache_dir: where ``libraries`` are prepared (as for training).
            progress: a progress bar (files/s, ETA) on stderr.
            retry_failed: decode again the files that failed before although they did not change.
            batch_size: blocks per forward pass.
            compile: run the encoder through ``torch.compile`` (faster for large jobs; see
                :class:`~sfxrep.models.embedding.FileEmbedder`).
        """
        from sfxrep.models.embedding import TAIL_DEFAULT

        out = Path(out)
        existing = (out / "index.json").is_file()
        if not roots and libraries is None and not existing:
            raise ValueError(f"{out}: nothing to index (give folders or files, or --libraries)")
        index = cls.open(out) if existing else None
        sources = {"roots": [str(Path(r).resolve()) for r in roots], "libraries": None, "library_names": None}
        if libraries is not None:
            sources.update(libraries=str(Path(libraries).resolve()), library_names=list(library_names or []) or None)
        if index is not None and not roots and libraries is None:
            sources = index.meta["sources"]  # an update: the recorded sources
        if model is None:
            model = index.meta["model"]["source"] if index is not None else "aisfx"
        source = getattr(model, "source", None) if isinstance(model, nn.Module) else model_source(model)
        if index is not None and tail is None:
            tail = index.meta["model"]["tail"]
        tail = TAIL_DEFAULT if tail is None else tail
        module = model if isinstance(model, nn.Module) else _load(source)
        ident = identity(module, source or "module", library, tail)
        if index is None:
            index = cls(out, {"format": FORMAT, "model": ident, "sources": sources, "ucs_libraries": [],
                              "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "dim": None},
                        [], np.zeros((0, 0), np.float32), block_vectors=np.zeros((0, 0), np.float32) if blocks else None)
            index.save()  # index.json first: a build killed before its end resumes from its parts
        else:
            check_same_model(index.meta["model"], ident, out)
            index.meta["sources"] = sources
        index._model = module
        report = index._refresh(sources, work_dir, cache_dir, progress, retry_failed, batch_size, blocks, compile)
        return index, report

    def update(self, progress: bool = True, retry_failed: bool = False, **paths) -> BuildReport:
        """Re-scan the index's recorded sources: embed new and changed files, drop deleted ones, save."""
        _, report = Index.build(self.folder, model=self.model(), progress=progress, retry_failed=retry_failed,
                                **paths)
        fresh = Index.open(self.folder)
        self.__dict__.update(fresh.__dict__)
        return report

    def _refresh(self, sources: dict, work_dir, cache_dir, progress: bool, retry_failed: bool, batch_size: int,
                 blocks: bool, compile: bool = False) -> BuildReport:
        from sfxrep.models.embedding import FileEmbedder

        start = time.perf_counter()
        found = scan_roots(sources["roots"]) if sources["roots"] else []
        if sources["libraries"]:
            labelled, ucs = scan_libraries(sources["libraries"], sources["library_names"], work_dir, cache_dir)
            self.meta["ucs_libraries"] = ucs
            seen = {r["path"] for r in labelled}
            found = labelled + [r for r in found if r["path"] not in seen]
        report = BuildReport(found=len(found))
        found_paths = {r["path"] for r in found}
        present = [i for i, r in enumerate(self.rows) if r["path"] in found_paths]
        report.removed = len(self.rows) - len(present)
        self._select(present)
        failed_before = {f["path"]: f for f in self.failures if f["path"] in found_paths}
        self.failures = list(failed_before.values())
        todo: list[dict] = []
        for entry in found:
            sig = _signature(entry["path"])
            current = self.row(entry["path"])
            if current is not None and sig is not None and (current["size"], current["mtime_ns"]) == sig:
                current.update({k: entry.get(k) for k in ("library", "label", "group", "split")})
                report.kept += 1
            elif (old := failed_before.get(entry["path"])) and not retry_failed and sig is not None \
                    and (old.get("size"), old.get("mtime_ns")) == sig:
                report.known_failures += 1
            else:
                todo.append(entry)
        if todo:
            embedder = FileEmbedder(self._model, self.meta["model"]["library"], batch_size=batch_size,
                                    tail=self.meta["model"]["tail"], compile=compile)
            self._embed(embedder, todo, report, progress, blocks)
        report.seconds = time.perf_counter() - start
        self.save()
        return report

    def _embed(self, embedder, todo: list[dict], report: BuildReport, progress: bool, blocks: bool) -> None:
        from tqdm import tqdm

        entries = {e["path"]: e for e in todo}
        rows, vectors, block_rows, failures = [], [], [] if blocks else None, []

        def flush() -> None:
            if rows or failures:
                self._write_part(rows, vectors, block_rows, failures)
                if rows:
                    self._replace(rows, np.stack(vectors), np.concatenate(block_rows) if block_rows else None)
                done = {f["path"] for f in failures} | {r["path"] for r in rows}
                self.failures = [f for f in self.failures if f["path"] not in done] + failures
                rows.clear(), vectors.clear(), failures.clear()
                if block_rows is not None:
                    block_rows.clear()

        bar = tqdm(total=len(todo), unit="file", desc="sfxrep index", disable=not progress, file=sys.stderr,
                   dynamic_ncols=True)
        with bar:
            for item in embedder(e["path"] for e in todo):
                bar.update(1)
                entry = entries[item.path]
                size, mtime_ns = _signature(item.path) or (None, None)
                if isinstance(item, AudioDecodeError):
                    failures.append({"path": item.path, "reason": item.reason, "size": size, "mtime_ns": mtime_ns})
                    report.failed.append((item.path, item.reason))
                    bar.write(f"sfxrep index: skipped {item.path}: {item.reason}", file=sys.stderr)
                else:
                    self.meta["dim"] = item.blocks.shape[1]
                    rows.append({"path": item.path, "size": size, "mtime_ns": mtime_ns,
                                 "duration": round(item.duration, 4), "sample_rate": item.sample_rate,
                                 "channels": item.channels, "blocks": int(item.blocks.shape[0]),
                                 **{k: entry.get(k) for k in ("library", "label", "group", "split")}})
                    vectors.append(item.vector)
                    if block_rows is not None:
                        block_rows.append(item.blocks)
                    report.embedded += 1
                    report.audio_seconds += item.duration
                if len(rows) + len(failures) >= FLUSH_EVERY:
                    flush()
            flush()

    # ---- querying ------------------------------------------------------------------------------------------

    def model(self) -> nn.Module:
        """The model that built this index (loaded from its recorded source and checked against its weights)."""
        if self._model is None:
            recorded = self.meta["model"]
            module = _load(recorded["source"])
            check_same_model(recorded, identity(module, recorded["source"], recorded["library"], recorded["tail"]),
                             self.folder)
            self._model = module
        return self._model

    def check_model(self, model: str | Path | nn.Module) -> None:
        """Raise :class:`~sfxrep.index.identity.ModelMismatchError` unless ``model`` is the index's model."""
        module = model if isinstance(model, nn.Module) else _load(model_source(model))
        recorded = self.meta["model"]
        check_same_model(recorded, identity(module, str(model), recorded["library"], recorded["tail"]), self.folder)
        self._model = module

    def embed_query(self, path: str | Path) -> np.ndarray:
        """``(D,)`` the raw embedding of any audio file, by this index's model.

        Raises:
            AudioDecodeError: the file is missing, empty or not audio.
        """
        from sfxrep.models.embedding import FileEmbedder

        meta = self.meta["model"]
        (item,) = FileEmbedder(self.model(), meta["library"], tail=meta["tail"], decode_workers=0)([path])
        if isinstance(item, AudioDecodeError):
            raise item
        return item.vector

    def normalised(self, raw: np.ndarray) -> np.ndarray:
        """Raw embeddings ``(..., D)`` → this index's unit vectors (z-scored with its statistics)."""
        if self.stats is None:
            raise ValueError(f"{self.folder}: the index is empty")
        return normalise(np.atleast_2d(raw), *self.stats)

    @property
    def searcher(self) -> VectorSearch:
        if self._search is None:
            self._search = VectorSearch(self.normalised(self.vectors), self.folder / "hnsw.faiss")
        return self._search

    def rows_where(self, library: str | None = None, label: str | None = None) -> np.ndarray | None:
        """Row indices of one library and/or label (``None``: no filter)."""
        if library is None and label is None:
            return None
        return np.array([i for i, r in enumerate(self.rows) if (library is None or r.get("library") == library)
                         and (label is None or label in (r.get("label"), r.get("group")))], dtype=np.int64)

    def search(self, query: str | Path | np.ndarray, k: int = 10, library: str | None = None,
               label: str | None = None, indexed: bool = False) -> list[Hit]:
        """The ``k`` indexed files most similar to ``query``, best first.

        Args:
            query: an audio file (embedded with the index's model), or a raw ``(D,)`` embedding.
            k: results.
            library, label: only files of this library / with this label (or UCS CatID).
            indexed: ``query`` is an indexed file: use its stored embedding (no decoding).
        """
        if len(self) == 0:
            raise ValueError(f"{self.folder}: the index is empty")
        if isinstance(query, np.ndarray):
            raw = query
        elif indexed:
            row = self.row(query)
            if row is None:
                raise ValueError(f"{query}: not in the index {self.folder} (search for it as an audio file instead)")
            raw = self.vectors[self._by_path[row["path"]]]
        else:
            raw = self.embed_query(query)
        rows = self.rows_where(library, label)
        scores, found = self.searcher.search(self.normalised(raw), k, rows)
        return [Hit(n + 1, self.rows[i]["path"], float(s), self.rows[i].get("library"), self.rows[i].get("label"))
                for n, (s, i) in enumerate(zip(scores[0], found[0], strict=True)) if i >= 0]

    def label(self, reference: Index, k: int = 10, top: int = 3) -> list:
        """Suggested classes for every file of this index by kNN in ``reference`` (see :mod:`sfxrep.index.label`)."""
        from sfxrep.index.label import suggest

        return suggest(self, reference, k=k, top=top)


def _load(source: str | Path) -> nn.Module:
    module = load_model(source)
    module.source = model_source(source)
    return module


def iter_hits(hits: list[Hit]) -> Iterator[str]:
    """Lines of a ranked result list: rank, score, path, and library/label where known."""
    for hit in hits:
        extra = " ".join(x for x in (hit.library, hit.label) if x)
        yield f"{hit.rank:3d}  {hit.score:+.3f}  {hit.path}" + (f"  [{extra}]" if extra else "")
