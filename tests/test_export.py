"""train/export.py and the torch side of the features: ONNX against PyTorch. Skipped cleanly
where torch or onnx is not installed (they are the ``train`` extra, not runtime dependencies)."""

from __future__ import annotations

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


def test_every_variant_builds_under_two_megabytes():
    for cfg in configs.VARIANTS.values():
        n = sum(p.numel() for p in RepairNet(cfg).parameters())
        assert n * 4 < 2_000_000, (cfg.name, n)


@pytest.mark.parametrize("cfg", [SMALL, configs.RepairConfig("small-conv", sample_rate=8000, n_fft=64, hop=32,
                                                              encoder="conv", core="none", hidden=8)],
                         ids=["gru", "stateless-conv"])
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
    spec = S.stft(x, cfg.n_fft, cfg.hop)
    with torch.no_grad():
        out = model(torch.from_numpy(S.log_power(spec))[None])
    mask = (out[0] if isinstance(out, tuple) else out)[0].numpy()
    ref = S.istft(spec * mask, cfg.n_fft, cfg.hop, length=len(x))
    np.testing.assert_allclose(y, ref, atol=1e-5)


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


def test_training_loss_of_the_clean_signal_itself_is_zero(rng):
    from train.repair.losses import total_loss

    cfg = configs.get("multispeaker-repair")
    s = torch.from_numpy(0.1 * rng.standard_normal((2, 16000))).float()
    loss, terms = total_loss(s, s, cfg)
    assert set(terms) == {"mrstft", "loudness", "pitch"}
    assert float(loss) < 1e-6
    assert float(total_loss(0.5 * s, s, cfg)[0]) > 0.1  # precondition of the above: the loss sees a 6 dB loss
