"""``sfxrep prepare LIBRARIES.yaml``: decode, cache and split the libraries of a YAML file."""

from __future__ import annotations

import argparse

from sfxrep.paths import add_dirs


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``prepare`` to the ``sfxrep`` parser."""
    p = sub.add_parser("prepare", help="decode, cache and split the libraries of a YAML file")
    p.add_argument("libraries")
    add_dirs(p)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--force", action="store_true", help="retry files whose decoding failed before")
    p.add_argument("--verify", action="store_true", help="read every cached array first; bad ones are decoded again")
    p.set_defaults(func=prepare_command)


def prepare_command(ns: argparse.Namespace) -> None:
    from sfxrep.audio.cache import WaveCache
    from sfxrep.libraries.prepare import prepare
    from sfxrep.libraries.spec import load_libraries

    spec, cache = load_libraries(ns.libraries), WaveCache(ns.cache_dir)
    if ns.verify:
        bad = cache.verify()
        print(f"verified the wave cache {ns.cache_dir}: {len(bad)} bad entr{'y' if len(bad) == 1 else 'ies'} removed"
              + "".join(f"\n  {npy}: {problem}" for npy, problem in bad.items()))
    prepared = prepare(spec, ns.work_dir, cache, workers=ns.workers, force=ns.force)
    for report in prepared.reports:
        print(report.summary())
    print(f"manifest: {prepared.manifest_path}\nreport:   {prepared.folder / 'report.json'}")
