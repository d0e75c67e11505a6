"""``sfxrep audit INDEX --out DIR`` and ``sfxrep audit --apply DECISIONS.csv``: argparse and the two actions."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sfxrep.inference.options import add_no_progress
from sfxrep.paths import add_dirs


def _pair(text: str) -> tuple[str, str]:
    source, sep, target = text.partition(":")
    if not sep or not source or not target:
        raise argparse.ArgumentTypeError(f"{text!r}: give SOURCE:TARGET library names")
    return source, target


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``audit`` to the ``sfxrep`` parser."""
    a = sub.add_parser("audit", help="QA of a labelled index: suspected mislabels, duplicates, a taxonomy crosswalk",
                       description="Audits an index built with --libraries: ranks suspected mislabels (by the "
                                   "relative confidence of out-of-sample probabilities; flags on strong evidence), finds duplicates verified on the signals, "
                                   "crosswalks taxonomies, and writes audit.jsonl, audit.csv and audit.html (a page "
                                   "to listen to the findings and export decisions). --apply turns the exported "
                                   "decisions into a preview of the changes; --commit carries them out, journaled; "
                                   "--undo JOURNAL restores.")
    a.add_argument("index", nargs="?", help="an index folder built with sfxrep index --libraries")
    a.add_argument("--out", default="audit", help="folder of audit.jsonl, audit.csv and audit.html")
    a.add_argument("--reference", metavar="LIBS.yaml[:library]",
                   help="crosswalk every audited library to this taxonomy (e.g. a UCS library), indexed with the "
                        "index's model")
    a.add_argument("--crosswalk", type=_pair, action="append", metavar="SOURCE:TARGET",
                   help="crosswalk two libraries of the index (repeatable; default: each to the index's UCS library)")
    a.add_argument("--libraries", nargs="+", help="audit only these libraries")
    a.add_argument("--no-duplicates", action="store_true", help="skip the duplicate search")
    a.add_argument("--embed-audio", action="store_true",
                   help="put the audio into audit.html (a portable page; small audits only)")
    a.add_argument("--apply", metavar="DECISIONS.csv",
                   help="preview the changes of the decisions exported from audit.html (moves nothing)")
    a.add_argument("--preview-out", default="audit-changes.csv", help="CSV of the previewed changes (--apply)")
    a.add_argument("--commit", action="store_true",
                   help="with --apply: carry the changes out (labels written, removed copies moved into the "
                        "library's .sfxrep-quarantine folder; nothing deleted), journaled for --undo")
    a.add_argument("--journal", help="the journal --commit writes (default: beside the decisions file, "
                                     "DECISIONS.journal.json)")
    a.add_argument("--undo", metavar="JOURNAL", help="restore every file and label a --commit changed, byte for byte")
    add_no_progress(a)
    add_dirs(a, work_help="where a --reference's libraries are prepared")
    a.set_defaults(func=audit_command)


def audit_command(ns: argparse.Namespace) -> None:
    if ns.undo:
        from sfxrep.audit.commit import Journal, undo

        journal = Journal.load(ns.undo)
        done = undo(journal)
        os.replace(ns.undo, f"{ns.undo}.undone")
        print(f"{done} steps of {journal.decisions} undone; every file and list is as it was ({ns.undo}.undone "
              "keeps the record)")
        return
    if ns.commit and not ns.apply:
        raise ValueError("--commit carries out the decisions of --apply DECISIONS.csv: give both")
    if ns.apply:
        from sfxrep.audit.decisions import check_decisions, preview, read_decisions, write_preview
        from sfxrep.fileio import shown
        from sfxrep.index.store import Index

        if not ns.index:
            raise ValueError("sfxrep audit --apply: give the INDEX the audit was made from (sfxrep audit INDEX --apply "
                             "DECISIONS.csv): decisions act only on its files")
        if Path(ns.preview_out).resolve() == Path(ns.apply).resolve():
            raise ValueError(f"--preview-out {ns.preview_out} is the decisions file itself; it would be overwritten")
        index = Index.open(ns.index)
        real = {shown(r.path): r.path for r in index.rows}  # the page shows (and exports) undecodable bytes escaped
        rows = [{**row, **{c: real.get(row[c], row[c]) for c in ("path", "keep")}} for row in read_decisions(ns.apply)]
        check_decisions(rows, ns.apply, {r.path: (r.library, r.label) for r in index.rows})
        changes = preview(rows)
        for c in changes:
            print(f"{c.action:<8} {c.path} → {c.target}  ({c.reason})")
        out = write_preview(changes, ns.preview_out)
        if not ns.commit:
            print(f"{len(rows)} decisions, {len(changes)} changes previewed ({len(rows) - len(changes)} rejected): "
                  f"{out}; nothing was moved (--commit carries them out)")
            return
        from sfxrep.audit.commit import commit
        from sfxrep.libraries.spec import load_libraries

        source = index.meta["sources"].get("libraries")
        if not source:
            raise ValueError(f"{ns.index}: built from folders, not a libraries YAML; --commit needs to know where "
                             "each library keeps its labels")
        libraries = {s.name: s.library for s in load_libraries(source).libraries}
        journal_path = Path(ns.journal or Path(ns.apply).with_suffix(".journal.json"))
        journal = commit(changes, libraries, {r.path: r.library for r in index.rows}, journal_path, str(ns.apply))
        print(f"{len(changes)} changes made ({len(journal.steps)} steps): removed copies are in each library's "
              f".sfxrep-quarantine folder; journal {journal_path} (sfxrep audit --undo {journal_path} restores "
              f"everything); run sfxrep index {ns.index} to bring the index up to date")
        return
    if not ns.index:
        raise ValueError("sfxrep audit: give an INDEX folder (or --apply DECISIONS.csv)")
    from sfxrep.audit.run import run_audit, write_audit
    from sfxrep.fileio import check_writable_folder
    from sfxrep.index.command import reference_index
    from sfxrep.index.store import Index

    check_writable_folder(ns.out)
    index = Index.open(ns.index)
    reference = (reference_index(index, ns.reference, ns.work_dir, ns.cache_dir, not ns.no_progress)
                 if ns.reference else None)
    name = Path(ns.reference.partition(":")[0]).stem if ns.reference else "reference"
    if ns.reference and ns.reference.partition(":")[2]:
        name = ns.reference.partition(":")[2]
    audit = run_audit(index, reference=reference, reference_name=name, pairs=ns.crosswalk, libraries=ns.libraries,
                      duplicates=not ns.no_duplicates, log=lambda m: print(m, file=sys.stderr))
    written = write_audit(audit, index, ns.out, ns.embed_audio)
    s = audit.summary()
    judged = s["files"] - sum(s["not_judged"].values())
    print(f"audited {s['files']} files of {len(s['libraries'])} libraries ({judged} judged): {s['suspects']} suspected "
          "mislabels, "
          f"{s['duplicate_clusters']} duplicate clusters ({s['duplicate_files']} copies), {s['crosswalk_rows']} "
          f"crosswalk rows")
    for kind, path in written.items():
        print(f"  {kind:<5} {path}")
