"""Log-mel frontend on the model's device (paper §3.2; constants of the authors' released model).

    wave (B, S) ─ STFT(2048, hop 1024, periodic Hann, centred, zero-padded) → |X|² (B, 1025, T)
               ─ 96 HTK mel filters over 0–22 050 Hz, each normalised to unit sum (librosa ``norm=1``)
               ─ log10(1 + 10 000 · x) ─ min-max with the published global range (0, 9.4578) → (B, 1, T, 96)

Two backends compute the power spectrum: ``torch`` (``torch.stft``) and ``nnaudio`` (nnAudio's conv-STFT).
Both use the same mel matrix — nnAudio's own ``norm=1`` means Slaney area normalisation, not unit sum, so
it is not used. The frontend always computes in float32, also under bf16 autocast: the log compression
of small powers needs the mantissa.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

LOGMEL_RANGE = (0.0, 9.4578)  # global min, max of log10(1 + 1e4·mel) in the authors' training data


def hz_to_mel_htk(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz_htk(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int = 44_100, n_fft: int = 2048, n_mels: int = 96, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular HTK-mel filters, each normalised to unit sum: ``(n_mels, n_fft // 2 + 1)`` float32.

    Equals ``librosa.filters.mel(sr, n_fft, n_mels=n_mels, fmin, fmax, htk=True, norm=1)``.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)  # (n_freq,)
    edges = mel_to_hz_htk(np.linspace(hz_to_mel_htk(fmin), hz_to_mel_htk(fmax), n_mels + 2))  # (n_mels + 2,)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]  # (n_mels + 2, n_freq)
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))  # (n_mels, n_freq)
    sums = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, sums, out=np.zeros_like(weights), where=sums > 0).astype(np.float32)


class LogMel(nn.Module):
    """Waveform batch → normalised log-mel blocks.

    Args:
        backend: ``torch`` (torch.stft; fastest on CPU) or ``nnaudio`` (nnAudio STFT).
        sample_rate: Hz (paper: 44 100).
        n_fft: window and FFT size in samples (paper: 2048 ≈ 46 ms).
        hop_length: samples (paper: 1024 ≈ 23 ms).
        n_mels: mel bands (paper: 96).
        fmin, fmax: band edges in Hz (paper: 0 to Nyquist).
        log_multiplier: c in log10(1 + c·x) (authors: 10 000).
        value_range: (min, max) for min-max normalisation (authors: 0, 9.4578).

    Shapes:
        ``(B, S)`` float waveform → ``(B, 1, T, n_mels)`` float32 with T = 1 + S // hop_length.
    """

    def __init__(
        self,
        backend: Literal["torch", "nnaudio"] = "torch",
        sample_rate: int = 44_100,
        n_fft: int = 2048,
        hop_length: int = 1024,
        n_mels: int = 96,
        fmin: float = 0.0,
        fmax: float | None = None,
        log_multiplier: float = 1e4,
        value_range: tuple[float, float] = LOGMEL_RANGE,
    ) -> None:
        super().__init__()
        if backend not in ("torch", "nnaudio"):
            raise ValueError(f"backend must be 'torch' or 'nnaudio', got {backend!r}")
        self.backend, self.n_fft, self.hop_length = backend, n_fft, hop_length
        self.log_multiplier = log_multiplier
        self.value_range = (float(value_range[0]), float(value_range[1]))
        mel = mel_filterbank(sample_rate, n_fft, n_mels, fmin, fmax)
        self.register_buffer("mel_basis", torch.from_numpy(mel), persistent=False)  # (n_mels, n_freq)
        self.register_buffer("window", torch.hann_window(n_fft, periodic=True), persistent=False)
        if backend == "nnaudio":
            from nnAudio.features import STFT

            self.stft = STFT(n_fft=n_fft, hop_length=hop_length, window="hann", freq_scale="no", center=True,
                             pad_mode="constant", sr=sample_rate, output_format="Complex", verbose=False)

    def power_spectrogram(self, wave: torch.Tensor) -> torch.Tensor:
        """``(B, S)`` → ``(B, n_fft // 2 + 1, T)`` power |X|²."""
        if self.backend == "nnaudio":
            spec = self.stft(wave)  # (B, n_freq, T, 2)
            return spec.pow(2).sum(-1)
        spec = torch.stft(wave, self.n_fft, self.hop_length, window=self.window, center=True, pad_mode="constant",
                          return_complex=True)  # (B, n_freq, T)
        return spec.real.square() + spec.imag.square()

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=wave.device.type, enabled=False):
            power = self.power_spectrogram(wave.float())  # (B, n_freq, T)
            mel = torch.matmul(self.mel_basis, power)  # (B, n_mels, T)
            logmel = torch.log10(1.0 + self.log_multiplier * mel)
            lo, hi = self.value_range
            return ((logmel - lo) / (hi - lo)).transpose(1, 2).unsqueeze(1)  # (B, 1, T, n_mels)
