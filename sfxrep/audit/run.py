"""One audit of an index of labelled libraries: its findings, and the files they are written to.

:func:`run_audit` finds suspected mislabels per library, duplicate clusters across the whole index, and the
crosswalk tables asked for; :func:`write_audit` writes ``audit.jsonl`` (one finding per line, a summary line
first), ``audit.csv`` (the same, flat) and ``audit.html`` (:mod:`sfxrep.audit.page`).
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sfxrep.audit.crosswalk import CrosswalkRow, crosswalk
from sfxrep.audit.duplicates import Cluster, PairEvidence, find_duplicates
from sfxrep.audit.mislabels import LibraryVerdict, Suspect, judge_library, rank_all
from sfxrep.fileio import spreadsheet_csv
from sfxrep.index.store import Index

PAGE_SUSPECTS = 500  # ranked files shown on the page beyond the flagged ones (the page stays light)


@dataclass
class Audit:
    """The findings of one audit.

    Attributes:
        index: the index folder; model: the model that embedded it; files: labelled files audited.
        verdicts: per library, every judged file ranked (worst first).
        clusters: verified duplicate clusters; pairs: every candidate pair's evidence (refuted ones too).
        undecodable: files whose audio could not be read for the duplicate check (path → reason).
        crosswalk: class-to-class tables; crosswalk_note: why there is none, when there is none.
        seconds: wall time per stage.
    """

    index: str
    model: str
    files: int
    libraries: list[str]
    verdicts: list[LibraryVerdict] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    pairs: list[PairEvidence] = field(default_factory=list)
    undecodable: dict[str, str] = field(default_factory=dict)
    crosswalk: list[CrosswalkRow] = field(default_factory=list)
    crosswalk_note: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @functools.cached_property
    def copies(self) -> list[dict]:
        """Each cluster described for a decision (:func:`sfxrep.audit.copies.describe`): the default keep first,
        per-file format and quality, and each copy's relation to the kept file."""
        from sfxrep.audit.copies import describe

        return [describe(c) for c in self.clusters]

    @property
    def ranked(self) -> list[Suspect]:
        """Every judged file of every library, most likely mislabelled first."""
        return rank_all(self.verdicts)

    @property
    def suspects(self) -> list[Suspect]:
        """The files flagged on strong evidence, most likely mislabelled first."""
        return [s for s in self.ranked if s.issue]

    @property
    def listed(self) -> list[Suspect]:
        """The flagged files and those with weak evidence (``issue`` false), most likely mislabelled first."""
        return [s for s in self.ranked if s.evidence]

    def summary(self) -> dict:
        return {"finding": "summary", "index": self.index, "model": self.model, "files": self.files,
                "libraries": self.libraries, "suspects": len(self.suspects),
                "not_judged": {v.library: v.not_judged for v in self.verdicts if v.not_judged},
                "duplicate_clusters": len(self.clusters),
                "duplicate_files": sum(len(c.files) - 1 for c in self.clusters),
                "candidate_pairs_refuted": sum(p.kind == "different" for p in self.pairs),
                "undecodable": self.undecodable, "crosswalk_rows": len(self.crosswalk),
                "crosswalk_note": self.crosswalk_note, "seconds": self.seconds}


def _class_key(row, ucs: set[str]) -> str:
    """A target class of a crosswalk: UCS rows by CatID and Category, others by label."""
    return f"{row.group} ({row.label})" if row.library in ucs and row.group else row.label


def _labelled(index: Index, libraries: list[str] | None) -> dict[str, np.ndarray]:
    rows = {}
    for i, r in enumerate(index.rows):
        if r.label is not None and r.library and (not libraries or r.library in libraries):
            rows.setdefault(r.library, []).append(i)
    return {lib: np.array(ix, dtype=np.int64) for lib, ix in sorted(rows.items())}


