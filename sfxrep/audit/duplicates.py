"""Duplicates and near-duplicates: candidates from the embeddings, each pair verified on the two signals.

Candidates come from two places: the embeddings (cosine ≥ :data:`CANDIDATE_COSINE` among each file's nearest
neighbours) and a spectral signature of each file (its mean log spectrum below 5 kHz, level removed: unchanged by
gain, resampling to 11 kHz or more, lossy re-encoding, and little changed by a trim), so that a copy is found
whatever the model makes of it. Two takes of the same kind of sound are close in both, so no pair is reported on
similarity alone. Each candidate
pair is decoded at :data:`VERIFY_RATE` (which also puts copies at other sample rates on one grid) and aligned by
the normalised cross-correlation of the two waveforms over every lag that keeps at least
:data:`MIN_OVERLAP` of the shorter one. A copy (re-encoded, resampled, gain-changed, trimmed) keeps its waveform
and correlates near 1 at one lag; a different take has its own fine structure and does not. A steady tone is the hard case (two takes of one pitch correlate at
some lag); a copy must also agree window by window (:func:`steadiness`), where a second take drifts. The evidence
of each pair: the lag (seconds, the trim), the overlap, the correlation, the steadiness, the level difference
(dB) and both durations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import soxr
from scipy.signal import fftconvolve

from sfxrep.audio.decode import AudioDecodeError, decode
from sfxrep.audit.neighbours import nearest

CANDIDATE_COSINE = 0.90  # embedding cosine a pair needs to be verified at all
SIGNATURE_COSINE = 0.70  # … or cosine of the two files' spectral signatures
SIGNATURE_BANDS = 48  # log-spaced bands of a signature, 60 Hz – 5 kHz
NEIGHBOURS = 8  # nearest files checked per file by embedding
SIGNATURE_NEIGHBOURS = 16  # … and by spectral signature (it ranks a trimmed copy a little lower)
VERIFY_RATE = 11_025  # Hz: both signals are compared at this rate (lossy codecs change the highs most)
MIN_OVERLAP = 0.7  # the aligned signals must share this fraction of the shorter one
NEAR_MIN = 0.90  # normalised cross-correlation of a near-duplicate
SCREEN_MIN = 0.8  # correlation at a quarter of VERIFY_RATE a pair needs before the full comparison
STEADY_MIN = 0.9  # … in this share of its audible 50 ms windows
EXACT_MIN = 0.9999  # … and of an exact copy (same audio in another name, format or sample rate)


@dataclass(frozen=True)
class PairEvidence:
    """Why two files are (or are not) copies of one sound.

    Attributes:
        a, b: the two paths.
        cosine: embedding cosine of the pair.
        correlation: peak normalised cross-correlation of the waveforms at :data:`VERIFY_RATE`.
        lag_s: seconds ``b`` is shifted against ``a`` at the peak (a trim shows here).
        overlap: share of the shorter signal the aligned pair overlaps in.
        steady: share of the overlap's audible 50 ms windows that correlate at that lag too (:func:`steadiness`).
        gain_db: level of ``b`` minus level of ``a`` over the overlap, in dB (files as stored, not normalised).
        duration_a, duration_b: seconds.
        kind: ``exact``, ``near`` or ``different`` (a candidate the signals refuted).
    """

    a: str
    b: str
    cosine: float
    correlation: float
    lag_s: float
    overlap: float
    steady: float
    gain_db: float
    duration_a: float
    duration_b: float
    kind: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Cluster:
    """Files that are copies of one sound (connected by verified pairs), with the pairs' evidence."""

    files: list[str]
    pairs: list[PairEvidence] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``exact`` when every pair is an exact copy, else ``near``."""
        return "exact" if all(p.kind == "exact" for p in self.pairs) else "near"


def candidate_pairs(vectors: np.ndarray, threshold: float = CANDIDATE_COSINE, neighbours: int = NEIGHBOURS,
                    chunk: int = 2048) -> list[tuple[int, int, float]]:
    """``(i, j, cosine)`` with ``i < j`` for every file's nearest ``neighbours`` at cosine ≥ ``threshold``.

    Args:
        vectors: ``(N, D)`` unit rows (the index's normalised embeddings).
        chunk: rows compared at once (memory ``chunk × N`` floats).
    """
    found: dict[tuple[int, int], float] = {}
    order, cosines = nearest(vectors, neighbours, chunk)
    for i, (cols, scores) in enumerate(zip(order, cosines, strict=True)):
        for j, score in zip(cols, scores, strict=True):
            if score >= threshold:
                found[(min(i, int(j)), max(i, int(j)))] = float(score)
    return sorted((i, j, s) for (i, j), s in found.items())


def _level_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-12))


def _fractional_shift(x: np.ndarray, delay: float) -> np.ndarray:
    """``x`` delayed by ``delay`` samples (|delay| ≤ 0.5) through a linear phase in the frequency domain."""
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)  # zero-padded: no wrap-around
    spectrum *= np.exp(-2j * np.pi * np.fft.rfftfreq(2 * n) * delay)
    return np.fft.irfft(spectrum, 2 * n)[:n]


def _segments(a: np.ndarray, b: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """The parts of ``a`` and ``b`` that overlap when ``a[t]`` meets ``b[t − lag]``."""
    start_a, start_b = max(lag, 0), max(-lag, 0)
    n = max(0, min(len(a) - start_a, len(b) - start_b))
    return a[start_a:start_a + n], b[start_b:start_b + n]


def align(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Where ``b`` best matches ``a``: (lag in samples, fractional; its correlation; the overlap share).

    The normalised cross-correlation is searched over every integer lag that overlaps at least
    :data:`MIN_OVERLAP` of the shorter signal, normalised by the two signals' energies within the overlap (a trim
    or a gain change does not lower it); the peak is refined to a fraction of a sample (a parabola through the
    peak and its neighbours), since a trim at one sample rate is rarely a whole number of samples at another.
    """
    a, b = a.astype(np.float64), b.astype(np.float64)
    na, nb = len(a), len(b)
    if min(na, nb) < 16:
        return 0.0, 0.0, 0.0
    corr = fftconvolve(a, b[::-1], mode="full")  # index m ↔ lag m − (nb − 1): a[t] · b[t − lag]
    lags = np.arange(-(nb - 1), na)
    ca, cb = np.concatenate([[0.0], np.cumsum(a * a)]), np.concatenate([[0.0], np.cumsum(b * b)])
    lo_a, hi_a = np.clip(lags, 0, na), np.clip(lags + nb, 0, na)  # overlap of a: [lag, lag + nb) ∩ [0, na)
    overlap = hi_a - lo_a
    lo_b, hi_b = lo_a - lags, hi_a - lags
    energy = (ca[hi_a] - ca[lo_a]) * (cb[hi_b] - cb[lo_b])
    valid = (overlap >= MIN_OVERLAP * min(na, nb)) & (energy > 0)
    if not valid.any():
        return 0.0, 0.0, 0.0
    ncc = np.where(valid, corr / np.sqrt(np.where(energy > 0, energy, 1.0)), -np.inf)
    m = int(np.argmax(ncc))
    delta = 0.0
    if 0 < m < len(ncc) - 1 and np.isfinite(ncc[m - 1]) and np.isfinite(ncc[m + 1]):
        left, mid, right = ncc[m - 1], ncc[m], ncc[m + 1]
        curvature = left - 2 * mid + right
        delta = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5)) if curvature < 0 else 0.0
    return float(lags[m]) + delta, float(ncc[m]), float(overlap[m] / min(na, nb))


