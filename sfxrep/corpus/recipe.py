"""A corpus recipe: one distribution package, pinned, turned into one or more labelled libraries.

A recipe is a YAML file (``experiments/corpus/<package>.yaml``)::

    package: wesnoth-1.16-data
    version: "1:1.16.9-1"            # pinned: another version is another corpus
    archives: ["*.zip", "*.pk3"]      # inner archives to open (members are named ``outer!inner``)
    libraries:
      wesnoth: {kind: sfx, description: "Battle for Wesnoth: weapon, creature and magic sounds"}
    rules:                            # first match wins; a member no rule matches is excluded ("no rule")
      - {match: "/music/", exclude: "music"}
      - {match: "/sounds/(?P<what>[a-z]+)-(?P<act>hit|miss|die)", label: "{what} {act}"}
    labels: {"dwarf hit": "hit"}      # optional merges, applied after the template

``match`` is a regular expression searched in the member's path (``usr/share/…`` or ``outer.pk3!sound/…``); a
rule either ``exclude``\\s with a reason or gives a ``label`` template filled from the match's named groups and
``{stem}`` (file name without extension) and ``{series}`` (the stem's take series, :func:`take_series`), into
``library`` (default: the first library listed). Labels are lower-cased with ``_``/``-`` read as spaces. Every
library is one of the kinds ``sfx``, ``voice`` (speech lines: never mixed into SFX classes) or ``music``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import yaml

from sfxrep.libraries.takes import take_series

KINDS = ("sfx", "voice", "music")
MIN_CLASS_FILES = 5  # a class with fewer files is dropped (and counted in the report)
AUDIO_SUFFIXES = (".wav", ".ogg", ".oga", ".flac", ".mp3", ".opus")
RESERVED_PACKAGES = frozenset({"openclonk-data"})  # never enters the corpus (issue 31)


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Rule:
    """One line of a recipe's ``rules``: a member whose path matches either gets a label or is excluded."""

    match: re.Pattern
    label: str | None = None
    library: str | None = None
    exclude: str | None = None


@dataclass(frozen=True)
class LibraryRecipe:
    """One library a recipe makes: its name, kind, a one-line description, and ``max_per_class`` (``None``: all
    files; else each class keeps that many, chosen by a hash of the member name, and the rest are reported)."""

    name: str
    kind: str
    description: str = ""
    max_per_class: int | None = None


@dataclass(frozen=True)
class Decision:
    """What a recipe makes of one member: a ``library`` and ``label``, or ``excluded`` with the reason."""

    library: str | None
    label: str | None
    excluded: str | None = None


@dataclass
class Recipe:
    """A parsed recipe (see the module doc). ``source``: the YAML file it came from."""

    package: str
    version: str
    libraries: dict[str, LibraryRecipe]
    rules: list[Rule]
    archives: tuple[str, ...] = ("*.zip", "*.pk3", "*.wz")
    labels: dict[str, str] = field(default_factory=dict)
    source: str = ""
    digest: str = ""

    def decide(self, member: str) -> Decision:
        """The library and label of ``member`` (a path inside the package, ``outer!inner`` inside an archive)."""
        stem = PurePosixPath(member.rpartition("!")[2]).stem
        for rule in self.rules:
            m = rule.match.search(member)
            if m is None:
                continue
            if rule.exclude is not None:
                return Decision(None, None, rule.exclude)
            values = {k: v for k, v in m.groupdict().items() if v is not None}
            label = normalise_label(rule.label.format(stem=stem, series=take_series(stem), **values))
            label = self.labels.get(label, label)
            if not label:
                return Decision(None, None, f"rule {rule.match.pattern!r} gave an empty label")
            return Decision(rule.library or next(iter(self.libraries)), label)
        return Decision(None, None, "no rule of the recipe matches")

    def opens(self, member: str) -> bool:
        """Whether ``member`` is an inner archive this recipe opens."""
        return any(fnmatch(PurePosixPath(member).name.lower(), g) for g in self.archives)


