"""sfxrep-v2's candidates on the corpus transfer panel (issue 34): score what ``make model-v2`` trained, make the
seed soup, and write the comparison table.

    python experiments/release/v2.py evaluate              # every trained candidate not yet scored, and aiSFX
    python experiments/release/v2.py soup keep-augment     # the weight average of that recipe's seeds, scored
    python experiments/release/v2.py wise keep-top-free    # WiSE-FT: halfway between aiSFX and that recipe, scored
    python experiments/release/v2.py table                 # paired comparisons against aiSFX → TABLE.md

Candidates are the runs of ``runs/release-v2`` (``make model-v2 RECIPE=… SEED=…``: trained with ``--no-eval``, their
``run.json`` names the checkpoint chosen on the training libraries' validation splits). Each is scored once on
the panel by the k-fold protocol into ``results/release-v2/panel.jsonl``, with per-file predictions beside it;
everything is resumable (a scored run is skipped).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from pathlib import Path

RUNS = Path("runs/release-v2")
PANEL = "experiments/libraries/transfer-panel-corpus.yaml"
RESULTS = Path("results/release-v2/panel.jsonl")
REFERENCE = "aisfx"


def candidates(runs: Path = RUNS) -> dict[str, Path]:
    """run name → best checkpoint of every finished candidate run."""
    out = {}
    for record in sorted(runs.glob("*/run.json")):
        info = json.loads(record.read_text())
        if info.get("status") == "done" and info.get("checkpoint"):
            out[info["run"]] = Path(info["checkpoint"])
    return out


def scored(results: Path = RESULTS) -> set[str]:
    from sfxrep.records import read_results

    return {r.run for r in read_results(results)} if results.is_file() else set()


def evaluate(runs: Path = RUNS, results: Path = RESULTS, panel: str = PANEL, reference: str = REFERENCE) -> None:
    """Score the ``reference`` model and every candidate not yet in ``results`` on the panel (k-fold, per-file
    predictions kept)."""
    from sfxrep.evaluate.run import evaluate_checkpoint, evaluate_reference
    from sfxrep.records import read_results

    rows = read_results(results) if results.is_file() else []
    done = {r.run for r in rows}
    if not any(r.model == reference for r in rows):
        evaluate_reference(reference, panel, results=results)
    for run, checkpoint in candidates(runs).items():
        if run not in done:
            print(f"[v2] scoring {run} on {panel}", flush=True)
            evaluate_checkpoint(checkpoint, libraries_yaml=panel, run=run, results=results)


def seeds(recipe: str, runs: Path = RUNS) -> dict[str, Path]:
    """run name → best checkpoint of every finished seed of ``recipe`` (``make model-v2 RECIPE=… SEED=…``)."""
    pattern = re.compile(rf"^cross-all-v2-{re.escape(recipe)}(-seed\d+)?-\d{{8}}-\d{{6}}")
    return {run: path for run, path in candidates(runs).items() if pattern.match(run)}


def average(paths: list[Path]):
    """The uniform weight average (model soup) of the checkpoints at ``paths``, heads of the first, as a
    :class:`~sfxrep.models.checkpoint.Checkpoint`; one path gives that checkpoint."""
    from sfxrep.models.checkpoint import load_checkpoint
    from sfxrep.models.interpolate import interpolate

    loaded = [load_checkpoint(path) for path in paths]
    module = loaded[0].module
    for n, other in enumerate(loaded[1:], start=2):  # the running mean: n-th model at weight 1/n
        module = interpolate(module, other.module, 1 / n)
    return dataclasses.replace(loaded[0], module=module)


def soup(recipe: str, runs: Path = RUNS, results: Path = RESULTS, panel: str = PANEL) -> str:
    """Average the encoder weights of every seed of ``recipe`` (uniform soup, heads of the first) and score it."""
    from sfxrep.evaluate.run import evaluate_checkpoint

    found = seeds(recipe, runs)
    if len(found) < 2:
        raise SystemExit(f"soup {recipe}: {len(found)} finished seed(s) in {runs}; train another with "
                         f"make model-v2 RECIPE=experiments/release/v2/{recipe}.yaml SEED=1")
    name = f"v2-soup-{recipe}"
    if name in scored(results):
        return name
    evaluate_checkpoint(average(sorted(found.values())), libraries_yaml=panel, run=name, results=results,
                        meta={"soup_of": sorted(found)})
    return name


def wise(recipe: str, alpha: float = 0.5, runs: Path = RUNS, results: Path = RESULTS, panel: str = PANEL) -> str:
    """Score WiSE-FT (Wortsman et al., CVPR 2022) of ``recipe``: ``(1 − alpha)``·its warm-start source (aiSFX) +
    ``alpha``·the recipe's fine-tuned encoder (the soup of its seeds where there are several).

    ``alpha`` is fixed in advance, never chosen on the panel: 0.5 is the paper's default. Choosing it on the
    training libraries' validation splits (``sfxrep release --interpolate auto``) embeds their train and validation
    splits once per α, about 40 minutes an α on a 2-core AVX2 CPU at this corpus's size.

    Raises:
        SystemExit: no finished seed of ``recipe``, or it has no warm start to interpolate towards (or the file
            there is not the model it was fine-tuned from).
    """
    from sfxrep.evaluate.release import warm_start_source
    from sfxrep.evaluate.run import evaluate_checkpoint
    from sfxrep.models.interpolate import interpolate

    found = seeds(recipe, runs)
    if not found:
        raise SystemExit(f"wise {recipe}: no finished seed in {runs}; train one with "
                         f"make model-v2 RECIPE=experiments/release/v2/{recipe}.yaml")
    name = f"v2-wise{alpha:g}-{'soup-' if len(found) > 1 else ''}{recipe}"  # of one seed, or of their soup
    if name in scored(results):
        return name
    tuned = average(sorted(found.values()))
    try:
        start = warm_start_source(tuned, f"wise {recipe}", f"train {recipe} again")
    except ValueError as err:
        raise SystemExit(str(err)) from err
    module = interpolate(start, tuned.module, alpha)
    evaluate_checkpoint(dataclasses.replace(tuned, module=module), libraries_yaml=panel, run=name, results=results,
                        meta={"wise_of": sorted(found), "alpha": alpha, "start": tuned.init})
    return name


def table(results: Path = RESULTS, out: Path | None = None, reference: str = REFERENCE) -> str:
    """Every candidate against aiSFX on the panel: per library and overall, the paired difference with its 95 %
    interval, Holm-adjusted p and minimum detectable difference (:func:`sfxrep.results.compare.compare_models`)."""
    from sfxrep.records import read_results
    from sfxrep.results.compare import compare_models

    runs = sorted({r.run for r in read_results(results) if r.model == "sfxrep"})
    base = next(r.run for r in read_results(results) if r.model == reference)
    lines = [f"| candidate | overall − {reference} (points [95 % CI]) | per library | MDE |",
             "|---|---|---|---|"]
    for run in runs:
        paired = compare_models(results, base, run)
        overall = next(p for p in paired if p.library == "overall")
        libs = "; ".join(f"{p.library} {100 * p.diff:+.1f} [{100 * p.lo:+.1f}, {100 * p.hi:+.1f}]"
                         for p in paired if p.library != "overall")
        lines.append(f"| {run} | **{100 * overall.diff:+.1f}** [{100 * overall.lo:+.1f}, {100 * overall.hi:+.1f}] "
                     f"({reference} {100 * overall.a:.1f}) | {libs} | {100 * overall.mde:.1f} |")
    text = "\n".join(lines)
    if out is not None:
        from sfxrep.fileio import atomic_write_text

        atomic_write_text(out, text + "\n")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("evaluate", "soup", "wise", "table"))
    parser.add_argument("recipe", nargs="?",
                        help="soup, wise: the recipe whose seeds are averaged (e.g. keep-augment)")
    parser.add_argument("--alpha", type=float, default=0.5, help="wise: the fine-tuned model's weight (default 0.5)")
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--panel", default=PANEL)
    ns = parser.parse_args(argv)
    if ns.action == "evaluate":
        evaluate(ns.runs, ns.results, ns.panel)
    elif ns.action in ("soup", "wise"):
        if not ns.recipe:
            parser.error(f"{ns.action} needs the recipe whose seeds are averaged")
        print(soup(ns.recipe, ns.runs, ns.results, ns.panel) if ns.action == "soup"
              else wise(ns.recipe, ns.alpha, ns.runs, ns.results, ns.panel))
    else:
        print(table(ns.results, ns.results.parent / "TABLE.md"))


if __name__ == "__main__":
    main()
