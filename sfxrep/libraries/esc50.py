"""The ESC-50 layout: ``meta/esc50.csv`` + ``audio/``, with its five official folds (paper §6.5)."""

from __future__ import annotations

import csv
from pathlib import Path

from sfxrep.libraries.base import Candidate, Library, Scan, Skipped, register


@register("esc50")
class Esc50Library(Library):
    """ESC-50: 2000 clips, 50 classes, 5 folds that keep clips of one source recording together.

    The folds decide the split (the seeded 8:1:1 split is not used): ``test_fold`` is the test split,
    ``val_fold`` the validation split, the other three are train. Rotate ``test_fold`` over 1–5 for the
    usual 5-fold cross-validation.

    Args:
        name: library name.
        root: the ESC-50 folder (holding ``meta/esc50.csv`` and ``audio/``).
        test_fold: fold used as test split (1–5).
        val_fold: fold used as validation split (1–5, not the test fold).
    """

    def __init__(self, name: str, root: str | Path, test_fold: int = 5, val_fold: int = 4) -> None:
        super().__init__(name)
        if test_fold == val_fold or not {test_fold, val_fold} <= {1, 2, 3, 4, 5}:
            raise ValueError(f"library {name}: test_fold and val_fold must be two different folds in 1..5")
        self.root = Path(root).resolve()
        self.test_fold, self.val_fold = test_fold, val_fold

    def scan(self) -> Scan:
        meta = self.root / "meta" / "esc50.csv"
        if not meta.is_file():
            raise FileNotFoundError(f"library {self.name}: {meta} not found (expected the ESC-50 layout)")
        scan = Scan()
        with open(meta, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                path = self.root / "audio" / row["filename"]
                if not path.is_file():
                    scan.skipped.append(Skipped(str(path), "listed in meta/esc50.csv but missing"))
                    continue
                fold = int(row["fold"])
                split = "test" if fold == self.test_fold else "val" if fold == self.val_fold else "train"
                scan.candidates.append(Candidate(path, row["category"], group=f"fold{fold}", split=split))
        return scan
