"""``precision: auto``: bf16 only where the hardware has it natively, and the choice is recorded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfxrep import hardware
from sfxrep.hardware import cpu_capability
from sfxrep.inference import precision as inference_precision
from sfxrep.inference.precision import lightning_precision as resolve_precision
from sfxrep.training.lightning_cli import SfxLightningCLI
from tests.helpers import tiny_fit_args


def test_auto_is_bf16_only_on_native_hardware(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)  # an AVX2-only CPU
    assert resolve_precision("auto", "cpu") == resolve_precision("auto", "auto") == "32-true"
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: True)  # AMX or AVX512-BF16
    assert resolve_precision("auto", "auto") == "bf16-mixed"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)  # e.g. a V100
    assert resolve_precision("auto", "gpu") == "16-mixed"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_precision("auto", "gpu") == "bf16-mixed"
    for explicit in ("32-true", "bf16-mixed", 16):  # an explicit choice is never changed
        assert resolve_precision(explicit, "cpu") == explicit


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "bf16-mixed"),
    ({"ATEN_CPU_CAPABILITY": "avx2"}, "32-true"),  # torch's own kernels held to AVX2
    ({"ONEDNN_MAX_CPU_ISA": "AVX2"}, "32-true"),  # oneDNN's convolutions held to AVX2
    ({"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, "32-true"),  # AVX512 without its bf16 instructions
    ({"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX"}, "bf16-mixed"),
    ({"ONEDNN_MAX_CPU_ISA": "ALL"}, "bf16-mixed"),
])
def test_a_cpu_told_to_act_as_avx2_gets_fp32(monkeypatch, env, expected):
    """On a CPU with AMX (pretended here, so this runs anywhere) the kernel limits decide."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(hardware, "_hardware_bf16", lambda: ["AVX512-BF16", "AMX"])
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: env.get("ATEN_CPU_CAPABILITY", "AVX512").upper())
    for name in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve_precision("auto", "cpu") == expected
    assert ("limited" in cpu_capability()) == (expected == "32-true")


def test_the_run_records_what_auto_chose(tiny_libraries, tmp_path):
    expected = resolve_precision("auto", "auto")
    cli = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path, "--trainer.precision", "auto"), run=False)
    assert cli.config.trainer.precision == expected and cli.trainer.precision == expected
    assert cpu_capability().split(" + ")[0] in {"DEFAULT", "AVX2", "AVX512", "ZVECTOR", "VSX", "SVE256"}


# ---- embedding precision (embed, index, evaluate) ----------------------------------------------------------------

def test_embedding_auto_is_bf16_only_where_native(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)
    assert inference_precision.embedding_precision("auto") == "fp32"
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: True)
    assert inference_precision.embedding_precision("auto", "cpu") == "bf16"
    assert inference_precision.embedding_precision("fp32") == "fp32" and inference_precision.embedding_precision("bf16") == "bf16"
    with pytest.raises(ValueError, match="one of"):
        inference_precision.embedding_precision("int4")


def _clean_isa_env(monkeypatch) -> None:
    """No kernel limit from the environment this test runs in (CI runs the fast tests once as AVX2)."""
    for name in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        monkeypatch.delenv(name, raising=False)


def test_a_cpu_told_to_act_as_avx2_embeds_in_fp32(monkeypatch):
    _clean_isa_env(monkeypatch)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")  # what an AMX CPU reports
    monkeypatch.setattr(hardware, "_hardware_bf16", lambda: ["AMX"])
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert inference_precision.embedding_precision("auto") == "fp32"
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx512")
    assert inference_precision.embedding_precision("auto") == "bf16"


def test_bf16_embeddings_agree_with_fp32_and_come_back_float32(tmp_path):
    from sfxrep.inference.embedding import FileEmbedder
    from tests.helpers import tone
    from tests.helpers.models import tiny_model

    paths = [tone(tmp_path / f"p{i}.wav", freq=220.0 * (i + 1), seconds=1.5 + i) for i in range(3)]
    fp32 = FileEmbedder(tiny_model(), decode_workers=0, precision="fp32")
    bf16 = FileEmbedder(tiny_model(), decode_workers=0, precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    for a, b in zip(fp32(paths), bf16(paths), strict=True):
        assert a.blocks.dtype == b.blocks.dtype == np.float32 and a.blocks.shape == b.blocks.shape
        cosine = (a.blocks * b.blocks).sum(1) / np.linalg.norm(a.blocks, axis=1) / np.linalg.norm(b.blocks, axis=1)
        assert cosine.min() >= 0.99
        assert not np.array_equal(a.blocks, b.blocks)  # bf16 really ran: rounding shows


@pytest.mark.parametrize(("capability", "env", "expected"), [
    ("AVX512", {}, True), ("AVX2", {}, False), ("AVX512", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, False),
    ("AVX512", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}, True)])
def test_channels_last_auto_follows_the_measurements(monkeypatch, capability, env, expected):
    from sfxrep.models.cnn9 import CNN9
    from sfxrep.models.module import SfxModule

    _clean_isa_env(monkeypatch)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert hardware.channels_last_helps("cpu") is expected
    module = SfxModule(CNN9(4), {"lib": 2}, channels_last="auto")
    assert module.channels_last is expected
    assert module.encoder.conv_block2.conv1.weight.is_contiguous(memory_format=torch.channels_last) is expected
    assert hardware.channels_last_helps("cuda") and SfxModule(CNN9(4), channels_last=True).channels_last
