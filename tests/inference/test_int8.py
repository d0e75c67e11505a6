"""int8 embedding (``--precision int8``): the quantized encoder computes what the float one does, calibrations are
found for exactly their model, and int8 is refused where it would not run right."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sfxrep import hardware
from sfxrep.inference import int8
from sfxrep.inference import precision as inference_precision
from sfxrep.inference.embedding import FileEmbedder
from sfxrep.models.cnn9 import CNN9
from tests.helpers import SHARED, needs_aisfx, needs_shared, tone
from tests.helpers.models import tiny_model, trained_like


def log_mel_like(n: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 100, 96, generator=g) * 2 - 4  # (n, 1, T, F) of a log-mel's scale


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b)


def test_the_plain_copy_computes_the_encoder_and_int8_stays_close():
    encoder, x = trained_like(), log_mel_like(48)
    with torch.inference_mode():
        torch.testing.assert_close(int8.PlainCNN9(encoder)(x), encoder(x), rtol=1e-5, atol=1e-5)
        quantized = int8.Int8Encoder.calibrate(encoder, x[:32])
        out, ref = quantized(x[32:]), encoder(x[32:])
    assert out.dtype == torch.float32 and out.shape == ref.shape == (16, 64)
    assert cosine(out, ref).min() >= 0.98 and not torch.equal(out, ref)  # int8 really ran: rounding shows
    with pytest.raises(ValueError, match="shared BatchNorm"):
        int8.PlainCNN9(CNN9(4, bn="per_library", libraries=["a"]))


def test_a_calibration_is_saved_under_its_encoder_and_found_for_it_only(tmp_path, monkeypatch):
    monkeypatch.setenv("SFXREP_INT8_DIR", str(tmp_path / "int8"))
    encoder, x = trained_like(), log_mel_like(40)
    model = tiny_model()
    model.encoder = encoder
    with pytest.raises(ValueError, match=r"no int8 calibration.*sfxrep quantize"):
        int8.int8_encoder(model)
    saved = int8.Int8Encoder.calibrate(encoder, x[:32])
    path = saved.save(int8.user_dir())
    assert path.parent == tmp_path / "int8" and int8.find_calibration(encoder) == path
    loaded = int8.int8_encoder(model)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x[32:]), saved(x[32:]), rtol=0, atol=0)
    other = trained_like(seed=5)
    assert int8.find_calibration(other) is None
    with pytest.raises(ValueError, match="calibration of another encoder"):
        int8.Int8Encoder.load(other, path)
    with pytest.raises(ValueError, match="only a CNN9 model"):
        int8.int8_encoder(torch.nn.Linear(2, 2))


def test_int8_runs_only_on_a_cpu_with_vnni_and_the_hardware_alone_never_picks_it(monkeypatch):
    for name in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hardware, "cpu_has_vnni", lambda: False)
    with pytest.raises(ValueError, match="int8 runs on a CPU with VNNI or AMX"):
        inference_precision.embedding_precision("int8")
    monkeypatch.setattr(hardware, "cpu_has_vnni", lambda: True)
    assert inference_precision.embedding_precision("int8") == "int8"
    assert inference_precision.embedding_precision("auto") in ("bf16", "fp32")
    with pytest.raises(ValueError, match="this is cuda"):
        inference_precision.embedding_precision("int8", "cuda")
    monkeypatch.undo()
    monkeypatch.setattr(torch.cpu, "_is_vnni_supported", lambda: True)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # a CPU made to act as AVX2 gets no int8
    assert not hardware.cpu_has_vnni()


def test_the_file_embedder_and_the_evaluation_embed_in_int8(tmp_path, monkeypatch):
    from sfxrep.inference.precision import embed_at

    monkeypatch.setenv("SFXREP_INT8_DIR", str(tmp_path / "int8"))
    monkeypatch.setattr(hardware, "cpu_has_vnni", lambda: True)
    model = tiny_model()
    model.encoder = trained_like(4)
    paths = [tone(tmp_path / f"p{i}.wav", freq=220.0 * (i + 1), seconds=1.5 + i) for i in range(3)]
    waves = torch.randn(40, model.frontend.hop_length * 100) * 0.1
    with torch.inference_mode():
        int8.Int8Encoder.calibrate(model.encoder, model.features(waves)).save(int8.user_dir())
    fp32 = FileEmbedder(model, decode_workers=0, precision="fp32")
    q = FileEmbedder(model, decode_workers=0, precision="int8")
    assert q.precision == "int8"
    for a, b in zip(fp32(paths), q(paths), strict=True):
        assert b.blocks.dtype == np.float32 and a.blocks.shape == b.blocks.shape
        assert cosine(torch.from_numpy(a.blocks), torch.from_numpy(b.blocks)).min() >= 0.9
    with torch.inference_mode():
        out = embed_at(model, "int8")(waves[:4], None)
    assert out.shape == (4, 32) and out.dtype == torch.float32
    with pytest.raises(ValueError, match="int8 encoder runs as a quantized graph"):
        FileEmbedder(model, decode_workers=0, precision="int8", compile=True)


@needs_aisfx
@pytest.mark.parametrize("name", ["aisfx", "sfxrep-v1"])
def test_the_shipped_calibrations_carry_their_gates_and_auto_follows_them(name, monkeypatch):
    """``make int8`` ships calibrations of aisfx and sfxrep-v1 with their accuracy gates (every block of the seven
    libraries). sfxrep-v1's gate passed, so ``auto`` runs it in int8 on a VNNI CPU; aiSFX's did not (worst block
    0.983), so ``auto`` leaves it to the hardware's float choice."""
    from sfxrep.inference.precision import resolve_precision
    from sfxrep.inference.registry import load_model

    monkeypatch.setattr(hardware, "cpu_has_vnni", lambda: True)
    model = load_model(name)
    path = int8.find_calibration(model.encoder)
    assert path is not None and path.parent == int8.SHIPPED
    gate = int8.calibration_gate(model)
    assert gate["blocks"] > 4000 and gate["passes"] == (name == "sfxrep-v1")
    assert resolve_precision("auto", model) == ("int8" if gate["passes"] else inference_precision.embedding_precision("auto"))


