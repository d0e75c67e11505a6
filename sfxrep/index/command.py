"""``sfxrep index``, ``sfxrep search`` and ``sfxrep label``: the command-line face of :class:`sfxrep.index.Index`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from sfxrep.audio.decode import AudioDecodeError
from sfxrep.inference.options import add_model, add_no_progress, add_precision, positive
from sfxrep.paths import add_dirs

NAMED_REFERENCES = Path(__file__).resolve().parents[2] / "experiments" / "libraries"


def _split_reference(value: str) -> tuple[str, list[str] | None]:
    """``LIBS.yaml[:lib[,lib]]`` → (yaml, library names or None). A bare name that is not a file (``ucs-reference``)
    is the libraries YAML of that name in the project's ``experiments/libraries/``."""
    path, sep, names = value.rpartition(":") if ":" in Path(value).name else (value, "", "")
    path, chosen = (path, [n for n in names.split(",") if n]) if sep else (value, None)
    named = NAMED_REFERENCES / f"{path}.yaml"
    if not Path(path).exists() and "/" not in path and not path.endswith(".yaml") and named.is_file():
        path = str(named)
    return path, chosen


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``index`` (and ``index merge``), ``search`` and ``label`` to the ``sfxrep`` parser."""
    from sfxrep.index.calibration import MIN_CONFIDENCE

    i = sub.add_parser("index", help="embed every audio file below folders into a searchable index (resumable)",
                       description="Builds INDEX, or brings it up to date: only new and changed files are embedded, "
                                   "deleted ones are dropped, files that cannot be decoded are listed. Without "
                                   "ROOTs or --libraries an existing index re-scans its recorded sources. A vendor's library: --shards N "
                                   "--cluster slurm builds N shards as SLURM array tasks and merges them; by hand, "
                                   "--shard I/N per task and then `sfxrep index merge --out INDEX SHARD...`.")
    i.add_argument("roots", nargs="*", help="folders (searched recursively) and files; 'merge SHARD...': merge the "
                                            "shard indexes into --out")
    i.add_argument("--out", required=True, help="the index folder")
    add_model(i, option=True, what="; default: an existing index's model, else aisfx")
    i.add_argument("--libraries", help="a libraries YAML[:name,...]: index its files with library, label and split")
    i.add_argument("--labels", metavar="LABELS.csv", help="one labelled library as a CSV (path,label; paths relative "
                   "to the CSV's folder), instead of a libraries YAML: then sfxrep audit works on the index")
    i.add_argument("--blocks", action="store_true", help="also store every 2.3 s block's embedding")
    i.add_argument("--tail", action=argparse.BooleanOptionalAction, default=None,
                   help="embed each file's zero-padded last partial block (default: no, as aiSFX)")
    i.add_argument("--library", help="BatchNorm set of a per-library-BN model")
    i.add_argument("--compile", action="store_true",
                   help="torch.compile the encoder (measure first: no faster end to end on a 2-core AVX2 CPU)")
    add_precision(i, "recorded in index.json; an update embeds as the index was built")
    i.add_argument("--shard", metavar="I/N", help="index only shard I (0-based) of N: a contiguous run of the files in "
                   "path order (one SLURM array task: --shard $SLURM_ARRAY_TASK_ID/N); then sfxrep index merge")
    i.add_argument("--shards", type=positive, help="build in N shard tasks on --cluster, wait, and merge into --out")
    i.add_argument("--cluster", choices=("slurm", "local"), default="slurm",
                   help="with --shards: SLURM array tasks through submitit, or local processes")
    i.add_argument("--partition", help="with --shards: the SLURM partition")
    i.add_argument("--cpus", type=positive, default=8, help="with --shards: CPU cores per task")
    i.add_argument("--time-min", type=positive, default=12 * 60, help="with --shards: minutes per task")
    i.add_argument("--retry-failed", action="store_true", help="decode again files that failed before")
    i.add_argument("--prune", action="store_true", help="let an update drop a recorded root's every file, or more "
                                                        "than half of the index (refused otherwise: an unmounted drive?)")
    i.add_argument("--repair", action="store_true", help="a corrupt data.npz: keep every readable part, embed the rest")
    i.add_argument("--failures", action="store_true", help="list the files that could not be decoded, with the "
                                                           "reasons, and exit")
    add_no_progress(i)
    add_dirs(i, work_help="where --libraries are prepared (as for training)")
    i.set_defaults(func=index_command, intermixed="roots")

    s = sub.add_parser("search", help="the indexed files most similar to a sound")
    s.add_argument("index")
    s.add_argument("query", help="an audio file (in the index or not)")
    s.add_argument("--path", action="store_true", help="QUERY is an indexed file: use its stored embedding")
    s.add_argument("--k", type=positive, default=10)
    s.add_argument("--library", help="only files of this library")
    s.add_argument("--label", help="only files with this label (or UCS CatID)")
    s.add_argument("--json", action="store_true", help="one JSON object per result")
    s.set_defaults(func=search_command)

    lab = sub.add_parser("label", help="suggest classes (UCS Category and CatID) for indexed files by kNN")
    lab.add_argument("index")
    lab.add_argument("--reference", required=True, metavar="LIBS.yaml[:library]",
                     help="labelled libraries (all, or the named ones) to vote from; a bare name is a YAML of "
                          "experiments/libraries (ucs-reference: the corpus through its UCS crosswalks, make corpus)")
    lab.add_argument("--out", default="suggestions.csv", help="CSV with the top-3 classes and scores per file")
    lab.add_argument("--k", type=positive, default=10, help="neighbours that vote")
    lab.add_argument("--top", type=positive, default=3)
    lab.add_argument("--min-confidence", type=float, default=MIN_CONFIDENCE,
                     help="below this probability (calibrated on the reference's own held-out files) label_1 is "
                          "'unknown', the best guess kept in best_guess")
    lab.add_argument("--rename-preview", action="store_true",
                     help="print UCS names (CatID_FXName_CreatorID_SourceID) for unlabelled files; renames nothing")
    lab.add_argument("--creator-id", default="SFXREP", help="CreatorID of --rename-preview names")
    lab.add_argument("--source-id", help="SourceID of --rename-preview names (default: the file's folder)")
    lab.add_argument("--evaluate", action="store_true",
                     help="score the suggestions on each reference library's held-back test split instead")
    add_no_progress(lab)
    add_dirs(lab, work_help="where the reference libraries are prepared")
    lab.set_defaults(func=label_command)


def index_command(ns: argparse.Namespace) -> None:
    from sfxrep.index.build import BuildOptions, parse_shard
    from sfxrep.index.store import Index

    if ns.roots[:1] == ["merge"]:  # sfxrep index merge --out INDEX SHARD...
        from sfxrep.index.cluster import merge_command

        if len(ns.roots) < 2:
            raise ValueError("index merge: give the shard index folders to merge into --out")
        merge_command(ns.out, ns.roots[1:])
        return

    if ns.failures:
        for failure in Index.open(ns.out).failures:
            print(f"{failure.path}: {failure.reason}")
        return
    if ns.labels:
        from sfxrep.libraries.spec import labels_yaml

        if ns.libraries:
            raise ValueError("give --labels or --libraries, not both")
        ns.libraries = str(labels_yaml(ns.labels, ns.work_dir))
    libraries, names = _split_reference(ns.libraries) if ns.libraries else (None, None)
    if ns.shards:
        from sfxrep.index.cluster import ShardJob, build_on_cluster

        job = ShardJob(ns.out, tuple(ns.roots), ns.model, libraries, tuple(names) if names else None, ns.precision,
                       ns.work_dir, ns.cache_dir)
        meta = build_on_cluster(job, ns.shards, ns.cluster, ns.partition, ns.cpus, ns.time_min)
        print(f"{ns.out}: {meta['files']} files from {ns.shards} shards ({meta['failures']} could not be decoded)")
        return
    options = BuildOptions(blocks=ns.blocks, tail=ns.tail, library=ns.library, work_dir=ns.work_dir,
                           cache_dir=ns.cache_dir, progress=not ns.no_progress, retry_failed=ns.retry_failed,
                           compile=ns.compile, prune=ns.prune, repair=ns.repair, precision=ns.precision,
                           shard=parse_shard(ns.shard) if ns.shard else None)
    index, report = Index.build(ns.out, ns.roots, ns.model, libraries=libraries, library_names=names, options=options)
    for path, reason in report.failed:
        print(f"skipped {path}: {reason}")
    # from index.json: reading the table back would hold every row and vector the build streamed to disk
    print(f"{ns.out}: {report.summary()}; the index holds {index.meta['files']} files"
          + (f" ({report.audio_seconds / report.seconds:.0f} s of audio per second)" if report.embedded else ""))
    if index.meta["failures"]:
        print(f"{index.meta['failures']} file(s) could not be decoded: sfxrep index --failures --out {ns.out} lists "
              "them with the reasons, --retry-failed tries them again")


def search_command(ns: argparse.Namespace) -> None:
    from sfxrep.index.store import Index, iter_hits

    if not ns.query.strip():
        raise ValueError("empty query: give an audio file")
    if Path(ns.query).is_dir():
        raise ValueError(f"{ns.query}: a folder, not an audio file (search takes one sound)")
    index = Index.open(ns.index)
    try:
        hits = index.search(ns.query, ns.k, ns.library, ns.label, indexed=ns.path)
    except AudioDecodeError as err:
        raise ValueError(f"query {err}") from err
    if ns.json:
        for hit in hits:
            print(json.dumps(asdict(hit)))
    else:
        print("\n".join(iter_hits(hits)) if hits else "no matching files")


def reference_index(index, reference: str, work_dir: str, cache_dir: str, progress: bool):
    """The index of the reference libraries, kept in ``INDEX/references/`` and built with the index's model."""
    from sfxrep.index.store import Index

    yaml, names = _split_reference(reference)
    folder = index.folder / "references" / f"{Path(yaml).stem}-{'-'.join(names) if names else 'all'}"
    model = index.meta["model"]
    built, report = Index.build(folder, model=index.model(), libraries=yaml, library_names=names, tail=model["tail"],
                                library=model["library"], work_dir=work_dir, cache_dir=cache_dir, progress=progress)
    if report.embedded or report.failed:
        print(f"reference {folder}: {report.summary()}", file=sys.stderr)
    classes = {r.label for r in built.rows if r.label is not None}
    if len(classes) < 2:
        print(f"sfxrep label: warning: the reference {reference} has {len(classes)} class{'es' * (len(classes) != 1)} "
              f"({', '.join(sorted(classes)) or 'none'}): every suggestion will be it", file=sys.stderr)
    return built


