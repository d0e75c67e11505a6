"""RQ1–RQ4 report from results rows, the W&B Report definition, RQ4 reference models and the ESC-50 protocol."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import soundfile as sf

from sfxrep.cli import main
from sfxrep.records import ResultRow, append_results, read_results
from sfxrep.results.comparisons import rq_panels
from tests.helpers import class_sound

LIBS = ("lib_a", "lib_b")


def synthetic_rows() -> list[ResultRow]:
    """Every RQ covered, 3 seeds, except UCS-transfer on lib_b (a cell that was not run)."""
    rng = np.random.default_rng(0)
    rows = []

    def add(**kw):
        for seed in range(3):
            for lib in LIBS:
                if kw.get("scenario") == "ucs_transfer" and lib == "lib_b":
                    continue
                f1 = float(np.clip(kw.pop("base", 0.5) + rng.normal(0, 0.02), 0, 1)) if "f1" not in kw else kw["f1"]
                rows.append(ResultRow.from_dict({"run": f"r-{kw}", "library": lib, "seed": seed, "frame_macro_f1": f1,
                                                 "file_macro_f1": f1, "dbi": 2.0 - f1, "mixing": "sequential",
                                                 "bn": "shared", **{k: v for k, v in kw.items() if k != "f1"}}))

    for scenario in ("within", "cross"):
        add(scenario=scenario, loss="ce")
        for loss in ("contrastive", "triplet", "circle"):
            add(scenario=scenario, loss=loss, f1=0.6)
    add(scenario="ucs_transfer", loss="ce")
    add(scenario="cross", loss="ce", mixing="joint", f1=0.55)
    add(scenario="cross", loss="ce", bn="per_library", f1=0.52)
    add(scenario="cross", loss="ce", fdr=True, fdr_threshold=0.9, f1=0.5)
    for model, f1 in (("aisfx", 0.8), ("logmel", 0.3), ("sfxrep-v1", 0.75)):
        add(scenario="reference", model=model, loss="none", f1=f1)
    for model, f1 in (("sfxrep", 0.7), ("logmel", 0.4)):
        for fold in range(1, 6):
            rows.append(ResultRow(run=model, library="esc50", scenario="esc50-5fold", model=model,
                                  frame_macro_f1=f1 + fold / 100, file_macro_f1=f1, extra={"fold": fold}))
    return rows


def test_panels_hold_mean_interval_and_n_and_keep_cells_that_were_not_run():
    panels = rq_panels(synthetic_rows())
    assert set(panels) == {"RQ1", "RQ2", "RQ3", "RQ4"}
    within_f1 = panels["RQ1"][0]
    assert within_f1.cell("lib_a", "triplet").n == 3
    assert within_f1.cell("lib_a", "triplet").mean == pytest.approx(0.1, abs=0.05)  # 0.6 − ~0.5
    (rq2,) = panels["RQ2"]
    assert rq2.missing == [("lib_b", "ucs_transfer")] and rq2.cell("lib_a", "ucs_transfer").n == 3
    rq3 = panels["RQ3"][0]
    assert rq3.cell("lib_b", "X-Joint").mean == pytest.approx(0.55) and rq3.cell("lib_b", "X-Joint").lo == pytest.approx(0.55)
    per_library, esc50 = panels["RQ4"]
    (best,) = [v for v in per_library.variants if v.startswith("sfxrep best (")]
    assert per_library.cell("lib_a", best).mean == pytest.approx(0.6)  # a metric-loss run: the best mean F1
    assert per_library.cell("lib_a", "sfxrep-v1").mean == pytest.approx(0.75)  # another evaluated model: shown
    assert per_library.cell("lib_a", "aisfx").mean == pytest.approx(0.8) and per_library.missing == [
        ("lib_a", "openl3"), ("lib_b", "openl3")]  # openl3 not installed: labelled, not dropped
    cell = esc50.cell("esc50", "sfxrep")
    assert cell.n == 5 and cell.mean == pytest.approx(0.73) and cell.lo < cell.mean < cell.hi


def test_report_writes_every_figure_and_a_page_that_references_them(tmp_path, capsys):
    results = tmp_path / "results.jsonl"
    append_results(synthetic_rows(), results)
    main(["report", str(results), "--out", str(tmp_path / "report")])
    pngs = sorted((tmp_path / "report").glob("*.png"))
    assert [p.name for p in pngs] == ["rq1_1.png", "rq1_2.png", "rq1_3.png", "rq1_4.png", "rq2_1.png", "rq3_1.png",
                                      "rq4_1.png", "rq4_2.png"]
    assert all(p.stat().st_size > 10_000 and p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    page = (tmp_path / "report" / "index.html").read_text()
    assert all(f'href="{p.name}"' in page for p in pngs) and page.count("data:image/png;base64,") == len(pngs)
    assert "not run: lib_b / ucs_transfer" in page and "d_frame_macro_f1" in page  # the compare tables too
    main(["report", str(results), "--out", str(tmp_path / "only_a"), "--where", "library=lib_a", "model!=logmel"])
    page = (tmp_path / "only_a" / "index.html").read_text()
    assert "where library=lib_a and model!=logmel" in page and "lib_b" not in page.split("<pre>")[0]


def test_what_a_study_omits_is_left_out_of_its_figures_and_named_on_the_page(tmp_path):
    """A study that cannot install OpenL3 and has no ESC-50 says so once, instead of a "not run" slot in every
    library and an empty ESC-50 figure; nothing else goes."""
    results = tmp_path / "results.jsonl"
    append_results(synthetic_rows(), results)
    main(["report", str(results), "--out", str(tmp_path / "report")])
    assert (tmp_path / "report" / "rq4_2.png").is_file()
    main(["report", str(results), "--out", str(tmp_path / "report"), "--omit", "openl3", "esc50"])  # again, there
    pngs = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert "rq4_1.png" in pngs and "rq4_2.png" not in pngs and len(pngs) == 7
    page = (tmp_path / "report" / "index.html").read_text()
    assert "outside the study's scope: openl3, esc50" in page and "/ openl3" not in page
    per_library, esc50 = rq_panels(synthetic_rows())["RQ4"]
    kept = per_library.without(["openl3", "esc50"])
    assert "openl3" not in kept.variants and kept.missing == [] and "sfxrep-v1" in kept.variants
    assert esc50.without(["openl3", "esc50"]) is None
    assert kept.cell("lib_a", "aisfx") == per_library.cell("lib_a", "aisfx")


def test_the_wandb_report_definition_has_a_section_per_rq(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    results = tmp_path / "results.jsonl"
    append_results(synthetic_rows(), results)
    main(["report", str(results), "--out", str(tmp_path / "report"), "--wandb-project", "sfxrep", "--entity", "lab"])
    definition = json.loads((tmp_path / "report" / "wandb_report.json").read_text())
    assert (definition["project"], definition["entity"]) == ("sfxrep", "lab")
    headings = [b["text"] for b in definition["blocks"] if "text" in b and str(b["text"]).startswith("RQ")]
    assert [h.split(":")[0] for h in headings] == ["RQ1", "RQ2", "RQ3", "RQ4"]
    grids = [b for b in definition["blocks"] if "runsets" in b]
    assert [g["runsets"][0]["name"] for g in grids] == ["RQ1", "RQ2", "RQ3", "RQ4"]
    assert "Config('scenario') == 'cross'" in grids[2]["runsets"][0]["filters"]
    metrics = {m for g in grids for p in g["panels"] for m in p["metrics"]}
    assert {"test/lib_a/f1_frame", "test/lib_b/dbi", "test/lib_b/f1_file"} <= metrics
    assert grids[1]["panels"][0]["groupby"] == "config.scenario" and grids[3]["panels"][0]["groupby"] == "config.model"


def test_logmel_reference_is_evaluated_like_a_checkpoint(tiny_libraries, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "r.jsonl"
    main(["evaluate", "baseline:logmel", "--libraries-yaml", str(tiny_libraries), "--results", str(results)])
    rows = {r.library: r for r in read_results(results)}
    assert {r.model for r in rows.values()} == {"logmel"} and rows["lib_b"].scenario == "reference"
    assert rows["lib_b"].frame_macro_f1 > 0.6  # pitched tones: band statistics separate them untrained
    main(["evaluate", "openl3", "--libraries-yaml", str(tiny_libraries), "--results", str(results)])
    out = capsys.readouterr().out
    assert "openl3 is not installed" in out and len(read_results(results)) == 2  # skipped, said why


def esc50_folder(root, per_fold: int = 2, classes: int = 3):
    (root / "audio").mkdir(parents=True)
    rng = np.random.default_rng(1)
    (root / "meta").mkdir()
    with open(root / "meta" / "esc50.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        for fold in range(1, 6):
            for c in range(classes):
                for i in range(per_fold):
                    name = f"{fold}-{c}{i}-A-{c}.wav"
                    sf.write(root / "audio" / name, class_sound(rng, 2 * c, 5.0, 44_100), 44_100)
                    writer.writerow([name, fold, c, f"class{c}", False, f"{c}{i}", "A"])
    return root


def test_esc50_protocol_scores_each_fold_against_the_other_four(tmp_path, capsys):
    root = esc50_folder(tmp_path / "ESC-50")
    results = tmp_path / "r.jsonl"
    main(["evaluate", "logmel", "--protocol", "esc50", "--root", str(root), "--results", str(results),
          "--cache-dir", str(tmp_path / "cache")])
    rows = read_results(results)
    assert sorted(r.extra["fold"] for r in rows) == [1, 2, 3, 4, 5]
    assert all(r.library == "esc50" and r.model == "logmel" and r.n_classes == 3 for r in rows)
    assert all(r.n_test_files == 6 and r.n_train_frames == 4 * 6 * 4 for r in rows)  # 5 s clips: 4 blocks each
    assert min(r.file_macro_f1 for r in rows) > 0.8 and not any(math.isnan(r.file_accuracy) for r in rows)
    out = capsys.readouterr().out
    assert "ESC-50, 5 folds: macro-F1 clip" in out and "±" in out
