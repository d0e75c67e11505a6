"""int8 embedding: a CNN9 encoder quantized after training, for CPUs with VNNI or AMX (``--precision int8``).

The encoder is copied into :class:`PlainCNN9` (conv → BN → ReLU → max-pool, as FX traces and fuses it) and quantized
with PyTorch's FX graph mode for the ``x86`` engine: per-channel symmetric int8 weights, and int8 activations whose
ranges a histogram observer calibrates on real blocks. The activations use the full 8-bit range (``reduce_range``
off): that is accurate, and safe only where VNNI (or AMX) computes u8×s8 products without the 16-bit saturation of
plain AVX2, so int8 is offered only there (:func:`sfxrep.hardware.cpu_has_vnni`).

A calibration is the quantized encoder's state (4.7 MB at width 64), saved under the SHA-256 of the float
encoder it was made from (:func:`sfxrep.models.fingerprint.weights_sha256`), so it is found again for exactly that
model: shipped ones in ``sfxrep/models/weights/int8/`` (``make int8``: aisfx and sfxrep-v1 on the train splits of
``../shared/data``), and the user's in ``$SFXREP_INT8_DIR`` (default ``~/.cache/sfxrep/int8``), written by
``sfxrep quantize``. With each, ``sfxrep quantize`` records the accuracy gate it passed or failed on the
libraries it was calibrated on (:mod:`sfxrep.evaluate.gate`: every block's cosine to fp32 ≥ 0.99, kNN macro-F1
within 0.5 points), and ``--precision auto`` runs int8 only for a model whose calibration passed it
(:func:`sfxrep.inference.precision.resolve_precision`).

Measured (``make bench``, ``benchmarks/int8_bench.py``; Zen 4, 2 cores, AVX512-VNNI): see README "Speed". The
``torch.ao`` quantization used here is deprecated upstream in favour of torchao; it runs on the pinned torch.
"""

from __future__ import annotations

import copy
import functools
import os
import warnings
import weakref
from pathlib import Path

import torch
from torch import nn

from sfxrep.models.cnn9 import CNN9

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "weights" / "int8"  # shipped beside the releases
CALIBRATION_BLOCKS = 1024  # blocks a calibration sees: held-out block cosine to fp32 ≥ 0.99 from 512 on (aiSFX)


def user_dir() -> Path:
    """Where ``sfxrep quantize`` saves calibrations (``$SFXREP_INT8_DIR``, default ``~/.cache/sfxrep/int8``)."""
    return Path(os.environ.get("SFXREP_INT8_DIR") or Path.home() / ".cache" / "sfxrep" / "int8")


class PlainCNN9(nn.Module):
    """The function of a shared-BN :class:`~sfxrep.models.cnn9.CNN9` as one ``nn.Sequential`` that FX traces.

    Shapes: ``(B, 1, T, F)`` log-mel → ``(B, 8·width)``, as CNN9.

    Raises:
        ValueError: an encoder with per-library BatchNorm (its layers depend on the library).
    """

    def __init__(self, encoder: CNN9) -> None:
        super().__init__()
        if encoder.libraries:
            raise ValueError("int8: only an encoder with shared BatchNorm is quantized (per-library BN depends on the "
                             "library)")
        layers: list[nn.Module] = []
        for block, pool in zip(encoder.blocks, encoder.pool_sizes, strict=True):
            for conv, norm in ((block.conv1, block.bn1), (block.conv2, block.bn2)):
                plain = nn.BatchNorm2d(norm.num_features, eps=norm.eps)
                plain.load_state_dict(norm.state_dict())
                layers += [copy.deepcopy(conv), plain, nn.ReLU()]
            if pool != (1, 1):
                layers.append(nn.MaxPool2d(pool))
        self.layers = nn.Sequential(*layers).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(x)  # (B, 8w, T', F')
        return x.mean(dim=3).amax(dim=2)  # (B, 8w): mean over frequency, max over time


