"""The wave cache: decoded once, invalidated by a changed file or setting, failures remembered, atomic."""

from __future__ import annotations

import os

import numpy as np
import pytest

import sfxrep.audio.cache as cache_module
from sfxrep.audio.cache import WaveCache
from sfxrep.audio.decode import AudioDecodeError
from tests.helpers import tone


@pytest.fixture
def decode_calls(monkeypatch):
    calls = []
    real = cache_module.decode

    def counting(path, sample_rate):
        calls.append(str(path))
        return real(path, sample_rate)

    monkeypatch.setattr(cache_module, "decode", counting)
    return calls


def test_entry_is_decoded_once_and_memory_mapped(tmp_path, decode_calls):
    path = tone(tmp_path / "a.wav", seconds=0.5, sr=22_050)
    cache = WaveCache(tmp_path / "cache")
    info = cache.ensure(path)
    assert info.num_samples == 22_050 and info.source_rate == 22_050 and info.duration == pytest.approx(0.5)
    again = WaveCache(tmp_path / "cache").ensure(path)
    assert again == info and len(decode_calls) == 1
    wave = cache.load(info)
    assert isinstance(wave, np.memmap) and wave.dtype == np.float16 and np.abs(wave).max() == pytest.approx(1, 1e-3)


def test_changed_file_or_sample_rate_misses_the_cache(tmp_path, decode_calls):
    path = tone(tmp_path / "a.wav", freq=440)
    cache = WaveCache(tmp_path / "cache")
    first = cache.ensure(path)
    tone(path, freq=880, seconds=0.7)
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    second = cache.ensure(path)
    assert second.npy != first.npy and second.num_samples == int(0.7 * 44_100)
    assert WaveCache(tmp_path / "cache", sample_rate=16_000).ensure(path).npy != second.npy
    assert len(decode_calls) == 3


def test_failures_are_cached_with_their_reason(tmp_path, decode_calls):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all, really" * 4)
    cache = WaveCache(tmp_path / "cache")
    for _ in range(2):
        with pytest.raises(AudioDecodeError, match="not decodable") as info:
            cache.ensure(bad)
        assert str(bad) in str(info.value)
    assert len(decode_calls) == 1


def test_interrupted_write_leaves_no_entry(tmp_path, monkeypatch):
    path = tone(tmp_path / "a.wav")
    cache = WaveCache(tmp_path / "cache")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cache_module.np, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        cache.ensure(path)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    monkeypatch.undo()
    assert cache.ensure(path).num_samples == 22_050  # resumes cleanly


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("array", [np.zeros(0, np.float16), np.arange(7, dtype=np.float16),
                                   np.ones((3, 4), np.float32), np.zeros(70_000, ">f8")])
def test_headers_are_read_as_numpy_reads_them_without_ast(tmp_path, monkeypatch, version, array):
    """numpy parses .npy headers with ast.literal_eval, which CPython 3.11 does not run safely in threads
    (cpython#106905; it stopped a study here): the cache reads its headers itself, and reads them right."""
    path = tmp_path / "a.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array, version=version)
    reference = np.load(path, mmap_mode="r")  # numpy's own reading (a memory map knows its offset)
    expected = (reference.shape, reference.dtype, reference.offset if isinstance(reference, np.memmap) else None)

    def no_ast(*args, **kwargs):
        raise AssertionError("ast.literal_eval was called")

    monkeypatch.setattr("ast.literal_eval", no_ast)
    with open(path, "rb") as f:
        shape, dtype, offset = cache_module.read_header(f)
    assert (shape, dtype) == expected[:2] and offset == (expected[2] if array.size else offset)
    if array.ndim == 1 and array.dtype == np.float16:
        assert cache_module.entry_problem(path, len(array)) is None
        np.testing.assert_array_equal(WaveCache.load(str(path)), array)
    else:
        assert "expected float16" in cache_module.entry_problem(path, 7)


def test_a_damaged_header_is_named_not_raised(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros(10, np.float16))
    raw = bytearray(path.read_bytes())
    at = raw.index(b"'shape'")
    raw[at:at + 7] = b"'shaqe'"
    path.write_bytes(bytes(raw))
    assert cache_module.entry_problem(path, 10).startswith("unreadable header (not a C-order .npy header")
    path.write_bytes(b"\x93NUMPY\x09\x00" + bytes(20))
    assert "unknown .npy version" in cache_module.entry_problem(path, 10)