def aligned(a: np.ndarray, b: np.ndarray, lag: float) -> tuple[np.ndarray, np.ndarray]:
    """The overlapping parts of ``a`` and ``b`` at a fractional ``lag`` (samples; ``b`` is shifted)."""
    whole = int(np.floor(lag + 0.5))
    shifted = _fractional_shift(b.astype(np.float64), lag - whole) if lag != whole else b.astype(np.float64)
    return _segments(a.astype(np.float64), shifted, whole)


def compare_signals(a: np.ndarray, b: np.ndarray, rate: int = VERIFY_RATE) -> tuple[float, float, float, float]:
    """Align ``b`` to ``a``; returns (correlation, lag in s, overlap, gain in dB) at the best fractional lag.

    ``a``, ``b``: ``(n,)`` mono samples at ``rate`` as stored (not normalised); see :func:`align`.
    """
    lag, _, overlap = align(a, b)
    if overlap == 0.0:
        return 0.0, 0.0, 0.0, 0.0
    seg_a, seg_b = aligned(a, b, lag)
    denominator = np.sqrt((seg_a @ seg_a) * (seg_b @ seg_b))
    correlation = float(seg_a @ seg_b / denominator) if denominator > 0 else 0.0
    return correlation, lag / rate, overlap, _level_db(seg_b) - _level_db(seg_a)


