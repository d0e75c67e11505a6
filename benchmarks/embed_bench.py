"""File-embedding throughput: sfxrep's path against the authors' own aiSFX pipeline, on the same files.

* sfxrep: the released model (decode → blocks → LogMel → CNN9), one file at a time as before and batched
  across files (:class:`sfxrep.inference.embedding.FileEmbedder`), with and without the tail block, eager and compiled;
* aiSFX: the package's own code, file by file — its ``compute_spectrogram`` (Essentia when installed, the
  paper's path; else its librosa variant), ``spectrogram_normalize``, its ``CrossNet`` and
  ``model_get_embedding`` (its weight loader fails on torch ≥ 2.6, so the weights are loaded here).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

import torch


def sample_files(limit: int, shared: Path, min_seconds: float = 3.0) -> list[Path]:
    """Up to ``limit`` real sound files of at least ``min_seconds`` from ``shared`` (sorted, spread out).

    The length floor is for the authors' pipeline: it fails on files shorter than one 2.3 s block
    (``max_pool2d``: output size too small), where sfxrep pads them.
    """
    import soundfile as sf

    files = []
    for path in sorted(p for p in shared.rglob("*") if p.suffix.lower() in (".wav", ".ogg")):
        try:
            if sf.info(str(path)).duration >= min_seconds:
                files.append(path)
        except RuntimeError:  # unreadable: neither pipeline is timed on it
            continue
    step = max(1, len(files) // limit)
    return files[::step][:limit]


SFXREP_MODES = ("one file at a time, tail (before)", "batched fp32", "batched bf16", "batched int8", "batched + tail",
                "batched + compile")
AUTO = "batched"  # the default path: the precision ``auto`` resolves to here


def sfxrep_files_per_s(files: list[Path], mode: str = "batched") -> float:
    """sfxrep's released-model embedding of ``files`` in one of :data:`SFXREP_MODES`.

    "one file at a time, tail" is the path before batching: decode, then one forward pass per file, padded
    tail block included (what ``embed_file`` did until the batched :class:`~sfxrep.inference.embedding.FileEmbedder`).
    """
    from sfxrep.api import get_timestamp_embeddings, load_model
    from sfxrep.audio.decode import load_audio
    from sfxrep.inference.embedding import FileEmbedder

    model = load_model("aisfx")
    if mode.startswith("one file"):
        def run(paths: list[Path]) -> int:
            for path in paths:
                get_timestamp_embeddings(torch.from_numpy(load_audio(path))[None], model)
            return len(paths)
    else:
        precision = next((p for p in ("fp32", "bf16", "int8") if p in mode), "auto")
        embedder = FileEmbedder(model, tail="tail" in mode, compile="compile" in mode, precision=precision)

        def run(paths: list[Path]) -> int:
            return sum(1 for _ in embedder(paths))
    run(files[:2])  # warm-up (and, compiled, the compilation)
    start = time.perf_counter()
    done = run(files)
    return done / (time.perf_counter() - start)


def aisfx_pipeline() -> tuple[Callable[[str | Path], object], str]:
    """The authors' pipeline, loaded: a function embedding one file (its ``compute_spectrogram``, Essentia when
    installed, else its librosa variant; ``spectrogram_normalize``; its model's ``model_get_embedding``), and which
    spectrogram backend it uses."""
    from aisfx import inference
    from aisfx.preprocessing import spectrogram_normalize

    backend = "essentia" if importlib.util.find_spec("essentia") else "librosa"
    if backend == "essentia":
        from aisfx.spectrogram.spectrogram_essentia import compute_spectrogram
    else:
        from aisfx.spectrogram.spectrogram_librosa import compute_spectrogram
    weights, ds_dict = torch.load(inference.get_path_modelWeights(), map_location="cpu", weights_only=False)
    model = inference.load_bestModel(weights, ds_dict, "cpu")

    def one(path: str | Path) -> object:
        spec = compute_spectrogram(filename=str(path), sr=inference.SAMPLE_RATE, block_size=inference.SPEC_BLOCK_LENGTH,
                                   hop_size=inference.SPEC_HOP_LENGTH, n_mels=inference.MEL_BINS,
                                   f_min=inference.F_MIN, f_max=inference.F_MAX)
        spec = spectrogram_normalize(spec, spec_norm="original", mn=None, mx=None)
        return inference.model_get_embedding(spec, 0.5, True, model, "cpu")

    return one, backend


def aisfx_files_per_s(files: list[Path]) -> tuple[float, str]:
    """The authors' pipeline in this process: returns (files/s, which spectrogram backend it used)."""
    one, backend = aisfx_pipeline()
    for path in files[:2]:  # warm-up
        one(path)
    start = time.perf_counter()
    for path in files:
        one(path)
    return len(files) / (time.perf_counter() - start), backend


