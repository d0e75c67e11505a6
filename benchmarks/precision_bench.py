"""The accuracy gate of bf16 embedding (``make bench``): is bf16 as good as fp32 for what users do with embeddings?

For each model, every block of every library's train and test split is embedded twice, with the encoder in fp32
and in bf16 (the frontend is float32 in both). Printed: the cosine of each block's bf16 embedding to its fp32 one
(minimum and 1st percentile over all blocks), the kNN frame macro-F1 of both (the paper's protocol, as ``sfxrep
evaluate``) per library and on average, and the encoder's blocks/s in each. The gate (issue 20): cosine ≥ 0.99 for
every block, mean macro-F1 within 0.5 points of fp32.

    python -m benchmarks.precision_bench [--models aisfx sfxrep-v1] [--libraries-yaml experiments/libraries/shared.yaml]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sfxrep.data.datamodule import SfxDataModule
from sfxrep.evaluate.embed import embed_blocks
from sfxrep.evaluate.knn import knn_evaluate
from sfxrep.hardware import cpu_capability, embedding_precision

COSINE_MIN, F1_POINTS = 0.99, 0.5  # the gate


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two ``(n, D)`` arrays."""
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def gate(model_name: str, libraries_yaml: str, work_dir: str = "runs/prepared", cache_dir: str = "runs/cache") -> dict:
    """fp32 against bf16 for one model on every library of ``libraries_yaml``."""
    from sfxrep.models.registry import load_model

    module = load_model(model_name).eval()
    data = SfxDataModule(libraries=libraries_yaml, work_dir=work_dir, cache_dir=cache_dir)
    data.ready()
    f1 = {"fp32": {}, "bf16": {}}
    seconds = {"fp32": 0.0, "bf16": 0.0}
    blocks, cos = 0, []
    for library in data.spec.names:
        train, test = data.eval_dataset(library, "train"), data.eval_dataset(library, "test")
        if not len(test):
            continue
        got = {}
        for precision in ("fp32", "bf16"):
            start = time.perf_counter()
            got[precision] = (embed_blocks(module, train, precision=precision),
                              embed_blocks(module, test, precision=precision))
            seconds[precision] += time.perf_counter() - start
            a, b = got[precision]
            f1[precision][library] = knn_evaluate(a.embeddings, a.labels, b.embeddings, b.labels, b.files).frame_macro_f1
        for i in range(2):
            cos.append(cosines(got["fp32"][i].embeddings, got["bf16"][i].embeddings))
        blocks += len(got["fp32"][0].embeddings) + len(got["fp32"][1].embeddings)
    cos_all = np.concatenate(cos)
    mean = {p: float(np.mean(list(v.values()))) for p, v in f1.items()}
    return {"model": model_name, "blocks": blocks, "cosine_min": float(cos_all.min()),
            "cosine_p1": float(np.percentile(cos_all, 1)), "f1": f1, "mean_f1": mean,
            "delta_points": 100 * (mean["bf16"] - mean["fp32"]),
            "blocks_per_s": {p: blocks / s for p, s in seconds.items()},
            "passes": bool(cos_all.min() >= COSINE_MIN and abs(mean["bf16"] - mean["fp32"]) * 100 <= F1_POINTS)}


def report(result: dict) -> None:
    print(f"\nbf16 embedding gate, {result['model']} ({result['blocks']} blocks; CPU {cpu_capability()}, auto → "
          f"{embedding_precision('auto')})")
    print(f"  cosine to fp32: min {result['cosine_min']:.5f}, 1st percentile {result['cosine_p1']:.5f} "
          f"(gate ≥ {COSINE_MIN})")
    print(f"  {'library':<20}{'fp32':>8}{'bf16':>8}{'Δ pts':>8}")
    for lib, v in result["f1"]["fp32"].items():
        b = result["f1"]["bf16"][lib]
        print(f"  {lib:<20}{v:8.3f}{b:8.3f}{100 * (b - v):+8.1f}")
    m = result["mean_f1"]
    print(f"  {'mean':<20}{m['fp32']:8.3f}{m['bf16']:8.3f}{result['delta_points']:+8.1f}   (gate: within ±{F1_POINTS})")
    bps = result["blocks_per_s"]
    print(f"  embedding (eval loop, frontend included): fp32 {bps['fp32']:.0f} blocks/s, bf16 {bps['bf16']:.0f} "
          f"blocks/s ({bps['bf16'] / bps['fp32']:.2f}x) — gate {'PASSED' if result['passes'] else 'FAILED'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["aisfx", "sfxrep-v1"])
    parser.add_argument("--libraries-yaml", default="experiments/libraries/shared.yaml")
    ns = parser.parse_args(argv)
    results = [gate(m, ns.libraries_yaml) for m in ns.models]
    for r in results:
        report(r)
    print(json.dumps({"precision_gate": [{k: v for k, v in r.items() if k != "f1"} for r in results]}))


if __name__ == "__main__":
    main()
