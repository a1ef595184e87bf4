"""train/export.py and the torch side of the features: ONNX against PyTorch. Skipped cleanly
where torch or onnx is not installed (they are the ``train`` extra, not runtime dependencies)."""

from __future__ import annotations

import dataclasses

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from msar.dsp import stft as S  # noqa: E402
from msar.onnx_models import runtime  # noqa: E402
from train import export as E  # noqa: E402
from train.repair import configs  # noqa: E402
from train.repair.model import RepairNet  # noqa: E402
from train.repair.torch_stft import istft as torch_istft  # noqa: E402

SMALL = configs.RepairConfig("small-test", sample_rate=8000, n_fft=64, hop=32, hidden=8, layers=2)


def small_model(cfg=SMALL) -> RepairNet:
    torch.manual_seed(3)
    return RepairNet(cfg).eval()


def test_torch_istft_matches_the_runtime_istft(rng):
    x = rng.standard_normal(3000)
    spec = S.stft(x, 512, 256)
    ref = S.istft(spec * 0.7, 512, 256, length=len(x))
    got = torch_istft(torch.from_numpy(spec * 0.7)[None], 512, 256, len(x))[0].numpy()
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_every_variant_builds_under_four_megabytes():
    # The brief: weights live in git only if small, a few MB each.
    for cfg in configs.VARIANTS.values():
        n = sum(p.numel() for p in RepairNet(cfg).parameters())
        assert n * 4 < 4_000_000, (cfg.name, n)


@pytest.mark.parametrize("cfg", [SMALL, configs.RepairConfig("small-conv", sample_rate=8000, n_fft=64, hop=32,
                                                              encoder="conv", core="none", hidden=8),
                                 dataclasses.replace(SMALL, name="small-lookahead", lookahead_frames=2)],
                         ids=["gru", "stateless-conv", "gru-lookahead"])
def test_export_checks_pass_and_the_runtime_matches_pytorch(tmp_path, rng, cfg):
    model = small_model(cfg)
    card = E.export(model, cfg.name, tmp_path, training={"data": "test"})
    assert card["metrics"]["onnx_vs_torch_max_abs"] <= E.TOLERANCE
    assert card["metrics"]["streamed_vs_oneshot_max_abs"] <= E.TOLERANCE
    for suffix in (".onnx", ".onnx.json", ".golden.npz"):
        assert (tmp_path / f"{cfg.name}{suffix}").exists()

    # The whole runtime path (numpy STFT and features, streamed ONNX with state, numpy iSTFT)
    # against PyTorch applied to the same STFT in one pass.
    x = (0.1 * rng.standard_normal(4000)).astype(np.float32)
    den = runtime.Denoiser(tmp_path / f"{cfg.name}.onnx")
    y = np.concatenate([den.process(x[i:i + 100]) for i in range(0, len(x), 100)] + [den.flush()])
    # A lookahead model's gains come L rows late and need L hops of zeros after the signal.
    la = cfg.lookahead_frames
    spec = S.stft(np.concatenate([x, np.zeros(la * cfg.hop, np.float32)]), cfg.n_fft, cfg.hop)
    with torch.no_grad():
        out = model(torch.from_numpy(S.log_power(spec))[None])
    mask = (out[0] if isinstance(out, tuple) else out)[0].numpy()[la:]
    ref = S.istft(spec[: len(spec) - la] * mask, cfg.n_fft, cfg.hop, length=len(x))
    np.testing.assert_allclose(y, ref, atol=1e-5)
    assert card["lookahead_frames"] == la

    # Training pairs the gains with their frames the same way (train.repair.train.enhance_batch).
    from train.repair.train import enhance_batch

    spec_t = torch.from_numpy(np.stack([spec.real, spec.imag], axis=-1).astype(np.float32))[None]
    with torch.no_grad():
        y_train = enhance_batch(model, torch.from_numpy(S.log_power(spec))[None], spec_t, len(x))[0].numpy()
    np.testing.assert_allclose(y_train, ref, atol=1e-4)


def _shipped_repair_models():
    from msar.onnx_models import registry

    return registry.list_models(task="repair")


