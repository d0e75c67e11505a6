"""Seeded, stratified train/val/test split with an optional per-class cap and minimum (paper §4).

Every decision is a function of (seed, file path relative to the library root): the split does not depend
on the order files were found in, is identical when re-run, and survives moving the library folder.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sfxrep.fileio import name_bytes
from sfxrep.libraries.takes import units


@dataclass(frozen=True)
class SplitConfig:
    """How a library is split.

    Attributes:
        seed: split seed.
        ratios: train, val, test fractions (paper: 8:1:1).
        max_per_class: keep at most this many files per class, a seeded random subset (paper: 150); ``None``
            keeps all.
        min_per_class: classes with fewer usable files are dropped (and reported).
        by_takes: keep each group of takes of one source (:mod:`sfxrep.libraries.takes`) in one split; ``False``
            groups only by explicit sources, the rule of manifests before version 4 (sfxrep-v1 was trained on
            such a split: ``experiments/libraries/shared-v1-split.yaml`` reproduces it).
    """

    seed: int = 0
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    max_per_class: int | None = None
    min_per_class: int = 1
    by_takes: bool = True

    def __post_init__(self) -> None:
        def whole(value: object) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        if not whole(self.seed):
            raise ValueError(f"split seed must be an integer, got {self.seed!r}")
        numbers = all(isinstance(r, (int, float)) and not isinstance(r, bool) for r in self.ratios)
        if len(self.ratios) != 3 or not numbers or min(self.ratios) < 0 or not math.isclose(sum(self.ratios), 1.0):
            raise ValueError(f"ratios must be three non-negative fractions summing to 1, got {list(self.ratios)}")
        if self.max_per_class is not None and not (whole(self.max_per_class) and self.max_per_class >= 1):
            raise ValueError(f"max_per_class must be a positive integer or null, got {self.max_per_class!r}")
        if not isinstance(self.by_takes, bool):
            raise ValueError(f"by_takes must be true or false, got {self.by_takes!r}")
        if not (whole(self.min_per_class) and self.min_per_class >= 1):
            raise ValueError(f"min_per_class must be a positive integer, got {self.min_per_class!r}")


@dataclass
class SplitOutcome:
    """Which split each kept item went to, and what was left out.

    Attributes:
        splits: item index → ``train`` / ``val`` / ``test``.
        dropped_classes: label → number of files, for classes under ``min_per_class``.
        capped: label → number of files left out by ``max_per_class``.
        left_out: item index → why it is in no split (its class is under the minimum, or over the cap).
    """

    splits: dict[int, str] = field(default_factory=dict)
    dropped_classes: dict[str, int] = field(default_factory=dict)
    capped: dict[str, int] = field(default_factory=dict)
    left_out: dict[int, str] = field(default_factory=dict)


def stable_rank(seed: int, key: str) -> str:
    """A seeded pseudo-random sort key for ``key``."""
    return hashlib.sha1(name_bytes(f"{seed}\x00{key}")).hexdigest()


def split_sizes(n: int, ratios: tuple[float, float, float]) -> tuple[int, int, int]:
    """Sizes (train, val, test) of a stratum of ``n`` items; val and test round half up, train keeps ≥ 1.

    5 items at 8:1:1 → (3, 1, 1); 2 items → (2, 0, 0).
    """
    n_val = math.floor(n * ratios[1] + 0.5)
    n_test = math.floor(n * ratios[2] + 0.5)
    while n - n_val - n_test < 1 and (n_val or n_test):
        if n_val >= n_test and n_val:
            n_val -= 1
        else:
            n_test -= 1
    return n - n_val - n_test, n_val, n_test


def assign_splits(
    keys: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[str],
    config: SplitConfig,
    fixed: Callable[[int], str | None] = lambda i: None,
    previous: Callable[[int], str | None] = lambda i: None,
    sources: Sequence[Sequence[str]] | None = None,
) -> SplitOutcome:
    """Split one library's items.

    Args:
        keys: a stable identity per item (path relative to the library root).
        labels: class per item.
        groups: stratum per item (UCS: CatID; else the label).
        config: seed, ratios, cap and minimum.
        fixed: item index → a split fixed by the source (ESC-50 folds), or ``None``.
        previous: item index → the split it had in the last manifest, or ``None`` for a new file. An item keeps
            its split; new items fill what their stratum lacks of its 8:1:1 shares, in seeded order (so a first
            preparation, with no previous splits, is exactly the seeded stratified split).
        sources: the source recordings of each item: items that share one (directly or through others) form a
            unit that goes to one split as a whole (the split of its first item's place in the seeded order), so no
            recording straddles train and test; without shared sources this is exactly the per-item split.

    Returns:
        the split of each kept item, and the dropped and capped counts per class.
    """
    out = SplitOutcome()
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)

    kept: list[int] = []
    for label, items in sorted(by_label.items()):
        if len(items) < config.min_per_class:
            out.dropped_classes[label] = len(items)
            out.left_out.update(dict.fromkeys(items, f"class {label!r} has {len(items)} file(s), under "
                                                     f"min_per_class {config.min_per_class}"))
            continue
        items = sorted(items, key=lambda i: stable_rank(config.seed, keys[i]))
        if config.max_per_class is not None and len(items) > config.max_per_class:
            out.capped[label] = len(items) - config.max_per_class
            out.left_out.update(dict.fromkeys(items[config.max_per_class:], f"over max_per_class {config.max_per_class} of class {label!r}"))
            items = items[: config.max_per_class]
        kept.extend(items)

    unit = units(kept, sources or [()] * len(keys), keys)
    strata: dict[str, list[int]] = defaultdict(list)
    for i in kept:
        if (split := fixed(i)) is not None:
            out.splits[i] = split
        else:
            strata[groups[i]].append(i)
    decided: dict[int, str] = {}  # unit → its split, once one of its items has one
    for _, items in sorted(strata.items()):
        items.sort(key=lambda i: stable_rank(config.seed + 1, keys[unit[i]]))  # a unit's items stay together
        sizes = dict(zip(("train", "val", "test"), split_sizes(len(items), config.ratios), strict=True))
        for i in items:
            split = decided.get(unit[i]) or previous(i)
            if split in sizes:
                out.splits[i] = decided[unit[i]] = split
                sizes[split] -= 1
        slots = [split for split, n in sizes.items() for _ in range(max(n, 0))]
        for rank, i in enumerate(i for i in items if i not in out.splits):  # a unit's items are consecutive here:
            if unit[i] not in decided:  # it takes the split of its first item's slot, as a single item would
                decided[unit[i]] = slots[rank] if rank < len(slots) else "train"
            out.splits[i] = decided[unit[i]]
    return out
