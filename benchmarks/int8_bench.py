"""int8 encoder against fp32 and bf16 (``make bench``): blocks/s, and block cosine to fp32 on held-out blocks.

:mod:`sfxrep.inference.int8` quantizes the encoder (FX graph mode, ``x86`` engine) with activation ranges calibrated
on real blocks; here it is calibrated on some blocks of random real files and scored on the others, the encoder
alone (the frontend is timed elsewhere). Variants keep the first convolutions in float (``--float-convs``).
The kNN side of the gate is :mod:`sfxrep.evaluate.gate` (``make bench``: ``benchmarks.precision_bench --candidates int8``).

    python -m benchmarks.int8_bench [--model aisfx] [--files 1500] [--float-convs 2]
"""

from __future__ import annotations

import argparse
import glob
import json
import random
from collections.abc import Sequence

import torch
from torch import nn

from benchmarks.bench import timed
from sfxrep.evaluate.gate import COSINE_MIN
from sfxrep.inference.int8 import CALIBRATION_BLOCKS, Int8Encoder


def blocks_of_files(model: nn.Module, files: Sequence[str]) -> torch.Tensor:
    """The log-mel input blocks ``(N, 1, T, F)`` of ``files``, as the model's frontend makes them."""
    from sfxrep.audio.decode import decode
    from sfxrep.inference.embedding import FileEmbedder

    embedder = FileEmbedder(model, decode_workers=0)
    waves = torch.cat([embedder.blocks_of(decode(f).samples) for f in files])
    with torch.inference_mode():
        return model.features(waves).contiguous(memory_format=torch.channels_last)


def int8_bench(model_name: str, files: Sequence[str], float_variants: Sequence[Sequence[int]], batch: int = 64,
               calibrate: int = CALIBRATION_BLOCKS) -> dict:
    """Cosine to fp32 on held-out blocks and blocks/s of fp32, bf16 and each int8 variant."""
    from sfxrep.api import load_model

    model = load_model(model_name).eval()
    x = blocks_of_files(model, files)
    if len(x) < calibrate + batch:
        raise ValueError(f"{len(files)} files give {len(x)} blocks; at least {calibrate + batch} are needed")
    calibration, test = x[:calibrate], x[calibrate:]
    encoder = model.encoder

    def rate(fn) -> float:
        seconds = timed(lambda: [fn(test[i:i + batch]) for i in range(0, len(test), batch)], repeats=1)[0]
        return len(test) / seconds

    def bf16(blocks: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return encoder(blocks)

    with torch.inference_mode():
        reference = encoder(test).float()
        out = {"model": model_name, "blocks": len(test), "calibration_blocks": len(calibration),
               "fp32_blocks_per_s": round(rate(encoder), 1), "bf16_blocks_per_s": round(rate(bf16), 1), "int8": []}
        bf16_cos = torch.nn.functional.cosine_similarity(bf16(test).float(), reference)
        out["bf16_cosine_min"] = round(float(bf16_cos.min()), 4)
        for float_convs in float_variants:
            q = Int8Encoder.calibrate(encoder, calibration, batch, tuple(float_convs))
            cos = torch.nn.functional.cosine_similarity(q(test).float(), reference)
            out["int8"].append({"float_convs": list(float_convs), "cosine_min": round(float(cos.min()), 4),
                                "cosine_mean": round(float(cos.mean()), 4), "blocks_per_s": round(rate(q), 1),
                                "gate": bool(cos.min() >= COSINE_MIN)})
    return out


def report(result: dict) -> None:
    print(f"  {result['model']}: {result['blocks']} held-out blocks ({result['calibration_blocks']} calibrate)")
    print(f"  {'encoder':<28} {'blocks/s':>9} {'cos min':>8} {'cos mean':>9}  gate (cos >= {COSINE_MIN})")
    print(f"  {'fp32':<28} {result['fp32_blocks_per_s']:>9.1f} {1:>8.4f} {1:>9.4f}")
    print(f"  {'bf16 autocast':<28} {result['bf16_blocks_per_s']:>9.1f} {result['bf16_cosine_min']:>8.4f} {'':>9}  "
          f"{'passed' if result['bf16_cosine_min'] >= COSINE_MIN else 'failed'}")
    for v in result["int8"]:
        name = "int8" + (f", convs {v['float_convs']} float" if v["float_convs"] else " (all)")
        print(f"  {name:<28} {v['blocks_per_s']:>9.1f} {v['cosine_min']:>8.4f} {v['cosine_mean']:>9.4f}  "
              f"{'passed' if v['gate'] else 'failed'}")


def real_files(shared: str, n: int, seed: int = 0) -> list[str]:
    files = sorted(glob.glob(f"{shared}/*/**/*.wav", recursive=True))
    return random.Random(seed).sample(files, min(n, len(files)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="aisfx")
    parser.add_argument("--files", type=int, default=1500, help="real files of --shared (calibration, then test)")
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--float-convs", type=int, nargs="*", default=[2],
                        help="variants besides all-int8: the first 1, 2, … convolutions kept float")
    ns = parser.parse_args(argv)
    variants = [()] + [tuple(range(k)) for k in ns.float_convs if k]
    result = int8_bench(ns.model, real_files(ns.shared, ns.files), variants)
    report(result)
    print(json.dumps({"int8": result}))


if __name__ == "__main__":
    main()
