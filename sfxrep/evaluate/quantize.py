"""``sfxrep quantize``: a model's int8 calibration (:mod:`sfxrep.inference.int8`), gated for accuracy
(:mod:`sfxrep.evaluate.gate`) and saved with its gate, so that ``--precision auto`` may choose it."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from sfxrep.data.datamodule import SfxDataModule
from sfxrep.evaluate.gate import precision_gate
from sfxrep.inference.int8 import CALIBRATION_BLOCKS, Int8Encoder, record_gate, user_dir
from sfxrep.inference.registry import load_model
from sfxrep.models.cnn9 import CNN9
from sfxrep.models.fingerprint import non_finite
from sfxrep.paths import CACHE_DIR, WORK_DIR


def calibration_blocks(model: nn.Module, libraries: str | Path, n: int = CALIBRATION_BLOCKS, seed: int = 0,
                       work_dir: str | Path = WORK_DIR, cache_dir: str | Path = CACHE_DIR) -> torch.Tensor:
    """``(n, 1, T, F)`` log-mel blocks (the model's ``features``) drawn evenly from the train splits of every
    library of a libraries YAML: what a calibration observes."""
    data = SfxDataModule(libraries=str(libraries), work_dir=str(work_dir), cache_dir=str(cache_dir))
    data.ready()
    train = [data.eval_dataset(name, "train") for name in data.spec.names]
    train = [t for t in train if len(t)]
    if not train:
        raise ValueError(f"{libraries}: no train blocks to calibrate on")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for k, dataset in enumerate(train):
        take = n // len(train) + (k < n % len(train))
        picks = torch.randperm(len(dataset), generator=generator)[:take].tolist()
        chosen += [dataset[i]["wave"] for i in picks]
    with torch.inference_mode():
        return torch.cat([model.features(torch.stack(chosen[i:i + 64])) for i in range(0, len(chosen), 64)])


def quantize_model(model: str | Path, libraries: str | Path, out: str | Path | None = None,
                   blocks: int = CALIBRATION_BLOCKS, work_dir: str | Path = WORK_DIR,
                   cache_dir: str | Path = CACHE_DIR) -> tuple[Path, dict]:
    """``sfxrep quantize``: calibrate a model's int8 encoder on ``libraries``' train splits, measure its accuracy
    gate on every block of their splits (:func:`sfxrep.evaluate.gate.precision_gate`), and save both where
    ``--precision int8`` and ``auto`` find them (``out``, default :func:`user_dir`). Returns the file and the
    gate's full result (per-library figures included)."""
    module = load_model(model)
    if not isinstance(getattr(module, "encoder", None), CNN9):
        raise ValueError(f"{model}: only a CNN9 model (aisfx, a release, a checkpoint) is quantized")
    broken = non_finite(module.encoder)
    if broken:  # int8 ranges of NaN are meaningless (the observers fail on them): say so instead
        raise ValueError(f"{model}: its encoder has non-finite weights (NaN or inf) in {broken[0]} and "
                         f"{len(broken) - 1} more; nothing to quantize (are its weights broken?)")
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
        raise ValueError(f"--blocks {blocks!r}: the number of calibration blocks must be a positive integer")
    calibration = calibration_blocks(module, libraries, blocks, work_dir=work_dir, cache_dir=cache_dir)
    quantized = Int8Encoder.calibrate(module.encoder, calibration)
    result = precision_gate(module, libraries, "int8", work_dir, cache_dir, int8=quantized)
    result["calibration_blocks"] = len(calibration)  # fewer than asked where the train splits hold fewer
    return quantized.save(out or user_dir(), record_gate(result, libraries)), result
