"""RQ1–RQ4 as a W&B Report (``sfxrep report --wandb-project P``), built with ``wandb-workspaces``.

One section per RQ; its panels compare the project's runs by their config (the keys every sfxrep run logs:
``scenario``, ``loss``, ``method``, ``model``) on the per-library summary metrics ``test/<library>/f1_frame``,
``f1_file`` and ``dbi``, mean over seeds with SD as the range. Offline (``WANDB_MODE=offline`` or no login) the
report's definition is written to a JSON file instead; running the same command online creates the report.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

SECTIONS = {
    "RQ1": ("Metric losses vs CE (paper Fig. 4, 5)", "Config('loss') != ''", "config.loss", ("f1_frame", "dbi")),
    "RQ2": ("Within vs UCS-transfer vs cross (paper Fig. 6)", "Config('loss') == 'ce'", "config.scenario",
            ("f1_frame", "f1_file")),
    "RQ3": ("Cross-dataset methods: X-Joint, FDR, BN per library vs X-Sequential (paper §6.4)",
            "Config('scenario') == 'cross' and Config('loss') == 'ce'", "config.method", ("f1_frame", "dbi")),
    "RQ4": ("The best model against reference models (paper §6.5)", "Config('model') != ''", "config.model",
            ("f1_frame", "f1_file")),
}


def report_blocks(project: str, entity: str, libraries: list[str]) -> list:
    """The report's blocks: per RQ a heading, a sentence, and a panel grid over the matching runs."""
    import wandb_workspaces.reports.v2 as wr

    blocks: list = [wr.P("Built by sfxrep report from the project's runs: bars are the mean over seeds, "
                         "whiskers their standard deviation.")]
    for rq, (title, filters, groupby, metrics) in SECTIONS.items():
        panels = [wr.BarPlot(title=f"{metric} per library", metrics=[f"test/{lib}/{metric}" for lib in libraries],
                             groupby=groupby, groupby_aggfunc="mean", groupby_rangefunc="stddev")
                  for metric in metrics]
        runset = wr.Runset(entity=entity, project=project, name=rq, filters=filters)
        blocks += [wr.H1(f"{rq}: {title}"), wr.PanelGrid(runsets=[runset], panels=panels)]
    return blocks


def build_dashboard(project: str, entity: str | None, libraries: list[str], out: str | Path,
                    title: str = "sfxrep: RQ1–RQ4") -> str:
    """Create the W&B Report online, or write its definition to ``out`` (JSON) when offline.

    Returns:
        the report's URL, or the path of the definition file.
    """
    import wandb_workspaces.reports.v2 as wr

    report = wr.Report(project=project, entity=entity or "", title=title,
                       description="The paper's comparisons over this project's runs",
                       blocks=report_blocks(project, entity or "", libraries))
    if os.environ.get("WANDB_MODE", "").lower() not in ("offline", "disabled", "dryrun"):
        try:
            report.save()
            return report.url
        except Exception as err:
            print(f"sfxrep report: W&B unreachable ({str(err).splitlines()[0][:120]}); writing the definition")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dataclasses.asdict(report), indent=1, default=str))
    print(f"sfxrep report: offline — W&B Report definition written to {out}; run this command online to create it")
    return str(out)
