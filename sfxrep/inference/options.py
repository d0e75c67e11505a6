"""The command-line options every embedding command shares, each declared once: the model (``embed``,
``evaluate``, ``index``, ``quantize``), the encoder's precision (``embed``, ``evaluate``, ``index``),
``--no-progress`` and the count type of every k, top and block number. (``--work-dir`` and ``--cache-dir`` are declared beside their defaults, in
:func:`sfxrep.paths.add_dirs`.)"""

from __future__ import annotations

import argparse

from sfxrep.inference.precision import EMBED_PRECISIONS


def positive(value: str) -> int:
    """An argparse type: an integer ≥ 1 (every k of a kNN, how many suggestions or blocks)."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {number}")
    return number


def add_no_progress(parser: argparse.ArgumentParser) -> None:
    """Declare ``--no-progress`` (long commands draw a progress bar on stderr unless told not to)."""
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def model_help(what: str = "") -> str:
    """How every MODEL argument is described: the shipped names, then what else it takes."""
    from sfxrep.inference.registry import names

    return (f"a model by name ({', '.join(names())}: aisfx is the authors' release, logmel untrained log-mel "
            f"statistics, cnn9-random an untrained CNN9), or an sfxrep .ckpt or release .pt{what}")


def add_model(parser: argparse.ArgumentParser, *, option: bool = False, many: bool = False, what: str = "") -> None:
    """Declare the model argument: positional ``MODEL`` (``many``: one or more, dest ``models``), or ``--model``
    (``option``: default ``None``, the command's own default). Its value is ``model`` either way."""
    if option:
        parser.add_argument("--model", default=None, metavar="MODEL", help=model_help(what))
    elif many:
        parser.add_argument("models", nargs="+", metavar="MODEL", help=model_help(what))
    else:
        parser.add_argument("model", metavar="MODEL", help=model_help(what))


def add_precision(parser: argparse.ArgumentParser, recorded: str) -> None:
    """Declare ``--precision`` (:mod:`sfxrep.inference.precision`); ``recorded``: where the command records what it
    resolved to."""
    parser.add_argument("--precision", choices=EMBED_PRECISIONS, default="auto",
                        help="the encoder's precision: auto (default) = int8 for a model whose int8 calibration "
                             "passed its accuracy gate on a CPU with VNNI or AMX, else bf16 where this machine has "
                             f"it natively (AMX, AVX512-BF16, a CUDA GPU), else fp32; {recorded}")
