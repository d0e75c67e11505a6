"""The ``sfxrep`` command.

    sfxrep train    --scenario within|ucs_transfer|cross [-c CONFIG] [--mixing] [--bn] [--fdr] [--loss] [-- ARGS]
    sfxrep fit      -c experiments/base.yaml [...]        LightningCLI (also validate, test)
    sfxrep evaluate CKPT [--libraries NAME ...] [--k 1]   kNN evaluation of a frozen encoder
    sfxrep prepare  LIBRARIES.yaml                        decode, cache, split, write the manifest
    sfxrep embed    CKPT FILES_OR_FOLDERS --out emb.npz   file-level embeddings (CKPT may be aisfx or logmel)
    sfxrep index    ROOT... --out INDEX [--model aisfx|CKPT]  embed a library into a searchable index (resumable)
    sfxrep search   INDEX QUERY.wav [--k 10] [--json]     the most similar indexed files
    sfxrep label    INDEX --reference LIBS.yaml[:library] suggested classes (UCS Category, CatID), top 3
    sfxrep compare  RESULTS.jsonl [--rq rq1|rq2|rq3]      RQ tables: Δ macro-F1 / Δ DBI against a baseline
    sfxrep report   RESULTS.jsonl --out report/ [--wandb-project P]   RQ1–RQ4 figures, index.html, W&B Report
    sfxrep corpus   build|plan [--only PACKAGE ...]        the public corpus from distribution packages
    sfxrep tune     [run|show|best] [train options] --trials 20 --study NAME [--storage URL] [--workers N]
"""

from __future__ import annotations

import argparse
import errno
import itertools
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from sfxrep.paths import CACHE_DIR, WORK_DIR

if TYPE_CHECKING:
    from sfxrep.data.datamodule import SfxDataModule
    from sfxrep.models.checkpoint import Checkpoint
    from sfxrep.models.module import SfxModule


def train_plan(ns: argparse.Namespace):
    """The :class:`~sfxrep.training.plan.TrainPlan` of ``sfxrep train`` / ``tune`` options (or of ``--plan``)."""
    from sfxrep.training.plan import TrainPlan

    if getattr(ns, "plan", None):
        return TrainPlan.from_json(Path(ns.plan).read_text())
    plan = TrainPlan.from_namespace(ns)
    plan.overrides = ns.overrides
    return plan


def _train(ns: argparse.Namespace) -> None:
    from sfxrep.training.scenarios import run_plan

    plan = train_plan(ns)
    run_plan(plan)
    print(f"results appended to {plan.results}")


def _tune(ns: argparse.Namespace) -> None:
    from sfxrep.tune.command import tune_command

    tune_command(ns, train_plan(ns) if ns.action == "run" else None)


def _evaluate(ns: argparse.Namespace) -> None:
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


def _prepare(ns: argparse.Namespace) -> None:
    from sfxrep.audio.cache import WaveCache
    from sfxrep.libraries.prepare import prepare
    from sfxrep.libraries.spec import load_libraries

    spec, cache = load_libraries(ns.libraries), WaveCache(ns.cache_dir)
    if ns.verify:
        bad = cache.verify()
        print(f"verified the wave cache {ns.cache_dir}: {len(bad)} bad entr{'y' if len(bad) == 1 else 'ies'} removed"
              + "".join(f"\n  {npy}: {problem}" for npy, problem in bad.items()))
    prepared = prepare(spec, ns.work_dir, cache, workers=ns.workers, force=ns.force)
    for report in prepared.reports:
        print(report.summary())
    print(f"manifest: {prepared.manifest_path}\nreport:   {prepared.folder / 'report.json'}")


def _release(ns: argparse.Namespace) -> None:
    import torch

    from sfxrep.data.datamodule import SfxDataModule
    from sfxrep.inference.registry import NAMED
    from sfxrep.models.checkpoint import load_checkpoint
    from sfxrep.models.release import WEIGHTS, check_release_name, export_release, probe_record, sha256
    from sfxrep.records import read_results

    check_release_name(ns.name, NAMED)
    source = Path(ns.checkpoint)
    if source.suffix == ".jsonl":  # a results file: the checkpoint its last row evaluated
        rows = [r for r in read_results(source) if r.checkpoint]
        if not rows:
            raise ValueError(f"{source}: no row names a checkpoint")
        source = Path(rows[-1].checkpoint)
    ckpt = load_checkpoint(source)
    data = SfxDataModule(**{k: v for k, v in ckpt.data.items() if not k.startswith("_")}).ready()
    module, info = ckpt.module, {}
    if ns.interpolate != "off":
        module, info = _interpolated(ckpt, data, ns.interpolate)
    blocks = [data.eval_dataset(library, "test") for library in data.spec.names]
    waves = torch.stack([dataset[i]["wave"] for dataset in blocks for i in range(0, len(dataset), 7)][:256])
    probe = [row.path for library in data.spec.names for row in data.rows(library, "test")[:2]]
    out, parity = export_release(module, Path(ns.out or WEIGHTS) / f"{ns.name}.pt", waves,
                                 checkpoint=str(ckpt.path), libraries=data.spec.names,
                                 probe=probe_record(module, probe), **info)
    print(f"{out}: {ns.name}, {out.stat().st_size / 1e6:.1f} MB, float16; embedding cosine to the checkpoint "
          f"≥ {parity:.5f} on {len(waves)} real test blocks; SHA-256 {sha256(out)}")


