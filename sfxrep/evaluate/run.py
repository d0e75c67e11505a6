"""``sfxrep evaluate CKPT``: kNN evaluation of a checkpoint's frozen encoder on every library."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sfxrep.data.datamodule import SfxDataModule
from sfxrep.evaluate.embed import adapt_batchnorm, embed_blocks
from sfxrep.evaluate.kfold import FOLD_SEEDS, FOLDS, kfold_evaluate
from sfxrep.evaluate.knn import knn_evaluate
from sfxrep.inference.precision import resolve_precision
from sfxrep.inference.registry import Embedder
from sfxrep.models.checkpoint import Checkpoint, load_checkpoint
from sfxrep.paths import CACHE_DIR, WORK_DIR
from sfxrep.records import ResultRow, append_predictions, append_results


def infer_scenario(train_libraries: list[str], library: str) -> str:
    """``within`` (trained on that library alone), ``ucs_transfer`` (one other library) or ``cross``."""
    if len(train_libraries) > 1:
        return "cross"
    return "within" if train_libraries == [library] else "ucs_transfer"


PROTOCOLS = ("kfold", "split")  # kfold: grouped k-fold over every file (the default); split: test vs train split


def evaluate_module(
    module: Embedder,
    data: SfxDataModule,
    *,
    libraries: list[str] | None = None,
    k: int = 1,
    scenario: str | None = None,
    run: str = "run",
    meta: dict | None = None,
    precision: str = "auto",
    keep: dict | None = None,
    protocol: str = "kfold",
    folds: int = FOLDS,
    fold_seeds: Sequence[int] = FOLD_SEEDS,
    predictions: list[dict] | None = None,
) -> list[ResultRow]:
    """kNN-evaluate ``module``'s frozen embeddings on each library.

    Args:
        module: the model (eval mode).
        data: the data module whose libraries are evaluated (prepared here if needed).
        libraries: names to evaluate; default every library of ``data``.
        k: neighbours (paper: 1).
        scenario: recorded scenario; default inferred from the trained and evaluated libraries.
        run: run name of the rows.
        meta: further :class:`ResultRow` fields for every row (mixing, fdr, checkpoint …).
        precision: the encoder's precision, ``auto`` (bf16 where native), ``fp32`` or ``bf16``; recorded in each
            row as ``embed_precision``.
        keep: when given, receives library → (scored embeddings, labels, class names) (for W&B figures).
        protocol: ``kfold`` (:mod:`sfxrep.evaluate.kfold`: every file, grouped folds, nested on trained libraries)
            or ``split`` (the test split against the train split).
        folds, fold_seeds: the k-fold protocol's folds (paper's ESC-50: 5) and fold seeds.
        predictions: when given, receives the per-file prediction records of every row (``row`` = its id).

    Raises:
        ValueError: a name in ``libraries`` is not a library of ``data``; an unknown ``protocol``.
    """
    unknown = sorted(set(libraries or ()) - set(data.spec.names))
    if unknown:
        raise ValueError(f"--libraries {unknown} not in {data.spec.source} (its libraries: {data.spec.names})")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    data.ready()
    precision = resolve_precision(precision, module)
    trained = list(getattr(module, "libraries", []))
    encoder, objective = getattr(module, "encoder", None), getattr(module, "objective", None)
    rows = []
    for library in libraries or data.spec.names:
        start = time.perf_counter()
        if protocol == "kfold":
            fields, records = _kfold_library(module, data, library, library in trained, k, folds, fold_seeds,
                                             precision, keep)
        else:
            fields, records = _split_library(module, data, library, k, precision, keep), []
        if fields is None:
            continue
        row = ResultRow.from_dict(dict(  # a meta key the schema does not know is kept in the row's extra
            run=run, library=library, scenario=scenario or infer_scenario(trained, library),
            train_libraries=trained, seen_in_training=library in trained, bn=getattr(encoder, "bn", None),
            loss=objective.name if objective is not None else "none", width=getattr(encoder, "width", None), k=k,
            n_classes=len(data.classes[library]), embed_precision=precision, protocol=protocol,
            **fields, eval_seconds=round(time.perf_counter() - start, 2), **(meta or {}),
        ))
        if records:
            row.predictions = uuid.uuid4().hex[:16]
            if predictions is not None:
                predictions += [{"row": row.predictions, "run": row.run, "model": row.model, "seed": row.seed,
                                 **r.to_dict()} for r in records]
        rows.append(row)
    return rows


def _split_library(module: Embedder, data: SfxDataModule, library: str, k: int, precision: str,
                   keep: dict | None) -> dict | None:
    """The test split scored against the train split (the paper's protocol; rows before v2)."""
    train, test = data.eval_dataset(library, "train"), data.eval_dataset(library, "test")
    if not len(test):
        print(f"[evaluate] {library}: no test files, skipped")
        return None
    adapted = adapt_batchnorm(module, train)
    a, b = embed_blocks(module, train, precision=precision), embed_blocks(module, test, precision=precision)
    score = knn_evaluate(a.embeddings, a.labels, b.embeddings, b.labels, b.files, k=k)
    if keep is not None:
        keep[library] = (b.embeddings, b.labels, data.classes[library])
    return {**vars(score), "bn_adapted_blocks": adapted}


def _kfold_library(module: Embedder, data: SfxDataModule, library: str, seen: bool, k: int, folds: int,
                   fold_seeds: Sequence[int], precision: str, keep: dict | None) -> tuple[dict | None, list]:
    """Every file of ``library`` scored by grouped k-fold 1-NN; on a library the model trained on, only its test
    split's files are queries (nested)."""
    rows = data.rows(library)
    if not rows:
        print(f"[evaluate] {library}: no files, skipped")
        return None, []
    dataset = data.eval_dataset(library, None)
    adapted = adapt_batchnorm(module, dataset)
    embedded = embed_blocks(module, dataset, precision=precision)
    root = os.path.commonpath([os.path.dirname(r.path) for r in rows])
    queries = np.array([r.split == "test" for r in rows]) if seen else None
    score, records = kfold_evaluate(embedded, data.classes[library], [os.path.relpath(r.path, root) for r in rows],
                                    [r.source or r.path for r in rows], library=library, queries=queries,
                                    k=folds, fold_seeds=fold_seeds, knn_k=k)
    if keep is not None:
        scored = np.isin(embedded.files, np.flatnonzero(queries)) if queries is not None else slice(None)
        keep[library] = (embedded.embeddings[scored], embedded.labels[scored], data.classes[library])
    fields = {**vars(score), "bn_adapted_blocks": adapted, "n_train_frames": len(embedded.files)}
    return fields, records


def _write(rows: list[ResultRow], predictions: list[dict], results: str | Path | None) -> None:
    if results is not None:
        append_predictions(predictions, results)  # first: a row never points at predictions not yet written
        append_results(rows, results)


def evaluate_checkpoint(
    checkpoint: str | Path | Checkpoint,
    *,
    libraries: list[str] | None = None,
    libraries_yaml: str | None = None,
    k: int = 1,
    scenario: str | None = None,
    run: str | None = None,
    results: str | Path | None = None,
    precision: str = "auto",
    meta: dict | None = None,
    keep: dict | None = None,
    protocol: str = "kfold",
    folds: int = FOLDS,
    fold_seeds: Sequence[int] = FOLD_SEEDS,
) -> list[ResultRow]:
    """Evaluate a checkpoint's frozen embeddings by kNN on each library (:func:`evaluate_module`).

    Args:
        checkpoint: a ``.ckpt`` written by ``sfxrep fit``/``train``, or one already loaded.
        libraries: libraries to evaluate; default every library of the run's YAML.
        libraries_yaml: evaluate on the libraries of another YAML than the one trained with.
        k: neighbours (paper: 1).
        scenario: recorded scenario; default inferred from the trained and evaluated libraries.
        run: run name for the rows; default the run name stored in the checkpoint.
        results: results file the rows are appended to, their predictions beside it (``None``: not written).
        precision, keep, protocol, folds, fold_seeds: see :func:`evaluate_module`.
        meta: further fields for every row (``study``, ``trial`` …).

    Returns:
        one row per library.
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    data_args = {k: v for k, v in ckpt.data.items() if not k.startswith("_")}
    data_args["train_libraries"] = None  # any library of the YAML can be evaluated
    if libraries_yaml is not None:
        data_args["libraries"] = libraries_yaml
    fdr = ckpt.fdr
    row_meta = {"mixing": data_args.get("mixing"), "seed": data_args.get("seed"), "checkpoint": str(ckpt.path),
                "fdr": fdr is not None, "fdr_threshold": fdr.get("threshold") if fdr else None,
                "precision": ckpt.run_info.get("precision"), "init": ckpt.init, **(meta or {})}
    predictions: list[dict] = []
    rows = evaluate_module(ckpt.module, SfxDataModule(**data_args), libraries=libraries, k=k, scenario=scenario,
                           run=run or ckpt.run_info.get("run") or ckpt.path.stem, meta=row_meta, precision=precision,
                           keep=keep, protocol=protocol, folds=folds, fold_seeds=fold_seeds, predictions=predictions)
    _write(rows, predictions, results)
    return rows


def evaluate_reference(name: str, libraries_yaml: str, *, libraries: list[str] | None = None, k: int = 1,
                       results: str | Path | None = None, work_dir: str = WORK_DIR,
                       cache_dir: str = CACHE_DIR, precision: str = "auto", protocol: str = "kfold",
                       folds: int = FOLDS, fold_seeds: Sequence[int] = FOLD_SEEDS) -> list[ResultRow]:
    """kNN evaluation of a model by name (``aisfx``, ``logmel``, ``cnn9-random``, ``openl3``, a release) on a
    libraries YAML (:func:`evaluate_module`).

    The rows have ``model`` = ``name`` and scenario ``reference`` (``released`` for aisfx and the releases).
    """
    from sfxrep.inference.registry import NAMED, load_model

    module = load_model(name)
    meta: dict = {"model": name, "fdr": False}
    run = name
    if name == "aisfx":
        from sfxrep.models.pretrained import AISFX_VERSION, aisfx_checkpoint

        meta.update(mixing="sequential", checkpoint=str(aisfx_checkpoint()))
        run = f"aisfx-{AISFX_VERSION}"
    data = SfxDataModule(libraries=libraries_yaml, work_dir=work_dir, cache_dir=cache_dir)
    predictions: list[dict] = []
    rows = evaluate_module(module, data, libraries=libraries, k=k,
                           scenario="released" if name == "aisfx" or name not in NAMED else "reference", run=run,
                           meta=meta, precision=precision, protocol=protocol, folds=folds, fold_seeds=fold_seeds,
                           predictions=predictions)
    _write(rows, predictions, results)
    return rows
