"""The frozen CNN9 encoder in bf16 as one oneDNN call per layer: each BatchNorm folded into its convolution
(running statistics, so eval only) and the ReLU run inside the convolution as a post-op.

Why: in eager bf16 embedding on an AMX CPU the convolutions are a third of the encoder's time; BatchNorm, ReLU and
pooling, each a pass over the activations, are most of the rest (``torch.profiler``, aiSFX, 64 blocks, 2-core Xeon
with AMX: convolution 34 %, BatchNorm 19 %, ReLU 19 %, max-pool 12 %). Folded and fused, the encoder runs 1.6–1.9×
faster there and comes closer to fp32 than eager bf16 does (every BatchNorm is computed in fp32 before the
weights are rounded). :func:`sfxrep.inference.precision.embed_at` uses it for ``bf16`` on the CPU; fp32 and int8
are unchanged.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from sfxrep import hardware
from sfxrep.models.cnn9 import CNN9
from sfxrep.models.fingerprint import non_finite, weights_sha256

# model → (its encoder's weights hash, the fused copy, or None where those weights are not all finite)
_FUSED: weakref.WeakKeyDictionary[nn.Module, tuple[str, FusedCNN9 | None]] = weakref.WeakKeyDictionary()


def _fused(model: nn.Module) -> FusedCNN9 | None:
    """The cached fused copy of ``model``'s encoder for its current weights (``None``: non-finite weights); the
    weights are scanned and folded once per change, not per call (``embed_file`` builds an embedder per file)."""
    sha = weights_sha256(model.encoder)
    cached = _FUSED.get(model)
    if cached is None or cached[0] != sha:
        cached = (sha, None if non_finite(model.encoder) else FusedCNN9(model.encoder))
        _FUSED[model] = cached
    return cached[1]


def fusable(model: nn.Module) -> bool:
    """Whether ``model``'s encoder can run fused: a shared-BN :class:`CNN9` on a CPU with native bf16 (oneDNN's
    bf16 convolution refuses a CPU held to AVX2; there bf16 stays emulated autocast), in eval mode, with oneDNN's
    fused convolution in this torch, and finite weights. (oneDNN's ReLU post-op turns a NaN into 0, so
    broken weights would give finite embeddings fused; unfused they give NaN, which every caller refuses.)"""
    encoder = getattr(model, "encoder", None)
    return (isinstance(encoder, CNN9) and not encoder.libraries and not encoder.training
            and next(encoder.parameters()).device.type == "cpu" and hardware.cpu_has_native_bf16()
            and torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
            and _fused(model) is not None)


class FusedCNN9(nn.Module):
    """A frozen copy of a shared-BN :class:`CNN9` whose layers are convolution + folded BatchNorm + ReLU in one call.

    Args:
        encoder: the CNN9 to copy (its BatchNorm running statistics are folded; it is not changed).
        dtype: the compute precision (bf16: the embedding precision it serves).

    Shapes: ``(B, 1, T, F)`` float32 log-mel → ``(B, 8·width)`` float32, as CNN9 in eval mode.
    """

    def __init__(self, encoder: CNN9, dtype: torch.dtype = torch.bfloat16) -> None:
        super().__init__()
        self.dtype = dtype
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.pools: list[tuple[int, int]] = []
        with torch.no_grad():
            for block, pool in zip(encoder.blocks, encoder.pool_sizes, strict=True):
                for conv, norm in ((block.conv1, block.bn1), (block.conv2, block.bn2)):
                    weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, norm.running_mean, norm.running_var,
                                                        norm.eps, norm.weight, norm.bias)
                    self.weights.append(nn.Parameter(weight.to(dtype).contiguous(memory_format=torch.channels_last),
                                                     requires_grad=False))
                    self.biases.append(nn.Parameter(bias.to(dtype), requires_grad=False))
                self.pools.append(pool)

    @torch.inference_mode()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)  # (B, 1, T, F)
        for k, pool in enumerate(self.pools):
            for weight, bias in zip(self.weights[2 * k: 2 * k + 2], self.biases[2 * k: 2 * k + 2], strict=True):
                x = torch.ops.mkldnn._convolution_pointwise(x, weight, bias, [1, 1], [1, 1], [1, 1], 1, "relu",
                                                            [None], "")  # (B, C, T, F): relu(bn(conv(x)))
            if pool != (1, 1):
                x = F.max_pool2d(x, kernel_size=pool)  # (B, C, T / p_t, F / p_f)
        return x.float().mean(dim=3).amax(dim=2)  # (B, 8w): mean over frequency, max over time


def fused_encoder(model: nn.Module) -> FusedCNN9:
    """The fused bf16 encoder of ``model`` (see :func:`fusable`), built once per model and rebuilt when its
    encoder's weights change."""
    fused = _fused(model)
    if fused is None:  # the weights changed since they were found fusable
        raise ValueError("the model's encoder has non-finite weights (NaN or inf): are its weights broken?")
    return fused
