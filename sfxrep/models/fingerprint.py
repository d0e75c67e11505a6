"""A model's fingerprint: the SHA-256 of its weights, which names what an index or an int8 calibration was made
from (:mod:`sfxrep.index.identity`, :mod:`sfxrep.models.int8`)."""

from __future__ import annotations

import hashlib

import torch
from torch import nn


def weights_sha256(module: nn.Module) -> str:
    """SHA-256 over the module's class and its parameters and buffers (names, shapes, bytes, in name order).

    Heads are left out: they do not change an embedding, so a fine-tuned head does not invalidate an index.
    """
    digest = hashlib.sha256(type(module).__name__.encode())
    tensors = dict(module.named_parameters()) | dict(module.named_buffers())
    for name, tensor in sorted(tensors.items()):
        if name.startswith("heads."):
            continue
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        digest.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return digest.hexdigest()
