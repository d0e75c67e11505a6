"""Where sfxrep keeps what it can rebuild: the wave cache and prepared manifests, in the user's cache directory.

One place for the defaults every command and API uses, so that no command leaves a ``runs/`` folder in whatever
folder it was started from. ``$SFXREP_CACHE_DIR`` wins; else ``$XDG_CACHE_HOME/sfxrep``; else ``~/.cache/sfxrep``
(the XDG base-directory rule). Training runs (logs, checkpoints, results) stay in the project's ``runs/``: they are
results, not a cache.
"""

from __future__ import annotations

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
