"""Procedural sound-effect families for the built-in demo.

Each family is a function ``(rng, sr) → (n,) float32`` whose parameters are drawn from ``rng``, so every
call gives a new instance of the same kind of sound (pitch, length, envelope, filter vary). Durations span
0.3–4 s, many shorter than one 2.3 s input block, as in real one-shot libraries.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

Family = Callable[[np.random.Generator, int], np.ndarray]


def _t(sr: int, seconds: float) -> np.ndarray:
    return np.arange(int(sr * seconds)) / sr


def _decay(t: np.ndarray, tau: float) -> np.ndarray:
    return np.exp(-t / tau)


def _band(x: np.ndarray, sr: int, low: float, high: float) -> np.ndarray:
    high = min(high, 0.45 * sr)
    sos = signal.butter(2, [low, high], btype="bandpass", fs=sr, output="sos")
    return signal.sosfilt(sos, x)


def _lowpass(x: np.ndarray, sr: int, cutoff: float) -> np.ndarray:
    return signal.sosfilt(signal.butter(2, min(cutoff, 0.45 * sr), fs=sr, output="sos"), x)


def _chirp(t: np.ndarray, f0: float, f1: float) -> np.ndarray:
    """Sine whose frequency moves exponentially from f0 to f1 over ``t``."""
    freq = f0 * (f1 / f0) ** (t / max(t[-1], 1e-6))
    return np.sin(2 * np.pi * np.cumsum(freq) * (t[1] - t[0]))


def metal_hit(rng, sr):
    t = _t(sr, rng.uniform(0.5, 1.5))
    f0 = rng.uniform(300, 800)
    partials = sum(rng.uniform(0.3, 1) * np.sin(2 * np.pi * f0 * r * t) for r in (1, 2.76, 5.40, 8.93))
    click = rng.standard_normal(t.size) * _decay(t, 0.004)
    return partials * _decay(t, rng.uniform(0.1, 0.3)) + click


def thud(rng, sr):
    t = _t(sr, rng.uniform(0.3, 0.8))
    pitch = rng.uniform(45, 90) * (1 + 2 * _decay(t, 0.02))
    body = np.sin(2 * np.pi * np.cumsum(pitch) / sr) * _decay(t, rng.uniform(0.05, 0.15))
    return body + 0.3 * _lowpass(rng.standard_normal(t.size), sr, 800) * _decay(t, 0.02)


def bell(rng, sr):
    t = _t(sr, rng.uniform(1.5, 3.5))
    f0 = rng.uniform(500, 1400)
    tones = sum(np.sin(2 * np.pi * f0 * r * t) / (k + 1) for k, r in enumerate((1, 2.0, 3.01, 4.2)))
    return tones * _decay(t, rng.uniform(0.4, 1.0))


def sweep_up(rng, sr):
    t = _t(sr, rng.uniform(0.6, 2.0))
    return _chirp(t, rng.uniform(150, 400), rng.uniform(2000, 6000)) * np.hanning(t.size)


def sweep_down(rng, sr):
    t = _t(sr, rng.uniform(0.6, 2.0))
    return _chirp(t, rng.uniform(2000, 6000), rng.uniform(150, 400)) * np.hanning(t.size)


def laser(rng, sr):
    shots = []
    for _ in range(rng.integers(1, 4)):
        t = _t(sr, rng.uniform(0.1, 0.3))
        tone = _chirp(t, rng.uniform(2500, 4500), rng.uniform(150, 400))
        shots += [np.sign(tone) * 0.5 + tone, np.zeros(int(sr * rng.uniform(0.05, 0.2)))]
    return np.concatenate(shots)


def siren(rng, sr):
    t = _t(sr, rng.uniform(1.5, 4.0))
    lfo = np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * t)
    freq = rng.uniform(600, 900) + rng.uniform(200, 400) * lfo
    return np.sin(2 * np.pi * np.cumsum(freq) / sr)


def engine(rng, sr):
    t = _t(sr, rng.uniform(1.5, 4.0))
    f0 = rng.uniform(30, 80) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    saw = sum(np.sin(k * phase) / k for k in range(1, 12))
    return saw * (0.6 + 0.4 * np.sin(phase / 2) ** 2) + 0.1 * _lowpass(rng.standard_normal(t.size), sr, 500)


def wind(rng, sr):
    t = _t(sr, rng.uniform(2.0, 4.0))
    gust = np.interp(t, np.linspace(0, t[-1], 6), rng.uniform(0.2, 1.0, 6))
    centre = rng.uniform(300, 900)
    return _band(rng.standard_normal(t.size), sr, centre * 0.5, centre * 1.5) * gust


def rain(rng, sr):
    n = int(sr * rng.uniform(2.0, 4.0))
    drops = np.zeros(n)
    hits = rng.integers(0, n, size=int(n / sr * rng.uniform(80, 250)))
    drops[hits] = rng.uniform(0.2, 1.0, hits.size) * rng.choice([-1, 1], hits.size)
    drops = signal.lfilter([1], [1, -0.7], drops)
    return _band(drops + 0.05 * rng.standard_normal(n), sr, 1500, 12000)


def click_train(rng, sr):
    n = int(sr * rng.uniform(0.3, 1.2))
    x = np.zeros(n)
    period = int(sr / rng.uniform(6, 30))
    x[::period] = 1.0
    return signal.lfilter([1, -1], [1, -0.3], x)


def beep(rng, sr):
    f = rng.uniform(800, 2000)
    on, off = rng.uniform(0.08, 0.25), rng.uniform(0.05, 0.15)
    tone = np.sin(2 * np.pi * f * _t(sr, on)) * np.hanning(int(sr * on)) ** 0.2
    return np.concatenate([np.concatenate([tone, np.zeros(int(sr * off))]) for _ in range(rng.integers(1, 5))])


def whoosh(rng, sr):
    t = _t(sr, rng.uniform(0.5, 1.5))
    noise = rng.standard_normal(t.size)
    half = t.size // 2
    out = np.concatenate([_band(noise[:half], sr, 200, rng.uniform(800, 1500)),
                          _band(noise[half:], sr, 600, rng.uniform(3000, 6000))])
    return out * np.hanning(t.size) ** 2


def bubbles(rng, sr):
    n = int(sr * rng.uniform(1.0, 3.0))
    x = np.zeros(n)
    for _ in range(rng.integers(5, 20)):
        t = _t(sr, rng.uniform(0.02, 0.08))
        start = rng.integers(0, n - t.size)
        x[start : start + t.size] += _chirp(t, rng.uniform(400, 900), rng.uniform(1200, 2500)) * _decay(t, 0.02)
    return x


def explosion(rng, sr):
    t = _t(sr, rng.uniform(1.5, 3.5))
    noise = _lowpass(rng.standard_normal(t.size), sr, rng.uniform(300, 900))
    rumble = np.sin(2 * np.pi * rng.uniform(30, 50) * t)
    return (noise + 0.5 * rumble) * _decay(t, rng.uniform(0.3, 0.8)) * (1 - _decay(t, 0.005))


def footsteps(rng, sr):
    step = int(sr / rng.uniform(1.5, 2.5))
    scuff_env = _decay(_t(sr, step / sr), 0.03)
    steps = []
    for _ in range(rng.integers(2, 6)):
        body = thud(rng, sr)[:step]
        body = np.pad(body, (0, step - body.size))
        steps.append(0.7 * body + 0.2 * _band(rng.standard_normal(step), sr, 2000, 6000) * scuff_env)
    return np.concatenate(steps)


def hum(rng, sr):
    t = _t(sr, rng.uniform(1.5, 3.5))
    mains = rng.choice([50.0, 60.0])
    return sum(np.sin(2 * np.pi * mains * k * t) / k**0.7 for k in range(1, 14, 2)) + 0.05 * rng.standard_normal(t.size)


def zap(rng, sr):
    t = _t(sr, rng.uniform(0.2, 0.6))
    crackle = rng.standard_normal(t.size) * (rng.random(t.size) < 0.3)
    return _band(crackle, sr, 2000, 10000) * _decay(t, 0.1) + 0.5 * _chirp(t, 1200, 80) * _decay(t, 0.08)


def glitch(rng, sr):
    parts = []
    for _ in range(rng.integers(3, 9)):
        t = _t(sr, rng.uniform(0.02, 0.1))
        parts.append(np.sign(np.sin(2 * np.pi * rng.uniform(200, 3000) * t)) * rng.uniform(0.3, 1))
    return np.concatenate(parts)


FAMILIES: dict[str, Family] = {f.__name__: f for f in (
    metal_hit, thud, bell, sweep_up, sweep_down, laser, siren, engine, wind, rain, click_train, beep, whoosh,
    bubbles, explosion, footsteps, hum, zap, glitch,
)}
