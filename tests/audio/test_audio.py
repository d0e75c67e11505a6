"""Decoding: every supported format, down-mix, resampling, normalisation, and every kind of bad input."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest
import soundfile as sf

from sfxrep.audio.decode import SAMPLE_RATE, AudioDecodeError, decode, load_audio
from tests.helpers import tone


def dominant_frequency(x: np.ndarray, sr: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / sr)[spectrum.argmax()])


def mp3_in_wav(path, mp3_bytes: bytes, sr: int, frames: int):
    """Wrap an MP3 stream in a RIFF/WAVE container (format tag 0x55, MPEGLAYER3WAVEFORMAT)."""
    fmt = struct.pack("<HHIIHHHHIHHH", 0x55, 1, sr, 16000, 1, 0, 12, 1, 2, 417, 1, 1393)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<II", 4, frames)
            + b"data" + struct.pack("<I", len(mp3_bytes)) + mp3_bytes)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("pcm16.wav", {"subtype": "PCM_16"}),
        ("pcm8.wav", {"subtype": "PCM_U8"}),
        ("alaw.wav", {"subtype": "ALAW"}),
        ("ulaw.wav", {"subtype": "ULAW"}),
        ("float.wav", {"subtype": "FLOAT"}),
        ("x.flac", {"format": "FLAC"}),
        ("x.ogg", {"format": "OGG"}),
        ("x.mp3", {"format": "MP3"}),
        ("x.aiff", {"format": "AIFF"}),
    ],
)
def test_formats_decode_to_mono_44k_peak_normalised(tmp_path, name, kwargs):
    path = tone(tmp_path / name, freq=1000, seconds=0.5, sr=32_000, **kwargs)
    audio = decode(path)
    assert audio.sample_rate == SAMPLE_RATE and audio.source_rate == 32_000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.samples.shape[0] - 0.5 * SAMPLE_RATE) < 0.05 * SAMPLE_RATE  # mp3 adds encoder padding
    assert np.abs(audio.samples).max() == pytest.approx(1.0, abs=1e-6)
    assert dominant_frequency(audio.samples) == pytest.approx(1000, abs=5)


def test_mp3_inside_wav(tmp_path):
    mp3 = tone(tmp_path / "src.mp3", freq=660, seconds=1.0, format="MP3").read_bytes()
    audio = decode(mp3_in_wav(tmp_path / "mp3.wav", mp3, 44_100, 44_100))
    assert sf.info(str(tmp_path / "mp3.wav")).subtype == "MPEG_LAYER_III"
    assert dominant_frequency(audio.samples) == pytest.approx(660, abs=5)


def test_stereo_is_down_mixed(tmp_path):
    x = np.sin(2 * np.pi * 300 * np.arange(4410) / 44_100).astype(np.float32)
    sf.write(tmp_path / "s.wav", np.stack([x, -x], axis=1), 44_100, subtype="FLOAT")  # cancels in the mix
    sf.write(tmp_path / "t.wav", np.stack([x, 0.5 * x], axis=1), 44_100, subtype="FLOAT")
    assert np.abs(decode(tmp_path / "s.wav", normalize=False).samples).max() < 1e-6
    mixed = decode(tmp_path / "t.wav", normalize=False).samples
    np.testing.assert_allclose(mixed, 0.75 * x, atol=1e-6)


def test_resampling_keeps_pitch_and_duration(tmp_path):
    for sr in (8_000, 22_050, 48_000, 96_000):
        audio = decode(tone(tmp_path / f"r{sr}.wav", freq=440, seconds=1.0, sr=sr))
        assert audio.samples.shape[0] == SAMPLE_RATE
        assert audio.duration == pytest.approx(1.0)
        assert dominant_frequency(audio.samples) == pytest.approx(440, abs=2)


def test_silent_file_stays_silent(tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(1000, np.float32), 44_100)
    x = load_audio(tmp_path / "silence.wav")
    assert x.shape == (1000,) and np.all(x == 0) and np.isfinite(x).all()


def _truncate(path, keep: float):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: _write(p, b""), "empty"),
        (lambda p: _write(p, b"this is a text file, not audio " * 20), "not decodable"),
        (lambda p: _truncate(tone(p, seconds=2.0), 0.4), "truncated"),
        (lambda p: _truncate(tone(p.with_suffix(".flac"), seconds=2.0, format="FLAC"), 0.5), "flac"),
        # libsndfile notices a cut Vorbis stream either at open (malformed) or as a stream with no frames
        (lambda p: _truncate(tone(p.with_suffix(".ogg"), seconds=2.0, format="OGG"), 0.5), "malformed|no audio"),
        (lambda p: _truncate(tone(p.with_suffix(".mp3"), seconds=2.0, format="MP3"), 0.4), "truncated"),
        (lambda p: _truncate(tone(p.with_suffix(".aiff"), seconds=2.0, format="AIFF"), 0.5), "truncated"),
    ],
    ids=["empty", "text", "wav-truncated", "flac-truncated", "ogg-truncated", "mp3-truncated", "aiff-truncated"],
)
def test_bad_input_raises_one_error_type_naming_file_and_reason(tmp_path, make, reason):
    path = make(tmp_path / "bad.wav")
    with pytest.raises(AudioDecodeError) as info:
        decode(path)
    assert str(path) in str(info.value)
    assert re.search(reason, info.value.reason.lower())


def test_nan_samples_are_rejected(tmp_path):
    x = np.full(1000, np.nan, np.float32)
    sf.write(tmp_path / "nan.wav", x, 44_100, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="non-finite"):
        decode(tmp_path / "nan.wav")


def test_zero_frame_file_and_missing_file(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.float32), 44_100)
    with pytest.raises(AudioDecodeError, match="no audio frames"):
        decode(tmp_path / "zero.wav")
    with pytest.raises(AudioDecodeError, match="no such file"):
        decode(tmp_path / "missing.wav")
