"""``precision: auto``: bf16 only where the hardware has it natively, and the choice is recorded."""

from __future__ import annotations

import torch

from sfxrep import precision
from sfxrep.lightning_cli import SfxLightningCLI
from sfxrep.precision import cpu_capability, resolve_precision
from tests.conftest import tiny_fit_args


def test_auto_is_bf16_only_on_native_hardware(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)  # an AVX2-only CPU
    assert resolve_precision("auto", "cpu") == resolve_precision("auto", "auto") == "32-true"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)  # AMX or AVX512-BF16
    assert resolve_precision("auto", "auto") == "bf16-mixed"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)  # e.g. a V100
    assert resolve_precision("auto", "gpu") == "16-mixed"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert resolve_precision("auto", "gpu") == "bf16-mixed"
    for explicit in ("32-true", "bf16-mixed", 16):  # an explicit choice is never changed
        assert resolve_precision(explicit, "cpu") == explicit


def test_the_run_records_what_auto_chose(tiny_libraries, tmp_path):
    expected = resolve_precision("auto", "auto")
    cli = SfxLightningCLI(args=tiny_fit_args(tiny_libraries, tmp_path, "--trainer.precision", "auto"), run=False)
    assert cli.config.trainer.precision == expected and cli.trainer.precision == expected
    assert cpu_capability().split(" + ")[0] in {"DEFAULT", "AVX2", "AVX512", "ZVECTOR", "VSX", "SVE256"}
