"""Per-voice log-F0 anchoring (``SynthConfig.speaker_f0_norm``, ``train.py --speaker-f0-norm``):
the acoustic network's log-F0 output is mapped by a fixed per-speaker affine set from that
speaker's training frames, it survives a resume, and the exported ONNX graph carries it."""

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

import torch  # noqa: E402

from msar.dsp import world  # noqa: E402
from train.synth import export as E  # noqa: E402
from train.synth import train as T  # noqa: E402
from train.synth.model import LF0_COL, AcousticNet, SynthConfig  # noqa: E402

N_FEATS = world.feature_layout(T.SR)["ap"][1]


def example(rng, speaker: str, f0_hz: float, n_phones: int = 6) -> dict:
    dur = rng.integers(3, 8, size=n_phones)
    feats = rng.standard_normal((int(dur.sum()), N_FEATS)).astype(np.float32)
    feats[:, LF0_COL] = np.log(f0_hz) + 0.05 * rng.standard_normal(len(feats))
    feats[:, 1] = 1.0
    return {"speaker": speaker, "phones": list(rng.choice(["a", "b", "c"], size=n_phones)),
            "stress": np.zeros(n_phones, np.int64), "durations": dur, "feats": feats}


def test_a_silent_network_speaks_each_voice_at_its_own_mean_pitch():
    rng = np.random.default_rng(0)
    exs = [example(rng, "low", 100.0) for _ in range(4)] + [example(rng, "high", 240.0) for _ in range(4)]
    mean, std = T.feature_stats(exs, vuv_col=1)
    spk_ids = {"high": 0, "low": 1}
    scale, shift = T.speaker_lf0_affine(exs, spk_ids, mean, std)
    # each voice's spread is its own (0.05), far narrower than the pooled one (both voices)
    assert np.all(scale < 0.2) and shift[0] > 0 > shift[1]
    cfg = SynthConfig(n_phones=4, n_speakers=2, n_feats=N_FEATS, phone_dim=8, speaker_dim=4, enc_hidden=8,
                      dec_hidden=8, dec_layers=1, speaker_f0_norm=True)
    net = AcousticNet(cfg).eval()
    net.set_speaker_lf0(scale, shift)
    with torch.no_grad():  # the network's own output is 0: each voice's z-score mean
        net.out.weight.zero_(), net.out.bias.zero_()
    feeds = E.example_inputs(cfg)
    for name, hz in (("high", 240.0), ("low", 100.0)):
        feeds["speaker"] = np.array([spk_ids[name]], np.int64)
        with torch.no_grad():
            y = net(*(torch.from_numpy(feeds[k]) for k in E.AC_IN)).numpy()[0]
        lf0 = y[:, LF0_COL] * std[LF0_COL] + mean[LF0_COL]
        assert np.allclose(np.exp(lf0), hz, rtol=0.01)
        assert np.all(y[:, LF0_COL + 1:] == 0.0)  # the other features are untouched


def test_training_sets_the_anchor_resume_keeps_it_and_the_onnx_graph_carries_it(tmp_path):
    rng = np.random.default_rng(1)
    data = tmp_path / "data"
    (data / "utts").mkdir(parents=True)
    rows = []
    for k in range(12):
        spk, hz = ("f", 220.0) if k % 2 else ("m", 110.0)
        e = example(rng, spk, hz)
        np.savez(data / "utts" / f"u{k}.npz", phones=np.array(e["phones"]), stress=e["stress"],
                 durations=e["durations"], feats=e["feats"])
        rows.append({"id": f"u{k}", "speaker": spk, "sex": spk.upper(), "language": "en", "split": "train",
                     "duration_s": 0.1})
    (data / "index.json").write_text(json.dumps(rows))
    run = ["--data", str(data), "--out", str(tmp_path / "ck"), "--name", "m", "--tiny", "--batch", "2",
           "--eval-steps", "2", "--save-minutes", "1e9", "--valid-per-speaker", "1", "--speaker-f0-norm"]
    assert T.main(run + ["--max-steps", "2"]) == 0
    ck = torch.load(tmp_path / "ck" / "m" / "last.pt", weights_only=False)
    assert ck["config"]["speaker_f0_norm"] is True
    _, exs = T.load_examples(data)
    train = [e for e in exs if e["id"] not in set(ck["valid_ids"])]
    want = T.speaker_lf0_affine(train, {s["name"]: s["id"] for s in ck["speakers"]},
                                np.array(ck["mean"], np.float32), np.array(ck["std"], np.float32))
    for key, w in zip(("lf0_scale", "lf0_shift"), want):
        assert np.allclose(ck["acoustic"][key].numpy(), w)
    assert T.main(run + ["--max-steps", "4", "--resume"]) == 0
    resumed = torch.load(tmp_path / "ck" / "m" / "last.pt", weights_only=False)
    assert resumed["step"] == 4
    for key in ("lf0_scale", "lf0_shift"):  # fixed: neither trained nor recomputed
        assert torch.equal(resumed["acoustic"][key], ck["acoustic"][key])
    side = E.export(resumed, "anchored", tmp_path / "models")  # checks ONNX == PyTorch itself
    assert side["metrics"]["onnx_vs_torch_max_abs"] <= E.TOLERANCE
    assert side["training"]["config"]["speaker_f0_norm"] is True


def test_f0_errors_in_cents_and_level_weigh_an_octave_alike_at_any_pitch():
    import types

    from train.synth import evaluate as V

    def metrics(f0_hz: float, shift_cents: float) -> dict:
        rng = np.random.default_rng(2)
        e = example(rng, "s", f0_hz)
        lay = world.feature_layout(T.SR)

        def features(ids, stress, spk, dur, pitch):
            f = e["feats"].copy()
            f[:, LF0_COL] += shift_cents * np.log(2) / 1200
            return f

        voice = types.SimpleNamespace(
            speakers=[types.SimpleNamespace(name="s", id=0)], phone_table={"a": 1, "b": 2, "c": 3}, layout=lay,
            speaker=lambda name: types.SimpleNamespace(id=0), features=features,
            dsession=types.SimpleNamespace(run=lambda names, feeds: [np.log1p(e["durations"])[None].astype(np.float32)]))
        return V.utterance_metrics(voice, {k: np.asarray(v) for k, v in e.items() if k != "speaker"} | {"speaker": "s"})

    low, high = metrics(100.0, 1200.0), metrics(250.0, 1200.0)
    for m in (low, high):  # an octave too high: 1200 cents of error and of level, every frame
        assert m["f0_rmse_cents"] == pytest.approx(1200, rel=1e-3) and m["f0_level_cents"] == pytest.approx(1200, rel=1e-3)
    assert high["f0_rmse_hz"] > 2 * low["f0_rmse_hz"]  # in Hz the same error weighs by the pitch
    assert metrics(180.0, -300.0)["f0_level_cents"] == pytest.approx(300, rel=1e-3)  # too low is off too
    assert metrics(180.0, 0.0)["f0_rmse_cents"] == 0.0
