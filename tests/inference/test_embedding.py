"""The batched file embedder: equal to one file at a time, in input order, failures in place, tail blocks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfxrep.api import get_timestamp_embeddings
from sfxrep.audio.blocks import block_starts
from sfxrep.audio.decode import AudioDecodeError, load_audio
from sfxrep.inference.embedding import FileEmbedder
from tests.helpers import tone
from tests.helpers.models import tiny_model


def test_block_starts_with_and_without_the_tail():
    assert block_starts(2300, 1000, 500).tolist() == [0, 500, 1000, 1500]  # the last one padded by 200
    assert block_starts(2300, 1000, 500, tail=False).tolist() == [0, 500, 1000]
    assert block_starts(2000, 1000, 500, tail=False).tolist() == [0, 500, 1000]  # exact fit: nothing dropped
    assert block_starts(300, 1000, 500, tail=False).tolist() == [0]  # shorter than a block: one padded block


@pytest.mark.parametrize("tail", [False, True])
def test_batched_across_files_equals_one_file_at_a_time_in_order(tmp_path, tail):
    model = tiny_model()
    lengths = [0.4, 3.0, 5.2, 1.0, 7.7]
    paths = [tone(tmp_path / f"s{i}.wav", freq=200.0 + 150 * i, seconds=s) for i, s in enumerate(lengths)]
    (tmp_path / "bad.wav").write_bytes(b"RIFF....not audio")
    paths.insert(2, tmp_path / "bad.wav")
    embedder = FileEmbedder(model, batch_size=3, tail=tail, decode_workers=2, prefetch=2, channels_last=True,
                            precision="fp32")  # bf16 agrees to cosine 0.99 (test_precision), not to 1e-4
    items = list(embedder(paths))
    assert [getattr(i, "path", None) for i in items] == [str(p) for p in paths]  # input order, failure in place
    assert isinstance(items[2], AudioDecodeError) and "not decodable" in items[2].reason
    assert embedder.decoded == len(paths)
    for item in items[:2] + items[3:]:
        wave = torch.from_numpy(load_audio(item.path))
        one, _ = get_timestamp_embeddings(wave[None], tiny_model(), batch_size=64)
        expected = one[0].numpy()
        if not tail:  # get_timestamp_embeddings always covers the tail; whole blocks are its first rows
            expected = expected[: len(block_starts(wave.shape[0], embedder.block_length, embedder.block_hop, False))]
        np.testing.assert_allclose(item.blocks, expected, rtol=1e-4, atol=1e-5)
        assert item.vector.shape == (32,) and item.sample_rate == 44_100 and item.channels == 1
    assert items[1].duration == pytest.approx(3.0)


def test_stereo_and_rate_are_reported_and_a_synchronous_embedder_works(tmp_path):
    path = tone(tmp_path / "st.wav", seconds=1.0, sr=22_050, channels=2)
    (item,) = FileEmbedder(tiny_model(), decode_workers=0)([path])
    assert item.channels == 2 and item.sample_rate == 22_050 and item.blocks.shape == (1, 32)


@pytest.mark.slow  # end to end: torch.compile builds the encoder (about 20 s)
def test_the_compiled_path_matches_eager(tmp_path):
    from sfxrep.hardware import env_limits

    if env_limits():
        pytest.skip(f"{env_limits()}: compile is not used then (test_compile_is_not_trusted_under_kernel_limits)")
    paths = [tone(tmp_path / f"c{i}.wav", freq=300.0 * (i + 1), seconds=2.0 + i) for i in range(3)]
    eager = [i.blocks for i in FileEmbedder(tiny_model(), batch_size=4, decode_workers=0)(paths)]
    compiled = [i.blocks for i in FileEmbedder(tiny_model(), batch_size=4, decode_workers=0, compile=True)(paths)]
    for a, b in zip(eager, compiled, strict=True):
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert a.shape == b.shape and cosine.min() >= 0.99
    with pytest.raises(ValueError, match="only a CNN9 model"):
        from sfxrep.models.baselines import LogMelStats

        FileEmbedder(LogMelStats(), compile=True)


@pytest.mark.parametrize("setting", [("ONEDNN_MAX_CPU_ISA", "AVX2"), ("ATEN_CPU_CAPABILITY", "avx2")])
def test_compile_is_not_trusted_under_kernel_limits(monkeypatch, setting):
    for name in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(*setting)
    with pytest.warns(UserWarning, match=f"torch.compile is not used while {setting[0]}={setting[1]}"):
        embedder = FileEmbedder(tiny_model(), compile=True, decode_workers=0)
    assert embedder.compiled is None
