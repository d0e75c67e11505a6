"""What a W&B run holds besides Lightning's per-epoch metrics (wandb is imported only when a run is open).

* config — the resolved comparison factors (scenario, mixing, bn, fdr and threshold, loss, seed, method,
  model, study, trial), each library with its class and file counts, and the git commit;
* summary — ``test/<library>/f1_frame``, ``f1_file``, ``dbi`` (the dashboards' metric keys);
* the run's results rows as a ``wandb.Table``;
* per library head, the confusion matrix of its predictions on the test split, and a 2-D projection of the
  library's test embeddings coloured by class (UMAP if installed, else t-SNE).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from sfxrep.records import ResultRow


def git_commit(folder: str | Path) -> str | None:
    """The commit of the checkout ``folder`` is in (``None`` outside one)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def active_run():
    """The open W&B run of this process, if any (without importing wandb when it was never used)."""
    wandb = sys.modules.get("wandb")
    return wandb.run if wandb is not None else None


def _projection(embeddings: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(N, D)`` → ``(N, 2)``: UMAP when installed, else t-SNE (scikit-learn)."""
    try:
        import umap

        return umap.UMAP(n_components=2, random_state=seed).fit_transform(embeddings)
    except ImportError:
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (len(embeddings) - 1) / 3)))
        return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(embeddings)


def log_evaluation(rows: list[ResultRow], kept: dict, module, libraries: dict[str, dict] | None = None,
                   max_points: int = 2000) -> None:
    """Log the evaluation of a run into its open W&B run (see module doc); no-op without one.

    Args:
        rows: the run's results rows.
        kept: library → (test embeddings ``(N, D)``, labels ``(N,)``, class names), from ``evaluate_module``.
        module: the evaluated model (its heads give the confusion matrices).
        libraries: library → {classes, files, …} for the config.
        max_points: at most this many points per projection (a seeded subsample).
    """
    run = active_run()
    if run is None:
        return
    import wandb

    if libraries:
        run.config.update({"libraries": libraries}, allow_val_change=True)
    for row in rows:
        for key, value in (("f1_frame", row.frame_macro_f1), ("f1_file", row.file_macro_f1), ("dbi", row.dbi)):
            run.summary[f"test/{row.library}/{key}"] = value
    columns = list(rows[0].to_dict()) if rows else []
    log: dict = {"results": wandb.Table(columns=columns, data=[
        [v if isinstance(v, (int, float, str, bool)) or v is None else str(v) for v in r.to_dict().values()]
        for r in rows])}
    heads = getattr(module, "heads", None) or {}
    rng = np.random.default_rng(0)
    for library, (embeddings, labels, classes) in kept.items():
        if library in heads:
            with torch.no_grad():
                preds = heads[library](torch.from_numpy(embeddings).float()).argmax(-1).numpy()
            log[f"test/{library}/confusion"] = wandb.plot.confusion_matrix(
                y_true=labels.tolist(), preds=preds.tolist(), class_names=list(classes),
                title=f"{library}: head predictions on the test split")
        if len(embeddings) >= 5:
            pick = np.sort(rng.choice(len(embeddings), min(max_points, len(embeddings)), replace=False))
            xy = _projection(embeddings[pick])
            table = wandb.Table(columns=["x", "y", "class"],
                                data=[[float(a), float(b), classes[int(c)]] for (a, b), c in zip(xy, labels[pick],
                                                                                                  strict=True)])
            log[f"test/{library}/projection"] = wandb.plot.scatter(table, "x", "y",
                                                                   title=f"{library}: test embeddings")
    run.log(log)
