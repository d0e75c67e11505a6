"""LogMel against librosa's melspectrogram(htk=True, norm=1, power=2) → log10(1 + 1e4 x) → min-max (0, 9.4578)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from sfxrep.models.frontend import LOGMEL_RANGE, LogMel, mel_filterbank


def librosa_logmel(x: np.ndarray) -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=x, sr=44_100, n_fft=2048, hop_length=1024, n_mels=96, fmin=0.0,
                                         fmax=22_050, htk=True, norm=1, power=2.0)
    return ((np.log10(1 + 1e4 * mel) - LOGMEL_RANGE[0]) / (LOGMEL_RANGE[1] - LOGMEL_RANGE[0])).T  # (T, F)


@pytest.fixture(scope="module")
def signals() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(101_376) / 44_100
    chirp = np.sin(2 * np.pi * (200 + 3000 * t) * t)
    quiet = 1e-3 * rng.standard_normal(t.size)
    burst = np.where(t < 0.3, rng.standard_normal(t.size), 0.0)
    return np.stack([chirp, quiet, burst]).astype(np.float32)


def test_mel_matrix_equals_librosa_unit_sum_htk():
    ref = librosa.filters.mel(sr=44_100, n_fft=2048, n_mels=96, fmin=0.0, fmax=22_050, htk=True, norm=1)
    ours = mel_filterbank()
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("backend", ["torch", "nnaudio"])
def test_backends_match_librosa(signals, backend):
    out = LogMel(backend)(torch.from_numpy(signals))
    assert out.shape == (3, 1, 100, 96) and out.dtype == torch.float32
    for i, x in enumerate(signals):
        # float32 FFTs (pocketfft vs MKL / conv) differ only at the noise floor of a full-scale signal:
        # |Δ| < 1e-4 of the [0, 1] feature range everywhere, < 1e-6 on average. A wrong window, mel scale,
        # filter norm or padding is off by > 1e-2.
        diff = np.abs(out[i, 0].numpy() - librosa_logmel(x))
        assert diff.max() < 1e-4 and diff.mean() < 1e-6


def test_frontend_stays_float32_under_bf16_autocast(signals):
    frontend = LogMel()
    wave = torch.from_numpy(signals)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = frontend(wave)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, frontend(wave))


def test_rejects_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        LogMel("essentia")
