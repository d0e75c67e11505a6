"""A claim on paper: its forest plot, its section of STUDY.md, and the study's progress table. STUDY.md is
rewritten atomically between its claim markers (the rest of the file is the author's)."""

from __future__ import annotations

import re
import statistics
import textwrap
from collections.abc import Sequence
from pathlib import Path

from sfxrep.fileio import atomic_write_text
from sfxrep.records import ResultRow, latest_per_seed, method_label
from sfxrep.results.claims.stats import Finding

START, END = "<!-- claims:start -->", "<!-- claims:end -->"


def forest(finding: Finding, path: Path) -> Path:
    """One figure per claim: each compared quantity's average (dot) and 95 % interval (bar), with the libraries'
    means as small grey marks, against the zero line; the title carries the verdict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = finding.lines
    caption = "\n".join(textwrap.fill(note, 160) for note in finding.notes)  # e.g. a library left out, and why
    below = 0.15 * (caption.count("\n") + 1) + 0.1 if caption else 0.0  # inches under the axes for the caption
    height = 0.6 * len(lines) + 2.0 + below
    fig, ax = plt.subplots(figsize=(10, height), dpi=110)
    for y, line in enumerate(reversed(lines)):
        s = finding.scale
        libs = [e.mean * s for e in line.per_library.values() if e.n]
        ax.scatter(libs, [y] * len(libs), s=12, color="0.65", zorder=2, label="a library's mean" if y == 0 else None)
        avg = line.average
        if avg.n == 0:
            ax.text(0, y, "not run", ha="center", va="center", fontsize=8, color="0.4")
            continue
        colour = "tab:blue"
        if avg.has_interval:
            ax.plot([avg.lo * s, avg.hi * s], [y, y], color=colour, linewidth=2.2, zorder=3)
        ax.scatter([avg.mean * s], [y], s=40, color=colour, zorder=4,
                   label="average over libraries, 95 % CI" if y == len(lines) - 1 else None)
    ax.axvline(0, color="0.2", linewidth=0.8)
    ax.set_yticks(range(len(lines)),
                  [f"{ln.label}" + (f"\n(paper: {ln.expect})" if ln.expect else "") for ln in reversed(lines)],
                  fontsize=8)
    ax.set_xlabel(finding.metric)
    title = f"Claim {finding.number} ({finding.figure}): {finding.paper}"
    ax.set_title("\n".join(textwrap.wrap(title, 110)) + f"\nverdict: {finding.verdict}", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a dot
    ax.grid(axis="x", color="0.9")
    fig.tight_layout(rect=(0, below / height, 1, 1))
    if caption:
        fig.text(0.01, 0.01, caption, fontsize=8, ha="left", va="bottom", color="0.25")
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown(finding: Finding, libraries: Sequence[str], figure: str | None = None) -> str:
    """A claim's section of STUDY.md: statement, verdict, parts, the per-library table and the figure."""
    unit = "points of macro-F1" if finding.scale == 100 else "DBI"
    out = [f"### Claim {finding.number}: {finding.title} ({finding.figure})", "",
           f"**Paper:** {finding.paper}", "", f"**Verdict: {finding.verdict}.**", ""]
    out += [f"- {p.statement}: **{p.outcome}** — {p.evidence}" for p in finding.parts]
    out += ["", f"Mean [95 % CI] over seeds, {unit}:", "",
            "| | " + " | ".join(libraries) + " | average |", "|---" * (len(libraries) + 2) + "|"]
    for line in finding.lines:
        cells = [line.per_library[lib].text(scale=finding.scale) if lib in line.per_library else "—"
                 for lib in libraries]
        out.append(f"| {line.label} | " + " | ".join(cells) + f" | **{line.average.text(scale=finding.scale)}** |")
    out += [""] + [f"*{note}*" for note in finding.notes] + ([""] if finding.notes else [])
    if figure:
        out += [f"![claim {finding.number}]({figure})", ""]
    return "\n".join(out)


def progress(rows: Sequence[ResultRow]) -> str:
    """The runs so far: per configuration, the seeds done and the wall time of a run (training + evaluation)."""
    runs: dict[tuple, dict[str, float]] = {}
    for r in latest_per_seed(rows):
        if r.model != "sfxrep":
            continue
        method = method_label(r.mixing, r.bn, r.fdr_threshold) if r.scenario == "cross" else "—"
        seconds = runs.setdefault((r.scenario, r.loss, method), {}).setdefault(r.run, 0.0)
        runs[(r.scenario, r.loss, method)][r.run] = max(seconds, float(r.train_seconds or 0)) + float(
            r.eval_seconds or 0)
    lines = ["| scenario | loss | method | seeds done | minutes per seed (train + evaluation) |", "|---|---|---|---|---|"]
    seed_of = {r.run: r.seed for r in rows}
    total = 0.0
    for (scenario, loss, method), by_run in sorted(runs.items()):
        per_seed: dict = {}  # a within-dataset seed is one model per library, each its own run: their sum
        for run, seconds in by_run.items():
            per_seed[seed_of[run]] = per_seed.get(seed_of[run], 0.0) + seconds
        total += sum(by_run.values())
        lines.append(f"| {scenario} | {loss} | {method} | {len(per_seed)} | "
                     f"{statistics.fmean(per_seed.values()) / 60:.1f} |")
    lines.append(f"\n{sum(len(v) for v in runs.values())} trained models so far, {total / 3600:.1f} h of wall time "
                 "(a within-dataset seed trains one model per library; its time is their sum).")
    return "\n".join(lines)


def write(findings: list[Finding], libraries: Sequence[str], study: Path | None, figures: Path | None,
          rows: Sequence[ResultRow] = ()) -> str:
    """The claims section (also spliced into ``study`` between its claim markers, or appended)."""
    parts = ["| claim | verdict |", "|---|---|"]
    parts += [f"| {f.number}. {f.paper} | **{f.verdict}** |" for f in findings]
    sections = []
    for f in findings:
        figure = None
        if figures is not None:
            figures.mkdir(parents=True, exist_ok=True)
            path = forest(f, figures / f"claim{f.number}.png")
            figure = str(path.relative_to(study.parent)) if study is not None and path.is_relative_to(
                study.parent) else str(path)
        sections.append(markdown(f, libraries, figure))
    text = "\n".join(parts) + "\n\n" + "\n".join(sections)
    if rows:
        text = "### Runs\n\n" + progress(rows) + "\n\n### Verdicts\n\n" + text
    if study is not None:
        block = f"{START}\n{text}\n{END}"
        old = study.read_text() if study.exists() else ""
        if START in old and END in old:
            new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, old, flags=re.S)
        else:
            new = old + ("\n" if old else "") + block + "\n"
        atomic_write_text(study, new)
    return text


