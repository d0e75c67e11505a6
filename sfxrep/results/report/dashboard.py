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

from sfxrep.results.comparisons import QUESTIONS


def report_blocks(project: str, entity: str, libraries: list[str]) -> list:
    """The report's blocks: per RQ a heading, a sentence, and a panel grid over the matching runs."""
    import wandb_workspaces.reports.v2 as wr

    blocks: list = [wr.P("Built by sfxrep report from the project's runs: bars are the mean over seeds, "
                         "whiskers their standard deviation.")]
    for key, question in QUESTIONS.items():
        section = question.wandb
        panels = [wr.BarPlot(title=f"{metric} per library", metrics=[f"test/{lib}/{metric}" for lib in libraries],
                             groupby=section.groupby, groupby_aggfunc="mean", groupby_rangefunc="stddev")
                  for metric in section.metrics]
        runset = wr.Runset(entity=entity, project=project, name=key.upper(), filters=section.filters)
        blocks += [wr.H1(f"{key.upper()}: {question.title}"), wr.PanelGrid(runsets=[runset], panels=panels)]
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
