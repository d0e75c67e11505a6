"""Indexing a sound-effects library with a frozen model: search by example and suggested classes.

    index, report = Index.build("sfx.index", ["~/SFX"], model="aisfx")   # or update an existing one
    hits = index.search("door_slam.wav", k=10)                          # ranked paths with cosine scores
    reference, _ = Index.build("ucs.index", libraries="experiments/libraries/shared.yaml",
                               library_names=["ucs_sfx"], model="aisfx")
    suggestions = index.label(reference)                                # top-3 classes (UCS Category, CatID)

The command line mirrors it: ``sfxrep index``, ``sfxrep search``, ``sfxrep label``.
"""

from sfxrep.index.build import BuildReport
from sfxrep.index.identity import ModelMismatchError
from sfxrep.index.store import Hit, Index

__all__ = ["BuildReport", "Hit", "Index", "ModelMismatchError"]