def reference_calibration(reference, k: int):
    """The reference's calibration (:mod:`sfxrep.index.calibration`), kept beside it until its vectors change."""
    from sfxrep.fileio import atomic_write_text
    from sfxrep.index.calibration import Calibration, calibrate
    from sfxrep.index.label import TEMPERATURE, _votes, vote_keys

    path = reference.folder / "calibration.json"
    ident = {"vectors": reference.searcher.fingerprint, "k": k, "temperature": TEMPERATURE}
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("ident") == ident:
            return Calibration.from_dict(saved)
    calibration = calibrate(reference, vote_keys(reference), k, _votes)
    atomic_write_text(path, json.dumps({"ident": ident, **calibration.to_dict()}))
    return calibration


def label_command(ns: argparse.Namespace) -> None:
    from sfxrep.index.calibration import FAR_QUANTILE, format_table
    from sfxrep.index.label import abstains, evaluate_labels, rename_preview, suggest, write_suggestions
    from sfxrep.index.store import Index

    index = Index.open(ns.index)
    reference = reference_index(index, ns.reference, ns.work_dir, ns.cache_dir, not ns.no_progress)
    if ns.evaluate:
        libraries = sorted({r.library for r in reference.rows if r.library})
        print(f"{'library':<16} {'files':>5} {'classes':>7} {'top-1':>6} {'top-3':>6} {'macro-F1':>8} "
              f"{'chance top-1':>12} {'chance F1':>9}")
        for library in libraries:
            s = evaluate_labels(reference, library, k=ns.k)
            print(f"{library:<16} {s.files:>5} {s.classes:>7} {s.top1:>6.3f} {s.top3:>6.3f} {s.macro_f1:>8.3f} "
                  f"{s.chance_top1:>12.3f} {s.chance_macro_f1:>9.3f}")
        return
    calibration = reference_calibration(reference, ns.k)
    suggestions = suggest(index, reference, k=ns.k, top=ns.top, calibration=calibration)
    out = write_suggestions(suggestions, ns.out, ns.top, ns.min_confidence)
    unknown = sum(abstains(s, ns.min_confidence) for s in suggestions)
    far = sum(s.far for s in suggestions)
    print(f"{len(suggestions)} files labelled: {out}; {unknown} unknown (probability under {ns.min_confidence:g}), "
          f"{far} far from every reference file")
    print(f"how far the probabilities held on the reference's own files (each left out with its takes):\n"
          f"{format_table(calibration)}")
    if calibration.few_categories:
        print(f"sfxrep label: warning: the reference {ns.reference} has {calibration.categories} categories: whatever "
              "a file is, it is suggested one of these", file=sys.stderr)
    if far:
        print(f"sfxrep label: warning: {far} of {len(suggestions)} files are farther from every reference file than "
              f"{100 * (1 - FAR_QUANTILE):.0f} % of the reference's files are from theirs (column far): their suggestions "
              "are guesses", file=sys.stderr)
    if ns.rename_preview:
        if not reference.meta.get("ucs_libraries"):
            raise ValueError(f"{ns.reference}: --rename-preview needs a UCS-named reference library (kind: ucs)")
        unlabelled = [s for s in suggestions if s.current is None]
        for old, new in rename_preview(unlabelled, ns.creator_id, ns.source_id):
            print(f"{old} → {new}")
