"""The model card's tables from the release's results files: per library, frame / file macro-F1 and DBI of each
model or recipe, and the mean frame macro-F1 with its difference to aiSFX.

    python experiments/release/tables.py results/release/references.jsonl results/release/recipes.jsonl
"""

from __future__ import annotations

import sys
from statistics import fmean

from sfxrep.records import read_results


def name(row) -> str:
    return row.model if row.model != "sfxrep" else row.run.split("-recipe-")[-1].rsplit("-2026", 1)[0] \
        if "-recipe-" in row.run else row.run


def main(paths: list[str]) -> None:
    rows = [r for p in paths for r in read_results(p)]  # a later row of the same model and library replaces it
    models = list(dict.fromkeys(name(r) for r in rows))
    libraries = list(dict.fromkeys(r.library for r in rows))
    cell = {(name(r), r.library): r for r in rows}
    print("| library | " + " | ".join(models) + " |")
    print("|---|" + "---|" * len(models))
    for library in libraries:
        print(f"| {library} | " + " | ".join(
            f"{c.frame_macro_f1:.3f} / {c.file_macro_f1:.3f} / {c.dbi:.2f}" if (c := cell.get((m, library))) else "—"
            for m in models) + " |")
    means = {m: fmean(cell[(m, lib)].frame_macro_f1 for lib in libraries) for m in models
             if all((m, lib) in cell for lib in libraries)}
    base = means.get("aisfx")
    print("| **mean frame F1** | " + " | ".join(
        f"**{means[m]:.3f}**" + (f" ({means[m] - base:+.3f})" if base is not None and m != "aisfx" else "")
        if m in means else "—" for m in models) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
