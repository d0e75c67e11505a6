"""make bench keeps working (figures are printed, never asserted)."""

from __future__ import annotations

import re

from benchmarks.bench import main


def test_bench_prints_every_section(tiny_libraries, tmp_path, capsys):
    main(["--widths", "4", "--steps", "1", "--threads", "1", "--libraries", str(tiny_libraries),
          "--work-dir", str(tmp_path), "--batches", "3"])
    out = capsys.readouterr().out
    assert re.search(r"\n\s+4\s+0\.\d\dM\s+fp32\s+[\d.]+", out)
    assert re.search(r"bf16 \+ channels_last\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d.]+x", out)
    assert "torch" in out and "nnaudio" in out and "blocks/s" in out and "batches/s" in out
