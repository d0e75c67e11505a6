"""The seven real libraries of ../shared/data: manifest counts, grouped splits, and a short training far above
chance. Each test prepares only the libraries it needs (decoding all seven takes minutes)."""

from __future__ import annotations

import numpy as np
import pytest

from sfxrep.audio.cache import WaveCache
from sfxrep.evaluate.embed import embed_blocks
from sfxrep.evaluate.knn import knn_evaluate
from sfxrep.evaluate.run import evaluate_checkpoint
from sfxrep.libraries.prepare import prepare
from sfxrep.libraries.spec import load_libraries
from sfxrep.models.checkpoint import load_checkpoint
from sfxrep.training.lightning_cli import fit
from tests.helpers import REPO, needs_shared, shared_libraries

pytestmark = pytest.mark.slow  # end to end: real fits, workers, DDP or real data

THREE = ("ucs_sfx", "dirt_oneshots", "kenney_ui")


@needs_shared
def test_manifests_of_the_three_libraries(tmp_path):
    spec = load_libraries(shared_libraries(tmp_path, *THREE))
    prepared = prepare(spec, tmp_path / "work", WaveCache(tmp_path / "cache"), workers=2, log=None)
    reports = {r.name: r for r in prepared.reports}
    ucs, dirt, kenney = reports["ucs_sfx"], reports["dirt_oneshots"], reports["kenney_ui"]
    # ucs_sfx: 287 UCS-named files (+ SOURCES.csv), 19 Categories; 3 Categories with a single file dropped
    assert (ucs.found, ucs.ignored, ucs.skipped) == (287, {".csv": 1}, [])
    assert ucs.dropped_classes == {"EXPLOSIONS": 1, "HUMAN": 1, "OBJECTS": 1}
    assert (ucs.in_manifest, ucs.classes) == (284, 16)
    ucs_rows = [r for r in prepared.rows if r.library == "ucs_sfx"]
    assert len({r.group for r in ucs_rows}) == 23  # CatIDs left after the drop (26 in all)
    assert {r.label for r in ucs_rows} >= {"FIRE", "MACHINES", "FOOTSTEPS", "DIRT & SAND", "BIRDS", "METAL"}
    # dirt_oneshots: 1443 files in 110 folders; one wav is cut short on disk and reported
    assert (dirt.found, dirt.in_manifest, dirt.classes) == (1443, 1442, 110)
    assert [s["path"].rsplit("/", 2)[-2:] for s in dirt.skipped] == [["diphone", "037_kd1_039.wav"]]
    assert dirt.skipped[0]["reason"].startswith("truncated")
    # kenney_ui: 100 files, 20 prefixes ('bong' has one file and is dropped by min_per_class 2)
    assert (kenney.found, kenney.in_manifest, kenney.classes, kenney.dropped_classes) == (100, 99, 19, {"bong": 1})
    for report in (ucs, dirt, kenney):
        assert sum(report.splits.values()) == report.in_manifest and report.splits["test"] > 0


@needs_shared
def test_short_cross_training_is_far_above_chance(tmp_path):
    SPEC = shared_libraries(tmp_path, *THREE)
    best, _ = fit([
        "--config", str(REPO / "experiments" / "base.yaml"), "--config", str(REPO / "experiments" / "fast.yaml"),
        "--data.libraries", str(SPEC), "--data.work_dir", str(tmp_path / "work"),
        "--data.cache_dir", str(tmp_path / "cache"), "--model.encoder.init_args.width", "8",
        "--model.lr", "0.003", "--trainer.max_epochs", "6", "--trainer.enable_progress_bar", "false",
        "--trainer.logger.init_args.save_dir", str(tmp_path / "runs"), "--checkpoint.dirpath", str(tmp_path / "ckpt"),
    ])
    rows = {r.library: r for r in evaluate_checkpoint(best)}
    module = load_checkpoint(best).module
    from sfxrep.data.datamodule import SfxDataModule

    data = SfxDataModule(libraries=str(SPEC), work_dir=str(tmp_path / "work"), cache_dir=str(tmp_path / "cache")).ready()
    rng = np.random.default_rng(0)
    for library, row in rows.items():
        # chance = the same 1-NN with permuted train labels (keeps class imbalance and frames per file)
        train = embed_blocks(module, data.eval_dataset(library, "train"))
        test = embed_blocks(module, data.eval_dataset(library, "test"))
        permuted = np.array([knn_evaluate(train.embeddings, rng.permutation(train.labels), test.embeddings,
                                          test.labels, test.files).frame_macro_f1 for _ in range(64)])
        chance, spread = float(permuted.mean()), float(permuted.std())
        print(f"{library}: frame macro-F1 {row.frame_macro_f1:.3f}, chance {chance:.3f} ± {spread:.3f}")
        # above every one of 64 label permutations (permutation p < 1/65), 3x chance and 0.15 absolute above it. Not
        # 5 standard deviations of 8 permutations: on ucs_sfx's 25 test files the permuted F1 spreads by 0.1, and a
        # fit in fp32 on an AVX2 CPU scored 0.579 against chance 0.123 ± 0.096 (4.7 sd) and failed that rule
        margin = max(2 * chance, 0.15)
        assert row.frame_macro_f1 > max(chance + margin, permuted.max()), (library, row.frame_macro_f1, chance, spread)


@needs_shared
def test_the_four_newer_libraries_and_cddas_recordings_never_straddle_splits(tmp_path):
    import csv

    spec = load_libraries(REPO / "experiments" / "libraries" / "shared.yaml")
    assert spec.names == [*THREE, "cdda_ccsounds", "redeclipse_sounds", "retro512_junkala", "lmms_samples"]
    counts = {s.name: (len(scan.candidates), len({c.label for c in scan.candidates}))
              for s in spec.libraries[3:] for scan in [s.library.scan()]}
    assert counts == {"cdda_ccsounds": (352, 18), "redeclipse_sounds": (581, 22), "retro512_junkala": (488, 37),
                      "lmms_samples": (172, 8)}  # ../shared/data/README.md
    prepared = prepare(load_libraries(shared_libraries(tmp_path, "cdda_ccsounds")), tmp_path / "work",
                       WaveCache(tmp_path / "cache"), workers=2, log=None)
    split = {r.path: r.split for r in prepared.rows}
    root = spec.libraries[3].library.csv.parent
    splits_of: dict[str, set[str]] = {}
    with open(root / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            for recording in row["freesound_ids"].split():
                splits_of.setdefault(recording, set()).add(split[str((root / row["path"]).resolve())])
    assert len(splits_of) >= 140 and all(len(s) == 1 for s in splits_of.values())  # no recording in two splits
    (report,) = prepared.reports
    total = sum(report.splits.values())
    assert report.in_manifest == 352 and 0.7 <= report.splits["train"] / total <= 0.9 and report.splits["test"] >= 18
