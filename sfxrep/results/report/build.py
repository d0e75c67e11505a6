"""``sfxrep report RESULTS.jsonl --out report/``: RQ1–RQ4 figures (PNG) and one self-contained ``index.html``.

Each figure is a grouped bar chart: libraries on the x axis, a bar per variant, the mean over seeds with its 95 %
interval as error bars (:mod:`sfxrep.results.estimate`) and ``n`` above every bar. A cell that was not run is drawn as an empty hatched slot labelled "not run".
The page embeds the figures (base64, so the one file can be mailed) and the ``sfxrep compare`` tables.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from sfxrep.records import ResultRow, format_table, read_results, where
from sfxrep.results.compare import compare, pivot
from sfxrep.results.comparisons import QUESTIONS, rq_panels
from sfxrep.results.report.panels import Panel


def draw(panel: Panel, path: Path) -> Path:
    """Write ``panel`` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_lib, n_var = len(panel.libraries), max(1, len(panel.variants))
    fig, ax = plt.subplots(figsize=(min(16.0, max(6.0, 1.4 * n_lib * n_var / 2 + 2)), 4.2), dpi=110)  # readable
    width = 0.8 / n_var
    colours = plt.get_cmap("tab10")
    finite = [c.hi if c.has_interval else c.mean for c in panel.cells.values() if c.n]
    lows = [c.lo if c.has_interval else c.mean for c in panel.cells.values() if c.n]
    top, bottom = max([*finite, 0.05]), min([*lows, 0.0])
    span = top - bottom or 1.0
    for j, variant in enumerate(panel.variants):
        for i, library in enumerate(panel.libraries):
            x = i + (j - (n_var - 1) / 2) * width
            cell = panel.cell(library, variant)
            if cell.n == 0:  # not run: an empty hatched slot, labelled
                ax.bar(x, span * 0.25, width * 0.9, bottom=bottom, color="none", edgecolor="0.6", hatch="//")
                ax.text(x, bottom + span * 0.03, f"{variant}: not run", rotation=90, ha="center", va="bottom", fontsize=7,
                        color="0.35")
                continue
            interval = [[cell.mean - cell.lo], [cell.hi - cell.mean]] if cell.has_interval else None  # 95 % CI
            ax.bar(x, cell.mean, width * 0.9, color=colours(j % 10), yerr=interval, capsize=3,
                   label=variant if i == 0 else None)
            tip = (cell.hi if cell.has_interval else cell.mean) if cell.mean >= 0 else \
                (cell.lo if cell.has_interval else cell.mean)
            ax.text(x, tip + span * 0.02 * (1 if cell.mean >= 0 else -3), f"n={cell.n}", ha="center", fontsize=7)
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.set_xticks(range(n_lib), panel.libraries)
    ax.set_ylim(bottom - span * 0.08, top + span * 0.15)
    ax.set_ylabel(panel.ylabel)
    ax.set_title(f"{panel.rq}: {panel.title}", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _tables(rows: list[ResultRow]) -> dict[str, str]:
    """The ``sfxrep compare`` tables of each preset (Δ and absolute frame macro-F1)."""
    out = {}
    for rq, question in QUESTIONS.items():
        comparison = question.table
        if comparison is None:
            continue
        deltas = compare(rows, comparison, ["frame_macro_f1", "dbi"])
        table, variants = pivot(rows, comparison, "frame_macro_f1")
        text = format_table(deltas, [*comparison.match, "variant", "n", "d_frame_macro_f1", "d_dbi"]) if deltas \
            else "(no group has both the baseline and another variant)"
        out[rq.upper()] = text + "\n\nframe_macro_f1:\n" + format_table(table, [*comparison.match, *variants])
    return out


def build_report(results: str | Path, out: str | Path, conditions: list[str] | None = None,
                 omit: Sequence[str] = ()) -> Path:
    """Write every RQ figure and ``index.html`` into ``out``; returns the page.

    Args:
        results: the results file.
        out: the report folder.
        conditions: ``KEY=VALUE`` / ``KEY!=VALUE`` row filters (see :func:`sfxrep.records.where`).
        omit: models and protocols outside the study's scope (e.g. ``openl3``, ``esc50``), which the figures would
            otherwise show as "not run"; the page names them.
    """
    rows = where(read_results(results), conditions)
    if not rows:
        raise ValueError(f"{results}: no results rows to report" + (f" where {conditions}" if conditions else ""))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("rq*_*.png"):  # an earlier build's figure this one may not draw again
        stale.unlink()
    panels = {rq: [kept for panel in ps if (kept := panel.without(omit)) is not None]
              for rq, ps in rq_panels(rows).items()}
    tables = _tables(rows)
    sections = []
    for rq, rq_panels_ in panels.items():
        parts = [f"<h2>{rq}</h2>"]
        for k, panel in enumerate(rq_panels_, start=1):
            png = draw(panel, out / f"{rq.lower()}_{k}.png")
            data = base64.b64encode(png.read_bytes()).decode()
            parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(panel.title)}">'
                         f'<figcaption>{html.escape(panel.title)} (<a href="{png.name}">{png.name}</a>)'
                         "</figcaption></figure>")
            if panel.missing:
                cells = ", ".join(f"{lib} / {variant}" for lib, variant in panel.missing)
                parts.append(f'<p class="missing">not run: {html.escape(cells)}</p>')
        if rq in tables:
            parts.append(f"<pre>{html.escape(tables[rq])}</pre>")
        sections.append("\n".join(parts))
    page = out / "index.html"
    source = f"{results}" + (f" where {' and '.join(conditions)}" if conditions else "")
    scope = f"<p>Left out of this report, as outside the study's scope: {html.escape(', '.join(omit))}.</p>" \
        if omit else ""
    page.write_text(_PAGE.format(source=html.escape(source), n=len(rows), body=scope + "\n".join(sections)))
    return page


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sfxrep report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
figure{{margin:1em 0}} img{{max-width:100%}} pre{{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:12px}}
.missing{{color:#a33}}</style></head>
<body><h1>sfxrep: RQ1–RQ4</h1>
<p>From <code>{source}</code> ({n} rows). Bars: mean and 95 % CI over seeds, paired by seed for a Δ (RQ4 ESC-50: over folds), n above each bar;
a hatched slot is a configuration that was not run.</p>
{body}
</body></html>
"""