def normalise_label(label: str) -> str:
    """``"Dwarf_Hit-"`` → ``"dwarf hit"``: lower case, ``_``/``-`` as spaces, single spaces, trimmed."""
    return re.sub(r"\s+", " ", re.sub(r"[_\-]+", " ", label)).strip().lower()


def load_recipe(path: str | Path) -> Recipe:
    """Parse and check one recipe file; :class:`RecipeError` names the file and what is wrong."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: a recipe is a mapping with package, version, libraries and rules")
    unknown = set(raw) - {"package", "version", "archives", "libraries", "rules", "labels", "notes"}
    if unknown:
        raise RecipeError(f"{path}: unknown field(s) {sorted(unknown)}")
    for key in ("package", "version", "libraries", "rules"):
        if not raw.get(key):
            raise RecipeError(f"{path}: '{key}' is required")
    package, version = str(raw["package"]), str(raw["version"])
    if package in RESERVED_PACKAGES:
        raise RecipeError(f"{path}: {package} is reserved and never enters the corpus")
    libraries = {}
    for name, spec in dict(raw["libraries"]).items():
        spec = spec or {}
        if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", str(name)):
            raise RecipeError(f"{path}: library name {name!r} must be lower-case letters, digits and _")
        kind = spec.get("kind", "sfx")
        if kind not in KINDS:
            raise RecipeError(f"{path}: library {name}: kind {kind!r} is not one of {KINDS}")
        cap = spec.get("max_per_class")
        if cap is not None and (not isinstance(cap, int) or cap < MIN_CLASS_FILES):
            raise RecipeError(f"{path}: library {name}: max_per_class must be a whole number ≥ {MIN_CLASS_FILES}")
        unknown = set(spec) - {"kind", "description", "max_per_class"}
        if unknown:
            raise RecipeError(f"{path}: library {name}: unknown field(s) {sorted(unknown)}")
        libraries[str(name)] = LibraryRecipe(str(name), kind, str(spec.get("description", "")), cap)
    rules = []
    for i, spec in enumerate(raw["rules"], start=1):
        where = f"{path}: rule {i}"
        if not isinstance(spec, dict) or "match" not in spec:
            raise RecipeError(f"{where}: needs 'match'")
        if ("label" in spec) == ("exclude" in spec):
            raise RecipeError(f"{where}: give exactly one of 'label' or 'exclude'")
        try:
            pattern = re.compile(spec["match"])
        except re.error as err:
            raise RecipeError(f"{where}: 'match' is not a regular expression ({err})") from err
        library = spec.get("library")
        if library is not None and library not in libraries:
            raise RecipeError(f"{where}: library {library!r} is not among {sorted(libraries)}")
        if "label" in spec:
            fields = set(re.findall(r"{(\w+)}", spec["label"]))
            missing = fields - set(pattern.groupindex) - {"stem", "series"}
            if missing:
                raise RecipeError(f"{where}: label uses {sorted(missing)}, which 'match' does not capture")
        else:
            if not str(spec["exclude"]).strip():
                raise RecipeError(f"{where}: 'exclude' needs a reason")
        rules.append(Rule(pattern, spec.get("label"), library, spec.get("exclude")))
    archives = tuple(str(a).lower() for a in raw.get("archives", Recipe.archives))
    labels = {normalise_label(str(k)): normalise_label(str(v)) for k, v in (raw.get("labels") or {}).items()}
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return Recipe(package, version, libraries, rules, archives, labels, str(path), digest)


def load_recipes(folder: str | Path) -> list[Recipe]:
    """Every ``*.yaml`` recipe of ``folder``, in file-name order (the order duplicates are resolved in); two
    recipes that define one library name are an error."""
    recipes = [load_recipe(p) for p in sorted(Path(folder).glob("*.yaml"))]
    seen: dict[str, str] = {}
    for r in recipes:
        for name in r.libraries:
            if name in seen:
                raise RecipeError(f"{r.source}: library {name} is already defined in {seen[name]}")
            seen[name] = r.source
    return recipes
