"""``sfxrep claims``: measure a study's claims and write them into its STUDY.md."""

from __future__ import annotations

import json
from pathlib import Path

from sfxrep.records import read_results
from sfxrep.results.claims.definitions import measure
from sfxrep.results.claims.render import write
from sfxrep.results.claims.stats import Rows


def claims_command(results: str | Path, *, study: str | Path | None = None, figures: str | Path | None = None,
                   label_issues: str | Path | None = None) -> None:
    """``sfxrep claims RESULTS [--study STUDY.md] [--figures DIR] [--label-issues FILE]``: measure every claim on
    the rows of ``results``; print the section, or splice it into ``study`` with its figures (default
    ``<study folder>/report/claims``). ``label_issues``: the per-library label-issue rates of claim 6 (default
    ``label_issues.json`` beside ``results``)."""
    results = Path(results)
    noise_file = Path(label_issues) if label_issues else results.parent / "label_issues.json"
    noise = json.loads(noise_file.read_text()) if noise_file.is_file() else {}
    rows = read_results(results)
    findings = measure(rows, noise)
    study = Path(study) if study else None
    figures = Path(figures) if figures else (study.parent / "report" / "claims" if study else None)
    text = write(findings, Rows(rows).libraries, study, figures, rows)
    print(text if study is None else f"claims → {study} (figures in {figures})")
    for f in findings:
        print(f"claim {f.number}: {f.verdict}")
