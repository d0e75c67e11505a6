"""A model's fingerprint: the SHA-256 of its weights, which names what an index or an int8 calibration was made
from (:mod:`sfxrep.index.identity`, :mod:`sfxrep.inference.int8`)."""

from __future__ import annotations

import hashlib
import weakref

import torch
from torch import nn

# module → (the state its hash was computed at, the hash): a model asked again costs a walk over its tensors' ids
_HASHES: weakref.WeakKeyDictionary[nn.Module, tuple[tuple, str]] = weakref.WeakKeyDictionary()


def _state(module: nn.Module) -> tuple:
    """What changes whenever a weight may have: each tensor's name, storage, and in-place version counter (bumped by
    an optimizer step, ``load_state_dict``, ``copy_``)."""
    tensors = dict(module.named_parameters()) | dict(module.named_buffers())
    return tuple((name, t.data_ptr(), t._version, t.dtype, tuple(t.shape)) for name, t in sorted(tensors.items()))


def weights_sha256(module: nn.Module) -> str:
    """SHA-256 over the module's class and its parameters and buffers (names, shapes, bytes, in name order).

    Heads are left out: they do not change an embedding, so a fine-tuned head does not invalidate an index. The hash
    is remembered per module until one of its tensors changes (in place or replaced), so asking once per call of
    ``embed_file`` costs microseconds, not a pass over 19 MB of weights.
    """
    state = _state(module)
    cached = _HASHES.get(module)
    if cached is not None and cached[0] == state:
        return cached[1]
    sha = _sha256(module)
    _HASHES[module] = (state, sha)
    return sha


def _sha256(module: nn.Module) -> str:
    digest = hashlib.sha256(type(module).__name__.encode())
    tensors = dict(module.named_parameters()) | dict(module.named_buffers())
    for name, tensor in sorted(tensors.items()):
        if name.startswith("heads."):
            continue
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        digest.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return digest.hexdigest()


def state_sha256(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over a state dict's tensors (names, dtypes, shapes, bytes, in name order)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def non_finite(module: nn.Module) -> list[str]:
    """The names of ``module``'s floating-point parameters and buffers that hold a NaN or an infinity."""
    return [name for name, t in module.state_dict().items()
            if t.is_floating_point() and not bool(torch.isfinite(t).all())]
