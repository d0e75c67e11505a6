"""Real DDP with 2 CPU processes (gloo): rank-aware batches keep the 16 × 4 rule and never overlap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from tests.helpers import REPO, write_tiny_libraries

pytestmark = pytest.mark.slow  # end to end: real fits, workers, DDP or real data


@pytest.mark.ddp
@pytest.mark.parametrize(("mixing", "bn"), [("joint", "per_library"), ("sequential", "shared")])
def test_two_process_ddp_shards_class_balanced_batches(tmp_path, mixing, bn):
    libraries = write_tiny_libraries(tmp_path, per_class_a=12, per_class_b=20)  # ~10 train items a class, 5 a rank
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(REPO / "tests" / "training" / "ddp_script.py"), str(tmp_path),
                           str(libraries), mixing, bn], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["decoded"] == 18 * 12 + 3 * 20 and ranks[1]["decoded"] == 0  # prepare_data: once per node
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-6)  # gradients were all-reduced
    for epoch in range(2):
        steps = [r["epochs"][epoch] for r in ranks]
        assert len(steps[0]) == len(steps[1]) > 0  # equal batch counts
        # the same library at the same step on both ranks (joint order is a function of seed and epoch)
        assert [b["library"] for b in steps[0]] == [b["library"] for b in steps[1]]
        for lib, n_classes in (("lib_a", 16), ("lib_b", 3)):
            seen = []
            for rank_steps in steps:
                items = set()
                for batch in (b for b in rank_steps if b["library"] == lib):
                    counts = Counter(batch["label"])
                    assert len(batch["label"]) == 64 and len(counts) == n_classes
                    if lib == "lib_a":
                        assert set(counts.values()) == {4}
                    else:
                        assert max(counts.values()) - min(counts.values()) <= 1
                    items |= set(batch["index"])
                seen.append(items)
            assert seen[0] and seen[1] and not seen[0] & seen[1], f"{lib}: ranks share items in epoch {epoch}"
    assert ranks[0]["epochs"][0] != ranks[0]["epochs"][1]
