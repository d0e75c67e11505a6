"""The paper's three training scenarios (§5.2.1), each trained with LightningCLI and evaluated by kNN.

* ``within`` — one model per library, evaluated on that library;
* ``ucs_transfer`` — one model on a UCS library (``base``), evaluated on every library;
* ``cross`` — one model on all libraries (a head each), evaluated on every library.

Options map to YAML overlays in ``experiments/``: ``loss`` → ``losses/<loss>.yaml``, ``fdr`` →
``methods/fdr.yaml``, ``mixing`` and ``bn`` to their ``data.mixing`` / ``model.encoder.init_args.bn``
settings. Every run appends one row per evaluated library to the results file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sfxrep.evaluate.run import RESULT_COLUMNS, evaluate_checkpoint
from sfxrep.libraries.spec import load_libraries
from sfxrep.lightning_cli import SfxLightningCLI, fit
from sfxrep.results import append_results, format_table

Scenario = Literal["within", "ucs_transfer", "cross"]
SCENARIOS: tuple[str, ...] = ("within", "ucs_transfer", "cross")


@dataclass
class TrainPlan:
    """What ``sfxrep train`` runs.

    Attributes:
        scenario: within, ucs_transfer or cross.
        configs: YAML files layered over ``experiments/base.yaml`` (e.g. ``experiments/demo.yaml``).
        mixing: sequential, joint or round_robin (cross-dataset only matters with several libraries).
        bn: shared or per_library BatchNorm.
        fdr: use 'Focal' Dataset Regularization.
        fdr_threshold: train macro-F1 that counts as converged for FDR (paper: 0.9).
        loss: name of a file in ``experiments/losses/`` (ce, contrastive, triplet, circle).
        base: UCS-transfer base library (default: the first UCS library).
        results: results file rows are appended to.
        k: neighbours of the kNN evaluation.
        name: run-name prefix (default: derived from the options).
        seed: seeds weights, crops and batches (``seed_everything`` and ``data.seed``); rows record it.
        overrides: extra LightningCLI arguments (``--trainer.max_epochs 5`` …), applied last.
        experiments: the experiments folder.
        runs: folder of the runs' logs and checkpoints (``<runs>/<run>/``).
    """

    scenario: Scenario = "cross"
    configs: Sequence[str] = ("experiments/demo.yaml",)
    mixing: str = "sequential"
    bn: str = "shared"
    fdr: bool = False
    fdr_threshold: float = 0.9
    loss: str = "ce"
    base: str | None = None
    results: str = "runs/results.jsonl"
    k: int = 1
    name: str | None = None
    seed: int = 0
    overrides: Sequence[str] = field(default_factory=list)
    experiments: str = "experiments"
    runs: str = "runs"

    def config_files(self) -> list[Path]:
        root = Path(self.experiments)
        files = [root / "base.yaml", *map(Path, self.configs), root / "scenarios" / f"{self.scenario}.yaml",
                 root / "losses" / f"{self.loss}.yaml"]
        if self.fdr:
            files.append(root / "methods" / "fdr.yaml")
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"config file(s) not found: {missing} (run from the repository root, or set "
                                    "--experiments)")
        return files

    def cli_args(self) -> list[str]:
        args = [a for f in self.config_files() for a in ("--config", str(f))]
        fdr = ["--trainer.callbacks.init_args.threshold", str(self.fdr_threshold)] if self.fdr else []
        return args + ["--data.mixing", self.mixing, "--model.encoder.init_args.bn", self.bn, *fdr,
                       "--seed_everything", str(self.seed), "--data.seed", str(self.seed), *self.overrides]

    def factors(self) -> list[str]:
        """The compared factors as labels: mixing, bn, fdr, loss."""
        fdr = ("fdr" if self.fdr_threshold == 0.9 else f"fdr{self.fdr_threshold:g}") if self.fdr else "nofdr"
        return [self.mixing, self.bn, fdr, self.loss]

    def tag(self) -> str:
        tag = self.name or "-".join(self.factors())
        return tag if not self.seed else f"{tag}-seed{self.seed}"


class _ParseOnlyCLI(SfxLightningCLI):
    """Resolves the layered configs without building data, model or trainer."""

    def instantiate_classes(self) -> None:
        pass


def _library_plan(plan: TrainPlan) -> list[tuple[list[str] | None, list[str]]]:
    """(train libraries, evaluated libraries) per model of the scenario."""
    config = _ParseOnlyCLI(args=plan.cli_args(), run=False).config
    spec = load_libraries(config["data"]["libraries"])
    names = spec.names
    if plan.scenario == "within":
        return [([lib], [lib]) for lib in names]
    if plan.scenario == "cross":
        return [(None, names)]
    ucs = [s.name for s in spec.libraries if s.library.is_ucs]
    base = plan.base or (ucs[0] if ucs else None)
    if base not in names:
        raise ValueError(f"ucs_transfer needs a base library (--base) among {names}; UCS libraries: {ucs}")
    return [([base], names)]


def run_plan(plan: TrainPlan) -> list[dict]:
    """Train and evaluate every model of the scenario; returns (and appends) the result rows."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows: list[dict] = []
    for train_libraries, eval_libraries in _library_plan(plan):
        who = "-".join(train_libraries) if train_libraries else "all"
        run = f"{plan.scenario}-{who}-{plan.tag()}-{stamp}"
        args = plan.cli_args() + [
            "--data.train_libraries", json.dumps(train_libraries),
            "--trainer.logger.init_args.save_dir", plan.runs,
            "--trainer.logger.init_args.name", run,
            "--checkpoint.dirpath", str(Path(plan.runs) / run / "checkpoints"),
        ]
        start = time.perf_counter()
        best, _ = fit(args, wandb_group=plan.scenario, wandb_tags=[*plan.factors(), who])
        train_seconds = round(time.perf_counter() - start, 1)
        new = evaluate_checkpoint(best, libraries=eval_libraries, k=plan.k, scenario=plan.scenario, run=run)
        for row in new:
            row["train_seconds"] = train_seconds
        append_results(new, plan.results)
        rows += new
        print(format_table(new, RESULT_COLUMNS), flush=True)
    return rows
