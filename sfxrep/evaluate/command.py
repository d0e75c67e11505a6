"""``sfxrep evaluate`` (kNN of frozen embeddings: k-fold, split, ESC-50), ``sfxrep quantize`` (an int8 calibration
and its gate) and ``sfxrep release`` (a checkpoint as a shipped release)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sfxrep.inference.options import add_model, add_precision, positive
from sfxrep.paths import add_dirs


def alpha_or_auto(text: str) -> str:
    """``--interpolate``: ``off``, ``auto`` or a number in [0, 1]."""
    if text in ("off", "auto"):
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: give off, auto or an alpha in [0, 1]")
    return text


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``evaluate``, ``quantize`` and ``release`` to the ``sfxrep`` parser."""
    e = sub.add_parser("evaluate", help="kNN evaluation of a checkpoint's frozen embeddings")
    add_model(e, many=True, what=" (openl3 if installed; baseline:NAME works too)")
    e.add_argument("--protocol", choices=("kfold", "split", "libraries", "esc50"), default="kfold",
                   help="kfold (default): every file by grouped, stratified k-fold 1-NN over fold seeds, per-file "
                        "predictions beside --results; split (alias libraries): the test split against the train "
                        "split; esc50: the 5 official folds of --root")
    e.add_argument("--folds", type=int, default=5, help="k of --protocol kfold (paper's ESC-50 protocol: 5)")
    e.add_argument("--fold-seeds", type=int, nargs="+", default=[0, 1, 2], help="fold seeds of --protocol kfold")
    e.add_argument("--root", help="the ESC-50 folder for --protocol esc50")
    add_dirs(e, work=False, cache_help="wave cache for --protocol esc50")
    e.add_argument("--libraries", nargs="+", help="library names (default: every library of the run's YAML)")
    e.add_argument("--libraries-yaml", help="evaluate the libraries of another YAML")
    e.add_argument("--k", type=positive, default=1, help="neighbours of the kNN (paper: 1)")
    e.add_argument("--scenario", help="recorded scenario (default: inferred)")
    e.add_argument("--run", help="run name for the rows")
    e.add_argument("--results", default="runs/results.jsonl")
    add_precision(e, "recorded in each row")
    e.set_defaults(func=evaluate_command)

    qz = sub.add_parser("quantize", help="calibrate a model's int8 encoder for --precision int8 (CPUs with VNNI/AMX)")
    add_model(qz, what=" (a CNN9 model: not logmel or openl3)")
    qz.add_argument("--libraries", required=True, help="libraries YAML whose train splits calibrate it")
    qz.add_argument("--blocks", type=positive, default=1024, help="calibration blocks (default 1024)")
    qz.add_argument("--out", help="folder to save it in (default $SFXREP_INT8_DIR or ~/.cache/sfxrep/int8)")
    qz.set_defaults(func=quantize_command)

    rel = sub.add_parser("release", help="write a checkpoint as a half-precision release shipped in the package")
    rel.add_argument("checkpoint", help="a .ckpt, or a results file (its last row's checkpoint)")
    rel.add_argument("--name", default="sfxrep-v1", help="the release's name (sfxrep embed NAME …)")
    rel.add_argument("--out", help="folder of the release file (default: the package's models/weights/)")
    rel.add_argument("--interpolate", type=alpha_or_auto, default="off",
                     help="WiSE-FT: release (1 − α)·start + α·fine-tuned, the start being the run's warm-start "
                          "source; 'auto' picks α from 0, .25, .5, .75, 1 on the validation splits (default: off)")
    rel.set_defaults(func=release_command)


def evaluate_command(ns: argparse.Namespace) -> None:
    from sfxrep.evaluate.run import evaluate_checkpoint, evaluate_reference
    from sfxrep.inference.registry import is_named
    from sfxrep.models.baselines import OpenL3Unavailable
    from sfxrep.records import RESULT_COLUMNS, format_table

    protocol = {"libraries": "split"}.get(ns.protocol, ns.protocol)
    folds = {"protocol": protocol, "folds": ns.folds, "fold_seeds": ns.fold_seeds}
    for model in ns.models:
        name = model.removeprefix("baseline:")
        if protocol == "esc50":
            _esc50(ns, name, model)
            continue
        if is_named(name):
            if not ns.libraries_yaml:
                raise SystemExit(f"sfxrep evaluate {model} needs --libraries-yaml (the libraries to evaluate on)")
            try:
                rows = evaluate_reference(name, ns.libraries_yaml, libraries=ns.libraries, k=ns.k,
                                          results=ns.results, precision=ns.precision, **folds)
            except OpenL3Unavailable as err:
                print(f"sfxrep evaluate: {err}")
                continue
        else:
            rows = evaluate_checkpoint(model, libraries=ns.libraries, libraries_yaml=ns.libraries_yaml, k=ns.k,
                                       scenario=ns.scenario, run=ns.run, results=ns.results, precision=ns.precision,
                                       **folds)
        print(format_table(rows, RESULT_COLUMNS))


def _esc50(ns: argparse.Namespace, name: str, checkpoint: str) -> None:
    from sfxrep.evaluate.esc50 import esc50_protocol, summary
    from sfxrep.fileio import check_writable
    from sfxrep.inference.registry import is_named, load_model
    from sfxrep.models.baselines import OpenL3Unavailable
    from sfxrep.records import append_results

    if not ns.root:
        raise ValueError("--protocol esc50 needs --root (the ESC-50 folder with meta/esc50.csv and audio/)")
    check_writable(ns.results)
    try:
        module = load_model(name if is_named(name) else checkpoint)
    except OpenL3Unavailable as err:
        print(f"sfxrep evaluate: {err}")
        return
    model = name if is_named(name) else "sfxrep"
    run = name if is_named(name) else Path(checkpoint).resolve().parent.parent.name
    rows, skipped = esc50_protocol(module, ns.root, ns.cache_dir, ns.k, run,
                                   {"model": model, "checkpoint": None if model != "sfxrep" else checkpoint})
    for path, reason in skipped:
        print(f"skipped {path}: {reason}")
    append_results(rows, ns.results)
    print(summary(rows))


def quantize_command(ns: argparse.Namespace) -> None:
    from sfxrep.evaluate.gate import COSINE_MIN, F1_POINTS
    from sfxrep.evaluate.quantize import quantize_model

    path, gate = quantize_model(ns.model, ns.libraries, ns.out, ns.blocks)
    asked = f" (of {ns.blocks} asked: the train splits hold no more)" if gate["calibration_blocks"] < ns.blocks else ""
    print(f"int8 calibration of {ns.model} on {gate['calibration_blocks']} blocks{asked} of {ns.libraries}: {path}")
    print(f"accuracy gate on {gate['blocks']} blocks: cosine to fp32 min {gate['cosine_min']:.4f} (≥ {COSINE_MIN}), "
          f"kNN macro-F1 leave one file out {gate['lofo_delta_points']:+.2f} points (within ±{F1_POINTS}) → "
          + ("passed: --precision auto embeds this model in int8 on CPUs with VNNI or AMX" if gate["passes"] else
             "failed: int8 stays available as --precision int8, and auto does not pick it"))


def release_command(ns: argparse.Namespace) -> None:
    from sfxrep.evaluate.release import release_checkpoint

    done = release_checkpoint(ns.checkpoint, ns.name, ns.out, ns.interpolate)
    print(f"{done.path}: {done.name}, {done.path.stat().st_size / 1e6:.1f} MB, float16; embedding cosine to the "
          f"checkpoint ≥ {done.parity:.5f} on {done.blocks} real test blocks; SHA-256 {done.sha256}")
