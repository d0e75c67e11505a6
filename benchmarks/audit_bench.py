"""``sfxrep audit`` on real libraries as shipped (at most 3 % of the files flagged) and with damage injected where we
know it (mislabel precision@N ≥ 0.6, duplicate recall ≥ 0.9 with ≤ 1 false pair per 1,000 files).

A copy of folder-labelled libraries of ``../shared/data`` gets two kinds of damage:

* **flipped labels**: ``flip`` (5 %) of the files, drawn at random, are put into another class's folder;
* **near-duplicates**: ``duplicates`` (20) files get a derived copy beside them: trimmed by 0.1–0.3 s, gain ±6 dB,
  then resampled to 22.05 kHz (WAV), re-encoded to OGG Vorbis, or to FLAC at 22.05 kHz (in turn).

The copy is indexed with ``--model`` and audited. Reported: precision and recall of the mislabel ranking at
N = the number flipped (and of the flagged list), duplicate recall (injected copies found in their original's
cluster), the verified pairs that are not injected copies (split into exact copies that were already in the
libraries, which are real duplicates, and the rest, counted as false pairs: an upper bound, since these libraries
hold real near-copies too, e.g. one drum machine's kick at several decay settings, or one sample in two
libraries), and seconds per 1,000 files.

    python -m benchmarks.audit_bench [--libraries dirt_oneshots redeclipse_sounds …] [--model aisfx]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import yaml

from sfxrep.audio.decode import audio_files

FOLDER_LIBRARIES = ("dirt_oneshots", "redeclipse_sounds", "retro512_junkala", "lmms_samples")


def damage(shared: Path, out: Path, libraries: list[str], flip: float = 0.05, duplicates: int = 20,
           seed: int = 0) -> dict:
    """Copy ``libraries`` (folder-labelled: class = first folder) into ``out`` with flipped labels and derived
    copies; returns the ground truth (``flipped``: path → true class, ``copies``: copy → original) and the YAML."""
    rng = np.random.default_rng(seed)
    truth: dict = {"flipped": {}, "copies": {}}
    entries = []
    for library in libraries:
        root = shared / library
        files = [p for p in audio_files([root]) if len(p.relative_to(root).parts) > 1]
        classes = sorted({p.relative_to(root).parts[0] for p in files})
        flipped = set(rng.choice(len(files), size=max(1, round(flip * len(files))), replace=False).tolist())
        for i, path in enumerate(files):
            rel = path.relative_to(root)
            label = rel.parts[0]
            if i in flipped:
                label = str(rng.choice([c for c in classes if c != rel.parts[0]]))
            target = out / library / label / Path(*rel.parts[1:])
            if target.exists():  # a file of that name is already in the class it moves to
                target = target.with_name(f"{target.stem}~{i}{target.suffix}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            if i in flipped:
                truth["flipped"][str(target.resolve())] = rel.parts[0]
        entries.append({"name": library, "kind": "folder", "root": str((out / library).resolve())})
    pool = [p for p in audio_files([out]) if str(p.resolve()) not in truth["flipped"]]
    chosen = rng.choice(len(pool), size=duplicates, replace=False)
    for n, index in enumerate(chosen):
        original = pool[int(index)]
        samples, rate = sf.read(original, dtype="float32", always_2d=True)
        trim = int(rng.uniform(0.1, 0.3) * rate)
        if len(samples) < 2 * trim:
            trim = len(samples) // 4
        gain = 10 ** (rng.choice([-6.0, 6.0]) / 20)
        cut = samples[trim:] if n % 2 == 0 else samples[: len(samples) - trim]
        copy = np.clip(cut * gain, -1, 1)
        kind = ("wav", "ogg", "flac")[n % 3]
        target = original.with_name(f"{original.stem} (copy {n}).{kind}")
        out_rate = 22_050 if kind in ("wav", "flac") else rate
        if out_rate != rate:
            copy = soxr.resample(copy, rate, out_rate)
        subtype = {"wav": "PCM_16", "ogg": "VORBIS", "flac": "PCM_16"}[kind]
        sf.write(target, copy, out_rate, format=kind.upper(), subtype=subtype)
        truth["copies"][str(target.resolve())] = str(original.resolve())
    spec = out / "libraries.yaml"
    spec.write_text(yaml.safe_dump({"split": {"seed": 0, "min_per_class": 2}, "libraries": entries}))
    truth["yaml"] = str(spec)
    return truth


def scores(audit, truth: dict) -> dict:
    """The audit against the injected damage."""
    from sfxrep.audio.decode import decode

    flipped = set(truth["flipped"])
    judged = audit.ranked
    n = len(flipped)
    top = judged[:n]
    hits = sum(s.path in flipped for s in top)
    flagged = audit.suspects
    flagged_hits = sum(s.path in flipped for s in flagged)
    suggestion_right = sum(s.path in flipped and s.suggestion == truth["flipped"][s.path] for s in top)
    cluster_of = {f: k for k, c in enumerate(audit.clusters) for f in c.files}
    found = sum(copy in cluster_of and cluster_of.get(copy) == cluster_of.get(orig)
                for copy, orig in truth["copies"].items())
    injected = {frozenset(p) for p in truth["copies"].items()}
    copies = set(truth["copies"])
    others = [p for p in audit.pairs if p.kind != "different" and frozenset((p.a, p.b)) not in injected
              and p.a not in copies and p.b not in copies]
    identical = 0
    for p in others:  # copies that were already in the libraries: the same decoded audio
        a, b = decode(p.a).samples, decode(p.b).samples
        identical += len(a) == len(b) and float(np.abs(a - b).max(initial=0)) < 1e-3
    files = audit.files
    return {"files": files, "flipped": n, "precision_at_n": round(hits / n, 3), "recall_at_n": round(hits / n, 3),
            "suggestion_right_at_n": round(suggestion_right / max(hits, 1), 3), "flagged": len(flagged),
            "flagged_precision": round(flagged_hits / max(len(flagged), 1), 3),
            "flagged_recall": round(flagged_hits / n, 3), "chance_precision": round(n / max(len(judged), 1), 3),
            "not_judged": sum(v.not_judged for v in audit.verdicts),
            "duplicates_injected": len(truth["copies"]), "duplicate_recall": round(found / len(truth["copies"]), 3),
            "pairs_not_injected": len(others), "preexisting_identical_pairs": identical,
            "false_pairs": len(others) - identical,
            "other_pairs_by_correlation": {
                band: sum(lo <= p.correlation < hi for p in others)
                for band, (lo, hi) in {"0.90-0.95": (0.90, 0.95), "0.95-0.99": (0.95, 0.99), ">=0.99": (0.99, 2.0)}.items()},
            "false_pairs_per_1k_files": round(1000 * (len(others) - identical) / files, 2),
            "candidate_pairs": len(audit.pairs), "seconds": audit.seconds,
            "audit_s_per_1k_files": round(1000 * sum(audit.seconds.values()) / files, 1),
            "other_pairs": [(Path(p.a).name, Path(p.b).name, p.correlation, p.steady) for p in others][:20]}


def clean_flag_rate(shared: Path, libraries: list[str], model: str, tmp: Path) -> dict:
    """The libraries as shipped (no damage) audited: the share of files flagged. A librarian meets clean libraries
    first; every flag there is a false alarm, or a real mislabel of the shipped library."""
    from sfxrep.audit.run import run_audit
    from sfxrep.index.store import Index

    entries = [{"name": name, "kind": "folder", "root": str((shared / name).resolve())} for name in libraries]
    spec = tmp / "clean.yaml"
    spec.write_text(yaml.safe_dump({"split": {"seed": 0, "min_per_class": 2}, "libraries": entries}))
    index, _ = Index.build(tmp / "clean-index", model=model, libraries=spec, work_dir=tmp / "prepared",
                           cache_dir=tmp / "cache", progress=False)
    audit = run_audit(index, duplicates=False, log=lambda m: print("  clean " + m))
    judged = len(audit.ranked)
    return {"clean_files": audit.files, "clean_judged": judged, "clean_flagged": len(audit.suspects),
            "clean_flag_rate": round(len(audit.suspects) / max(judged, 1), 4),
            "clean_weak": sum(s.evidence == "weak" for s in audit.ranked)}


def audit_bench(shared: Path, libraries: list[str], model: str = "aisfx", seed: int = 0,
                work: Path | None = None, duplicates: int = 20) -> dict:
    """Audit the libraries as shipped (the false-alarm rate), then damage, index, audit and score; the figures."""
    from sfxrep.audit.run import run_audit
    from sfxrep.index.store import Index

    with tempfile.TemporaryDirectory(dir=work) as tmp:
        tmp = Path(tmp)
        clean = clean_flag_rate(shared, libraries, model, tmp)
        truth = damage(shared, tmp / "libraries", libraries, seed=seed, duplicates=duplicates)
        start = time.perf_counter()
        index, _ = Index.build(tmp / "index", model=model, libraries=truth["yaml"], work_dir=tmp / "prepared",
                               cache_dir=tmp / "cache", progress=False)
        index_s = time.perf_counter() - start
        audit = run_audit(index, log=lambda m: print("  " + m))
        figures = {**scores(audit, truth), **clean}
    figures.update(model=model, libraries=libraries, index_s_per_1k_files=round(1000 * index_s / figures["files"], 1))
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--libraries", nargs="+", default=list(FOLDER_LIBRARIES))
    parser.add_argument("--model", default="aisfx")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    figures = audit_bench(Path(args.shared), args.libraries, args.model, args.seed)
    report(figures)


def report(f: dict) -> None:
    print(f"audit of {f['clean_files']} files ({', '.join(f['libraries'])}) as shipped, model {f['model']}: "
          f"{f['clean_flagged']} flagged = {100 * f['clean_flag_rate']:.1f} % of {f['clean_judged']} judged (goal ≤ 3 %), "
          f"{f['clean_weak']} more listed as weak evidence")
    print(f"audit of {f['files']} files, damage injected:")
    print(f"  mislabels: {f['flipped']} flipped; precision@N {f['precision_at_n']:.3f} (chance "
          f"{f['chance_precision']:.3f}), right suggestion for {100 * f['suggestion_right_at_n']:.0f} % of the hits; "
          f"flagged {f['flagged']} (precision {f['flagged_precision']:.3f}, recall {f['flagged_recall']:.3f}); "
          f"{f['not_judged']} files in classes of < 3 not judged")
    print(f"  duplicates: recall {f['duplicate_recall']:.3f} of {f['duplicates_injected']} injected; "
          f"{f['pairs_not_injected']} other verified pairs ({f['preexisting_identical_pairs']} identical copies "
          f"already in the libraries, {f['false_pairs']} counted false: {f['false_pairs_per_1k_files']:.2f} per "
          f"1,000 files, an upper bound: the libraries hold real near-copies); {f['candidate_pairs']} candidate pairs "
          f"checked; the other pairs by correlation: {f['other_pairs_by_correlation']}")
    print(f"  time: audit {f['audit_s_per_1k_files']:.1f} s per 1,000 files ({f['seconds']}), indexing "
          f"{f['index_s_per_1k_files']:.1f} s per 1,000 files")
    for a, b, correlation, steady in f["other_pairs"]:
        print(f"    other pair: {a} ~ {b}: correlation {correlation:.4f}, steady {steady:.2f}")
    print(json.dumps({k: v for k, v in f.items() if k != "other_pairs"}))


if __name__ == "__main__":
    main()