def stage_rates(files: list[Path], model_name: str = "aisfx") -> dict:
    """Each stage of the embedding pipeline alone, in files/s on ``files``: decoding (decode + resample + mono) in
    this process, and the model (frontend + encoder) on pre-decoded blocks at fp32 and at bf16. The slowest stage
    bounds the pipeline."""
    from sfxrep.api import load_model
    from sfxrep.hardware import cpu_has_native_bf16, cpu_has_vnni
    from sfxrep.inference.embedding import FileEmbedder, decode_or_error

    start = time.perf_counter()
    decoded = [decode_or_error(str(p)) for p in files]
    rates = {"decode": len(files) / (time.perf_counter() - start)}
    embedder = FileEmbedder(load_model(model_name), decode_workers=0)
    blocks = [embedder.blocks_of(a.samples) for a in decoded if not isinstance(a, Exception)]
    batch = torch.cat(blocks)
    precisions = ["fp32", *(["bf16"] if cpu_has_native_bf16() else []), *(["int8"] if cpu_has_vnni() else [])]
    for precision in precisions:
        forward = FileEmbedder(embedder.model, decode_workers=0, precision=precision)._forward
        forward(batch[:64])  # warm-up
        start = time.perf_counter()
        for chunk in batch.split(64):
            forward(chunk)
        rates[f"model {precision}"] = len(blocks) / (time.perf_counter() - start)
    rates["blocks_per_file"] = len(batch) / max(1, len(blocks))
    return rates


def whole_process(files: list[Path]) -> dict:
    """Files/s of whole processes on ``files``, start-up and model loading included: ``sfxrep embed aisfx`` at its
    default precision, at fp32 and (with VNNI) at int8; ``sfxrep embed sfxrep-v1`` at its default (int8 with VNNI:
    its calibration passed the gate); and the authors' aiSFX pipeline (:func:`aisfx_pipeline`) in a process of its
    own, as ``python -m benchmarks.embed_bench FILE...`` runs it."""
    import subprocess
    import sys
    import tempfile

    def timed_run(command: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1])
        return len(files) / (time.perf_counter() - start)

    from sfxrep.hardware import cpu_has_vnni

    paths = [str(Path(p).resolve()) for p in files]
    out = {}
    runs = [("sfxrep embed (auto)", "aisfx", []), ("sfxrep embed (fp32)", "aisfx", ["--precision", "fp32"])]
    runs += [("sfxrep embed (int8)", "aisfx", ["--precision", "int8"])] if cpu_has_vnni() else []
    runs += [("sfxrep embed sfxrep-v1 (auto)", "sfxrep-v1", [])]
    with tempfile.TemporaryDirectory() as tmp:
        for label, model, extra in runs:
            out[label] = timed_run([sys.executable, "-m", "sfxrep.cli", "embed", model, *paths, "--out",
                                    f"{tmp}/e.npz", *extra])
        backend = "essentia" if importlib.util.find_spec("essentia") else "librosa"
        try:
            out[f"aiSFX pipeline ({backend})"] = timed_run([sys.executable, "-m", "benchmarks.embed_bench", *paths])
        except subprocess.CalledProcessError as err:
            out[f"aiSFX pipeline ({backend})"] = None
            print(f"  aiSFX pipeline failed: {err.stderr.decode()[-300:]}")
    return out


if __name__ == "__main__":  # the authors' pipeline over the files given, as a whole process (whole_process)
    import sys

    embed_one, _ = aisfx_pipeline()
    for file in sys.argv[1:]:
        embed_one(file)


def one_call_vs_batched(files: list[Path], model_name: str) -> dict:
    """files/s of ``api.embed_file`` called once per file (a HEAR-style caller) against ``api.embed_paths`` on the same
    files, both at the default ``precision="auto"``, each after one warm-up call; ``ratio`` = one-call / batched."""
    from sfxrep.api import embed_file, embed_paths
    from sfxrep.inference.precision import resolve_precision
    from sfxrep.inference.registry import load_model

    model = load_model(model_name)
    embed_paths(files[:2], model)
    start = time.perf_counter()
    embed_paths(files, model)
    batched = len(files) / (time.perf_counter() - start)
    embed_file(files[0], model)
    start = time.perf_counter()
    for path in files:
        embed_file(path, model)
    one_call = len(files) / (time.perf_counter() - start)
    return {"model": model_name, "precision": resolve_precision("auto", model), "batched_files_per_s": round(batched, 2),
            "one_call_files_per_s": round(one_call, 2), "ratio": round(one_call / batched, 3)}
