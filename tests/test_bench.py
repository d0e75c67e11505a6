"""make bench keeps working (figures are printed, never asserted)."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks.bench import cnn9_macs, main, speedup_bound
from tests.helpers import AISFX_MISSING, SHARED, needs_aisfx, needs_shared, tone


@pytest.mark.slow  # end to end: the whole make bench, small
def test_bench_prints_every_section_and_a_json_line(tiny_libraries, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path / "lib_a")  # the benchmark leaves nothing in the folder it runs from
    shared = tmp_path / "shared"
    for i in range(3):
        tone(shared / f"t{i}.wav", freq=300 + 100 * i, seconds=3.5)
    files = ["--files", "0"] if AISFX_MISSING else ["--files", "2", "--shared", str(shared), "--embed-modes", "batched"]
    main(["--widths", "4", "--steps", "1", "--threads", "1", "--libraries", str(tiny_libraries),
          "--work-dir", str(tmp_path), "--batches", "3", "--index-sizes", "300", "--data-wait-workers", "0",
          "--no-whole-process", "--gate-models", "--scale-sizes", "--audit-libraries", "--int8-files", "0",
          "--profile-width", "4", "--one-call-models", "aisfx", *files])  # the gate, scale, audit and int8 benchmarks have their own tests below
    out = capsys.readouterr().out
    assert re.search(r"\n\s+4\s+0\.\d\dM\s+fp32\s+[\d.]+", out)
    assert re.search(r"bf16 \+ channels_last\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d.]+\s+[\d.]+x", out)
    assert "torch" in out and "nnaudio" in out and "blocks/s" in out and "batches/s" in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["cpu_capability"] and summary["precision_auto"] in ("32-true", "bf16-mixed")
    assert set(summary["train_step_s"]) == {"w4 fp32", "w4 fp32 + channels_last", "w4 bf16", "w4 bf16 + channels_last"}
    assert summary["peak"]["fp32_tflops"] > 0 and "cores ×" in summary["peak"]["derivation"]
    assert "% peak" in out
    profile = summary["train_step_profile"]
    assert profile["width"] == 4 and set(profile["phases_s"]) == {"frontend", "forward", "backward", "optimizer"}
    assert "operators by self time" in out
    assert summary["freed_memory"] in ("retained", "off") or summary["freed_memory"].startswith("unsupported")
    changes = summary["train_step_changes"]  # each speed change timed in a process of its own
    assert changes.pop("width") == 4 and "what each change gives" in out
    assert len(changes) == 3 and all(v > 0 for v in changes.values())
    assert all(v > 0 for v in summary["gflops_achieved"].values())
    if not AISFX_MISSING:
        assert summary["embed_files_per_s"] > 0 and summary["aisfx_files_per_s"] > 0
        assert summary["embed_stages_files_per_s"]["decode"] > 0 and "bound by" in out
        assert summary["speedup_bound"]["tflops"] > 0 and "3x that asks the encoder alone" in out
        assert summary["index"]["files"] == 2 and summary["index"]["audio_s_per_s"] > 0
        (one_call,) = summary["one_call"]
        assert one_call["one_call_files_per_s"] > 0 and one_call["ratio"] > 0 and "% of batched" in out
    assert 0 <= summary["data_wait_fraction"]["0"] < 1
    assert not list((tmp_path / "lib_a").glob("*.yaml"))
    (search,) = summary["search"]
    assert search["n"] == 300 and search["exact"]["p50_ms"] > 0 and search["hnsw"]["p99_ms"] > 0
    assert re.search(r"\n\s+300 hnsw\s+[\d.]+", out)


def test_cnn9_macs_match_the_paper():
    assert abs(cnn9_macs(64) / 1e9 - 1.93) < 0.05  # "about 1.93 GMAC per block"



@pytest.mark.slow  # end to end: damage a copy, index it, audit it, score it
def test_the_speedup_bound_is_the_encoder_flops_the_goal_asks_for():
    """3 × 3.84 files/s of 8.4 blocks is 96.8 blocks/s; at 3.86 GFLOP a block, 0.373 TFLOP/s: over a 0.333 TFLOP/s
    bf16 peak (2 Zen 4 cores at 2.6 GHz), so 112 % of it, and 224 % of the fp32 peak."""
    bound = speedup_bound(3.84, 8.4, {"fp32_tflops": 0.1664, "bf16_tflops": 0.3328})
    assert bound["blocks_per_s"] == 96.8
    assert bound["tflops"] == pytest.approx(0.3735, abs=2e-3)
    assert bound["bf16_peak_share"] == pytest.approx(1.12, abs=0.01)
    assert bound["fp32_peak_share"] == pytest.approx(2.24, abs=0.02)
    assert speedup_bound(3.84, 8.4, {"fp32_tflops": 0.1664, "bf16_tflops": None})["bf16_peak_share"] is None


def test_the_audit_bench_scores_the_damage_it_injected(tmp_path, capsys):
    from benchmarks.audit_bench import audit_bench, report
    from tests.helpers.sounds import take

    rng = __import__("numpy").random.default_rng(0)
    for c in range(4):  # a folder library of 4 classes × 10 takes
        for i in range(10):
            path = tmp_path / "shared" / "mini" / f"c{c}" / f"t{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            __import__("soundfile").write(path, take(rng, c, rng.uniform(0.8, 1.4), 22_050), 22_050)
    figures = audit_bench(tmp_path / "shared", ["mini"], model="logmel", duplicates=3, work=tmp_path)
    assert figures["files"] == 43 and figures["flipped"] == 2 and figures["duplicates_injected"] == 3
    assert 0 <= figures["precision_at_n"] <= 1 and figures["duplicate_recall"] == 1.0
    assert figures["false_pairs"] == 0 and figures["audit_s_per_1k_files"] > 0
    # fixed numbers on this library (log-mel statistics, seeds 0): 40 clean files, none flagged; the two flips
    # ranked first
    assert figures["clean_files"] == 40 and figures["clean_flagged"] == 0 and figures["clean_flag_rate"] == 0.0
    assert figures["precision_at_n"] == 1.0
    report(figures)
    out = capsys.readouterr().out
    assert "precision@N" in out and "as shipped" in out and "(goal ≤ 3 %)" in out


@pytest.mark.slow  # end to end: fresh sfxrep index processes
def test_the_scale_bench_builds_each_size_in_its_own_process(tmp_path, capsys, monkeypatch):
    from benchmarks.scale_bench import report, scale_bench

    for i in range(3):
        tone(tmp_path / "shared" / f"s{i}.wav", freq=200 + 50 * i, seconds=0.3)
    monkeypatch.setenv("SFXREP_BENCH_TMP", str(tmp_path))
    rows = scale_bench(tmp_path / "shared", [20, 60])
    assert [r["files"] for r in rows] == [20, 60] and all(r["peak_mb"] > 0 and r["files_per_s"] > 0 for r in rows)
    summary = report(rows, model_files_per_s=10.0)
    assert summary["vendor_projection_h"]["1"] == pytest.approx(500_000 / 10 / 3600, rel=0.01)
    assert "peak memory from 20 to 60 files" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared"]  # its links and indexes are gone


def test_the_data_wait_fits_take_fewer_batches_where_the_step_is_slow():
    from benchmarks.bench import data_wait_batches

    fast = {"w64 bf16 + channels_last": 0.5, "w16 fp32 + channels_last": 0.1}
    slow = {"w64 fp32 + channels_last": 6.98, "w16 fp32 + channels_last": 0.3}  # 2 AVX2 cores, fp32
    assert data_wait_batches(30, fast, 64, libraries=3) == 30  # 45 s a fit: as asked
    assert data_wait_batches(30, slow, 64, libraries=3) == 4  # 60 s / (6.98 s × 3): the least, 84 s, not 10.5 min
    assert data_wait_batches(30, slow, 64, libraries=1) == 8
    assert data_wait_batches(30, {"w64 fp32": 60.0}, 64) == 4  # never fewer than 4
    assert data_wait_batches(30, {}, 64, libraries=3) == 30  # not timed: as asked


def test_the_peak_is_derived_from_the_hardware(monkeypatch):
    from benchmarks import bench

    peak = bench.cpu_peak(2)
    assert peak["fp32_tflops"] == pytest.approx(2 * peak["ghz"] * int(peak["derivation"].split(" × ")[2].split()[0]) / 1e3)
    monkeypatch.setattr(bench.torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    avx2 = bench.cpu_peak(2)
    assert avx2["bf16_tflops"] is None and "32 fp32 FLOP/cycle" in avx2["derivation"]
    zen3 = bench.cpu_peak(2, cpuinfo="vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n")
    assert "32 fp32 FLOP/cycle" in zen3["derivation"] and "Zen 4" not in zen3["derivation"]  # AVX2: no 512-bit note
    monkeypatch.setattr(bench.torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    zen4 = bench.cpu_peak(2, cpuinfo="vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n")
    assert "32 fp32 FLOP/cycle (AMD Zen 4: 512-bit ops on 256-bit pipes)" in zen4["derivation"]


@pytest.mark.slow  # end to end: the GPU check's code, tiny, on the CPU
def test_the_gpu_check_runs_its_code_on_the_cpu_and_ends_with_one_json_line(tmp_path, capsys):
    from benchmarks.gpu import main as gpu_main

    for i in range(3):
        tone(tmp_path / "data" / f"g{i}.wav", freq=300 + 100 * i, seconds=2.5)
    gpu_main(["--cpu-smoke", "--out", str(tmp_path / "out"), "--data", str(tmp_path / "data"),
              "--checks", "frontend", "train_step", "embed"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["smoke"] and summary["frontend"]["torch"]["max_abs_diff"] == 0.0
    assert summary["train_step"]["s_per_step"] > 0 and summary["embed"]["files"] == 3
    assert json.loads((tmp_path / "out" / "gpu.json").read_text()) == summary


@needs_aisfx
@needs_shared
def test_the_int8_bench_scores_held_out_blocks_against_fp32_and_bf16(capsys):
    from benchmarks.int8_bench import int8_bench, real_files, report

    result = int8_bench("aisfx", real_files(str(SHARED), 160), [(), (0, 1)], calibrate=64)
    assert result["blocks"] >= 64 and result["fp32_blocks_per_s"] > 0 and result["bf16_cosine_min"] > 0.99
    assert [v["float_convs"] for v in result["int8"]] == [[], [0, 1]]
    assert all(0.9 < v["cosine_min"] <= v["cosine_mean"] <= 1 and v["blocks_per_s"] > 0 for v in result["int8"])
    report(result)
    assert "int8, convs [0, 1] float" in capsys.readouterr().out