@needs_aisfx
@needs_shared
@pytest.mark.skipif(not hardware.cpu_has_vnni(), reason="no VNNI or AMX (or kernels held to AVX2): int8 products "
                    "saturate at 16 bits here, so sfxrep refuses int8 and the gate's cosine does not apply")
@pytest.mark.parametrize("name", ["aisfx", "sfxrep-v1"])
def test_the_shipped_calibrations_match_their_models_on_real_sounds(name):
    """On real files of the shared libraries, the int8 encoder's block cosine to fp32 is at least the gate's 0.99,
    on a CPU where sfxrep runs int8 (measured on a 2-core AMD EPYC with AVX2 only, where it would be refused:
    aiSFX's worst block 0.989)."""
    from sfxrep.inference.registry import load_model

    model = load_model(name)
    files = sorted(SHARED.glob("*/**/*.wav"))[::97][:12]
    fp32, q = FileEmbedder(model, decode_workers=0, precision="fp32"), FileEmbedder(model, decode_workers=0,
                                                                                     precision="int8")
    a = np.concatenate([e.blocks for e in fp32(files)])
    b = np.concatenate([e.blocks for e in q(files)])
    assert cosine(torch.from_numpy(a), torch.from_numpy(b)).min() >= 0.99


def test_sfxrep_quantize_calibrates_a_checkpoint_and_records_its_accuracy_gate(tiny_libraries, tmp_path,
                                                                               monkeypatch):
    """The gate kept with a calibration is the one of that calibration: its worst block cosine is what the saved
    int8 encoder gives on every block of the libraries, recomputed here without the gate's code."""
    from sfxrep.data.datamodule import SfxDataModule
    from sfxrep.evaluate.gate import COSINE_MIN, F1_POINTS
    from sfxrep.evaluate.quantize import quantize_model

    model = tiny_model()
    model.encoder = trained_like(4)
    monkeypatch.setattr("sfxrep.evaluate.quantize.load_model", lambda _: model)
    out = tmp_path / "out"
    path, result = quantize_model("tiny.ckpt", tiny_libraries, out, blocks=48,
                                  work_dir=tmp_path / "prepared", cache_dir=tmp_path / "cache")
    assert path.parent == out and path.is_file()
    assert int8.Int8Encoder.load(model.encoder, path).source_sha256 == path.stem
    monkeypatch.setenv("SFXREP_INT8_DIR", str(out))
    gate = int8.calibration_gate(model)
    assert gate["passes"] == (gate["cosine_min"] >= COSINE_MIN and abs(gate["lofo_delta_points"]) <= F1_POINTS)
    assert gate["passes"] == result["passes"] and set(result["lofo"]["int8"]) == {"lib_a", "lib_b"}

    data = SfxDataModule(libraries=str(tiny_libraries), work_dir=str(tmp_path / "prepared"),
                         cache_dir=str(tmp_path / "cache"))
    data.ready()
    waves = torch.stack([d[i]["wave"] for name in data.spec.names for split in ("train", "test")
                         for d in [data.eval_dataset(name, split)] for i in range(len(d))])
    with torch.inference_mode():
        x = model.features(waves)
        cos = cosine(int8.int8_encoder(model)(x), model.encoder(x))
    assert gate["blocks"] == len(waves) and gate["cosine_min"] == pytest.approx(float(cos.min()), abs=1e-5)


