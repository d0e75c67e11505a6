"""Class-balanced batches per library, and their mixing across libraries (paper §5.1.1, §5.3.1).

Every batch holds items of ONE library. The samplers are rank-aware themselves (train with
``use_distributed_sampler=False``): Lightning cannot inject a distributed sampler into a batch sampler, and
wrapping pml's ``MPerClassSampler`` destroys its 16 × 4 structure.

The batch rule (:class:`ClassBalancedBatchSampler`), for a library with K classes, batch B = P classes × m:

* K ≥ P: every batch has P distinct classes × m items (paper: 16 × 4 = 64). Classes are dealt from
  reshuffled cycles of all K classes, so over an epoch every class appears equally often (±1).
* K < P: every batch has all K classes and still B items, spread as evenly as possible (64 over 3 classes →
  22/21/21; which classes get the extra item rotates). The authors' released model trained libraries of
  3, 8 and 10 classes; this keeps their batches full.
* Items of a class come from a per-epoch shuffle of that class, without replacement until the class is used
  up (then reshuffled): new items every epoch. A class with fewer items than a batch asks of it gives all of
  them plus draws with replacement.
* Epoch length: ⌈N / (B · world_size)⌉ batches per rank (≈ one pass over the library), or a fixed number.

Distributed: each epoch, a shuffle shared by all ranks (seeded by seed and epoch) deals each class's items
round-robin to the ranks, so ranks draw from disjoint items; a class with fewer items than there are ranks
is given whole to every rank. Each rank then draws with its own seed (seed, epoch, rank). Batch counts are
computed from global sizes, so every rank yields the same number of batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Literal

import numpy as np

Mixing = Literal["sequential", "joint", "round_robin"]


class _ClassStream:
    """Items of one class, dealt without replacement until used up, then reshuffled."""

    def __init__(self, items: np.ndarray, rng: np.random.Generator) -> None:
        self.items = items
        self.rng = rng
        self.queue: list[int] = []

    def take(self, k: int) -> list[int]:
        if len(self.items) < k:  # too few: every item once, the rest with replacement
            extra = self.rng.choice(self.items, k - len(self.items), replace=True)
            return [int(i) for i in self.rng.permutation(self.items)] + [int(i) for i in extra]
        out, self.queue = self.queue[:k], self.queue[k:]
        if len(out) < k:  # cycle: reshuffle, keeping this batch free of duplicates
            fresh = [int(i) for i in self.rng.permutation(self.items) if int(i) not in out]
            need = k - len(out)
            self.queue = fresh[need:] + out
            out = out + fresh[:need]
        return out


class _EpochAware:
    """Seeds its batches by epoch. Lightning calls ``set_epoch`` on ``dataloader.batch_sampler.sampler`` (not
    on the batch sampler), so the batch sampler exposes itself there."""

    epoch: int = 0

    @property
    def sampler(self) -> _EpochAware:
        return self

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


class ClassBalancedBatchSampler(_EpochAware):
    """Batches of one library: ``classes_per_batch`` classes × ``items_per_class`` items (see module doc).

    Args:
        labels: ``(N,)`` class index per item of the library.
        batch_size: items per batch (paper: 64).
        items_per_class: m (paper: 4); ``batch_size`` must be a multiple of it.
        seed: base seed; batches are a function of (seed, epoch, rank).
        rank: this process's rank.
        world_size: number of processes.
        batches_per_epoch: fixed epoch length per rank; ``None`` = ⌈N / (batch_size · world_size)⌉.
    """

    def __init__(
        self,
        labels: np.ndarray,
        batch_size: int = 64,
        items_per_class: int = 4,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        batches_per_epoch: int | None = None,
    ) -> None:
        if batch_size % items_per_class:
            raise ValueError(f"batch_size {batch_size} is not a multiple of items_per_class {items_per_class}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world_size {world_size}")
        self.labels = np.asarray(labels, dtype=np.int64)
        if self.labels.size == 0:
            raise ValueError("a library with no training items cannot be sampled")
        self.batch_size, self.items_per_class = batch_size, items_per_class
        self.classes_per_batch = batch_size // items_per_class
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.classes = np.unique(self.labels)
        self.by_class = {int(c): np.flatnonzero(self.labels == c) for c in self.classes}
        self.num_batches = batches_per_epoch or max(1, math.ceil(self.labels.size / (batch_size * world_size)))
        self._passes = 0

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self._passes = 0

    def __len__(self) -> int:
        return self.num_batches

    def _rank_items(self) -> dict[int, np.ndarray]:
        shared = np.random.default_rng([self.seed, self.epoch, 0])
        out = {}
        for c, items in self.by_class.items():
            perm = shared.permutation(items)
            out[c] = perm[self.rank :: self.world_size] if len(items) >= self.world_size else perm
        return out

    def _class_plan(self, rng: np.random.Generator) -> Iterator[list[tuple[int, int]]]:
        """Per batch: (class, how many items) pairs."""
        k, p, b = len(self.classes), self.classes_per_batch, self.batch_size
        if k < p:
            base, extra = divmod(b, k)
            for _ in range(self.num_batches):
                order = rng.permutation(self.classes)
                yield [(int(c), base + (j < extra)) for j, c in enumerate(order)]
            return
        pending: list[int] = []
        for _ in range(self.num_batches):
            chosen: list[int] = []
            while len(chosen) < p:
                j = next((j for j, c in enumerate(pending) if c not in chosen), None)
                if j is None:
                    pending += [int(c) for c in rng.permutation(self.classes)]
                    continue
                chosen.append(pending.pop(j))
            yield [(c, self.items_per_class) for c in chosen]

    def __iter__(self) -> Iterator[list[int]]:
        # a loader cycled within an epoch (round-robin mixing) draws anew on every pass
        passes, self._passes = self._passes, self._passes + 1
        rng = np.random.default_rng([self.seed, self.epoch, self.rank + 1] + ([passes] if passes else []))
        streams = {c: _ClassStream(items, rng) for c, items in self._rank_items().items()}
        for plan in self._class_plan(rng):
            yield [i for c, n in plan for i in streams[c].take(n)]


class MixedBatchSampler(_EpochAware):
    """Batches of several libraries over their concatenation, one library per batch (paper §5.3.1).

    Args:
        samplers: library name → its batch sampler, in library order.
        offsets: library name → index of its first item in the concatenated dataset.
        mixing: ``sequential`` — every batch of library 1, then of library 2, … (X-Sequential);
            ``joint`` — the batches of all libraries in a shuffled order (X-Joint). The order is a function
            of (seed, epoch) only, so all ranks visit the same library at the same step.
        seed: seed of the joint order.
    """

    def __init__(self, samplers: Mapping[str, ClassBalancedBatchSampler], offsets: Mapping[str, int],
                 mixing: Literal["sequential", "joint"] = "sequential", seed: int = 0) -> None:
        if mixing not in ("sequential", "joint"):
            raise ValueError(f"MixedBatchSampler mixes 'sequential' or 'joint', got {mixing!r}")
        self.samplers, self.offsets, self.mixing, self.seed = dict(samplers), dict(offsets), mixing, seed

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        for sampler in self.samplers.values():
            sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return sum(len(s) for s in self.samplers.values())

    def schedule(self) -> list[str]:
        """The library of each batch of this epoch, in order."""
        order = [name for name, s in self.samplers.items() for _ in range(len(s))]
        if self.mixing == "joint":
            np.random.default_rng([self.seed, self.epoch, 7]).shuffle(order)
        return order

    def __iter__(self) -> Iterator[list[int]]:
        batches = {name: iter(s) for name, s in self.samplers.items()}
        for name in self.schedule():
            offset = self.offsets[name]
            yield [offset + i for i in next(batches[name])]
