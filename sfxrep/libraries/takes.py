"""Groups of files that are takes of one source: they never straddle a split or an evaluation fold.

Sound libraries ship variations of one recording or design side by side ("Sheep Baa 01", "Sheep Baa 02";
``dwarf-hit-1`` … ``dwarf-hit-3``). A take in the test split whose sibling is in the reference makes 1-NN a
near-duplicate lookup, and inflates every score (log-mel statistics most). The rule, for every adapter:

1. an explicit source column wins (``Candidate.sources``: CDDA's Freesound ids); clips sharing a source are one
   group, transitively;
2. otherwise the file's *take series*: its name (the adapter's :meth:`~sfxrep.libraries.base.Library.take_name`,
   the stem by default, UCS's FXName) without a leading index (``000_``) and without trailing take numbers or
   letters (``Sheep Baa 02`` → ``sheep baa``, ``dwarf-hit-3`` → ``dwarf-hit``, ``stairs2a`` → ``stairs``), within
   its directory;
3. a series that holds every file of its class (and more than one) is the class itself (kenney_ui's
   ``click_001`` … ``click_005``: the label *is* the series), so its files are grouped one per file; those
   classes are reported.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

_LEADING_INDEX = re.compile(r"^\d+[\s_.\-]+(?=\D)")
# the take marks, stripped once each from the end in this order: a letter right after a number ("2a"), one number
# ("02", "(2)"), a lone letter after a separator ("-A"); so ESC-50's "1-100032-A-0" keeps its clip "1-100032"
_TAKE_MARKS = (re.compile(r"(?<=\d)[A-Za-z]$"), re.compile(r"[\s_.\-]*(?:\(\d+\)|\d+)$"),
               re.compile(r"[\s_.\-]+[A-Za-z]$"))


def take_series(name: str) -> str:
    """The take series of a file name (no extension), lower-cased; the name itself if nothing would remain.

    >>> take_series("Sheep Baa 02"), take_series("dwarf-hit-3"), take_series("000_Tom Clap")
    ('sheep baa', 'dwarf-hit', 'tom clap')
    """
    stem = _LEADING_INDEX.sub("", name)
    for mark in _TAKE_MARKS:
        stem = mark.sub("", stem)
    return stem.strip(" _.-").lower() or name.lower()


@dataclass(frozen=True)
class Grouping:
    """The group of every file, and what the rule did.

    Attributes:
        groups: per file, its group's name (the first source or series of its group, by key order).
        series_per_file: classes whose one take series was split into one group per file (rule 3).
    """

    groups: list[str]
    series_per_file: list[str]

    @property
    def count(self) -> int:
        return len(set(self.groups))


def group_files(keys: Sequence[str], labels: Sequence[str], sources: Sequence[Sequence[str]],
                take_names: Sequence[str]) -> Grouping:
    """Group one library's files by the rule of this module.

    Args:
        keys: per file, a stable identity: its path relative to the library root (its directory scopes a series).
        labels: per file, its class.
        sources: per file, its explicit source ids (may be empty).
        take_names: per file, the name its take series is read from.
    """
    series = [f"{_directory(k)}/{take_series(n)}" for k, n in zip(keys, take_names, strict=True)]
    files_of_series: dict[str, set[int]] = defaultdict(set)
    files_of_label: dict[str, set[int]] = defaultdict(set)
    for i, (s, label) in enumerate(zip(series, labels, strict=True)):
        if not sources[i]:
            files_of_series[s].add(i)
        files_of_label[label].add(i)
    whole = {s for s, files in files_of_series.items()
             if len(files) > 1 and any(files == members for members in files_of_label.values())}
    ids = [tuple(src) if src else ((f"file:{k}",) if s in whole else (f"take:{s}",))
           for k, s, src in zip(keys, series, sources, strict=True)]
    unit = units(range(len(keys)), ids, keys)
    name = {root: ids[root][0] for root in set(unit.values())}
    per_file = sorted({labels[i] for i, s in enumerate(series) if s in whole and not sources[i]})
    return Grouping([name[unit[i]] for i in range(len(keys))], per_file)


def units(items: Sequence[int], sources: Sequence[Sequence[str]], keys: Sequence[str]) -> dict[int, int]:
    """Item → the representative item of its unit (items linked by a shared source, transitively); the unit is
    represented by its smallest key, so the result does not depend on the order of ``items``."""
    parent = {i: i for i in items}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i in items:
        for source in sources[i]:
            if source in first:
                a, b = root(i), root(first[source])
                if a != b:
                    parent[max(a, b, key=lambda x: keys[x])] = min(a, b, key=lambda x: keys[x])
            else:
                first[source] = i
    return {i: root(i) for i in items}


def _directory(key: str) -> str:
    return key.replace("\\", "/").rpartition("/")[0]