def test_auto_runs_int8_only_for_a_model_whose_calibration_passed_its_gate(tmp_path, monkeypatch):
    from sfxrep.inference.precision import resolve_precision

    hardware_auto = inference_precision.embedding_precision("auto")
    model = tiny_model()
    model.encoder = trained_like(4)
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)  # so that int8 is the only way off fp32
    monkeypatch.setattr(hardware, "cpu_has_vnni", lambda: True)
    assert resolve_precision("auto", model) == "fp32"  # no calibration
    quantized = int8.Int8Encoder.calibrate(model.encoder, log_mel_like(32))
    for gate, expected in ((None, "fp32"), ({"passes": False}, "fp32"), ({"passes": True}, "int8")):
        quantized.save(int8.user_dir(), gate)
        assert int8.calibration_gate(model) == gate
        assert resolve_precision("auto", model) == expected
    assert FileEmbedder(model, decode_workers=0).precision == "int8"
    assert resolve_precision("fp32", model) == "fp32" and resolve_precision("bf16", model) == "bf16"
    monkeypatch.setattr(hardware, "cpu_has_vnni", lambda: False)
    assert resolve_precision("auto", model) == "fp32"  # a passed gate, but no VNNI
    monkeypatch.undo()
    assert resolve_precision("auto", torch.nn.Linear(2, 2)) == hardware_auto  # not a CNN9 model


def test_a_users_calibration_comes_before_the_shipped_one(tmp_path, monkeypatch):
    encoder = trained_like()
    sha = int8.Int8Encoder.calibrate(encoder, log_mel_like(8)).source_sha256
    shipped, user = tmp_path / "shipped", int8.user_dir()
    monkeypatch.setattr(int8, "SHIPPED", shipped)
    for folder in (shipped, user):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{sha}.pt").touch()
    assert int8.find_calibration(encoder) == user / f"{sha}.pt"
    (user / f"{sha}.pt").unlink()
    assert int8.find_calibration(encoder) == shipped / f"{sha}.pt"


def test_the_int8_encoder_and_the_weights_hash_are_built_once_per_model_until_its_weights_change(monkeypatch):
    """No per-call tax: ``embed_file`` in a loop resolves the precision, hashes the weights and builds the int8 graph
    once per model object; an in-place change of a weight (an optimizer step, ``load_state_dict``) is noticed."""
    from sfxrep.models import fingerprint

    model = tiny_model()
    model.encoder = trained_like(4)
    int8.Int8Encoder.calibrate(model.encoder, log_mel_like(16)).save(int8.user_dir())
    loads, hashes = [], []
    real_load, real_sha = int8.Int8Encoder.load.__func__, fingerprint._sha256
    monkeypatch.setattr(int8.Int8Encoder, "load", classmethod(lambda cls, *a, **k: loads.append(1) or
                                                             real_load(cls, *a, **k)))
    monkeypatch.setattr(fingerprint, "_sha256", lambda m: hashes.append(1) or real_sha(m))
    first = int8.int8_encoder(model)
    hashed = len(hashes)  # at most one (calibrate hashed these weights already)
    assert int8.int8_encoder(model) is first and len(loads) == 1 and len(hashes) == hashed <= 1
    sha = fingerprint.weights_sha256(model.encoder)
    with torch.no_grad():
        model.encoder.conv_block1.conv1.weight[0, 0, 0, 0] += 1.0  # in place: the version counter moves
    assert fingerprint.weights_sha256(model.encoder) != sha and len(hashes) == hashed + 1
    with pytest.raises(ValueError, match="no int8 calibration"):  # the calibration was for the old weights
        int8.int8_encoder(model)


def test_a_truncated_calibration_falls_back_under_auto_and_is_one_line_for_int8(monkeypatch):
    from sfxrep.inference.precision import resolve_precision

    model = tiny_model()
    model.encoder = trained_like(4)
    path = int8.Int8Encoder.calibrate(model.encoder, log_mel_like(16)).save(int8.user_dir(), {"passes": True})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    monkeypatch.setattr(hardware, "cpu_has_vnni", lambda: True)
    with pytest.warns(UserWarning, match="not a readable int8 calibration"):
        assert resolve_precision("auto", model) != "int8"
    with pytest.raises(ValueError, match=r"not a readable int8 calibration.*sfxrep quantize"):
        int8.int8_encoder(model)


def test_quantize_reports_the_blocks_it_really_calibrated_on(tiny_libraries, tmp_path, monkeypatch):
    """Asked for more blocks than the train splits hold, the calibration says how many it used (not the ask)."""
    from sfxrep.evaluate.quantize import quantize_model

    model = tiny_model()
    model.encoder = trained_like(4)
    monkeypatch.setattr("sfxrep.evaluate.quantize.load_model", lambda _: model)
    _, result = quantize_model("tiny.ckpt", tiny_libraries, tmp_path / "out", blocks=100_000,
                               work_dir=tmp_path / "prepared", cache_dir=tmp_path / "cache")
    assert 0 < result["calibration_blocks"] < 100_000
