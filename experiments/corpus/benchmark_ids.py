"""Writes ``benchmark-freesound-ids.txt``: the Freesound ids of every ESC-50 and UrbanSound8K clip.

Both benchmarks name each clip after its Freesound source (ESC-50 ``1-104089-A-22`` → 104089; UrbanSound8K
``135776-2-0-49`` → 135776). The clip lists are read from the indexes that the ``soundata`` package ships
(version pinned below), so no benchmark audio is needed. ``make corpus`` excludes any corpus file that names
one of these ids or is credited to one (``sfxrep.corpus.benchmarks``). Run: ``python benchmark_ids.py``
(downloads the ``soundata`` wheel by name with pip, once).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SOUNDATA = "soundata==0.1.2"
INDEXES = {  # index inside the wheel → how a clip id carries its Freesound id
    "esc50": ("soundata/datasets/indexes/esc50_index.json", lambda clip: clip.split("-")[1]),
    "urbansound8k": ("soundata/datasets/indexes/urbansound8k_index.json", lambda clip: clip.split("-")[0]),
}


def main() -> None:
    out = Path(__file__).with_name("benchmark-freesound-ids.txt")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", SOUNDATA, "-d", tmp],
                       check=True)
        wheel = zipfile.ZipFile(next(Path(tmp).glob("soundata-*.whl")))
        lines = [f"# Freesound ids of the ESC-50 and UrbanSound8K clips, from the indexes of {SOUNDATA}",
                 "# (experiments/corpus/benchmark_ids.py wrote this file); one 'id benchmark' per line"]
        ids: dict[str, set[str]] = {}
        for name, (member, fsid) in INDEXES.items():
            for clip in json.loads(wheel.read(member))["clips"]:
                ids.setdefault(fsid(clip), set()).add(name)
    lines += [f"{i} {','.join(sorted(b))}" for i, b in sorted(ids.items(), key=lambda kv: int(kv[0]))]
    out.write_text("\n".join(lines) + "\n")
    print(f"{out}: {len(ids)} Freesound ids")


if __name__ == "__main__":
    main()
