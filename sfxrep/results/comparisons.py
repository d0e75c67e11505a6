"""The paper's research questions, each declared once: ``sfxrep compare --rq``, ``sfxrep report`` (figures and
tables), the W&B Report's sections and the CLI's choices all read :data:`QUESTIONS`. Adding a question (or a
panel) is one entry here.

* RQ1 (Fig. 4, 5) — metric losses against CE: Δ frame macro-F1 and Δ DBI, within and cross;
* RQ2 (Fig. 6) — within-dataset against UCS-transfer against cross-dataset (CE);
* RQ3 (§6.4) — X-Joint, FDR and per-library BN against X-Sequential, cross (CE);
* RQ4 (§6.5) — the best sfxrep configuration against reference models, per library and on ESC-50.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sfxrep.records import ResultRow, latest_per_seed
from sfxrep.results.report import panels as p


@dataclass(frozen=True)
class Comparison:
    """A table of ``sfxrep compare``: ``by`` the variant columns, ``baseline`` their baseline values, ``match`` the
    columns that define a group (rows compared only within equal ``match``)."""

    by: tuple[str, ...]
    baseline: tuple[str, ...]
    match: tuple[str, ...]


@dataclass(frozen=True)
class WandbSection:
    """A W&B Report section: runs with ``filters``, grouped by ``groupby``, bars of ``metrics`` per library."""

    filters: str
    groupby: str
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    """One research question wherever it appears.

    Attributes:
        key: ``rq1`` … (the ``--rq`` choice; upper case in headings).
        title: what it compares, with the paper's figure or section.
        panels: rows (latest per seed) and the evaluated libraries → the report's figure panels.
        table: the ``sfxrep compare`` grouping (``None``: the question has no Δ table).
        wandb: the W&B Report's section.
    """

    key: str
    title: str
    panels: Callable[[list[ResultRow], list[str]], list[p.Panel]]
    table: Comparison | None
    wandb: WandbSection


QUESTIONS: dict[str, Question] = {q.key: q for q in (
    Question("rq1", "Metric losses vs CE (paper Fig. 4, 5)", p.rq1_panels,
             Comparison(("loss",), ("ce",), ("scenario", "library", "mixing", "bn", "fdr_threshold")),
             WandbSection("Config('loss') != ''", "config.loss", ("f1_frame", "dbi"))),
    Question("rq2", "Within vs UCS-transfer vs cross (paper Fig. 6)", p.rq2_panels,
             Comparison(("scenario", "mixing", "bn", "fdr_threshold"), ("within", "sequential", "shared", "none"),
                        ("library", "loss")),
             WandbSection("Config('loss') == 'ce'", "config.scenario", ("f1_frame", "f1_file"))),
    Question("rq3", "Cross-dataset methods: X-Joint, FDR, BN per library vs X-Sequential (paper §6.4)", p.rq3_panels,
             Comparison(("mixing", "bn", "fdr_threshold"), ("sequential", "shared", "none"),
                        ("scenario", "library", "loss")),
             WandbSection("Config('scenario') == 'cross' and Config('loss') == 'ce'", "config.method",
                          ("f1_frame", "dbi"))),
    Question("rq4", "The best model against reference models (paper §6.5)", p.rq4_panels, None,
             WandbSection("Config('model') != ''", "config.model", ("f1_frame", "f1_file"))),
)}
TABLES = tuple(key for key, q in QUESTIONS.items() if q.table is not None)  # the choices of sfxrep compare --rq


def rq_panels(rows: Sequence[ResultRow]) -> dict[str, list[p.Panel]]:
    """Every question's panels from a results file's rows (the latest row of each seed)."""
    latest = latest_per_seed(rows)
    libraries = p.evaluated_libraries(latest)
    return {key.upper(): q.panels(latest, libraries) for key, q in QUESTIONS.items()}