def _interpolated(ckpt: Checkpoint, data: SfxDataModule, how: str) -> tuple[SfxModule, dict]:
    """The weight-space ensemble of ``ckpt`` and its warm-start source (``--interpolate auto|α``), and its record
    for the release file (``interpolation``: start, alpha, the validation scores of every α tried)."""
    from sfxrep.evaluate.wise import choose_alpha
    from sfxrep.inference.registry import load_trainable
    from sfxrep.models.interpolate import interpolate

    if not ckpt.init:
        raise ValueError(f"{ckpt.path}: --interpolate needs a fine-tuned checkpoint (this run has no warm start)")
    from sfxrep.models.fingerprint import weights_sha256

    start = load_trainable(ckpt.init)
    if ckpt.init_sha256 is not None and weights_sha256(start.encoder) != ckpt.init_sha256:
        raise ValueError(f"--interpolate: {ckpt.init} is not the model {ckpt.path.name} was fine-tuned from (its "
                         f"encoder's SHA-256 is not the recorded {ckpt.init_sha256[:12]}…); restore that file, or "
                         "release with --interpolate off")
    record = {"start": ckpt.init}
    if how == "auto":
        choice = choose_alpha(start, ckpt.module, data)
        alpha = choice.alpha
        record["validation_frame_macro_f1"] = {f"{a:g}": round(v, 6) for a, v in choice.mean.items()}
        print(f"alpha {alpha:g} chosen on the validation splits")
    else:
        alpha = float(how)
    return interpolate(start, ckpt.module, alpha), {"interpolation": {**record, "alpha": alpha}}


def _alpha_or_auto(text: str) -> str:
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


def _embed(ns: argparse.Namespace) -> None:
    import numpy as np

    from sfxrep.api import embed_paths, load_model
    from sfxrep.fileio import check_writable

    out = check_writable(ns.out if str(ns.out).endswith(".npz") else f"{ns.out}.npz")  # numpy adds .npz
    from sfxrep.inference.precision import resolve_precision

    model = load_model(ns.checkpoint)
    precision = resolve_precision(ns.precision, model)
    files, embeddings, skipped = embed_paths(ns.paths, model, ns.library, ns.tail, ns.compile, precision)
    for path, reason in skipped:
        print(f"skipped {path}: {reason}")
    if not files:
        raise ValueError(f"no file could be embedded ({len(skipped)} skipped, reasons above); nothing written")
    broken = ~np.isfinite(embeddings).all(axis=1)
    if broken.any():  # as index does: a NaN vector finds nothing and poisons every distance computed with it
        raise ValueError(f"{files[int(np.argmax(broken))]}: the model {ns.checkpoint} gives non-finite embeddings (NaN "
                         f"or inf) for {int(broken.sum())} of {len(files)} files; are its weights broken? Nothing "
                         "written")
    np.savez(out, paths=np.array(files), embeddings=embeddings, skipped=np.array([f"{p}: {r}" for p, r in skipped]),
             precision=np.array(precision))
    print(f"{len(files)} files embedded ({embeddings.shape[1]}-d, encoder in {precision}), {len(skipped)} skipped → {out}")


def _quantize(ns: argparse.Namespace) -> None:
    from sfxrep.evaluate.gate import COSINE_MIN, F1_POINTS
    from sfxrep.evaluate.quantize import quantize_model

    path, gate = quantize_model(ns.model, ns.libraries, ns.out, ns.blocks)
    asked = f" (of {ns.blocks} asked: the train splits hold no more)" if gate["calibration_blocks"] < ns.blocks else ""
    print(f"int8 calibration of {ns.model} on {gate['calibration_blocks']} blocks{asked} of {ns.libraries}: {path}")
    print(f"accuracy gate on {gate['blocks']} blocks: cosine to fp32 min {gate['cosine_min']:.4f} (≥ {COSINE_MIN}), "
          f"kNN macro-F1 leave one file out {gate['lofo_delta_points']:+.2f} points (within ±{F1_POINTS}) → "
          + ("passed: --precision auto embeds this model in int8 on CPUs with VNNI or AMX" if gate["passes"] else
             "failed: int8 stays available as --precision int8, and auto does not pick it"))


