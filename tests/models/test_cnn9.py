"""CNN9-max: size, shapes, per-library BatchNorm (Dataset-Aware Blocks) and AdaBN for unseen libraries."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sfxrep.models.cnn9 import CNN9
from sfxrep.models.heads import MLPHead, build_heads


def test_paper_width_has_4_69_million_encoder_parameters():
    n = sum(p.numel() for p in CNN9(64).parameters())
    assert n == 4_686_144  # 4.69 M (paper §6.5: "a similar number of parameters (4.7M)")
    assert round(n / 1e6, 2) == 4.69


def test_shapes_and_released_checkpoint_key_names():
    enc = CNN9(width=8)
    assert enc(torch.randn(3, 1, 100, 96)).shape == (3, 64)
    assert enc(torch.randn(2, 1, 37, 96)).shape == (2, 64)  # any block length
    keys = {k.rsplit(".", 1)[0] for k in enc.state_dict()}
    assert {f"conv_block{i}.{m}" for i in range(1, 5) for m in ("conv1", "conv2", "bn1", "bn2")} == keys
    head = MLPHead(512, 78)
    assert [tuple(head.mlp[i].weight.shape) for i in (0, 2, 4)] == [(256, 512), (128, 256), (78, 128)]
    assert head.class_weights.shape == (78, 128)
    heads = build_heads(64, {"a": 3, "b": 5})
    assert list(heads) == ["a", "b"] and heads["b"](torch.randn(2, 64)).shape == (2, 5)


def paper_block(block, x: torch.Tensor, pool: tuple[int, int]) -> torch.Tensor:
    """The block as the paper draws it: (conv → BN → ReLU) × 2 → max-pool."""
    x = F.relu(block.bn1(block.conv1(x)))
    x = F.relu(block.bn2(block.conv2(x)))
    return F.max_pool2d(x, kernel_size=pool)


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
def test_pool_before_relu_is_the_papers_block_exactly(bf16, channels_last):
    """ConvBlock pools before its second ReLU (a quarter of the ReLU passes); output, every gradient and the
    BatchNorm statistics are bit-for-bit those of relu → pool, in training, fp32 and bf16 autocast."""
    results = []
    for forward in (None, paper_block):
        torch.manual_seed(0)
        net = CNN9(width=8).train()
        x = torch.randn(6, 1, 40, 96)
        x[:, :, :, :8] = -5.0  # whole pooling windows ≤ 0 after BN: their gradient must be 0 both ways
        if channels_last:
            net, x = net.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
        if forward is not None:
            for block in net.blocks:
                block.forward = lambda x, pool, library=None, block=block, forward=forward: forward(block, x, pool)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = net(x)
        y.float().pow(2).sum().backward()
        results.append((y, [p.grad for p in net.parameters()], list(net.buffers())))
    (y, grads, stats), (y_ref, grads_ref, stats_ref) = results
    assert torch.equal(y, y_ref)
    assert all(torch.equal(a, b) for a, b in zip(grads, grads_ref, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(stats, stats_ref, strict=True))


def test_per_library_batchnorm_keeps_separate_statistics():
    enc = CNN9(width=4, bn="per_library", libraries=["a", "b"])
    shared_convs = sum(p.numel() for n, p in enc.named_parameters() if "conv" in n and "bn" not in n)
    assert shared_convs == sum(p.numel() for n, p in CNN9(width=4).named_parameters() if "bn" not in n)
    enc.train()
    enc(torch.randn(8, 1, 20, 16) * 5 + 3, "a")
    bn_a = enc.conv_block1.bn1.norms["a"]
    bn_b = enc.conv_block1.bn1.norms["b"]
    assert not torch.equal(bn_a.running_mean, bn_b.running_mean)
    assert torch.equal(bn_b.running_mean, torch.zeros_like(bn_b.running_mean))  # b untouched
    enc.eval()
    x = torch.randn(2, 1, 20, 16)
    assert not torch.allclose(enc(x, "a"), enc(x, "b"))
    with pytest.raises(ValueError, match="adapt_library"):
        enc(x, "c")
    with pytest.raises(ValueError):
        CNN9(bn="grouped")


def test_adapt_library_reestimates_statistics_exactly():
    torch.manual_seed(0)
    enc = CNN9(width=4, bn="per_library", libraries=["a", "b"])
    with torch.no_grad():
        enc.conv_block1.bn1.norms["a"].weight.fill_(2.0)
        enc.conv_block1.bn1.norms["b"].weight.fill_(4.0)
    enc.eval()
    batches = [torch.randn(6, 1, 20, 16) * 3 + 1 for _ in range(3)]
    assert enc.adapt_library("new", batches) == 18
    assert not enc.training  # mode restored
    bn = enc.conv_block1.bn1.norms["new"]
    conv_out = enc.conv_block1.conv1(torch.cat(batches))  # input of the first BatchNorm
    torch.testing.assert_close(bn.running_mean, conv_out.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(bn.weight, torch.full_like(bn.weight, 3.0))  # mean of the trained libraries' γ
    assert bn.momentum == 0.1  # restored after the cumulative estimate
    assert CNN9(width=4).adapt_library("x", batches) == 0  # shared BN: nothing to adapt
