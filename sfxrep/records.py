"""The results file: one :class:`ResultRow` per (run, library) as a JSON line, appended; the one way rows are
selected (:func:`select`); and text tables of them.

The bottom of the house: evaluation and the scenarios build rows; ``compare``, ``report``, ``claims`` and the W&B
definition read them through :func:`select` and :mod:`sfxrep.results.estimate`. Rows written by older versions
still load: a missing field takes its default, an unknown one is kept in ``extra`` (and written back flat).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

from sfxrep.fileio import append_jsonl, read_jsonl

NAN = float("nan")
# the paper's training scenarios (§5.2.1)
Scenario = Literal["within", "ucs_transfer", "cross"]


@dataclass
class ResultRow:
    """One evaluated library of one model.

    Attributes:
        run: run name (one per trained model).
        library: the evaluated library.
        scenario: ``within``, ``ucs_transfer``, ``cross``; ``released`` (a shipped model) or ``reference`` (log-mel,
            a random CNN9) for the reference models; ``esc50-5fold`` for ESC-50 rows.
        model: what produced the embeddings: ``sfxrep``, ``aisfx``, ``logmel`` … (RQ4).
        mixing, bn, fdr, fdr_threshold, loss, seed: the compared factors, as they ran.
        study, trial: the Optuna study and trial number of a tuning run.
        init: the warm start of a fine-tuned model (``aisfx`` or a checkpoint path); ``None`` from scratch.
        train_libraries: the libraries the model was trained on; ``seen_in_training`` says if this one was.
        width, k, precision: encoder width, kNN neighbours, training precision.
        embed_precision: the encoder's precision when embedding for the evaluation (``fp32``, ``bf16``).
        n_classes: classes of the library; the ``n_*`` counts describe the evaluation.
        frame_macro_f1, file_macro_f1: kNN macro-F1 per frame (paper) and per file (majority vote).
        frame_accuracy, file_accuracy: the same predictions' accuracy (ESC-50 is reported with it).
        dbi, dbi_train: Davies-Bouldin index of the z-scored test / train embeddings (NaN where undefined).
        protocol: ``kfold`` (grouped k-fold over every file: :mod:`sfxrep.evaluate.kfold`), ``split`` (the test
            split against the train split, rows before v2) or ``esc50``.
        folds, fold_seeds: the k-fold protocol's folds and fold seeds; ``n_unscorable_files``: files of classes with
            one group (references only).
        predictions: the id of this row's per-file predictions in the sibling ``*.predictions.jsonl``.
        checkpoint: the evaluated checkpoint; train_seconds, eval_seconds: timings; created: ISO time.
        extra: fields this version does not know (kept, written back).
    """

    run: str
    library: str
    scenario: str
    model: str = "sfxrep"
    mixing: str | None = None
    bn: str | None = None
    fdr: bool = False
    fdr_threshold: float | None = None
    loss: str = "ce"
    seed: int | None = None
    study: str | None = None
    trial: int | None = None
    init: str | None = None
    train_libraries: list[str] = field(default_factory=list)
    seen_in_training: bool = True
    width: int | None = None
    k: int = 1
    precision: str | None = None
    embed_precision: str | None = None
    n_classes: int = 0
    frame_macro_f1: float = NAN
    file_macro_f1: float = NAN
    frame_accuracy: float = NAN
    file_accuracy: float = NAN
    dbi: float = NAN
    dbi_train: float = NAN
    n_train_frames: int = 0
    n_test_frames: int = 0
    n_test_files: int = 0
    n_test_classes: int = 0
    bn_adapted_blocks: int = 0
    protocol: str = "split"
    folds: int | None = None
    fold_seeds: list[int] = field(default_factory=list)
    n_unscorable_files: int = 0
    predictions: str | None = None
    checkpoint: str | None = None
    train_seconds: float | None = None
    eval_seconds: float | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: dict) -> ResultRow:
        """A row from its JSON form; unknown keys go to ``extra``.

        Raises:
            ValueError: ``run``, ``library`` or ``scenario`` is missing.
        """
        names = {f.name for f in fields(cls)} - {"extra"}
        missing = {"run", "library", "scenario"} - set(raw)
        if missing:
            raise ValueError(f"a results row needs {sorted(missing)}; got keys {sorted(raw)[:8]}")
        known = {k: v for k, v in raw.items() if k in names}
        return cls(**known, extra={k: v for k, v in raw.items() if k not in names})

    def to_dict(self) -> dict:
        """The JSON form: every field, ``extra`` merged in flat."""
        out = asdict(self)
        return {**out.pop("extra"), **out}

    def get(self, column: str, default: object = None) -> object:
        """A field or an ``extra`` value by name."""
        if column != "extra" and column in self.__dataclass_fields__:
            return getattr(self, column)
        return self.extra.get(column, default)


# the columns a results table shows by default
RESULT_COLUMNS = ("run", "scenario", "library", "mixing", "bn", "fdr", "loss", "n_classes", "frame_macro_f1",
                  "file_macro_f1", "dbi")
# the factors a row is compared on (paper RQ1–RQ3); an FDR variant is named by its threshold (none = no FDR)
FACTORS = ("scenario", "library", "mixing", "bn", "fdr_threshold", "loss")


# what makes two rows the same configuration on the same library: a later row of the same seed replaces it
IDENTITY = ("model", "scenario", "library", "mixing", "bn", "fdr_threshold", "loss", "init", "width", "k", "protocol")


def row_key(row: ResultRow, columns: Iterable[str]) -> tuple[str, ...]:
    """``row``'s values of ``columns`` as lower-case text: how rows are grouped and matched everywhere."""
    return tuple(str(row.get(c)).lower() for c in columns)


