"""``sfxrep corpus build|plan``: the public corpus from the distribution's packages (``make corpus``)."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from sfxrep.inference.options import add_no_progress
from sfxrep.paths import cache_root

RECIPES = "experiments/corpus"
OUT = "data/corpus"
AGAINST = "experiments/libraries/shared.yaml"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``corpus`` to the ``sfxrep`` parser."""
    c = sub.add_parser("corpus", help="build the public corpus from pinned distribution packages (make corpus)",
                       description="build: fetch, extract, label, de-duplicate and write every library of the "
                                   "recipes; plan: what the recipes make of the packages (labels and counts, "
                                   "nothing decoded).")
    c.add_argument("action", choices=("build", "plan", "ucs", "card"),
                   help="build; plan (labels and counts, nothing decoded); ucs (check the crosswalks against the "
                        "built corpus and print the UCS reference's coverage); card (write --card from the built "
                        "corpus and the recipes)")
    c.add_argument("--card", default=f"{RECIPES}/CARD.md", help="where 'card' writes (default %(default)s)")
    c.add_argument("--recipes", default=RECIPES, help="folder of recipe YAML files (default %(default)s)")
    c.add_argument("--only", nargs="+", metavar="PACKAGE", help="only these packages' recipes")
    c.add_argument("--out", default=OUT, help="the corpus folder (git-ignored; default %(default)s)")
    c.add_argument("--cache", default=str(cache_root() / "debs"), help="where packages are kept (default %(default)s)")
    c.add_argument("--against", default=AGAINST,
                   help="libraries YAML whose files win over their copies in the corpus (default the shared seven; "
                        "'none' for none; a library whose folder is absent is skipped with a note)")
    c.add_argument("--benchmark-ids", default=f"{RECIPES}/benchmark-freesound-ids.txt",
                   help="Freesound ids of ESC-50 and UrbanSound8K clips (default %(default)s)")
    c.add_argument("--crosswalks", default=f"{RECIPES}/ucs", help="folder of UCS crosswalks (default %(default)s)")
    c.add_argument("--ucs-list", default="../shared/data/ucs/UCS_v8.2.1_Full_List.csv",
                   help="the official UCS list (default %(default)s)")
    add_no_progress(c)
    c.set_defaults(func=corpus_command)


def _against(spec: str) -> list[tuple[str, str]]:
    if spec == "none":
        return []
    from sfxrep.libraries.spec import load_libraries

    files = []
    for lib in load_libraries(spec).libraries:
        try:
            scan = lib.library.scan()
        except (OSError, ValueError) as err:
            print(f"note: {lib.name} not checked for copies: {err}")
            continue
        files += [(lib.name, str(c.path)) for c in scan.candidates]
    return files


def corpus_command(ns: argparse.Namespace) -> None:
    from sfxrep.corpus.recipe import load_recipes

    recipes = load_recipes(ns.recipes)
    if ns.only:
        unknown = set(ns.only) - {r.package for r in recipes}
        if unknown:
            raise ValueError(f"--only: no recipe for {sorted(unknown)} in {ns.recipes}")
        recipes = [r for r in recipes if r.package in ns.only]
    if ns.action == "plan":
        from sfxrep.corpus import benchmarks
        from sfxrep.corpus.build import extract

        ids = benchmarks.load_ids(ns.benchmark_ids)
        for r in recipes:
            state = extract(r, Path(ns.out), Path(ns.cache), ids, "plan")
            print(f"== {r.package} {r.version}: {len(state.entries)} sound files")
            for name in r.libraries:
                sizes = Counter(e.label for e in state.entries if e.library == name and e.status == "kept")
                print(f"  {name}: {sum(sizes.values())} files, {len(sizes)} labels")
                for label, n in sorted(sizes.items(), key=lambda kv: -kv[1]):
                    print(f"    {n:5d}  {label}")
            for reason, n in Counter(e.detail for e in state.entries if e.status != "kept").most_common():
                print(f"  excluded {n:5d}  {reason[:100]}")
        return
    if ns.action == "card":
        import json

        from sfxrep.corpus.card import card_markdown
        from sfxrep.fileio import atomic_write_text

        summary = json.loads((Path(ns.out) / "corpus.json").read_text())
        atomic_write_text(ns.card, card_markdown(summary, recipes))
        print(f"wrote {ns.card}")
        return
    if ns.action == "build":
        from sfxrep.corpus.build import build

        build(recipes, ns.out, ns.cache, ns.benchmark_ids, _against(ns.against), progress=not ns.no_progress)
    if Path(ns.ucs_list).is_file():
        ucs_report(Path(ns.out), Path(ns.crosswalks), Path(ns.ucs_list), [n for r in recipes for n in r.libraries])
    else:
        print(f"note: UCS crosswalks not checked: no UCS list at {ns.ucs_list}")


MIN_REFERENCE_FILES = 5  # a CatID counts as covered by the UCS reference with this many files


def ucs_report(out: Path, crosswalks: Path, ucs_list: Path, libraries: list[str]) -> dict[str, int]:
    """Check every library's crosswalk against its built classes; write ``OUT/ucs-coverage.csv`` (CatID, files)
    and print how many CatIDs the UCS reference covers with :data:`MIN_REFERENCE_FILES` files or more."""
    import json

    from sfxrep.corpus.build import _csv, _write_if_changed
    from sfxrep.libraries.crosswalk import check_covers, coverage, load_crosswalk

    summary = json.loads((out / "corpus.json").read_text())["libraries"]
    sizes = {name: summary[name]["class_sizes"] for name in libraries if name in summary}
    missing = [name for name in sizes if not (crosswalks / f"{name}.csv").is_file()]
    if missing:
        raise ValueError(f"{crosswalks}: no crosswalk for {missing} (one <library>.csv each: class,catid,reason)")
    walks = {name: load_crosswalk(crosswalks / f"{name}.csv", ucs_list) for name in sizes}
    for name, walk in walks.items():
        check_covers(walk, set(sizes[name]))
    files = coverage(sizes, walks)
    _write_if_changed(out / "ucs-coverage.csv", _csv(["catid", "files"], sorted(files.items())))
    covered = sum(n >= MIN_REFERENCE_FILES for n in files.values())
    unmapped = sum(n for name in sizes for c, n in sizes[name].items() if walks[name].catid[c] is None)
    print(f"UCS reference: {covered} CatIDs with ≥ {MIN_REFERENCE_FILES} files ({len(files)} CatIDs, "
          f"{sum(files.values())} files); {unmapped} files in classes with no UCS CatID; {out / 'ucs-coverage.csv'}")
    return dict(files)
