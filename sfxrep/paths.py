"""Where sfxrep keeps what it can rebuild: the wave cache and prepared manifests, in the user's cache directory.

One place for the defaults every command and API uses, so that no command leaves a ``runs/`` folder in whatever
folder it was started from. ``$SFXREP_CACHE_DIR`` wins; else ``$XDG_CACHE_HOME/sfxrep``; else ``~/.cache/sfxrep``
(the XDG base-directory rule). Training runs (logs, checkpoints, results) stay in the project's ``runs/``: they are
results, not a cache.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def cache_root() -> Path:
    """The folder of sfxrep's rebuildable files (see the module doc)."""
    if os.environ.get("SFXREP_CACHE_DIR"):
        return Path(os.environ["SFXREP_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "sfxrep"


QUARANTINE = ".sfxrep-quarantine"  # the folder inside a library where `sfxrep audit --commit` moves removed copies;
# never scanned as part of the library (sfxrep.libraries.base.audio_files, sfxrep.audio.decode.walk_audio)
WORK_DIR = str(cache_root() / "prepared")  # prepared manifests and their reports (``sfxrep prepare``)
CACHE_DIR = str(cache_root() / "waves")  # the decoded wave cache


def add_dirs(parser: argparse.ArgumentParser, *, work: bool = True, cache: bool = True,
             work_help: str = "where libraries are prepared: manifests and reports (default: the cache folder's "
                              "prepared/)",
             cache_help: str = "the decoded wave cache (default: the cache folder's waves/)") -> None:
    """Declare ``--work-dir`` and ``--cache-dir`` on a command's parser, with the defaults above (the one place they
    are declared)."""
    if work:
        parser.add_argument("--work-dir", default=WORK_DIR, help=work_help)
    if cache:
        parser.add_argument("--cache-dir", default=CACHE_DIR, help=cache_help)
