"""The accuracy gate of bf16 embedding (``make bench``): is bf16 as good as fp32 for what users do with embeddings?

For each model, every block of every library's splits is embedded twice, with the encoder in fp32 and in bf16 (the
frontend is float32 in both). Printed: the cosine of each block's bf16 embedding to its fp32 one (minimum and 1st
percentile over the train and test blocks), the kNN frame macro-F1 of both per library and on average, and the
encoder's blocks/s in each. The kNN is scored two ways: the paper's protocol (train split → test split, as ``sfxrep
evaluate``), and leave one file out over every block of the library. The test splits are tiny (ucs_sfx: 33 blocks of
25 files in 16 classes), so there one block whose nearest neighbour flips on a 0.4 % near-tie moves a library's
macro-F1 by 8.7 points (aiSFX, measured); leave-one-file-out scores ~7x more blocks. The gate: cosine ≥ 0.99 for
every block, and the leave-one-file-out mean macro-F1 within 0.5 points of fp32.

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


def leave_one_file_out(parts: list) -> float:
    """Frame macro-F1 of 1-NN over every block of a library (all splits), each block's neighbours taken from the
    other files only: the same kNN, on ~7x more blocks than a test split, so one near-tie moves it little."""
    from sfxrep.evaluate.knn import macro_f1

    x = np.concatenate([p.embeddings for p in parts]).astype(np.float64)
    labels = np.concatenate([p.labels for p in parts])
    files = np.concatenate([p.files + 1_000_000 * i for i, p in enumerate(parts)])  # file ids unique across splits
    z = (x - x.mean(0)) / (x.std(0) + 1e-8)
    sq = (z * z).sum(1)
    d = sq[:, None] + sq[None, :] - 2 * z @ z.T
    d[files[:, None] == files[None, :]] = np.inf
    return macro_f1(labels, labels[d.argmin(1)])


def gate(model_name: str, libraries_yaml: str, work_dir: str = "runs/prepared", cache_dir: str = "runs/cache",
         candidate: str = "bf16") -> dict:
    """fp32 against ``candidate`` (``bf16`` or ``int8``) for one model on every library of ``libraries_yaml``."""
    from sfxrep.models.registry import load_model

    module = load_model(model_name).eval()
    data = SfxDataModule(libraries=libraries_yaml, work_dir=work_dir, cache_dir=cache_dir)
    data.ready()
    f1 = {"fp32": {}, candidate: {}}
    lofo = {"fp32": {}, candidate: {}}
    seconds = {"fp32": 0.0, candidate: 0.0}
    blocks, cos = 0, []
    for library in data.spec.names:
        train, test = data.eval_dataset(library, "train"), data.eval_dataset(library, "test")
        if not len(test):
            continue
        val = data.eval_dataset(library, "val")
        got = {}
        for precision in ("fp32", candidate):
            start = time.perf_counter()
            got[precision] = (embed_blocks(module, train, precision=precision),
                              embed_blocks(module, test, precision=precision))
            seconds[precision] += time.perf_counter() - start
            a, b = got[precision]
            f1[precision][library] = knn_evaluate(a.embeddings, a.labels, b.embeddings, b.labels, b.files).frame_macro_f1
            parts = [a, b, embed_blocks(module, val, precision=precision)] if len(val) else [a, b]
            lofo[precision][library] = leave_one_file_out(parts)
        for i in range(2):
            cos.append(cosines(got["fp32"][i].embeddings, got[candidate][i].embeddings))
        blocks += len(got["fp32"][0].embeddings) + len(got["fp32"][1].embeddings)
    cos_all = np.concatenate(cos)
    mean = {p: float(np.mean(list(v.values()))) for p, v in f1.items()}
    lofo_mean = {p: float(np.mean(list(v.values()))) for p, v in lofo.items()}
    return {"model": model_name, "candidate": candidate, "blocks": blocks, "cosine_min": float(cos_all.min()),
            "cosine_p1": float(np.percentile(cos_all, 1)), "f1": f1, "mean_f1": mean,
            "delta_points": 100 * (mean[candidate] - mean["fp32"]),
            "blocks_per_s": {p: blocks / s for p, s in seconds.items()},
            "lofo": lofo, "lofo_mean_f1": lofo_mean, "lofo_delta_points": 100 * (lofo_mean[candidate] - lofo_mean["fp32"]),
            "passes_test_split": bool(abs(mean[candidate] - mean["fp32"]) * 100 <= F1_POINTS),
            "passes": bool(cos_all.min() >= COSINE_MIN and abs(lofo_mean[candidate] - lofo_mean["fp32"]) * 100 <= F1_POINTS)}


def report(result: dict) -> None:
    c = result["candidate"]
    print(f"\n{c} embedding gate, {result['model']} ({result['blocks']} blocks; CPU {cpu_capability()}, auto → "
          f"{embedding_precision('auto')})")
    print(f"  cosine to fp32: min {result['cosine_min']:.5f}, 1st percentile {result['cosine_p1']:.5f} "
          f"(gate ≥ {COSINE_MIN})")
    print(f"  {'kNN frame macro-F1':<20}{'test split (paper)':>26}{'leave one file out':>26}")
    print(f"  {'library':<20}{'fp32':>8}{c:>8}{'Δ pts':>8}  {'fp32':>8}{c:>8}{'Δ pts':>8}")
    for lib, v in result["f1"]["fp32"].items():
        b, lv, lb = result["f1"][c][lib], result["lofo"]["fp32"][lib], result["lofo"][c][lib]
        print(f"  {lib:<20}{v:8.3f}{b:8.3f}{100 * (b - v):+8.1f}  {lv:8.3f}{lb:8.3f}{100 * (lb - lv):+8.1f}")
    m, lm = result["mean_f1"], result["lofo_mean_f1"]
    print(f"  {'mean':<20}{m['fp32']:8.3f}{m[c]:8.3f}{result['delta_points']:+8.1f}  {lm['fp32']:8.3f}"
          f"{lm[c]:8.3f}{result['lofo_delta_points']:+8.1f}   (gate: within ±{F1_POINTS}, leave one file out)")
    bps = result["blocks_per_s"]
    print(f"  embedding (eval loop, frontend included): fp32 {bps['fp32']:.0f} blocks/s, {c} {bps[c]:.0f} "
          f"blocks/s ({bps[c] / bps['fp32']:.2f}x) — gate {'PASSED' if result['passes'] else 'FAILED'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["aisfx", "sfxrep-v1"])
    parser.add_argument("--libraries-yaml", default="experiments/libraries/shared.yaml")
    parser.add_argument("--candidates", nargs="+", default=["bf16"], choices=["bf16", "int8"])
    ns = parser.parse_args(argv)
    results = [gate(m, ns.libraries_yaml, candidate=c) for c in ns.candidates for m in ns.models]
    for r in results:
        report(r)
    print(json.dumps({"precision_gate": [{k: v for k, v in r.items() if k != "f1"} for r in results]}))


if __name__ == "__main__":
    main()
