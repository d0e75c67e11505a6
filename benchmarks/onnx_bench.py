"""ONNX Runtime against torch for the encoder (issue: "try ONNX Runtime and graph paths only if they win end to
end; report what you tried, with numbers").

The CNN9 encoder of a model is exported to ONNX and run by ONNX Runtime in fp32 and in int8 (static QDQ
quantization: per-channel int8 weights, uint8 activations calibrated on real blocks with each of ORT's
calibration methods). Each is scored like :mod:`benchmarks.int8_bench`: blocks/s at batch 64 on 2 threads, and
the cosine of each held-out block's embedding to torch fp32 (the gate wants ≥ 0.99 for every block). torch fp32,
bf16 and the shipped FX int8 calibration run on the same blocks for comparison.

Not part of ``make bench``: ONNX Runtime is not a dependency of the suite (it did not win; README "Speed").

    pip install onnxruntime onnx onnxscript
    python -m benchmarks.onnx_bench [--model aisfx] [--files 1500]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.int8_bench import blocks_of_files, real_files
from sfxrep.evaluate.gate import COSINE_MIN, cosines
from sfxrep.inference.int8 import CALIBRATION_BLOCKS


def rate(fn, x: np.ndarray, batch: int = 64) -> tuple[float, np.ndarray]:
    """blocks/s of ``fn`` over ``x`` in batches (after one warm-up batch), and its outputs."""
    fn(x[:batch])
    start = time.perf_counter()
    out = np.concatenate([fn(x[i:i + batch]) for i in range(0, len(x), batch)])
    return len(x) / (time.perf_counter() - start), out


def export(encoder: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    """The encoder as an ONNX graph with a dynamic batch dimension."""
    batch = torch.export.Dim("batch", min=1, max=1024)
    torch.onnx.export(encoder.float().eval(), (example,), str(path), dynamo=True, input_names=["x"],
                      output_names=["embedding"], dynamic_shapes=({0: batch},), optimize=True,
                      external_data=False)
    return path


def onnx_bench(model_name: str, files: list[str], threads: int = 2, calibrate: int = CALIBRATION_BLOCKS) -> dict:
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from sfxrep.api import load_model
    from sfxrep.inference.int8 import int8_encoder

    torch.set_num_threads(threads)
    model = load_model(model_name).eval()
    encoder = model.encoder.float().to(memory_format=torch.contiguous_format)
    x = blocks_of_files(model, files).contiguous()
    if len(x) < calibrate + 64:
        raise ValueError(f"{len(files)} files give {len(x)} blocks; at least {calibrate + 64} are needed")
    calibration, test = x[:calibrate], x[calibrate:]
    test_np = test.numpy()
    results: dict = {"model": model_name, "blocks": len(test), "calibration_blocks": len(calibration),
                     "threads": threads, "onnxruntime": ort.__version__, "paths": {}}

    def torch_fn(precision: str):
        def run(b: np.ndarray) -> np.ndarray:
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
                return encoder(torch.from_numpy(b).contiguous(memory_format=torch.channels_last)).float().numpy()
        return run

    encoder.to(memory_format=torch.channels_last)
    reference = None
    for precision in ("fp32", "bf16"):
        r, out = rate(torch_fn(precision), test_np)
        reference = out if reference is None else reference
        results["paths"][f"torch {precision}"] = (r, out)
    q = int8_encoder(model)
    results["paths"]["torch FX int8 (shipped calibration)"] = rate(
        lambda b: q(torch.from_numpy(b).contiguous(memory_format=torch.channels_last)).numpy(), test_np)
    encoder.to(memory_format=torch.contiguous_format)

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

    def session(path: Path):
        s = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return lambda b: s.run(None, {"x": b})[0]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"x": calibration[i:i + 64].numpy()} for i in range(0, len(calibration), 64)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export(encoder, calibration[:2], Path(tmp) / "fp32.onnx")
        results["paths"]["ONNX Runtime fp32"] = rate(session(fp32), test_np)
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        for method in (CalibrationMethod.MinMax, CalibrationMethod.Entropy, CalibrationMethod.Percentile):
            path = Path(tmp) / f"int8-{method.name}.onnx"
            quantize_static(str(pre), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method,
                            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
            results["paths"][f"ONNX Runtime int8 ({method.name})"] = rate(session(path), test_np)
    out = {k: v for k, v in results.items() if k != "paths"}
    out["paths"] = {name: {"blocks_per_s": round(r, 1), "cosine_min": round(float(cosines(o, reference).min()), 4),
                           "cosine_p1": round(float(np.percentile(cosines(o, reference), 1)), 4)}
                    for name, (r, o) in results["paths"].items()}
    return out


def report(result: dict) -> None:
    print(f"  {result['model']}: {result['blocks']} held-out blocks, {result['threads']} threads, onnxruntime "
          f"{result['onnxruntime']}")
    print(f"  {'path':<40} {'blocks/s':>9} {'cos min':>8} {'cos p1':>8}  gate (min >= {COSINE_MIN})")
    for name, v in result["paths"].items():
        print(f"  {name:<40} {v['blocks_per_s']:>9.1f} {v['cosine_min']:>8.4f} {v['cosine_p1']:>8.4f}  "
              f"{'passed' if v['cosine_min'] >= COSINE_MIN else 'failed'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="aisfx")
    parser.add_argument("--files", type=int, default=1500)
    parser.add_argument("--shared", default="../shared/data")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calibrate", type=int, default=CALIBRATION_BLOCKS, help="blocks ORT calibrates on")
    ns = parser.parse_args(argv)
    result = onnx_bench(ns.model, real_files(ns.shared, ns.files), ns.threads, ns.calibrate)
    report(result)
    print(json.dumps({"onnx": result}))


if __name__ == "__main__":
    main()
