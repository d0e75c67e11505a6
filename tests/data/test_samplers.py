"""Class-balanced single-library batches, checked batch by batch against the rule; mixing across libraries."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from sfxrep.data.samplers import ClassBalancedBatchSampler, MixedBatchSampler


def labels_of(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


def batches(sampler, epoch: int = 0) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_every_batch_is_16_classes_by_4_items():
    labels = labels_of([5 + (c * 7) % 30 for c in range(40)])  # 40 imbalanced classes, 5..34 items
    sampler = ClassBalancedBatchSampler(labels, batch_size=64, items_per_class=4, seed=1)
    assert len(sampler) == int(np.ceil(labels.size / 64))
    for batch in batches(sampler):
        counts = Counter(labels[batch].tolist())
        assert len(batch) == 64 and len(counts) == 16 and set(counts.values()) == {4}
        assert len(set(batch)) == 64  # no duplicates when classes have ≥ 4 items


def test_classes_are_balanced_and_items_fresh_over_an_epoch():
    labels = labels_of([200] + [8] * 31)  # one huge class, 31 small
    sampler = ClassBalancedBatchSampler(labels, batches_per_epoch=20)
    appearances = Counter(c for b in batches(sampler) for c in set(labels[b].tolist()))
    assert max(appearances.values()) - min(appearances.values()) <= 1  # uniform over classes, not over items
    drawn = [i for b in batches(sampler) for i in b if labels[i] == 0]
    assert len(drawn) == len(set(drawn))  # the big class gives new items until used up


def test_reproducible_per_epoch_and_different_across_epochs():
    labels = labels_of([10] * 20)
    a = ClassBalancedBatchSampler(labels, seed=7)
    b = ClassBalancedBatchSampler(labels, seed=7)
    assert batches(a, 3) == batches(b, 3)
    assert batches(a, 3) != batches(a, 4)
    assert batches(a, 3) != batches(ClassBalancedBatchSampler(labels, seed=8), 3)


@pytest.mark.parametrize("num_classes", [1, 3, 8, 10, 15])
def test_fewer_than_16_classes_still_fill_the_batch_evenly(num_classes):
    labels = labels_of([30] * num_classes)
    for batch in batches(ClassBalancedBatchSampler(labels, batches_per_epoch=6)):
        counts = Counter(labels[batch].tolist())
        assert len(batch) == 64 and len(counts) == num_classes
        assert max(counts.values()) - min(counts.values()) <= 1


def test_classes_with_fewer_than_4_items_are_drawn_with_replacement():
    labels = labels_of([2, 1] + [10] * 16)
    drawn = batches(ClassBalancedBatchSampler(labels, batches_per_epoch=12))
    for batch in drawn:
        counts = Counter(labels[batch].tolist())
        assert len(counts) == 16 and set(counts.values()) == {4}
    for c in (0, 1):
        with_c = [np.array(b) for b in drawn if c in labels[b]]
        assert len(with_c) >= 10  # 18 classes, 16 a batch: each small class is in most batches
        for batch in with_c:  # every item of the small class, topped up to 4 with repeats
            assert set(batch[labels[batch] == c]) == set(np.flatnonzero(labels == c))


@pytest.mark.parametrize(("num_classes", "num_batches"), [(21, 7), (17, 5), (40, 3)])
def test_uneven_class_counts_stay_within_one_appearance(num_classes, num_batches):
    # 16 classes a batch do not divide the class count: over an epoch a class appears ⌊16n/K⌋ or ⌈16n/K⌉ times
    labels = labels_of([12] * num_classes)
    drawn = batches(ClassBalancedBatchSampler(labels, batches_per_epoch=num_batches, seed=3))
    appearances = Counter(c for b in drawn for c in set(labels[b].tolist()))
    low = 16 * num_batches // num_classes
    assert sum(appearances.values()) == 16 * num_batches
    assert set(appearances.values()) <= {low, low + 1} and len(appearances) == min(num_classes, 16 * num_batches)


def test_ranks_get_equal_batch_counts_and_disjoint_items():
    labels = labels_of([3 + c % 20 for c in range(37)])
    samplers = [ClassBalancedBatchSampler(labels, seed=5, rank=r, world_size=3) for r in range(3)]
    per_rank = [batches(s, epoch=2) for s in samplers]
    assert len({len(b) for b in per_rank}) == 1 and len(per_rank[0]) == int(np.ceil(labels.size / (64 * 3)))
    seen = [{i for b in rank for i in b} for rank in per_rank]
    for r in range(3):
        for q in range(r + 1, 3):
            assert not seen[r] & seen[q]
    for rank in per_rank:
        for batch in rank:
            counts = Counter(labels[batch].tolist())
            assert len(counts) == 16 and set(counts.values()) == {4}


def test_sampler_exposes_itself_where_lightning_sets_the_epoch():
    sampler = ClassBalancedBatchSampler(labels_of([10] * 20))
    sampler.sampler.set_epoch(4)
    assert sampler.epoch == 4
    with pytest.raises(ValueError, match="multiple"):
        ClassBalancedBatchSampler(labels_of([10] * 20), batch_size=62)


def _mixed(mixing: str) -> tuple[MixedBatchSampler, dict[str, range]]:
    sizes = {"a": 300, "b": 130, "c": 64}
    samplers = {n: ClassBalancedBatchSampler(np.arange(size) % 20, seed=1) for n, size in sizes.items()}
    offsets = {"a": 0, "b": 300, "c": 430}
    ranges = {n: range(offsets[n], offsets[n] + sizes[n]) for n in sizes}
    return MixedBatchSampler(samplers, offsets, mixing, seed=3), ranges


def library_of(batch: list[int], ranges: dict[str, range]) -> str:
    owners = {n for i in batch for n, r in ranges.items() if i in r}
    assert len(owners) == 1, f"batch spans libraries {owners}"
    return owners.pop()


def test_sequential_mixing_runs_the_libraries_one_after_another():
    mixed, ranges = _mixed("sequential")
    order = [library_of(b, ranges) for b in batches(mixed)]
    assert order == ["a"] * 5 + ["b"] * 3 + ["c"] * 1 and len(mixed) == 9


def test_joint_mixing_shuffles_single_library_batches():
    mixed, ranges = _mixed("joint")
    first = [library_of(b, ranges) for b in batches(mixed, 0)]
    second = [library_of(b, ranges) for b in batches(mixed, 1)]
    assert Counter(first) == {"a": 5, "b": 3, "c": 1}
    assert first != ["a"] * 5 + ["b"] * 3 + ["c"] and first != second  # shuffled, anew each epoch
    assert mixed.schedule() == second  # the same on every rank: a function of (seed, epoch)
    with pytest.raises(ValueError):
        MixedBatchSampler({}, {}, "round_robin")


def test_a_loader_cycled_within_an_epoch_draws_new_batches():
    # round-robin mixing cycles a short library's loader (max_size_cycle): each pass must differ
    sampler = ClassBalancedBatchSampler(labels_of([40] * 20), seed=2)
    sampler.set_epoch(1)
    first, second = list(sampler), list(sampler)
    assert first != second
    sampler.set_epoch(1)
    assert list(sampler) == first  # still a function of (seed, epoch, pass)
