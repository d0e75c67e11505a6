"""The corpus card (``experiments/corpus/CARD.md``): what each library is, where it comes from, under which licence,
how it is labelled, and what was left out — written from the built corpus and the recipes, then committed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sfxrep.corpus.recipe import MIN_CLASS_FILES, Recipe


def recipe_comment(recipe: Recipe) -> str:
    """The recipe file's leading ``#`` comment: its label rule in words."""
    lines = []
    for line in Path(recipe.source).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").rstrip())
    return " ".join(lines)


def card_markdown(summary: dict, recipes: Sequence[Recipe]) -> str:
    libs, packages = summary["libraries"], summary["packages"]
    total = sum(v["files"] for v in libs.values())
    sfx = [n for n, v in libs.items() if v["kind"] == "sfx"]
    lines = [
        "# The sfxrep public corpus: card", "",
        "Written by `sfxrep corpus card` from a build of `make corpus` (the corpus itself is never committed: "
        "`data/corpus/` is git-ignored; the recipes are). Regenerate after changing a recipe.", "",
        f"**{len(libs)} libraries, {total} files** ({len(sfx)} sound-effect libraries with "
        f"{sum(libs[n]['files'] for n in sfx)} files; {len(libs) - len(sfx)} voice libraries), from "
        f"{len(packages)} Debian 12 packages, each pinned to one version. With the seven shared libraries of "
        "`../shared/data` that makes the training and evaluation pool of `experiments/libraries/corpus.yaml`.", "",
        "How it was made, and what it is not:",
        "- **Labels** come from each game's own folder taxonomy or file names, by the rules of its recipe "
        "(`experiments/corpus/<package>.yaml`). They were reviewed by reading the member paths, names and "
        "durations of every class (`sfxrep corpus plan`), **not by listening**: a label says what the game's "
        "authors named the file, and a librarian should expect a few files per class that sound unlike its name.",
        "- **Voice lines, music and ambient loops** never enter an SFX class: voice lines are libraries of their own "
        "(class = the line, the speaker or the language), music and loops are excluded.",
        f"- **Classes under {MIN_CLASS_FILES} files** are dropped; **copies** (same decoded audio, or a near-copy "
        "the audit's verified duplicate finder confirms: re-encoded, resampled, trimmed, gain-changed, or a "
        "velocity layer made from one hit) are removed across the corpus and against the seven shared libraries, "
        "which win; digitally silent files are excluded.",
        "- **Benchmarks stay clean**: a file whose name or credits cite the Freesound source of an ESC-50 or "
        "UrbanSound8K clip (`benchmark-freesound-ids.txt`, 2,727 ids) is excluded. This build found "
        f"{sum(len(v['benchmark_hits']) for v in packages.values())} such files. `openclonk-data` is reserved and "
        "no recipe may name it.",
        "- **Groups**: `labels.csv`'s `group` is the take group of the evaluation protocol's rule "
        "(`sfxrep.libraries.takes`), so takes of one source never straddle a split or fold.",
        "- **Every sound file read is accounted for** in `data/corpus/report.csv`: kept, duplicate of which file "
        "(exact or near), excluded and why, in a class too small, or over a class cap.", "",
        "| library | kind | package | version | files | classes | groups | licence (the package's copyright file) |",
        "|---|---|---|---|---|---|---|---|"]
    for name, v in sorted(libs.items()):
        lines.append(f"| {name} | {v['kind']} | {v['package']} | {v['version']} | {v['files']} | {v['classes']} | "
                     f"{v['groups']} | {v['licence']} |")
    lines += ["", "## Per package: label rule and what was left out", ""]
    for recipe in recipes:
        p = packages.get(recipe.package)
        if p is None:
            continue
        lines.append(f"### {recipe.package} {recipe.version}")
        lines.append("")
        lines.append(recipe_comment(recipe))
        lines.append("")
        for name in recipe.libraries:
            v = libs[name]
            classes = ", ".join(f"{c} {n}" for c, n in sorted(v["class_sizes"].items(), key=lambda kv: -kv[1]))
            lines.append(f"- **{name}** ({v['kind']}): {v['files']} files, {v['classes']} classes — {classes}.")
        lines.append(f"- Sound files in the package: {p['sound_files']}; kept {p['kept']}, excluded {p['excluded']}, "
                     f"duplicates {p['duplicate']}, in classes under {MIN_CLASS_FILES} files {p['small class']}, "
                     f"over a class cap {p['over class cap']}.")
        for reason, n in p["reasons"].items():
            lines.append(f"  - {n} × {reason.splitlines()[0][:160]}")
        lines.append("")
    return "\n".join(lines)
