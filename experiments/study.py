"""The paper's comparisons (RQ1–RQ4) on one set of libraries at one fixed budget, then their tables and report.

    CONFIG=experiments/shared.yaml RESULTS=runs/study.jsonl SEEDS="0 1 2" python experiments/study.py [-- ARGS]

CONFIG is the budget and the libraries; ARGS (after ``--``) are LightningCLI arguments for every run. Every run
is resumable and a finished one is skipped, so running the study again continues where it stopped and never
writes a row twice (``make study`` does this). The libraries of the references (RQ4) are read from the resolved
config, not from the YAML's text.
"""

from __future__ import annotations

import os
import sys

from sfxrep.cli import main as sfxrep
from sfxrep.evaluate.run import evaluate_reference
from sfxrep.results.rows import read_results
from sfxrep.training.plan import TrainPlan
from sfxrep.training.scenarios import resolve, run_plan

LOSSES = ("contrastive", "triplet", "circle")
REFERENCES = ("logmel", "aisfx")


def grid(seeds: list[int]) -> list[dict]:
    """The options of every run: RQ1 (each metric loss, within and cross, seed 0), RQ2/RQ3 with CE per seed
    (within, X-Sequential, X-Joint, BN per library, FDR at 0.9 and at 0.5), and RQ2's UCS transfer."""
    runs = [{"scenario": scenario, "loss": loss} for loss in LOSSES for scenario in ("within", "cross")]
    for seed in seeds:
        runs += [{"seed": seed, "scenario": "within"}, {"seed": seed, "scenario": "cross"},
                 {"seed": seed, "scenario": "cross", "mixing": "joint"},
                 {"seed": seed, "scenario": "cross", "bn": "per_library"},
                 {"seed": seed, "scenario": "cross", "fdr": True},  # the paper's threshold 0.9
                 {"seed": seed, "scenario": "cross", "fdr": True, "fdr_threshold": 0.5}]  # one a short budget reaches
    return [*runs, {"scenario": "ucs_transfer"}]


def main(argv: list[str]) -> None:
    config = os.environ.get("CONFIG", "experiments/shared.yaml")
    results = os.environ.get("RESULTS", "runs/study.jsonl")
    seeds = [int(s) for s in os.environ.get("SEEDS", "0 1 2").split()]
    overrides = argv[argv.index("--") + 1:] if "--" in argv else []
    base = TrainPlan(configs=[config], results=results, resume=True, overrides=overrides)
    for n, options in enumerate(grid(seeds), start=1):
        print(f"[study] run {n}/{len(grid(seeds))}: {options}", flush=True)
        run_plan(TrainPlan(**{**vars(base), **options}))
    libraries = resolve(base).data.libraries
    done = {r.model for r in read_results(results)} if os.path.exists(results) else set()
    for reference in REFERENCES:  # RQ4: reference models under the same kNN protocol, once
        if reference not in done:
            evaluate_reference(reference, libraries, results=results)
    sfxrep(["compare", results, "--rq", "rq2", "--absolute", "--where", "loss=ce", "--metrics", "frame_macro_f1",
            "file_macro_f1"])
    sfxrep(["compare", results, "--rq", "rq3", "--where", "loss=ce"])
    sfxrep(["compare", results, "--rq", "rq1", "--where", "seed=0"])
    sfxrep(["report", results, "--out", os.environ.get("REPORT", "runs/study-report")])


if __name__ == "__main__":
    main(sys.argv[1:])