def _report(ns: argparse.Namespace) -> None:
    from sfxrep.records import read_results
    from sfxrep.results.report.build import build_report

    page = build_report(ns.results, ns.out, ns.where, ns.omit or ())
    print(f"report: {page} (figures beside it)")
    if ns.wandb_project:
        from sfxrep.results.report.dashboard import build_dashboard

        print(build_dashboard(ns.wandb_project, ns.entity, read_results(ns.results), Path(ns.out) / "wandb_report.json"))


def _claims(ns: argparse.Namespace) -> None:
    from sfxrep.results.claims.command import claims_command

    claims_command(ns.results, study=ns.study, figures=ns.figures, label_issues=ns.label_issues)


def _compare(ns: argparse.Namespace) -> None:
    from sfxrep.results.compare import compare_command

    compare_command(ns)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sfxrep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    from sfxrep.training.plan import add_plan_options

    t = sub.add_parser("train", help="train and evaluate a scenario (paper 5.2)")
    add_plan_options(t, "train")
    t.add_argument("--plan", help="a TrainPlan as JSON (what a tuning trial on several devices runs); "
                                  "the options above are then ignored")
    t.set_defaults(func=_train)

    u = sub.add_parser("tune", help="Optuna search over a YAML space, each trial an sfxrep train run (paper 3.3)",
                       description="Actions: run (default) starts workers of a study; show prints its trials and "
                                   "parameter importances; best writes the best trial's settings as a config overlay.")
    u.add_argument("action", nargs="?", choices=("run", "show", "best"), default="run")
    add_plan_options(u, "tune")
    from sfxrep.tune.command import add_tune_options

    add_tune_options(u)
    u.set_defaults(func=_tune)


    e = sub.add_parser("evaluate", help="kNN evaluation of a checkpoint's frozen embeddings")
    e.add_argument("models", nargs="+", metavar="MODEL",
                   help="a .ckpt, or a model by name: aisfx (the authors' release), logmel (untrained log-mel "
                        "statistics), cnn9-random (untrained CNN9), a shipped release (sfxrep-v1), openl3 (if "
                        "installed); baseline:NAME works too")
    e.add_argument("--protocol", choices=("kfold", "split", "libraries", "esc50"), default="kfold",
                   help="kfold (default): every file by grouped, stratified k-fold 1-NN over fold seeds, per-file "
                        "predictions beside --results; split (alias libraries): the test split against the train "
                        "split; esc50: the 5 official folds of --root")
    e.add_argument("--folds", type=int, default=5, help="k of --protocol kfold (paper's ESC-50 protocol: 5)")
    e.add_argument("--fold-seeds", type=int, nargs="+", default=[0, 1, 2], help="fold seeds of --protocol kfold")
    e.add_argument("--root", help="the ESC-50 folder for --protocol esc50")
    e.add_argument("--cache-dir", default=CACHE_DIR, help="wave cache for --protocol esc50")
    e.add_argument("--libraries", nargs="+", help="library names (default: every library of the run's YAML)")
    e.add_argument("--libraries-yaml", help="evaluate the libraries of another YAML")
    from sfxrep.index.command import add_index_commands, positive

    e.add_argument("--k", type=positive, default=1, help="neighbours of the kNN (paper: 1)")
    e.add_argument("--scenario", help="recorded scenario (default: inferred)")
    e.add_argument("--run", help="run name for the rows")
    e.add_argument("--results", default="runs/results.jsonl")
    from sfxrep.inference.precision import EMBED_PRECISIONS

    e.add_argument("--precision", choices=EMBED_PRECISIONS, default="auto",
                   help="the encoder's precision: auto = bf16 where this machine has it natively (AMX, AVX512-BF16, a "
                        "CUDA GPU), else fp32; recorded in each row")
    e.set_defaults(func=_evaluate)

    p = sub.add_parser("prepare", help="decode, cache and split the libraries of a YAML file")
    p.add_argument("libraries")
    p.add_argument("--work-dir", default=WORK_DIR)
    p.add_argument("--cache-dir", default=CACHE_DIR)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--force", action="store_true", help="retry files whose decoding failed before")
    p.add_argument("--verify", action="store_true", help="read every cached array first; bad ones are decoded again")
    p.set_defaults(func=_prepare)

    rel = sub.add_parser("release", help="write a checkpoint as a half-precision release shipped in the package")
    rel.add_argument("checkpoint", help="a .ckpt, or a results file (its last row's checkpoint)")
    rel.add_argument("--name", default="sfxrep-v1", help="the release's name (sfxrep embed NAME …)")
    rel.add_argument("--out", help="folder of the release file (default: the package's models/weights/)")
    rel.add_argument("--interpolate", type=_alpha_or_auto, default="off",
                     help="WiSE-FT: release (1 − α)·start + α·fine-tuned, the start being the run's warm-start "
                          "source; 'auto' picks α from 0, .25, .5, .75, 1 on the validation splits (default: off)")
    rel.set_defaults(func=_release)

    m = sub.add_parser("embed", help="file-level embeddings of sound files and folders (for indexing)")
    from sfxrep.inference.registry import names as model_names

    m.add_argument("checkpoint", metavar="MODEL", help=f"a model by name ({', '.join(model_names())}), or a .ckpt or "
                                                        "release .pt")
    m.add_argument("paths", nargs="+", help="files and folders (searched recursively)")
    m.add_argument("--out", default="embeddings.npz", help="npz with paths, embeddings (n, D), skipped")
    m.add_argument("--library", help="BatchNorm set of a per-library-BN model")
    m.add_argument("--tail", action=argparse.BooleanOptionalAction, default=False,
                   help="embed each file's zero-padded last partial block (default: no, as aiSFX)")
    m.add_argument("--compile", action="store_true", help="torch.compile the encoder (see sfxrep.inference.embedding)")
    m.add_argument("--precision", choices=EMBED_PRECISIONS, default="auto",
                   help="the encoder's precision: auto = bf16 where this machine has it natively, else fp32")
    m.set_defaults(func=_embed)

    add_index_commands(sub)
    from sfxrep.audit.command import add_audit_command

    add_audit_command(sub)

    qz = sub.add_parser("quantize", help="calibrate a model's int8 encoder for --precision int8 (CPUs with VNNI/AMX)")
    qz.add_argument("model", help="a CNN9 model by name (aisfx, a shipped release) or an sfxrep .ckpt or release .pt")
    qz.add_argument("--libraries", required=True, help="libraries YAML whose train splits calibrate it")
    qz.add_argument("--blocks", type=positive, default=1024, help="calibration blocks (default 1024)")
    qz.add_argument("--out", help="folder to save it in (default $SFXREP_INT8_DIR or ~/.cache/sfxrep/int8)")
    qz.set_defaults(func=_quantize)

    r = sub.add_parser("report", help="RQ1–RQ4 figures and index.html from a results file; a W&B Report")
    r.add_argument("results", type=Path)
    r.add_argument("--out", default="report", help="folder of the figures and index.html")
    r.add_argument("--wandb-project", help="also build a W&B Report over this project's runs")
    r.add_argument("--entity", help="W&B entity (team or user) of the project")
    r.add_argument("--where", nargs="+", metavar="KEY=VALUE", help="only rows with these values (KEY!=VALUE: without)")
    r.add_argument("--omit", nargs="+", metavar="NAME", help="models or protocols outside the study's scope (e.g. "
                   "openl3 esc50): left out of the figures instead of drawn as 'not run', and named on the page")
    r.set_defaults(func=_report)

    q = sub.add_parser("claims", help="the paper's claims (§6) measured on a study's results: mean and 95 %% CI "
                                      "over seeds, a verdict per claim, one figure each")
    q.add_argument("results", type=Path)
    q.add_argument("--study", help="a Markdown file whose claims section (between its markers) is rewritten")
    q.add_argument("--figures", help="folder of the claims' figures (default: <study folder>/report/claims)")
    q.add_argument("--label-issues", help="label-issue rate per library (JSON; default: label_issues.json beside "
                                          "RESULTS), which tells messy libraries from clean ones for claim 6")
    q.set_defaults(func=_claims)

    from sfxrep.corpus.command import add_corpus_parser

    add_corpus_parser(sub)

    c = sub.add_parser("compare", help="RQ tables from a results file (Δ vs a baseline)")
    c.add_argument("results", type=Path)
    from sfxrep.results.comparisons import QUESTIONS, TABLES

    c.add_argument("--rq", choices=TABLES, default=TABLES[0],
                   help="; ".join(f"{key}: {QUESTIONS[key].title}" for key in TABLES))
    c.add_argument("--by", help="comma-separated variant columns (overrides the preset)")
    c.add_argument("--baseline", help="comma-separated baseline values of --by")
    c.add_argument("--match", help="comma-separated columns that must be equal within a comparison")
    c.add_argument("--metrics", nargs="+", default=["frame_macro_f1", "file_macro_f1", "dbi", "dbi_train"])
    c.add_argument("--absolute", action="store_true", help="values side by side instead of deltas")
    c.add_argument("--where", nargs="+", metavar="KEY=VALUE", help="only rows with these values (e.g. loss=ce)")
    c.add_argument("--models", nargs="+", metavar="MODEL",
                   help="A B: the paired comparison of B against A (model or run names of k-fold rows): per library "
                        "and overall, B − A with its 95 %% interval, p (Holm) and the minimum detectable difference")
    from sfxrep.results.paired import METRICS

    c.add_argument("--metric", default=METRICS[0], choices=METRICS, help="the metric of --models")
    c.add_argument("--libraries", nargs="+", help="only these libraries (--models)")
    c.add_argument("--boot", type=int, default=1000, help="bootstrap draws and permutations of --models")
    c.add_argument("--json", action="store_true", help="--models: one JSON object per library, then overall")
    c.set_defaults(func=_compare)
    return parser


