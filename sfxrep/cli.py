"""The ``sfxrep`` command.

    sfxrep train    --scenario within|ucs_transfer|cross [-c CONFIG] [--mixing] [--bn] [--fdr] [--loss] [-- ARGS]
    sfxrep fit      -c experiments/base.yaml [...]        LightningCLI (also validate, test)
    sfxrep evaluate CKPT [--libraries NAME ...] [--k 1]   kNN evaluation of a frozen encoder
    sfxrep prepare  LIBRARIES.yaml                        decode, cache, split, write the manifest
    sfxrep embed    MODEL FILES_OR_FOLDERS --out emb.npz  file-level embeddings (MODEL: aisfx, logmel, a .ckpt …)
    sfxrep quantize MODEL --libraries LIBRARIES.yaml      an int8 calibration and its accuracy gate
    sfxrep release  CKPT --name NAME                      a checkpoint as a half-precision release
    sfxrep index    ROOT... --out INDEX [--model aisfx|CKPT]  embed a library into a searchable index (resumable)
    sfxrep search   INDEX QUERY.wav [--k 10] [--json]     the most similar indexed files
    sfxrep label    INDEX --reference LIBS.yaml[:library] suggested classes (UCS Category, CatID), top 3
    sfxrep audit    INDEX --out DIR                       suspected mislabels, duplicates, crosswalks; audit.html
    sfxrep compare  RESULTS.jsonl [--rq rq1|rq2|rq3]      RQ tables: Δ macro-F1 / Δ DBI against a baseline
    sfxrep report   RESULTS.jsonl --out report/ [--wandb-project P]   RQ1–RQ4 figures, index.html, W&B Report
    sfxrep claims   RESULTS.jsonl [--study STUDY.md]      the paper's claims, a verdict each
    sfxrep corpus   build|plan [--only PACKAGE ...]        the public corpus from distribution packages
    sfxrep tune     [run|show|best] [train options] --trials 20 --study NAME [--storage URL] [--workers N]
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import traceback

from sfxrep.allocator import retain_freed_memory


def build_parser() -> argparse.ArgumentParser:
    """The ``sfxrep`` parser: every package adds its own subcommands (parser and handler live beside the package)."""
    from sfxrep.audit.command import add_commands as audit
    from sfxrep.corpus.command import add_commands as corpus
    from sfxrep.evaluate.command import add_commands as evaluate
    from sfxrep.index.command import add_commands as index
    from sfxrep.inference.command import add_commands as embed
    from sfxrep.libraries.command import add_commands as prepare
    from sfxrep.results.command import add_commands as results
    from sfxrep.training.command import add_commands as training
    from sfxrep.tune.command import add_commands as tune

    parser = argparse.ArgumentParser(prog="sfxrep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (training, tune, evaluate, prepare, embed, index, audit, results, corpus):
        add(sub)
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """``argv`` → the parsed command. Arguments after ``--`` are LightningCLI overrides (``train``, ``tune``) kept
    as they are in ``overrides``; ``fit``/``validate``/``test`` hand every argument to LightningCLI
    (``passthrough_args``); a command whose parser names an ``intermixed`` list positional (``index ROOT...``,
    ``index merge SHARD...``) takes more of it after its options."""
    overrides = argv[argv.index("--") + 1:] if "--" in argv else []
    parser = build_parser()
    ns, rest = parser.parse_known_args(argv[: len(argv) - len(overrides) - ("--" in argv)])
    intermixed = getattr(ns, "intermixed", None)  # a list positional that may also follow the options
    if rest and intermixed and not any(arg.startswith("-") for arg in rest):
        getattr(ns, intermixed).extend(rest)
        rest = []
    if rest and not getattr(ns, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    ns.overrides, ns.passthrough_args = overrides, rest
    return ns


BAD_INPUT = 2  # exit status of a user's mistake: a missing or invalid file, a bad setting or value
BUG = 70  # exit status of an unexpected exception (EX_SOFTWARE): a bug of sfxrep, never the user's fault
INTERRUPTED = 143  # 128 + SIGTERM: stopped by a signal (preemption), resumable; never 0


def main(argv: list[str] | None = None) -> None:
    """``sfxrep …``. Bad input (a missing or invalid file, a bad setting or value: ``OSError``, ``ValueError``) is
    one line naming it, exit 2; a run stopped by SIGTERM is one line saying how to resume, exit 143; any other
    exception is a bug: its traceback, one line saying so, exit 70.
    ``SFXREP_DEBUG=1`` shows the traceback of bad input too."""
    argv = list(sys.argv[1:] if argv is None else argv)
    retain_freed_memory()  # a training step faults ~1.3 GB in from the kernel each step without it (allocator.py)
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 prints as \xff escapes, never a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    ns = parse(argv)
    command = "index merge" if ns.command == "index" and ns.roots[:1] == ["merge"] else ns.command
    try:
        ns.func(ns)
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
