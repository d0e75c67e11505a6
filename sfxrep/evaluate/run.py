"""``sfxrep evaluate CKPT``: kNN evaluation of a checkpoint's frozen encoder on every library."""

from __future__ import annotations

import time
from pathlib import Path

from sfxrep.data.datamodule import SfxDataModule
from sfxrep.evaluate.embed import adapt_batchnorm, embed_blocks
from sfxrep.evaluate.knn import knn_evaluate
from sfxrep.models.checkpoint import Checkpoint, load_checkpoint
from sfxrep.models.inference import resolve_precision
from sfxrep.models.registry import Embedder
from sfxrep.results.rows import ResultRow, append_results


def infer_scenario(train_libraries: list[str], library: str) -> str:
    """``within`` (trained on that library alone), ``ucs_transfer`` (one other library) or ``cross``."""
    if len(train_libraries) > 1:
        return "cross"
    return "within" if train_libraries == [library] else "ucs_transfer"


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
) -> list[ResultRow]:
    """kNN-evaluate ``module``'s frozen embeddings on each library's test split (train split as reference).

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
        keep: when given, receives library → (test embeddings, labels, class names) (for W&B figures).

    Raises:
        ValueError: a name in ``libraries`` is not a library of ``data``.
    """
    unknown = sorted(set(libraries or ()) - set(data.spec.names))
    if unknown:
        raise ValueError(f"--libraries {unknown} not in {data.spec.source} (its libraries: {data.spec.names})")
    data.ready()
    precision = resolve_precision(precision, module)
    trained = list(getattr(module, "libraries", []))
    encoder, objective = getattr(module, "encoder", None), getattr(module, "objective", None)
    rows = []
    for library in libraries or data.spec.names:
        start = time.perf_counter()
        train, test = data.eval_dataset(library, "train"), data.eval_dataset(library, "test")
        if not len(test):
            print(f"[evaluate] {library}: no test files, skipped")
            continue
        adapted = adapt_batchnorm(module, train)
        a, b = embed_blocks(module, train, precision=precision), embed_blocks(module, test, precision=precision)
        score = knn_evaluate(a.embeddings, a.labels, b.embeddings, b.labels, b.files, k=k)
        if keep is not None:
            keep[library] = (b.embeddings, b.labels, data.classes[library])
        rows.append(ResultRow(
            run=run, library=library, scenario=scenario or infer_scenario(trained, library),
            train_libraries=trained, seen_in_training=library in trained, bn=getattr(encoder, "bn", None),
            loss=objective.name if objective is not None else "none", width=getattr(encoder, "width", None), k=k,
            n_classes=len(data.classes[library]), embed_precision=precision,
            **vars(score), bn_adapted_blocks=adapted, eval_seconds=round(time.perf_counter() - start, 2),
            **(meta or {}),
        ))
    return rows


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
) -> list[ResultRow]:
    """Evaluate a checkpoint's frozen embeddings by kNN on each library's test split.

    Args:
        checkpoint: a ``.ckpt`` written by ``sfxrep fit``/``train``, or one already loaded.
        libraries: libraries to evaluate; default every library of the run's YAML.
        libraries_yaml: evaluate on the libraries of another YAML than the one trained with.
        k: neighbours (paper: 1).
        scenario: recorded scenario; default inferred from the trained and evaluated libraries.
        run: run name for the rows; default the run name stored in the checkpoint.
        results: results file the rows are appended to (``None``: not written).
        precision: see :func:`evaluate_module`.
        meta: further fields for every row (``study``, ``trial`` …).
        keep: see :func:`evaluate_module`.

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
    rows = evaluate_module(ckpt.module, SfxDataModule(**data_args), libraries=libraries, k=k, scenario=scenario,
                           run=run or ckpt.run_info.get("run") or ckpt.path.stem, meta=row_meta, precision=precision,
                           keep=keep)
    if results is not None:
        append_results(rows, results)
    return rows


def evaluate_reference(name: str, libraries_yaml: str, *, libraries: list[str] | None = None, k: int = 1,
                       results: str | Path | None = None, work_dir: str = "runs/prepared",
                       cache_dir: str = "runs/cache", precision: str = "auto") -> list[ResultRow]:
    """kNN evaluation of a reference model (RQ4: ``aisfx``, ``logmel``, ``openl3``) on a libraries YAML.

    The rows have ``model`` = ``name`` and scenario ``reference`` (``released`` for aisfx, as before).
    """
    from sfxrep.models.registry import load_model

    module = load_model(name)
    meta: dict = {"model": name, "fdr": False}
    run = name
    if name == "aisfx":
        from sfxrep.models.pretrained import AISFX_VERSION, aisfx_checkpoint

        meta.update(mixing="sequential", checkpoint=str(aisfx_checkpoint()))
        run = f"aisfx-{AISFX_VERSION}"
    data = SfxDataModule(libraries=libraries_yaml, work_dir=work_dir, cache_dir=cache_dir)
    rows = evaluate_module(module, data, libraries=libraries, k=k,
                           scenario="released" if name == "aisfx" else "reference", run=run, meta=meta,
                           precision=precision)
    if results is not None:
        append_results(rows, results)
    return rows