def _lightning(argv: list[str]) -> None:
    from sfxrep.fileio import check_yaml_mapping
    from sfxrep.training.lightning_cli import SfxLightningCLI

    for flag, value in itertools.pairwise(argv):  # name a broken config file (jsonargparse does not)
        if flag in ("-c", "--config"):
            check_yaml_mapping(value)
    SfxLightningCLI(args=argv)


BAD_INPUT = 2  # exit status of a user's mistake: a missing or invalid file, a bad setting or value
BUG = 70  # exit status of an unexpected exception (EX_SOFTWARE): a bug of sfxrep, never the user's fault
INTERRUPTED = 143  # 128 + SIGTERM: stopped by a signal (preemption), resumable; never 0


def main(argv: list[str] | None = None) -> None:
    """``sfxrep …``. Bad input (a missing or invalid file, a bad setting or value: ``OSError``, ``ValueError``) is
    one line naming it, exit 2; a run stopped by SIGTERM is one line saying how to resume, exit 143; any other
    exception is a bug: its traceback, one line saying so, exit 70.
    ``SFXREP_DEBUG=1`` shows the traceback of bad input too."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints as \xff escapes, never a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    if argv and argv[0] in ("fit", "validate", "test"):
        command, run = argv[0], lambda: _lightning(argv)
    elif argv[:2] == ["index", "merge"]:
        from sfxrep.index.cluster import merge_command
        from sfxrep.index.command import merge_parser

        ns = merge_parser().parse_intermixed_args(argv[2:])
        command, run = "index merge", lambda: merge_command(ns.out, ns.shards)
    else:
        overrides = argv[argv.index("--") + 1:] if "--" in argv else []  # LightningCLI arguments, as they are
        ns = build_parser().parse_args(argv[: len(argv) - len(overrides) - bool(overrides or "--" in argv)])
        ns.overrides = overrides
        command, run = ns.command, lambda: ns.func(ns)
    try:
        run()
    except _bad_input() as err:
        if os.environ.get("SFXREP_DEBUG"):
            raise
        message = err
        if isinstance(err, OSError) and err.filename and str(err.filename) not in str(message):
            message = f"{err.filename}: {err.strerror or message}"
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            message = f"{message} (disk full: free space there, or point the output elsewhere)"
        print(f"sfxrep {command}: error: {' '.join(str(message).split())}", file=sys.stderr)
        raise SystemExit(BAD_INPUT) from err
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:
        from sfxrep.training.lightning_cli import Interrupted

        if not isinstance(err, Interrupted):
            _bug(command, err)
        print(f"sfxrep {command}: interrupted ({err}); resume with --resume", file=sys.stderr)
        raise SystemExit(INTERRUPTED) from err


def _bad_input() -> tuple[type[Exception], ...]:
    """The exceptions that are a user's mistake: OSError, ValueError, and Lightning's own verdict on a setting
    (``--trainer.max_epochs -3``) where Lightning was imported."""
    kinds: tuple[type[Exception], ...] = (OSError, ValueError)
    exceptions = sys.modules.get("lightning.fabric.utilities.exceptions")
    return (*kinds, exceptions.MisconfigurationException) if exceptions is not None else kinds


def _bug(command: str, err: Exception) -> None:
    """An unexpected exception: its traceback, one line saying it is a bug, exit 70."""
    traceback.print_exc()
    print(f"sfxrep {command}: internal error ({type(err).__name__}): this is a bug in sfxrep, not in your "
          "input; please report it with the traceback above", file=sys.stderr)
    raise SystemExit(BUG) from err


if __name__ == "__main__":
    main()
