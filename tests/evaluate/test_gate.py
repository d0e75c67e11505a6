"""The accuracy gate of reduced precisions (:mod:`sfxrep.evaluate.gate`): its leave-one-file-out kNN never lets a
block find its own file, and its cosine is the row-wise one."""

from __future__ import annotations

import numpy as np
import pytest

from sfxrep.evaluate.embed import Embedded
from sfxrep.evaluate.gate import cosines, leave_one_file_out


def part(points: list[tuple[float, float]], labels: list[int], files: list[int]) -> Embedded:
    return Embedded(np.array(points, dtype=np.float32), np.array(labels), np.array(files))


def test_leave_one_file_out_takes_neighbours_from_other_files_only():
    # class 0 near (0, 0), class 1 near (10, 10); each file has two blocks, side by side
    train = part([(0, 0), (0, 0.1), (0.2, 0), (10, 10), (10, 10.1), (10.2, 10)], [0, 0, 0, 1, 1, 1],
                 [0, 0, 1, 2, 2, 3])
    assert leave_one_file_out([train]) == 1.0
    # a block of class 1 whose only close neighbour is in its own file: across files it lands in class 0
    odd = part([(0, 0.3), (0.1, 0.3)], [1, 1], [0, 0])
    lonely = leave_one_file_out([train, odd])
    assert lonely < 1.0
    # the same two blocks split over two files find each other: no miss
    assert leave_one_file_out([train, part([(0, 0.3), (0.1, 0.3)], [1, 1], [0, 1])]) > lonely
    # files are numbered per split: file 0 of one split is not file 0 of the next
    assert leave_one_file_out([part([(0, 0), (10, 10)], [0, 1], [0, 0]),
                               part([(0, 0.1), (10, 10.1)], [0, 1], [0, 0])]) == 1.0


def test_cosines_are_row_wise():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    b = np.array([[2.0, 0.0], [-1.0, -1.0], [1.0, 0.0]])
    np.testing.assert_allclose(cosines(a, b), [1.0, -1.0, 0.0], atol=1e-9)
    assert cosines(a, a) == pytest.approx(np.ones(3))