@pytest.mark.parametrize("entry", _shipped_repair_models(), ids=lambda e: e.name)
def test_shipped_repair_model_is_its_variant(entry):
    # Each shipped repair model is the variant its name says: the sidecar carries that variant's
    # config, and the PyTorch network built from it has the parameter count and state shape of the ONNX.
    card = entry.sidecar
    cfg = configs.get(card["name"])
    assert configs.RepairConfig.from_dict(card["training"]["config"]) == cfg
    model = RepairNet(cfg)
    assert card["parameters"] == sum(p.numel() for p in model.parameters())
    assert (card["sample_rate"], card["n_fft"], card["hop"]) == (cfg.sample_rate, cfg.n_fft, cfg.hop)
    assert card["lookahead_frames"] == cfg.lookahead_frames
    if model.stateful:
        assert card["state"] == E.io_names(model)[2]
        for name, _, shape in E.state_specs(model):
            assert card["inputs"][name]["shape"] == list(shape)
    else:
        assert set(card["inputs"]) == {"feat"} and card["state"] == {}


def torch_model_from_onnx(path: Path, cfg: configs.RepairConfig) -> RepairNet:
    """The PyTorch network of ``cfg`` with the weights read back out of the exported ONNX graph
    (the training checkpoints are not shipped). Linear layers became MatMul nodes with the
    weight transposed, used in module order; each GRU layer became one GRU node whose W, R, B hold
    the gates in ONNX order (z, r, h) where PyTorch has (r, z, n)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    model = RepairNet(cfg).eval()
    sd = model.state_dict()
    new = {k: init[k] for k in sd if k in init}
    linear = [k for k, v in sd.items() if k not in new and k.endswith(".weight") and v.ndim == 2
              and not k.startswith("gru.")]
    matmul = [n.input[1] for n in graph.node if n.op_type == "MatMul" and n.input[1] in init]
    assert len(linear) == len(matmul), (linear, matmul)
    new.update({k: init[name].T for k, name in zip(linear, matmul)})
    h = cfg.hidden
    rz = lambda w: np.concatenate([w[h:2 * h], w[:h], w[2 * h:]])  # noqa: E731 - (z, r, h) -> (r, z, n)
    for layer, node in enumerate(n for n in graph.node if n.op_type == "GRU"):
        w, r, b = (init[name][0] for name in node.input[1:4])
        new[f"gru.weight_ih_l{layer}"], new[f"gru.weight_hh_l{layer}"] = rz(w), rz(r)
        new[f"gru.bias_ih_l{layer}"], new[f"gru.bias_hh_l{layer}"] = rz(b[:3 * h]), rz(b[3 * h:])
    assert set(new) == set(sd), set(sd) ^ set(new)
    model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in new.items()})
    return model


@pytest.mark.parametrize("entry", _shipped_repair_models(), ids=lambda e: e.name)
def test_shipped_repair_model_onnx_equals_pytorch(entry):
    # PyTorch run now, on the shipped weights, against onnxruntime on the shipped file: one pass
    # from a random non-zero state, and the golden tensors (PyTorch's outputs at export time),
    # which also shows the weights read back are the trained ones.
    cfg = configs.get(entry.name)
    model = torch_model_from_onnx(entry.path, cfg)
    onnx_model = runtime.load_model(entry.path)
    names = [t.name for t in onnx_model.card.outputs]
    feat = E.test_features(cfg, 120, seed=7)
    state = E.random_state(model, np.random.default_rng(7))
    feed = {"feat": feat, **state}
    for name, got, ref in zip(names, onnx_model.session.run(names, feed),
                              E._torch_run(model, feat, state if model.stateful else None)):
        np.testing.assert_allclose(got, ref, atol=E.TOLERANCE, err_msg=f"{entry.name}: {name}")
    gold = np.load(str(entry.path)[: -len(".onnx")] + ".golden.npz")
    gold_state = {i: gold[i] for i in E.io_names(model)[2]}
    for name, ref in zip(names, E._torch_run(model, gold["feat"], gold_state if model.stateful else None)):
        np.testing.assert_allclose(ref, gold[name], atol=1e-5, err_msg=f"{entry.name}: {name} (golden)")


def test_export_fails_when_onnx_and_pytorch_disagree(tmp_path, monkeypatch):
    monkeypatch.setattr(E, "TOLERANCE", -1.0)  # no difference, not even 0, passes
    with pytest.raises(E.ExportError, match="differs from PyTorch"):
        E.export(small_model(), "bad", tmp_path, training={})
    assert not (tmp_path / "bad.onnx").exists()


def test_tiny_fixture_is_what_the_generator_makes(tmp_path):
    # tests/data/tiny-repair.* must stay reproducible from tests/generate_test_model.py.
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", Path(__file__).parent / "generate_test_model.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    torch.manual_seed(0)
    model = RepairNet(gen.TINY)
    with torch.no_grad():
        model.decoder[-1].bias.fill_(0.5)
    gold = np.load(Path(__file__).parent / "data" / "tiny-repair.golden.npz")
    with torch.no_grad():
        mask, h = model(torch.from_numpy(gold["feat"]), torch.from_numpy(gold["h_in"]))
    np.testing.assert_allclose(mask.numpy(), gold["mask"], atol=1e-6)
    np.testing.assert_allclose(h.numpy(), gold["h_out"], atol=1e-6)


def test_training_loss_of_the_clean_signal_itself_is_at_its_floor(rng):
    from train.repair.losses import total_loss

    s = torch.from_numpy(0.1 * rng.standard_normal((2, 16000))).float()
    for cfg, names in ((configs.MULTISPEAKER_REPAIR_V1, {"mrstft", "loudness", "pitch"}),
                       (configs.get("multispeaker-repair"), {"mrstft", "loudness", "pitch", "compressed", "si_sdr"})):
        loss, terms = total_loss(s, s, cfg)
        assert set(terms) == names
        assert all(abs(v) < 1e-6 for k, v in terms.items() if k != "si_sdr")
        assert terms.get("si_sdr", -1.0) < -0.5  # -SI-SDR of a perfect estimate: over 50 dB, times 0.01
        assert float(total_loss(0.5 * s, s, cfg)[0]) > 0.1  # precondition: the loss sees a 6 dB loss


def test_cosine_schedule_warms_up_peaks_and_ends_at_five_percent():
    cfg = configs.RepairConfig("sched", lr=1e-3, lr_schedule="cosine", total_steps=1000, warmup_steps=100)
    assert cfg.learning_rate(0) == pytest.approx(1e-5)
    assert cfg.learning_rate(99) == pytest.approx(1e-3)
    assert cfg.learning_rate(550) < cfg.learning_rate(200) < cfg.learning_rate(100)
    assert cfg.learning_rate(1000) == pytest.approx(5e-5)
    assert cfg.learning_rate(5000) == pytest.approx(5e-5)
    with pytest.raises(ValueError):
        configs.RepairConfig("bad", lr_schedule="step").learning_rate(1)


def test_si_sdr_loss_prefers_the_cleaner_estimate():
    from train.repair.losses import neg_si_sdr

    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 4000, generator=g)
    noise = torch.randn(2, 4000, generator=g)
    assert float(neg_si_sdr(s + 0.1 * noise, s)) < float(neg_si_sdr(s + 0.5 * noise, s))
    assert float(neg_si_sdr(3 * s, s)) < -50  # scale-invariant: a scaled copy is perfect
    assert float(neg_si_sdr(noise, torch.zeros_like(s))) == 0.0  # silent references are left out


def test_target_recipe_damages_both_sides(rng):
    from msar.dsp.degrade import parse_recipe
    from train.repair import data

    cfg = configs.RepairConfig("t", recipe="gain:jump_db=0,count=1", target_recipe="lowpass:cutoff_hz=2000")
    x = rng.standard_normal(16000).astype(np.float32) * 0.1
    ex = data.make_pair(x, cfg, parse_recipe(cfg.recipe), np.random.default_rng(1), parse_recipe(cfg.target_recipe))
    spec = np.abs(np.fft.rfft(ex["clean"]))
    hz = np.fft.rfftfreq(len(x), 1 / 16000)
    assert spec[hz > 3000].mean() < 0.05 * spec[hz < 1500].mean()  # the target is band-limited too


def test_guard_band_round_trip_empties_the_top_band_on_both_sides(rng):
    from msar.dsp.degrade import parse_recipe
    from train.repair import data

    x = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    cfg = configs.RepairConfig("g", recipe="noise:kind=white,snr_db=10", guard_band_p=1.0)
    ex = data.make_pair(x, cfg, parse_recipe(cfg.recipe), np.random.default_rng(2))
    hz = np.fft.rfftfreq(len(x), 1 / 16000)
    for z in (ex["clean"], ex["noisy"]):
        assert len(z) == len(x)
        p = np.abs(np.fft.rfft(z)) ** 2
        assert p[hz > 7950].mean() < 1e-3 * p[(hz > 6000) & (hz < 7000)].mean()  # the top band is empty (-30 dB)
    assert np.corrcoef(ex["clean"], x)[0, 1] > 0.95  # and the rest is the (white) signal, aligned
