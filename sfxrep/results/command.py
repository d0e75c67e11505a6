"""``sfxrep compare``, ``sfxrep report`` and ``sfxrep claims``: the command-line face of the results pipeline
(:mod:`sfxrep.records`, :mod:`sfxrep.results.estimate`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``compare``, ``report`` and ``claims`` to the ``sfxrep`` parser."""
    from sfxrep.results.comparisons import QUESTIONS, TABLES
    from sfxrep.results.paired import METRICS

    c = sub.add_parser("compare", help="RQ tables from a results file (Δ vs a baseline)")
    c.add_argument("results", type=Path)
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
    c.add_argument("--metric", default=METRICS[0], choices=METRICS, help="the metric of --models")
    c.add_argument("--libraries", nargs="+", help="only these libraries (--models)")
    c.add_argument("--boot", type=int, default=1000, help="bootstrap draws and permutations of --models")
    c.add_argument("--json", action="store_true", help="--models: one JSON object per library, then overall")
    c.set_defaults(func=compare_command)

    r = sub.add_parser("report", help="RQ1–RQ4 figures and index.html from a results file; a W&B Report")
    r.add_argument("results", type=Path)
    r.add_argument("--out", default="report", help="folder of the figures and index.html")
    r.add_argument("--wandb-project", help="also build a W&B Report over this project's runs")
    r.add_argument("--entity", help="W&B entity (team or user) of the project")
    r.add_argument("--where", nargs="+", metavar="KEY=VALUE", help="only rows with these values (KEY!=VALUE: without)")
    r.add_argument("--omit", nargs="+", metavar="NAME", help="models or protocols outside the study's scope (e.g. "
                   "openl3 esc50): left out of the figures instead of drawn as 'not run', and named on the page")
    r.set_defaults(func=report_command)

    q = sub.add_parser("claims", help="the paper's claims (§6) measured on a study's results: mean and 95 %% CI "
                                      "over seeds, a verdict per claim, one figure each")
    q.add_argument("results", type=Path)
    q.add_argument("--study", help="a Markdown file whose claims section (between its markers) is rewritten")
    q.add_argument("--figures", help="folder of the claims' figures (default: <study folder>/report/claims)")
    q.add_argument("--label-issues", help="label-issue rate per library (JSON; default: label_issues.json beside "
                                          "RESULTS), which tells messy libraries from clean ones for claim 6")
    q.set_defaults(func=claims)


def report_command(ns: argparse.Namespace) -> None:
    from sfxrep.records import read_results
    from sfxrep.results.report.build import build_report

    page = build_report(ns.results, ns.out, ns.where, ns.omit or ())
    print(f"report: {page} (figures beside it)")
    if ns.wandb_project:
        from sfxrep.results.report.dashboard import build_dashboard

        print(build_dashboard(ns.wandb_project, ns.entity, read_results(ns.results), Path(ns.out) / "wandb_report.json"))


def claims(ns: argparse.Namespace) -> None:
    from sfxrep.results.claims.command import claims_command

    claims_command(ns.results, study=ns.study, figures=ns.figures, label_issues=ns.label_issues)


def compare_command(ns: argparse.Namespace) -> None:
    """``sfxrep compare RESULTS [--rq …] [--by COLS --baseline VALS --match COLS] [--where K=V …] [--absolute]``."""
    from sfxrep.records import FACTORS, format_table, read_results, where
    from sfxrep.results.compare import compare, compare_models, format_paired, pivot
    from sfxrep.results.comparisons import QUESTIONS, Comparison

    if getattr(ns, "models", None):
        if len(ns.models) != 2:
            raise ValueError(f"--models takes two models, A (the baseline) and B; got {ns.models}")
        results = compare_models(ns.results, *ns.models, metric=ns.metric, libraries=ns.libraries,
                                 n_boot=ns.boot)
        if ns.json:
            for r in results:
                print(json.dumps(r.to_dict()))
        else:
            print(format_paired(results, *ns.models, ns.metric))
        return
    comparison = QUESTIONS[ns.rq].table
    if ns.by:
        by = tuple(ns.by.split(","))
        baseline = tuple(ns.baseline.split(",")) if ns.baseline else comparison.baseline
        match = tuple(ns.match.split(",")) if ns.match else tuple(c for c in FACTORS if c not in by)
        comparison = Comparison(by, baseline, match)
    rows = where(read_results(ns.results), ns.where)
    if ns.absolute:
        for metric in ns.metrics:
            table, variants = pivot(rows, comparison, metric)
            print(f"{metric} by {'/'.join(comparison.by)} (within equal {', '.join(comparison.match)})")
            print(format_table(table, [*comparison.match, *variants]) + "\n")
        return
    table = compare(rows, comparison, ns.metrics)
    if not table:
        print(f"no group of {ns.results} has both the baseline {comparison.baseline} and another variant of "
              f"{comparison.by}")
        return
    columns = [*comparison.match, "variant", "n", *(c for m in ns.metrics for c in (f"d_{m}", f"ci_{m}"))]
    baseline = dict(zip(comparison.by, comparison.baseline, strict=True))
    print(f"Δ against {baseline} (within equal {', '.join(comparison.match)})")
    print(format_table(table, columns))