def run_audit(index: Index, *, reference: Index | None = None, reference_name: str = "reference",
              pairs: list[tuple[str, str]] | None = None, libraries: list[str] | None = None,
              duplicates: bool = True, log=print) -> Audit:
    """Audit the labelled files of ``index``.

    Args:
        reference: an index of a reference taxonomy (same model): each audited library is crosswalked to it.
        reference_name: how the reference is named in the tables.
        pairs: ``(source, target)`` libraries of ``index`` to crosswalk; default, without ``reference``, every
            other library to the index's UCS library if it has one.
        libraries: audit only these libraries (default: every labelled library of the index).
        duplicates: look for duplicates (decodes the candidate pairs' audio).

    Raises:
        ValueError: the index has no labelled files (build it with ``--libraries``), or an unknown library.
    """
    groups = _labelled(index, None)
    unknown = sorted(set(libraries or ()) - set(groups))
    if unknown:
        raise ValueError(f"{index.folder}: no labelled library {unknown} (it has {sorted(groups) or 'none'})")
    if libraries:
        groups = {k: v for k, v in groups.items() if k in libraries}
    if not groups:
        raise ValueError(f"{index.folder}: no labelled files to audit (build the index with --libraries LIBS.yaml)")
    unit = index.normalised(index.vectors)
    audit = Audit(str(index.folder), str(index.meta["model"].get("source", index.meta["model"])),
                  sum(len(v) for v in groups.values()), sorted(groups))
    start = time.perf_counter()
    for library, rows in groups.items():
        verdict = judge_library(library, [index.rows[i].path for i in rows], [index.rows[i].label for i in rows],
                                unit[rows])
        audit.verdicts.append(verdict)
        log(f"[audit] {verdict.judged_line(len(rows))}")
    audit.seconds["mislabels"] = round(time.perf_counter() - start, 2)
    if duplicates:
        start = time.perf_counter()
        every = np.concatenate(list(groups.values()))
        audit.clusters, audit.pairs, audit.undecodable = find_duplicates([index.rows[i].path for i in every],
                                                                         unit[every])
        audit.seconds["duplicates"] = round(time.perf_counter() - start, 2)
        log(f"[audit] duplicates: {len(audit.pairs)} candidate pairs, {len(audit.clusters)} verified clusters "
            f"({sum(p.kind == 'different' for p in audit.pairs)} candidates refuted by the signals)"
            + (f"; {len(audit.undecodable)} files not decodable" if audit.undecodable else ""))
    start = time.perf_counter()
    _crosswalks(audit, index, unit, groups, reference, reference_name, pairs)
    audit.seconds["crosswalk"] = round(time.perf_counter() - start, 2)
    return audit


def _crosswalks(audit: Audit, index: Index, unit: np.ndarray, groups: dict[str, np.ndarray], reference: Index | None,
                reference_name: str, pairs: list[tuple[str, str]] | None) -> None:
    ucs = set(index.meta.get("ucs_libraries") or [])
    if reference is not None:
        ref_ucs = set(reference.meta.get("ucs_libraries") or [])
        keep = [i for i, r in enumerate(reference.rows) if r.label is not None]
        if not keep:
            raise ValueError(f"{reference.folder}: the reference has no labelled files")
        ref_paths = np.array([reference.rows[i].path for i in keep])
        ref_unit = reference.normalised(reference.vectors[keep])
        targets = [_class_key(reference.rows[i], ref_ucs) for i in keep]
        for library, rows in groups.items():
            paths = np.array([index.rows[i].path for i in rows])
            audit.crosswalk += crosswalk(library, [index.rows[i].label for i in rows],
                                         reference.normalised(index.vectors[rows]), reference_name, targets, ref_unit,
                                         exclude=paths[:, None] == ref_paths[None, :])
        return
    all_groups = _labelled(index, None)
    if pairs is None:
        target = next((lib for lib in sorted(ucs) if lib in all_groups), None)
        if target is None:
            audit.crosswalk_note = "No crosswalk: give --reference LIBS.yaml[:name] (e.g. UCS) or --crosswalk A:B."
            return
        pairs = [(lib, target) for lib in groups if lib != target]
    for source, target in pairs:
        if source == target:
            raise ValueError(f"--crosswalk {source}:{target}: a library crosswalked to itself maps every class to itself "
                             "(each file votes for its own label); name two libraries")
        for name in (source, target):
            if name not in all_groups:
                raise ValueError(f"--crosswalk {source}:{target}: {name} is not a labelled library of {index.folder}")
        s, t = all_groups[source], all_groups[target]
        audit.crosswalk += crosswalk(source, [index.rows[i].label for i in s], unit[s], target,
                                     [_class_key(index.rows[i], ucs) for i in t], unit[t])


