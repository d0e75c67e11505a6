"""An index of sound files, searchable by example: one embedding per file, its metadata, and the model that made
them. The folder's format is :mod:`sfxrep.index.format`, the incremental build :mod:`sfxrep.index.build`, the
model's identity :mod:`sfxrep.index.identity`; this module opens an index and answers queries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from sfxrep.audio.decode import AudioDecodeError
from sfxrep.index import format as fmt
from sfxrep.index import vectors
from sfxrep.index.build import BuildOptions, BuildReport, build, load_indexing_model
from sfxrep.index.identity import check_same_model, identity
from sfxrep.index.rows import Failure, FileRow
from sfxrep.index.vectors import VectorSearch, fit_stats, normalise


@dataclass(frozen=True)
class Hit:
    """One search result: ``score`` is the cosine similarity in [-1, 1]."""

    rank: int
    path: str
    score: float
    library: str | None = None
    label: str | None = None


class Index:
    """File embeddings with metadata, searchable by example. Open one with :meth:`open`, make or refresh one
    with :meth:`build` / :meth:`update`; query with :meth:`search`, label with :meth:`label`."""

    def __init__(self, folder: Path, meta: dict, table: fmt.Table | None = None,
                 stats: tuple[np.ndarray, np.ndarray] | None = None, model: nn.Module | None = None) -> None:
        """``table`` ``None``: read from ``folder`` when first needed (a build does not hold its vectors)."""
        self.folder, self.meta, self._table, self._stats = Path(folder), meta, table, stats
        self._search: VectorSearch | None = None
        self._model = model

    @property
    def table(self) -> fmt.Table:
        if self._table is None:
            self.meta, self._table, stats = fmt.read(self.folder)
            self._stats = self._stats if self._stats is not None else stats
        return self._table

    @property
    def stats(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-dimension mean and SD of the unit vectors (the normalisation), ``None`` for an empty index."""
        if self._stats is None and len(self.table):
            self._stats = fit_stats(self.table.vectors)
        return self._stats

    @classmethod
    def open(cls, folder: str | Path) -> Index:
        """Read an index folder (merging the parts of an interrupted build).

        Raises:
            FileNotFoundError: no index there.
            ValueError: an unreadable or newer-format index.
        """
        meta, table, stats = fmt.read(folder)
        return cls(Path(folder), meta, table, stats)

    @classmethod
    def build(cls, out: str | Path, roots: Sequence[str | Path] = (), model: str | Path | nn.Module | None = None,
              *, libraries: str | Path | None = None, library_names: Sequence[str] | None = None,
              options: BuildOptions = BuildOptions(), **changes: object) -> tuple[Index, BuildReport]:
        """Create the index ``out``, or bring an existing one up to date (only new and changed files are embedded).

        Args:
            out: the index folder.
            roots: folders (searched recursively) and files to index, unlabelled.
            model: ``"aisfx"``, ``"logmel"``, an sfxrep ``.ckpt`` path, or a loaded module with ``source``;
                ``None``: the existing index's model, else ``"aisfx"``.
            libraries: a libraries YAML whose files are indexed with their library, label and split.
            library_names: only these libraries of ``libraries``.
            options: how to build (:class:`~sfxrep.index.build.BuildOptions`); ``changes`` replace single options
                by name (``Index.build(out, roots, progress=False)``).

        Returns:
            the index (its table is read from disk when first used) and what the build did.
        """
        meta, module, report = build(out, roots, model, libraries=libraries, library_names=library_names,
                                     options=options.but(**changes))
        return cls(Path(out), meta, model=module), report

    def update(self, options: BuildOptions = BuildOptions(), **changes: object) -> BuildReport:
        """Re-scan the index's recorded sources: embed new and changed files, drop deleted ones, save (``options``
        and ``changes`` as for :meth:`build`)."""
        _, report = Index.build(self.folder, model=self.model(), options=options, **changes)
        fresh = Index.open(self.folder)
        self.meta, self._table, self._stats, self._search = fresh.meta, fresh._table, fresh._stats, None
        return report

    # ---- the table ------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.table) if self._table is not None else int(self.meta.get("files") or 0)

    @property
    def rows(self) -> list[FileRow]:
        return self.table.rows

    @property
    def vectors(self) -> np.ndarray:
        return self.table.vectors

    @property
    def failures(self) -> list[Failure]:
        return self.table.failures

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.table.rows]

    def row(self, path: str | Path) -> FileRow | None:
        """The row of an indexed file (by path, resolved), or ``None``."""
        i = self.table.by_path.get(str(Path(path).resolve()))
        return None if i is None else self.table.rows[i]

    def file_blocks(self, path: str | Path) -> np.ndarray:
        """``(n_blocks, D)`` block embeddings of an indexed file (an index built with ``blocks=True``)."""
        if self.table.block_vectors is None:
            raise ValueError(f"{self.folder}: built without block embeddings (sfxrep index --blocks)")
        return self.table.blocks_of([self.table.by_path[str(Path(path).resolve())]])

    # ---- querying -------------------------------------------------------------------------------------------

    def model(self) -> nn.Module:
        """The model that built this index (loaded from its recorded source and checked against its weights)."""
        if self._model is None:
            recorded = self.meta["model"]
            module, _ = load_indexing_model(recorded["source"])
            check_same_model(recorded, identity(module, recorded["source"], recorded["library"], recorded["tail"]),
                             self.folder)
            self._model = module
        return self._model

    def check_model(self, model: str | Path | nn.Module) -> None:
        """Raise :class:`~sfxrep.index.identity.ModelMismatchError` unless ``model`` is the index's model."""
        module, _ = load_indexing_model(model)
        recorded = self.meta["model"]
        check_same_model(recorded, identity(module, str(model), recorded["library"], recorded["tail"]), self.folder)
        self._model = module

    def embed_query(self, path: str | Path) -> np.ndarray:
        """``(D,)`` the raw embedding of any audio file, by this index's model.

        Raises:
            AudioDecodeError: the file is missing, empty or not audio.
        """
        from sfxrep.inference.embedding import FileEmbedder

        meta = self.meta["model"]
        (item,) = FileEmbedder(self.model(), meta["library"], tail=meta["tail"], decode_workers=0,
                               precision=meta.get("precision", "fp32"))([path])
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
            self._search = VectorSearch(self.normalised(self.vectors), self.folder / "hnsw.faiss",
                                        exact_max=vectors.EXACT_MAX)
        return self._search

    def rows_where(self, library: str | None = None, label: str | None = None) -> np.ndarray | None:
        """Row indices of one library and/or label (``None``: no filter)."""
        if library is None and label is None:
            return None
        return np.array([i for i, r in enumerate(self.rows) if (library is None or r.library == library)
                         and (label is None or label in (r.label, r.group))], dtype=np.int64)

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
            raw = self.vectors[self.table.by_path[row.path]]
        else:
            raw = self.embed_query(query)
        scores, found = self.searcher.search(self.normalised(raw), k, self.rows_where(library, label))
        return [Hit(n + 1, self.rows[i].path, float(s), self.rows[i].library, self.rows[i].label)
                for n, (s, i) in enumerate(zip(scores[0], found[0], strict=True)) if i >= 0]

    def label(self, reference: Index, k: int = 10, top: int = 3) -> list:
        """Suggested classes for every file of this index by kNN in ``reference`` (see :mod:`sfxrep.index.label`)."""
        from sfxrep.index.label import suggest

        return suggest(self, reference, k=k, top=top)


def iter_hits(hits: list[Hit]) -> Iterator[str]:
    """Lines of a ranked result list: rank, score, path, and library/label where known."""
    for hit in hits:
        extra = " ".join(x for x in (hit.library, hit.label) if x)
        yield f"{hit.rank:3d}  {hit.score:+.3f}  {hit.path}" + (f"  [{extra}]" if extra else "")