def steadiness(a: np.ndarray, b: np.ndarray, lag_s: float, rate: int = VERIFY_RATE, window_s: float = 0.05) -> float:
    """Share of the audible windows (``window_s``, shorter for sounds under 0.4 s) of the aligned overlap in which ``b`` still correlates with
    ``a`` (local correlation ≥ 0.8). A copy agrees everywhere; a second take of a steady tone, which a whole-file
    correlation can confuse with a copy, drifts out of phase within a fraction of a second."""
    seg_a, seg_b = aligned(a, b, lag_s * rate)
    w = max(16, min(int(window_s * rate), len(seg_a) // 8))  # a very short sound: eight windows of it
    n = len(seg_a) // w * w
    if n == 0:
        return 0.0
    x, y = seg_a[:n].reshape(-1, w), seg_b[:n].reshape(-1, w)
    ex, ey = (x * x).sum(1), (y * y).sum(1)
    audible = (ex > 1e-4 * ex.max()) & (ey > 1e-4 * ey.max())
    if not audible.any():
        return 0.0
    local = (x * y).sum(1)[audible] / np.sqrt(ex[audible] * ey[audible])
    return float((local >= 0.8).mean())


def signature(samples: np.ndarray, rate: int = VERIFY_RATE, n_fft: int = 1024) -> np.ndarray:
    """``(SIGNATURE_BANDS,)`` unit vector: the mean log power of ``samples`` in log-spaced bands (60 Hz – 5 kHz),
    its mean removed (a gain change is a constant in the log domain)."""
    x = samples.astype(np.float32)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[:: n_fft // 2] * np.hanning(n_fft).astype(np.float32)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)  # (n_fft / 2 + 1,)
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    edges = np.geomspace(60.0, 5_000.0, SIGNATURE_BANDS + 1)
    band = np.digitize(freqs, edges) - 1
    valid = (band >= 0) & (band < SIGNATURE_BANDS)
    energy = np.bincount(band[valid], power[valid], minlength=SIGNATURE_BANDS)
    log = np.log10(energy + 1e-10 * (energy.max() + 1e-20))
    log -= log.mean()
    return (log / (np.linalg.norm(log) + 1e-12)).astype(np.float32)


class SignalCache:
    """Decoded signals at :data:`VERIFY_RATE` (not normalised), the most recent ``keep`` of them in memory;
    :meth:`coarse` gives the same signal at a quarter of the rate (the screen of :func:`verify_pair`)."""

    def __init__(self, rate: int = VERIFY_RATE, keep: int = 256) -> None:
        from collections import OrderedDict

        self.rate, self.keep, self._signals, self.failures = rate, keep, OrderedDict(), {}

    def __call__(self, path: str) -> np.ndarray | None:
        if path in self._signals:
            self._signals.move_to_end(path)
        elif path not in self.failures:
            try:
                self._signals[path] = decode(path, self.rate, normalize=False).samples
            except AudioDecodeError as err:
                self.failures[path] = str(err)
                return None
            if len(self._signals) > self.keep:
                self._signals.popitem(last=False)
        return self._signals.get(path)

    def coarse(self, path: str) -> np.ndarray | None:
        """The signal at ``rate / 4`` (content below 1.4 kHz at the default rate), cached with it."""
        key = ("coarse", path)
        if key not in self._signals:
            x = self(path)
            if x is None:
                return None
            self._signals[key] = soxr.resample(x, self.rate, self.rate // 4).astype(np.float32)
            if len(self._signals) > self.keep:
                self._signals.popitem(last=False)
        return self._signals[key]


def signatures(paths: list[str], signals: SignalCache) -> np.ndarray:
    """``(N, SIGNATURE_BANDS)`` signatures of ``paths`` (zeros for a file that cannot be decoded)."""
    out = np.zeros((len(paths), SIGNATURE_BANDS), np.float32)
    for i, path in enumerate(paths):
        x = signals(path)
        if x is not None and np.any(x):
            out[i] = signature(x, signals.rate)
    return out


def verify_pair(a: str, b: str, cosine: float, signals: SignalCache) -> PairEvidence | None:
    """The evidence for one candidate pair, or ``None`` when a file cannot be decoded (``signals.failures``).

    A screen at a quarter of the rate comes first: a pair that does not reach :data:`SCREEN_MIN` there (most
    candidates: other takes) is refuted with that evidence, at a sixteenth of the cost of the full comparison.
    """
    x, y = signals(a), signals(b)
    if x is None or y is None:
        return None
    correlation, lag, overlap, gain = compare_signals(signals.coarse(a), signals.coarse(b), signals.rate // 4)
    if correlation >= SCREEN_MIN:
        correlation, lag, overlap, gain = compare_signals(x, y, signals.rate)
    steady = steadiness(x, y, lag, signals.rate) if correlation >= NEAR_MIN else 0.0
    same_length = abs(len(x) - len(y)) <= max(2, 0.002 * max(len(x), len(y)))
    kind = ("exact" if correlation >= EXACT_MIN and same_length and abs(lag) < 0.002 and abs(gain) < 0.1
            else "near" if correlation >= NEAR_MIN and steady >= STEADY_MIN else "different")
    return PairEvidence(a, b, round(cosine, 5), round(correlation, 5), round(lag, 4), round(overlap, 4),
                        round(steady, 4), round(gain, 2), round(len(x) / signals.rate, 3), round(len(y) / signals.rate, 3), kind)


def clusters(pairs: list[PairEvidence]) -> list[Cluster]:
    """Connected groups of the verified pairs (``exact``/``near``), largest first."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    kept = [p for p in pairs if p.kind != "different"]
    for p in kept:
        parent[root(p.a)] = root(p.b)
    groups: dict[str, Cluster] = {}
    for p in kept:
        cluster = groups.setdefault(root(p.a), Cluster([]))
        cluster.pairs.append(p)
    for cluster in groups.values():
        cluster.files = sorted({f for p in cluster.pairs for f in (p.a, p.b)})
    return sorted(groups.values(), key=lambda c: (-len(c.files), c.files[0]))


def find_duplicates(paths: list[str], vectors: np.ndarray, *, threshold: float = CANDIDATE_COSINE,
                    neighbours: int = NEIGHBOURS) -> tuple[list[Cluster], list[PairEvidence], dict[str, str]]:
    """Duplicate clusters among ``paths`` (rows of ``vectors``, unit embeddings).

    Returns:
        the clusters, every candidate pair's evidence (the refuted ones too, ``kind='different'``), and the files
        that could not be decoded for verification (path → reason).
    """
    signals = SignalCache()
    candidates = {(i, j): c for i, j, c in candidate_pairs(vectors, threshold, neighbours)}
    for i, j, _ in candidate_pairs(signatures(paths, signals), SIGNATURE_COSINE, SIGNATURE_NEIGHBOURS):
        candidates.setdefault((i, j), float(vectors[i] @ vectors[j]))
    evidence = []
    for (i, j), cosine in sorted(candidates.items()):
        pair = verify_pair(paths[i], paths[j], cosine, signals)
        if pair is not None:
            evidence.append(pair)
    return clusters(evidence), evidence, signals.failures
