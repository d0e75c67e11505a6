"""The accuracy gate of bf16 and int8 embedding (``make bench``), for the released models on the seven libraries.

The gate itself (block cosine ≥ 0.99 to fp32 for every block, leave-one-file-out kNN macro-F1 within 0.5 points)
is :mod:`sfxrep.evaluate.gate`; this prints it per library, with the encoder's blocks/s in each precision.

    python -m benchmarks.precision_bench [--models aisfx sfxrep-v1] [--libraries-yaml experiments/libraries/shared.yaml]
"""

from __future__ import annotations

import argparse
import json

from sfxrep.evaluate.gate import COSINE_MIN, F1_POINTS, precision_gate
from sfxrep.hardware import cpu_capability
from sfxrep.inference.precision import embedding_precision
from sfxrep.paths import CACHE_DIR, WORK_DIR


def gate(model_name: str, libraries_yaml: str, work_dir: str = WORK_DIR, cache_dir: str = CACHE_DIR,
         candidate: str = "bf16") -> dict:
    """fp32 against ``candidate`` (``bf16`` or ``int8``) for the model ``model_name`` (:mod:`sfxrep.evaluate.gate`)."""
    from sfxrep.inference.registry import load_model

    return {"model": model_name, **precision_gate(load_model(model_name).eval(), libraries_yaml, candidate,
                                                  work_dir, cache_dir)}


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