def _prepare(encoder: CNN9, example: torch.Tensor, float_convs: tuple[int, ...] = ()) -> nn.Module:
    from torch.ao.quantization import HistogramObserver, QConfig, get_default_qconfig_mapping
    from torch.ao.quantization.observer import default_per_channel_weight_observer
    from torch.ao.quantization.quantize_fx import prepare_fx

    torch.backends.quantized.engine = "x86"
    plain = PlainCNN9(encoder).cpu().float()  # a copy: the caller's encoder stays where and as it is
    qconfig = QConfig(activation=HistogramObserver.with_args(reduce_range=False),
                      weight=default_per_channel_weight_observer)
    mapping = get_default_qconfig_mapping("x86").set_global(qconfig)
    convs = [i for i, layer in enumerate(plain.layers) if isinstance(layer, nn.Conv2d)]
    for k in float_convs:
        for j in range(convs[k], convs[k] + 3):  # the conv, its BN and ReLU stay float
            mapping = mapping.set_module_name(f"layers.{j}", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FX's deprecation notices
        return prepare_fx(plain, mapping, example_inputs=(example[:2],))


def _convert(prepared: nn.Module) -> nn.Module:
    from torch.ao.quantization.quantize_fx import convert_fx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert_fx(prepared)


class Int8Encoder(nn.Module):
    """A quantized CNN9 encoder; call it as the float one: ``(B, 1, T, F)`` float log-mel → ``(B, 8·width)``
    float32 (``library`` is accepted and ignored: shared BN only). CPU only."""

    def __init__(self, graph: nn.Module, source_sha256: str) -> None:
        super().__init__()
        self.graph, self.source_sha256 = graph, source_sha256

    @torch.inference_mode()
    def forward(self, x: torch.Tensor, library: str | None = None) -> torch.Tensor:
        return self.graph(x.float()).float()

    @classmethod
    def calibrate(cls, encoder: CNN9, blocks: torch.Tensor, batch: int = 64,
                  float_convs: tuple[int, ...] = ()) -> Int8Encoder:
        """Quantize ``encoder`` with activation ranges observed on ``blocks`` ``(N, 1, T, F)`` (log-mel, as the
        model's ``features`` makes them; :data:`CALIBRATION_BLOCKS` of real sounds reproduce the measured
        accuracy); the convolutions numbered in ``float_convs`` (0 = the first) stay float."""
        from sfxrep.models.fingerprint import weights_sha256

        prepared = _prepare(encoder, blocks, float_convs)
        with torch.inference_mode():
            for i in range(0, len(blocks), batch):
                prepared(blocks[i:i + batch].float())
        return cls(_convert(prepared), weights_sha256(encoder))

    def save(self, folder: str | Path, gate: dict | None = None) -> Path:
        """Save as ``folder/<sha256 of the float encoder>.pt``, with the accuracy ``gate`` measured for it (a
        JSON-able dict with ``passes``: :func:`record_gate`); returns the path."""
        path = Path(folder) / f"{self.source_sha256}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = {"state": self.graph.state_dict(), "source_sha256": self.source_sha256}
        torch.save({**saved, "gate": gate} if gate is not None else saved, path)
        return path

    @classmethod
    def load(cls, encoder: CNN9, path: str | Path, sha: str | None = None) -> Int8Encoder:
        """The calibration at ``path`` for ``encoder`` (``sha``: its :func:`weights_sha256`, if known).

        Raises:
            ValueError: it was made from another encoder.
        """
        from sfxrep.models.fingerprint import weights_sha256

        saved = _read(path)
        sha = sha or weights_sha256(encoder)
        if saved["source_sha256"] != sha:
            raise ValueError(f"{path}: an int8 calibration of another encoder ({saved['source_sha256'][:12]}, "
                             f"not {sha[:12]})")
        example = torch.zeros(2, 1, 100, 96)  # any shape FX can trace; the observers are replaced by the state
        graph = _convert(_prepare(encoder, example))
        graph.load_state_dict(saved["state"])
        return cls(graph, sha)


# model → (its weights' hash, the calibration file's identity, its int8 encoder): built once per model, not per call
_ENCODERS: weakref.WeakKeyDictionary[nn.Module, tuple[str, tuple, Int8Encoder]] = weakref.WeakKeyDictionary()


def _identity(path: Path) -> tuple:
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


def _read(path: str | Path) -> dict:
    return dict(_read_cached(*_identity(Path(path))))  # a copy: a caller may add to it


@functools.lru_cache(maxsize=16)
def _read_cached(path: str, mtime_ns: int, size: int) -> dict:
    """A calibration file's contents, read once per (path, mtime, size): a rewritten file is read again.

    Raises:
        ValueError: not a readable calibration (truncated, damaged), naming the file and what to do.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notices on quantized storages
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise ValueError(f"{path}: not a readable int8 calibration ({' '.join(str(err).split())[:160]}); delete "
                             "it, or calibrate again with sfxrep quantize") from err
    if not isinstance(saved, dict) or "state" not in saved or "source_sha256" not in saved:
        raise ValueError(f"{path}: not an int8 calibration (no state and source hash); delete it, or calibrate again "
                         "with sfxrep quantize")
    return saved


def _calibration_of(sha: str) -> Path | None:
    return next((p for p in (user_dir() / f"{sha}.pt", SHIPPED / f"{sha}.pt") if p.is_file()), None)


def find_calibration(encoder: CNN9) -> Path | None:
    """The saved calibration of ``encoder`` (the user's first, so that a model calibrated again on one's own
    sounds runs that way; then the shipped one), or ``None``."""
    from sfxrep.models.fingerprint import weights_sha256

    return _calibration_of(weights_sha256(encoder))


def calibration_gate(model: nn.Module) -> dict | None:
    """The accuracy gate recorded with the saved calibration of ``model``'s encoder (:func:`record_gate`), or
    ``None``: not a CNN9 model with shared BN, no calibration, or one saved without a gate."""
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, CNN9) or encoder.libraries:
        return None
    path = find_calibration(encoder)
    if path is None:
        return None
    try:
        return _read(path).get("gate")
    except ValueError as err:  # auto falls back to the float precisions; an explicit int8 says it (int8_encoder)
        warnings.warn(f"{err}; embedding without int8", stacklevel=2)
        return None


def int8_encoder(model: nn.Module) -> Int8Encoder:
    """The int8 encoder of ``model`` (an sfxrep CNN9 model) from its saved calibration (:func:`find_calibration`).

    Raises:
        ValueError: not a CNN9 model, or no calibration is saved for its weights (saying how to make one).
    """
    from sfxrep.models.fingerprint import weights_sha256

    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, CNN9):
        raise ValueError(f"--precision int8: only a CNN9 model (aisfx, a release, a checkpoint) runs in int8, not "
                         f"{type(model).__name__}")
    sha = weights_sha256(encoder)
    path = _calibration_of(sha)
    if path is None:
        raise ValueError("--precision int8: no int8 calibration for this model's weights; make one with "
                         "sfxrep quantize MODEL --libraries LIBRARIES.yaml (or embed with --precision bf16/fp32)")
    cached = _ENCODERS.get(model)
    if cached is not None and cached[:2] == (sha, _identity(path)):
        return cached[2]
    int8 = Int8Encoder.load(encoder, path, sha)
    _ENCODERS[model] = (sha, _identity(path), int8)
    return int8


def record_gate(result: dict, libraries: str | Path) -> dict:
    """What a calibration keeps of its :func:`sfxrep.evaluate.gate.precision_gate` ``result``: whether it
    ``passes``, the figures that decided it, where and on what it was measured."""
    import time

    from sfxrep.hardware import cpu_capability

    keep = ("passes", "blocks", "cosine_min", "cosine_p1", "lofo_delta_points", "delta_points")
    return {**{k: result[k] for k in keep}, "libraries": str(libraries), "cpu": cpu_capability(),
            "measured": time.strftime("%Y-%m-%d")}
