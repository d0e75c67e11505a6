"""RQ1–RQ4 as a W&B Report (``sfxrep report --wandb-project P``), built with ``wandb-workspaces``.

One section per RQ: first the results file's numbers as tables (the report's panels, each cell the mean and 95 %
interval of :mod:`sfxrep.results.estimate`, so the W&B Report says what ``compare``, ``report`` and ``claims``
say), then live panels that compare the project's runs by their config (the keys every sfxrep run logs:
``scenario``, ``loss``, ``method``, ``model``) on the per-library summary metrics ``test/<library>/f1_frame``,
``f1_file`` and ``dbi``, mean over seeds with SD as W&B's range. Offline (``WANDB_MODE=offline`` or no login) the
report's definition is written to a JSON file instead; running the same command online creates the report.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

from sfxrep.fileio import atomic_write_text
from sfxrep.records import ResultRow, select
from sfxrep.results.comparisons import QUESTIONS, rq_panels
from sfxrep.results.report.panels import Panel, evaluated_libraries


def panel_markdown(panel: Panel) -> str:
    """A report panel as a Markdown table: libraries × variants, each cell the estimate's text (points for F1)."""
    scale = 1.0 if "dbi" in panel.ylabel else 100.0
    lines = [f"**{panel.title}** ({panel.ylabel}; mean [95 % CI] over seeds)", "",
             "| library | " + " | ".join(panel.variants) + " |", "|---" * (len(panel.variants) + 1) + "|"]
    lines += [f"| {lib} | " + " | ".join(panel.cell(lib, v).text(signed=panel.ylabel.startswith("Δ"), scale=scale)
                                          for v in panel.variants) + " |" for lib in panel.libraries]
    return "\n".join(lines)


def report_blocks(project: str, entity: str, rows: Sequence[ResultRow]) -> list:
    """The report's blocks: per RQ a heading, the results file's numbers, and a panel grid over the matching runs."""
    import wandb_workspaces.reports.v2 as wr

    panels = rq_panels(rows)
    libraries = evaluated_libraries(select(rows))
    blocks: list = [wr.P("Built by sfxrep report from the project's results file (tables: mean and 95 % interval "
                         "over seeds, paired by seed for a Δ) and its runs (bars: mean over seeds, whiskers their "
                         "standard deviation).")]
    for key, question in QUESTIONS.items():
        section = question.wandb
        charts = [wr.BarPlot(title=f"{metric} per library", metrics=[f"test/{lib}/{metric}" for lib in libraries],
                             groupby=section.groupby, groupby_aggfunc="mean", groupby_rangefunc="stddev")
                  for metric in section.metrics]
        runset = wr.Runset(entity=entity, project=project, name=key.upper(), filters=section.filters)
        blocks += [wr.H1(f"{key.upper()}: {question.title}"),
                   *(wr.MarkdownBlock(text=panel_markdown(panel)) for panel in panels[key.upper()]),
                   wr.PanelGrid(runsets=[runset], panels=charts)]
    return blocks


def build_dashboard(project: str, entity: str | None, rows: Sequence[ResultRow], out: str | Path,
                    title: str = "sfxrep: RQ1–RQ4") -> str:
    """Create the W&B Report of a results file's ``rows`` online, or write its definition to ``out`` (JSON) when
    offline.

    Returns:
        the report's URL, or the path of the definition file.
    """
    import wandb_workspaces.reports.v2 as wr

    report = wr.Report(project=project, entity=entity or "", title=title,
                       description="The paper's comparisons over this project's runs",
                       blocks=report_blocks(project, entity or "", rows))
    if os.environ.get("WANDB_MODE", "").lower() not in ("offline", "disabled", "dryrun"):
        try:
            report.save()
            return report.url
        except Exception as err:
            print(f"sfxrep report: W&B unreachable ({str(err).splitlines()[0][:120]}); writing the definition")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(dataclasses.asdict(report), indent=1, default=str))
    print(f"sfxrep report: offline — W&B Report definition written to {out}; run this command online to create it")
    return str(out)