def latest_per_seed(rows: Iterable[ResultRow]) -> list[ResultRow]:
    """One row per configuration, library and seed (or ESC-50 fold): the latest (re-running a seed replaces it)."""
    latest: dict[tuple, ResultRow] = {}
    for row in sorted(rows, key=lambda r: r.created):
        latest[(*row_key(row, IDENTITY), str(row.seed or 0), row.extra.get("fold"))] = row
    return list(latest.values())


def matches(row: ResultRow, config: Mapping[str, object]) -> bool:
    """Whether ``row`` has every ``config`` value (compared as lower-case text, so ``None`` matches a missing
    value, ``0.9`` matches ``"0.9"`` from the command line and ``"CE"`` matches ``"ce"``)."""
    return row_key(row, config) == tuple(str(value).lower() for value in config.values())


def select(rows: Iterable[ResultRow], config: Mapping[str, object] | None = None) -> list[ResultRow]:
    """The one way rows are chosen for a comparison: the latest row of each (configuration, library, seed) that
    matches ``config`` (see :func:`matches`; ``None``: every row)."""
    return [r for r in latest_per_seed(rows) if matches(r, config or {})]


def method_label(mixing: str | None, bn: str | None, fdr_threshold: float | None) -> str:
    """The paper's name of a cross-dataset method (§5.3): FDR, BN per library, X-Joint or X-Sequential."""
    if fdr_threshold is not None:
        return "FDR" if fdr_threshold == 0.9 else f"FDR ({fdr_threshold:g})"
    if bn == "per_library":
        return "BN per library"
    return {"joint": "X-Joint", "sequential": "X-Sequential"}.get(str(mixing), str(mixing))


def append_results(rows: Iterable[ResultRow], path: str | Path) -> None:
    """Append rows to a JSON-lines results file: whole lines, fsync'd (created with its folder if needed)."""
    append_jsonl((r.to_dict() for r in rows), path)


def predictions_path(results: str | Path) -> Path:
    """Where the per-file predictions of a results file's rows live: ``R.jsonl`` → ``R.predictions.jsonl``."""
    results = Path(results)
    return results.with_name(f"{results.stem}.predictions.jsonl")


def append_predictions(records: Iterable[dict], results: str | Path) -> None:
    """Append per-file prediction records (each with the ``row`` id of its results row) beside ``results``."""
    append_jsonl(records, predictions_path(results))


def read_predictions(results: str | Path) -> dict[str, list[dict]]:
    """Row id → its prediction records (one per fold seed), from the sibling of ``results`` (empty if none)."""
    path = predictions_path(results)
    out: dict[str, list[dict]] = {}
    if path.is_file():
        for record in read_jsonl(path):
            out.setdefault(record["row"], []).append(record)
    return out


def read_results(path: str | Path) -> list[ResultRow]:
    """The rows of a results file. A torn line (an interrupted writer) is skipped with a warning.

    Raises:
        ValueError: a row lacks ``run``, ``library`` or ``scenario`` (naming the file and line).
    """
    rows = []
    for n, raw in enumerate(read_jsonl(path), start=1):
        try:
            rows.append(ResultRow.from_dict(raw))
        except ValueError as err:
            raise ValueError(f"{path}: row {n}: {err}") from err
    return rows


def where(rows: Sequence[ResultRow], conditions: Sequence[str] | None) -> list[ResultRow]:
    """The rows matching every ``KEY=VALUE`` condition (the rule of :func:`matches`; ``KEY!=VALUE`` excludes).

    Raises:
        ValueError: a condition without ``=``.
    """
    out = list(rows)
    for condition in conditions or []:
        key, sep, value = condition.partition("=")
        if not sep or not key:
            raise ValueError(f"--where {condition!r}: expected KEY=VALUE or KEY!=VALUE")
        negate = key.endswith("!")
        out = [r for r in out if matches(r, {key.removesuffix("!"): value}) != negate]
    return out


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:+.3f}" if value < 0 else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def format_table(rows: Sequence[dict | ResultRow], columns: Sequence[str]) -> str:
    """A fixed-width text table of ``columns`` of ``rows``."""
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    line = lambda items: "  ".join(s.rjust(w) if i else s.ljust(w)
                                   for i, (s, w) in enumerate(zip(items, widths, strict=True)))
    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, cells)])
