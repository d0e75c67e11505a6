"""The YAML file that lists the libraries of a run.

```yaml
split: {seed: 0, ratios: [0.8, 0.1, 0.1], max_per_class: 150, min_per_class: 2}
libraries:
  - {name: ucs_sfx, kind: ucs, root: ../data/ucs_sfx, ucs_list: ../data/ucs/UCS.csv, level: category}
  - {name: dirt, kind: folder, root: ../data/dirt_oneshots}
  - {name: kenney, kind: regex, root: ../data/kenney_ui, split: {min_per_class: 3}}
```

Relative paths (``root``, ``csv``, ``ucs_list``) are relative to the YAML file; ``$VARS`` and ``~`` expand.
A library's own ``split:`` entries override the file's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

# importing the adapters registers their kinds
from sfxrep.libraries import csvlist, demo, esc50, folder, regex, ucs  # noqa: F401
from sfxrep.libraries.base import ADAPTERS, Library
from sfxrep.libraries.manifest import MANIFEST_VERSION
from sfxrep.libraries.split import SplitConfig

_PATH_KEYS = ("root", "csv", "ucs_list", "crosswalk")


@dataclass(frozen=True)
class LibrarySpec:
    """One library of a run: its adapter and how it is split."""

    library: Library
    split: SplitConfig

    @property
    def name(self) -> str:
        return self.library.name


@dataclass(frozen=True)
class LibrariesSpec:
    """All libraries of a run, as read from a YAML file.

    Attributes:
        source: the YAML file.
        libraries: library specs in file order (that order is the Sequential mixing order).
    """

    source: Path
    libraries: tuple[LibrarySpec, ...]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.libraries]

    def fingerprint(self) -> str:
        """A hash of everything that decides the manifest: adapters' and split settings, and the schema version."""
        desc = [{"library": s.library.describe(), "split": asdict(s.split)} for s in self.libraries]
        ident = {"version": MANIFEST_VERSION, "libraries": desc}
        return hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]


def _split_config(raw: dict, where: str) -> SplitConfig:
    unknown = set(raw) - set(SplitConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"{where}: unknown split setting(s) {sorted(unknown)}")
    if "ratios" in raw:
        raw = {**raw, "ratios": tuple(raw["ratios"])}
    try:
        return SplitConfig(**raw)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: {err}") from err


def load_libraries(path: str | Path) -> LibrariesSpec:
    """Read a libraries YAML file.

    Raises:
        ValueError: unknown ``kind``, duplicate names, bad settings — with the file and entry named.
    """
    path = Path(path).resolve()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from err
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with a 'libraries:' list, got a {type(raw).__name__}")
    entries = raw.get("libraries")
    if not entries or not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{path}: no 'libraries:' list of mappings")
    base_split = raw.get("split") or {}
    specs: list[LibrarySpec] = []
    for i, entry in enumerate(entries):
        entry = dict(entry)
        where = f"{path} libraries[{i}] ({entry.get('name', '?')})"
        kind = entry.pop("kind", None)
        if kind not in ADAPTERS:
            raise ValueError(f"{where}: kind must be one of {sorted(ADAPTERS)}, got {kind!r}")
        split = _split_config({**base_split, **(entry.pop("split", None) or {})}, where)
        for key in _PATH_KEYS:
            if key in entry and entry[key] is not None:
                entry[key] = path.parent / os.path.expanduser(os.path.expandvars(str(entry[key])))
        try:
            library = ADAPTERS[kind](**entry)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: {err}") from err
        specs.append(LibrarySpec(library, split))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: library names must be unique, got {names}")
    return LibrariesSpec(path, tuple(specs))


def labels_yaml(csv_path: str | Path, out_dir: str | Path) -> Path:
    """A libraries YAML for one labelled library given as a CSV (``path,label``, paths relative to the CSV's folder;
    optional ``group``): written into ``out_dir`` under a name fixed by the CSV's absolute path, so that ``--labels
    labels.csv`` works wherever a libraries YAML would, with the library named after the CSV's folder.

    Raises:
        FileNotFoundError: no such CSV.
    """
    csv_path = Path(csv_path).expanduser().resolve()
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path}: no such labels CSV (columns path,label; paths relative to its folder)")
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", csv_path.parent.name).strip("_") or "library"
    spec = {"split": {"seed": 0, "min_per_class": 2},
            "libraries": [{"name": name, "kind": "csv", "csv": str(csv_path)}]}
    digest = hashlib.sha1(str(csv_path).encode("utf-8", "surrogateescape")).hexdigest()[:8]
    out = Path(out_dir) / f"labels-{name}-{digest}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(spec)
    if not out.is_file() or out.read_text() != text:
        out.write_text(text)
    return out