def _records(audit: Audit) -> list[dict]:
    records = [audit.summary()]
    for rank, s in enumerate(audit.listed, 1):  # issue: true for a flag; weak evidence listed with issue: false
        records.append({"finding": "mislabel", "rank": rank, **s.to_dict()})
    for n, c in enumerate(audit.copies, 1):
        records.append({"finding": "duplicate", "cluster": n, **c})
    for r in audit.crosswalk:
        records.append({"finding": "crosswalk", **r.to_dict()})
    return records


CSV_COLUMNS = ("finding", "rank", "library", "path", "label", "suggestion", "score", "others", "evidence")


def _csv(audit: Audit) -> str:
    return spreadsheet_csv([CSV_COLUMNS, *_csv_rows(audit)])


def _csv_rows(audit: Audit) -> Iterator[list]:
    for rank, s in enumerate(audit.listed, 1):
        evidence = "; ".join(f"{Path(n.path).name} [{n.label}] cos {n.cosine:.3f}" for n in s.neighbours)
        yield ["mislabel" if s.issue else "mislabel (weak evidence)", rank, s.library, s.path, s.label, s.suggestion,
               f"{s.quality:.5f}", "", f"p(label) {s.p_label:.3f}, p(suggestion) {s.p_suggestion:.3f}; nearest: {evidence}"]
    for n, (c, view) in enumerate(zip(audit.clusters, audit.copies, strict=True), 1):
        relations = "; ".join(f"{Path(p).name}: {r}" for p, r in view["relation"].items())
        evidence = "; ".join(f"{Path(p.a).name}~{Path(p.b).name}: corr {p.correlation:.4f}, lag {p.lag_s:+.3f} s, "
                             f"gain {p.gain_db:+.1f} dB, overlap {p.overlap:.2f}" for p in c.pairs)
        yield [f"duplicate-{c.kind}", n, "", view["keep"], "", "", f"{min(p.correlation for p in c.pairs):.5f}",
               " | ".join(view["files"][1:]), f"keep (best original) {Path(view['keep']).name}; {relations}; {evidence}"]
    for r in audit.crosswalk:
        for t in r.targets:
            yield ["crosswalk", "", r.source_library, "", r.source_class, t.target, f"{t.share:.4f}", r.target_library,
                   f"{t.files}/{r.files} files, confidence {t.confidence:.3f}, lift {t.lift:.1f}"]


def page_data(audit: Audit, index: Index) -> dict:
    """What the page shows: flagged suspects and the next-ranked files, clusters, crosswalk, and the audio."""
    ranked = audit.ranked
    shown = [s for s in ranked if s.issue] + [s for s in ranked if not s.issue][:PAGE_SUSPECTS]
    audio = [p for s in shown for p in (s.path, *(n.path for n in s.neighbours))]
    audio += [f for c in audit.clusters for f in c.files]
    rows = {r.path: r for r in index.rows}
    return {"id": hashlib.sha1(f"{audit.index}|{audit.model}|{audit.files}".encode()).hexdigest()[:12],
            "model": audit.model, "files": audit.files, "libraries": audit.libraries,
            "created": time.strftime("%Y-%m-%d %H:%M"),
            "suspects": [s.to_dict() for s in shown],
            "clusters": audit.copies,
            "crosswalk": [r.to_dict() for r in audit.crosswalk], "crosswalk_note": audit.crosswalk_note,
            "libraries_of": {p: rows[p].library for p in set(audio) if p in rows},
            "labels_of": {p: rows[p].label for p in set(audio) if p in rows},
            "library_labels": {lib: sorted({r.label for r in index.rows if r.library == lib and r.label is not None})
                               for lib in audit.libraries},
            "audio_paths": audio}


def write_audit(audit: Audit, index: Index, out: str | Path, embed_audio: bool = False) -> dict[str, Path]:
    """Write ``audit.jsonl``, ``audit.csv`` and ``audit.html`` into the folder ``out``; returns their paths."""
    from sfxrep.audit.page import render
    from sfxrep.fileio import atomic_write_text, check_writable_folder, json_line

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    check_writable_folder(out)
    jsonl, table = out / "audit.jsonl", out / "audit.csv"
    atomic_write_text(jsonl, "".join(json_line(r) + "\n" for r in _records(audit)))
    atomic_write_text(table, _csv(audit))
    page = render(page_data(audit, index), out.resolve(), embed_audio)
    return {"jsonl": jsonl, "csv": table, "html": page}
