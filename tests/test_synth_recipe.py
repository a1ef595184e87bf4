"""The synthesis recipe end to end on a tiny generated VCTK-layout corpus (two speakers, p225
and p226, made with espeak-ng voices): prepare -> train a tiny model a few steps -> export (with
its ONNX == PyTorch checks) -> ``msar synth --speaker p225`` and ``msar speakers``."""

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

pytest.importorskip("torch")
if shutil.which("espeak-ng") is None:
    pytest.skip("espeak-ng not installed", allow_module_level=True)

from msar.cli.main import cli  # noqa: E402
from msar.dsp.errors import MsarError  # noqa: E402
from msar.onnx_models import frontend as F  # noqa: E402
from msar.onnx_models import synth as S  # noqa: E402

SENTENCES = ["Please call Stella.", "Ask her to bring these things with her from the store.",
             "Six spoons of fresh snow peas.", "We also need a small plastic snake."]


@pytest.fixture(scope="module")
def vctk(tmp_path_factory):
    root = tmp_path_factory.mktemp("vctk")
    for spk, voice in (("p225", "en-us+f3"), ("p226", "en-us")):
        (root / "wav48" / spk).mkdir(parents=True)
        (root / "txt" / spk).mkdir(parents=True)
        for i, text in enumerate(SENTENCES, 1):
            utt = f"{spk}_{i:03d}"
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(root / "wav48" / spk / f"{utt}.wav"), text], check=True)
            (root / "txt" / spk / f"{utt}.txt").write_text(text + "\n")
    (root / "speaker-info.txt").write_text("ID  AGE  GENDER  ACCENTS\n225  23  F  English\n226  22  M  English\n")
    return root


@pytest.fixture(scope="module")
def model(vctk, tmp_path_factory):
    from train.synth import export, prepare, train

    work = tmp_path_factory.mktemp("work")
    assert prepare.main(["--corpus", str(vctk), "--out", str(work / "prep")]) == 0
    assert train.main(["--data", str(work / "prep"), "--out", str(work / "ck"), "--name", "vctk", "--tiny",
                       "--max-steps", "3", "--batch", "4",
                       # the size and schedule options too: dropout must be off in the exported graph
                       "--size", "dropout=0.2,dec_layers=2", "--cosine-steps", "2"]) == 0
    assert export.main(["--checkpoint", str(work / "ck" / "vctk" / "last.pt"), "--name", "vctk",
                        "--out", str(work / "models"), "--data", str(work / "prep")]) == 0
    return work / "models" / "vctk.onnx"


def test_prepare_reads_vctk_layout(vctk):
    from train.synth.prepare import folder_items

    items = folder_items(vctk, "en", 100)
    assert sorted({i["speaker"] for i in items}) == ["p225", "p226"]
    assert {i["speaker"]: i["sex"] for i in items} == {"p225": "F", "p226": "M"}
    assert all(i["text"] in SENTENCES for i in items)


def test_speakers_lists_corpus_ids(model):
    r = CliRunner().invoke(cli, ["speakers", "--model", str(model)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "name,sex,language,hours,pace,postfilter,gv,gv_f0,pause_gate"
    assert [l.split(",")[:3] for l in lines[1:]] == [["p225", "F", "en"], ["p226", "M", "en"]]
    # uncalibrated pace, and the settings each voice renders with by default (the model has its variance statistics)
    assert [l.split(",")[4:] for l in lines[1:]] == [["1", f"{S.POSTFILTER_BETA:g}", f"{S.GV_WEIGHT:g}", f"{S.GV_F0_WEIGHT:g}",
                                                      f"{S.PAUSE_GATE_DB:g}"]] * 2


def test_synth_speaks_as_p225(model, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("Please call Stella.\n\nSix spoons.\n")
    out = tmp_path / "out.wav"
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--model", str(model), "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    y, sr = sf.read(out)
    assert sr == 16000 and len(y) > 0.2 * sr and np.all(np.isfinite(y))


def test_synth_out_dir_numbered_with_csv(model, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("Please call Stella.\n\nSix spoons.\n")
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p226", "--model", str(model),
                                 "--out-dir", str(tmp_path / "o"), "-j", "1", "-q", "--sample-rate", "22050"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["001.wav", "002.wav", "synth.csv"]
    assert (tmp_path / "o" / "synth.csv").read_text().splitlines()[1:] == ["1,001.wav,Please call Stella.", "3,002.wav,Six spoons."]
    assert sf.info(str(tmp_path / "o" / "002.wav")).samplerate == 22050


def test_unknown_speaker_lists_voices(model, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("Hello.\n")
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p999", "--model", str(model), "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 1
    assert "unknown speaker 'p999'" in r.output and "p225, p226" in r.output


def test_empty_text_is_an_error(model, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("\n  \n")
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--model", str(model), "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 1 and "no text to speak" in r.output


def test_unpronounceable_line_named(model, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("Please call Stella.\n☃☃☃\n")
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--model", str(model), "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 1 and "line 2" in r.output and "nothing pronounceable" in r.output


def test_voice_onnx_matches_golden(model):
    voice = S.load_voice(model)
    gold = np.load(model.parent / "vctk.golden.npz")
    feeds = {k: gold[k] for k in ("phones", "stress", "speaker", "frame_phone", "frame_pos")}
    got = voice.session.run(["feats"], feeds)[0]
    np.testing.assert_allclose(got, gold["feats"], atol=1e-5)
    got = voice.dsession.run(["log_dur"], {k: feeds[k] for k in ("phones", "stress", "speaker")})[0]
    np.testing.assert_allclose(got, gold["log_dur"], atol=1e-5)


def test_postfilter_option_changes_the_audio_and_is_range_checked(model, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("hello there\n")
    outs = {}
    for beta in ("0", "0.4"):
        out = tmp_path / f"pf{beta}.wav"
        r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--model", str(model),
                                     "--postfilter", beta, "-o", str(out), "-q"])
        assert r.exit_code == 0, r.output
        outs[beta] = sf.read(out)[0]
    assert len(outs["0"]) == len(outs["0.4"]) and not np.allclose(outs["0"], outs["0.4"])
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--model", str(model),
                                 "--postfilter", "1.5", "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 2 and "--postfilter" in r.output


def test_export_data_gives_each_speaker_its_global_variance_and_gv_uses_it(model, tmp_path):
    """``export --data``: each speaker's per-dimension envelope variance over its training
    utterances in the sidecar; ``--gv`` restores towards it (a different signal, same length);
    without the statistics an explicit ``--gv`` is a clear error before any work, and the default
    quietly does without."""
    side = json.loads(model.with_name("vctk.onnx.json").read_text())
    gv = side["global_variance"]
    assert sorted(gv["sp"]) == ["p225", "p226"] and all(n > 0 for n in gv["utterances"].values())
    assert all(len(v) == side["n_sp"] and min(v) > 0 for v in gv["sp"].values())
    assert sorted(gv["lf0"]) == ["p225", "p226"] and min(gv["lf0"].values()) > 0
    text = tmp_path / "t.txt"
    text.write_text("hello there\n")
    outs = {}
    for w in ("0", "1"):
        r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--model", str(model),
                                     "--gv", w, "-o", str(tmp_path / f"gv{w}.wav"), "-q"])
        assert r.exit_code == 0, r.output
        outs[w] = sf.read(tmp_path / f"gv{w}.wav")[0]
    assert len(outs["0"]) == len(outs["1"]) and not np.allclose(outs["0"], outs["1"])
    voice = S.load_voice(model)
    flat, lively = (voice.synthesize("hello there", "p225", S.SynthOptions(gv=0.0, gv_f0=w))[0] for w in (0.0, 1.0))
    assert len(flat) == len(lively) and not np.allclose(flat, lively)
    bare = tmp_path / "bare"
    shutil.copytree(model.parent, bare)
    del side["global_variance"]
    (bare / "vctk.onnx.json").write_text(json.dumps(side))
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--model", str(bare / "vctk.onnx"),
                                 "--gv", "0.5", "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 1 and "no global-variance statistics for p225" in r.output
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--model", str(bare / "vctk.onnx"),
                                 "--gv-f0", "1", "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 1 and "no global-variance statistics for p225" in r.output
    assert not (tmp_path / "x.wav").exists()
    assert S.load_voice(bare / "vctk.onnx").synthesize("hello there", "p225")[0].size > 0


def test_diagnose_reads_an_utterance_five_ways(model, vctk):
    """``train.synth.diagnose``'s five readings of one prepared utterance: the recording itself,
    its copy-synthesis (the same length as the features), and three model readings, all 16 kHz audio."""
    from train.synth import diagnose

    voice = S.load_voice(model)
    prep = model.parent.parent / "prep" / "utts"
    npz = sorted(prep.glob("p225_*.npz"))[0]
    d = dict(np.load(npz))
    utt = npz.stem.split("_", 1)[1]  # prepare's id: SPEAKER_UTT
    wav = np.asarray(sf.read(vctk / "wav48" / "p225" / f"{utt}.wav")[0], np.float32)
    stages = diagnose.read_stages(voice, "p225", SENTENCES[int(utt[-3:]) - 1], wav, d)
    assert list(stages) == list(diagnose.STAGES)
    assert np.array_equal(stages["original"], wav) and all(v.dtype == np.float32 and v.ndim == 1 for v in stages.values())
    frames_s = len(d["feats"]) * voice.card.frame_period_ms / 1000
    assert abs(len(stages["copy-synthesis"]) / 16000 - frames_s) < 0.02
    assert abs(len(stages["true durations"]) / 16000 - d["durations"].sum() * voice.card.frame_period_ms / 1000) < 0.02
    assert all(np.abs(v).max() > 0 for k, v in stages.items() if k != "original")
    # --mos adds the post-filtered copy: the same length, a different (sharpened) signal
    six = diagnose.read_stages(voice, "p225", SENTENCES[int(utt[-3:]) - 1], wav, d, postfiltered_copy=True)
    assert list(six) == list(diagnose.STAGES) + [diagnose.POSTFILTERED_COPY]
    pf, copy = six[diagnose.POSTFILTERED_COPY], six["copy-synthesis"]
    assert len(pf) == len(copy) and not np.allclose(pf, copy)


def test_language_must_be_one_the_speaker_was_trained_on(model, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("Bonjour.\n")
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", "p225", "--language", "fr",
                                 "--model", str(model), "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 1 and "p225 speaks en, not 'fr'" in r.output
    assert not (tmp_path / "x.wav").exists()


def test_a_bilingual_speaker_speaks_its_first_language_unless_told():
    spk = S.Speaker(0, "asterisk-allison", "F", "en,es", 0.4)
    assert S.Voice.language(spk) == "en"
    assert S.Voice.language(spk, "es") == "es"
    with pytest.raises(MsarError, match="speaks en, es, not 'ru'"):
        S.Voice.language(spk, "ru")


def test_hmm_realignment_writes_its_index_last_and_keeps_every_example(model, vctk):
    # `make train-synth` skips the alignment when its index.json exists, so the index must come
    # after every example (an interrupted run then realigns instead of training on half the data).
    from train.synth import hmm_align

    prep = model.parent.parent / "prep"
    out = model.parent.parent / "hmm"
    assert hmm_align.main(["--data", str(prep), "--corpus", str(vctk), "--out", str(out), "--iterations", "1"]) == 0
    ids = [r["id"] for r in json.loads((out / "index.json").read_text())]
    assert ids == [r["id"] for r in json.loads((prep / "index.json").read_text())]
    for i in ids:
        d = np.load(out / "utts" / f"{i}.npz")
        assert str(d["aligned"]) == "hmm" and d["durations"].sum() > 0
    assert not list(out.rglob("*.tmp*"))
    order = sorted(out.rglob("*"), key=lambda p: p.stat().st_mtime_ns)
    assert order[-1].name == "index.json"


def test_pace_calibration_on_the_recipe_corpus(model, vctk, tmp_path, monkeypatch):
    """`calibrate_pace` reads the VCTK layout the recipe trained on and writes each speaker's pace
    into (a copy of) the model; too few recordings is a clear refusal, nothing written."""
    from train.synth import calibrate_pace as C

    shutil.copytree(model.parent, tmp_path / "models")
    copy = tmp_path / "models" / model.name
    with pytest.raises(SystemExit, match="nothing written"):
        C.main(["--model", str(copy), "--corpus", str(vctk), "--write"])  # 4 recordings each < MIN_UTTS
    assert "pace" not in json.loads((tmp_path / "models" / f"{model.name}.json").read_text())
    monkeypatch.setattr(C, "MIN_UTTS", 2)
    assert C.main(["--model", str(copy), "--corpus", str(vctk), "--write"]) == 0
    pace = json.loads((tmp_path / "models" / f"{model.name}.json").read_text())["pace"]
    assert sorted(pace["speakers"]) == ["p225", "p226"] and pace["utterances"] == {"p225": 4, "p226": 4}
    assert all(S.PACE_RANGE[0] <= v <= S.PACE_RANGE[1] for v in pace["speakers"].values())
    assert S.Voice(copy).pace("p225") == pace["speakers"]["p225"]


def test_training_continues_from_an_exported_model(model, tmp_path):
    """``train.py --init-onnx``: the weights recovered from the exported pair are the checkpoint's
    own, a new run starts from them with the model's tables and normalization, and its export
    records where it started; an ONNX file of another configuration is refused."""
    import torch

    from train.synth import export, train
    from train.synth.onnx_weights import RecoveryError, checkpoint_from_onnx

    work = model.parent.parent
    trained = torch.load(work / "ck" / "vctk" / "last.pt", map_location="cpu", weights_only=False)
    got = checkpoint_from_onnx(model)
    for net in ("duration", "acoustic"):
        assert got[net].keys() == trained[net].keys()
        for k, v in trained[net].items():
            assert torch.allclose(got[net][k], v, rtol=0, atol=1e-7), (net, k)
    assert got["phones"] == trained["phones"] and got["mean"] == pytest.approx(trained["mean"], abs=1e-6)

    assert train.main(["--data", str(work / "prep"), "--out", str(tmp_path / "ck"), "--name", "more",
                       "--init-onnx", str(model), "--max-steps", "1", "--batch", "4", "--lr", "0"]) == 0
    more = torch.load(tmp_path / "ck" / "more" / "last.pt", map_location="cpu", weights_only=False)
    assert more["step"] == 1 and more["config"] == trained["config"] and more["phones"] == trained["phones"]
    assert more["init_from"]["sha256"] == json.loads(model.with_suffix(".onnx.json").read_text())["sha256"]
    for k, v in trained["acoustic"].items():  # a zero learning rate leaves the recovered weights as they were
        assert torch.allclose(more["acoustic"][k], v, atol=1e-7), k
    assert export.main(["--checkpoint", str(tmp_path / "ck" / "more" / "last.pt"), "--name", "more",
                        "--out", str(tmp_path / "models")]) == 0
    side = json.loads((tmp_path / "models" / "more.onnx.json").read_text())
    assert side["training"]["init_from"]["model"] == str(model) and side["training"]["steps"] == 1

    other = tmp_path / "other"
    other.mkdir()
    for f in model.parent.iterdir():
        shutil.copy(f, other / f.name)
    side = json.loads((other / "vctk.onnx.json").read_text())
    side["training"]["config"]["dec_hidden"] += 8
    (other / "vctk.onnx.json").write_text(json.dumps(side))
    with pytest.raises(RecoveryError, match="do not match"):
        checkpoint_from_onnx(other / "vctk.onnx")


def test_balanced_run_resumes_only_with_its_own_balance_and_its_export_says_so(model, tmp_path, capsys):
    """``train.py --speaker-balance``: kept in the checkpoint, a resume with another value is refused
    (the draw would change under the run), and the export's sidecar records it."""
    from train.synth import export, train

    work = model.parent.parent
    common = ["--data", str(work / "prep"), "--out", str(tmp_path / "ck"), "--name", "bal", "--tiny", "--batch", "4"]
    assert train.main(common + ["--speaker-balance", "0.5", "--max-steps", "1"]) == 0
    assert train.main(common + ["--resume", "--max-steps", "2"]) == 1
    assert "--speaker-balance 0.5, not 1" in capsys.readouterr().err
    assert train.main(common + ["--resume", "--speaker-balance", "0.5", "--max-steps", "2"]) == 0
    import torch

    ck = torch.load(tmp_path / "ck" / "bal" / "last.pt", map_location="cpu", weights_only=False)
    assert ck["step"] == 2 and ck["speaker_balance"] == 0.5
    assert export.main(["--checkpoint", str(tmp_path / "ck" / "bal" / "last.pt"), "--name", "bal",
                        "--out", str(tmp_path / "models")]) == 0
    assert json.loads((tmp_path / "models" / "bal.onnx.json").read_text())["training"]["speaker_balance"] == 0.5


def test_postnet_added_to_an_exported_model_starts_as_it_and_exports_and_recovers(model, tmp_path, capsys):
    """``train.py --init-onnx M --postnet L --delta-loss W``: the post-net's last layer starts at
    zero, so at a zero learning rate the features are the given model's; the export (its ONNX ==
    PyTorch checks included) records the delta weight; the weights come back out of the ONNX
    graph (``--init-onnx`` from a model with a post-net); a resume with another weight is refused."""
    import torch

    from train.synth import export, train
    from train.synth.model import AcousticNet, SynthConfig
    from train.synth.onnx_weights import checkpoint_from_onnx

    work = model.parent.parent
    common = ["--data", str(work / "prep"), "--out", str(tmp_path / "ck"), "--name", "pn", "--batch", "4"]
    assert train.main(common + ["--init-onnx", str(model), "--postnet", "3", "--delta-loss", "0.5",
                                "--max-steps", "1", "--lr", "0"]) == 0
    ck = torch.load(tmp_path / "ck" / "pn" / "last.pt", map_location="cpu", weights_only=False)
    assert ck["config"]["postnet_layers"] == 3 and ck["delta_loss"] == 0.5 and "delta" in ck["valid"]
    base = checkpoint_from_onnx(model)
    plain, grown = AcousticNet(SynthConfig(**base["config"])), AcousticNet(SynthConfig(**ck["config"]))
    plain.load_state_dict(base["acoustic"])
    grown.load_state_dict(ck["acoustic"])
    plain.eval(), grown.eval()
    feeds = export.example_inputs(SynthConfig(**ck["config"]), 7)
    args = [torch.from_numpy(feeds[k]) for k in ("phones", "stress", "speaker", "frame_phone", "frame_pos")]
    with torch.no_grad():
        assert torch.allclose(plain(*args), grown(*args), atol=1e-6)

    assert train.main(common + ["--resume", "--max-steps", "2"]) == 1
    assert "--delta-loss 0.5, not 0" in capsys.readouterr().err
    assert train.main(common + ["--resume", "--delta-loss", "0.5", "--postnet", "2", "--max-steps", "2"]) == 1
    assert "has 3 post-net layers" in capsys.readouterr().err  # the size is the checkpoint's, never changed
    assert train.main(common + ["--resume", "--delta-loss", "0.5", "--max-steps", "3", "--lr", "1e-2"]) == 0
    ck = torch.load(tmp_path / "ck" / "pn" / "last.pt", map_location="cpu", weights_only=False)
    assert ck["step"] == 3 and ck["acoustic"]["postnet.convs.2.weight"].abs().sum() > 0  # it trains
    assert export.main(["--checkpoint", str(tmp_path / "ck" / "pn" / "last.pt"), "--name", "pn",
                        "--out", str(tmp_path / "models")]) == 0
    side = json.loads((tmp_path / "models" / "pn.onnx.json").read_text())
    assert side["training"]["delta_loss"] == 0.5 and side["training"]["config"]["postnet_layers"] == 3
    got = checkpoint_from_onnx(tmp_path / "models" / "pn.onnx")
    for k, v in ck["acoustic"].items():
        assert torch.allclose(got["acoustic"][k], v, atol=1e-7), k
    voice = S.Voice(tmp_path / "models" / "pn.onnx")
    y, sr = voice.synthesize("Please call Stella.", "p225")
    assert sr == 16000 and len(y) > 0 and np.isfinite(y).all()


def test_delta_loss_is_the_mse_of_frame_differences_inside_the_mask():
    import torch

    from msar.dsp import world
    from train.synth.train import losses

    lay = world.feature_layout(16000)
    D = lay["ap"][1]
    target = torch.zeros(1, 4, D)
    pred = torch.zeros(1, 4, D)
    pred[0, 1, 0] = 1.0  # one continuous value off in frame 1: differences off by +1 and -1
    pred[0, 3, 5] = 7.0  # frame 3 is padding: no difference that touches it counts

    class Ac(torch.nn.Module):
        def forward(self, *a):
            return pred

    class Du(torch.nn.Module):
        def forward(self, phones, stress, speaker):
            return torch.zeros(phones.shape)

    b = {"phones": torch.zeros(1, 2, dtype=torch.long), "stress": torch.zeros(1, 2, dtype=torch.long),
         "speaker": torch.zeros(1, dtype=torch.long), "log_dur": torch.zeros(1, 2), "n_mask": torch.ones(1, 2),
         "frame_phone": torch.zeros(1, 4, dtype=torch.long), "frame_pos": torch.zeros(1, 4, 2), "feats": target,
         "t_mask": torch.tensor([[1.0, 1.0, 1.0, 0.0]])}
    n_cont = D - 1  # every column but the voicing logit
    base = losses(Du(), Ac(), b, lay)
    with_delta = losses(Du(), Ac(), b, lay, delta=2.0)
    assert "delta" not in base
    assert float(with_delta["delta"]) == pytest.approx(2 / (2 * n_cont))
    assert float(with_delta["total"]) == pytest.approx(float(base["total"]) + 2 * 2 / (2 * n_cont))


def test_chain_runs_in_order_skips_what_is_done_and_continues_a_run_cut_short(vctk, tmp_path):
    """``train.synth.chain`` (``make train-synth``): two text sources prepared and aligned on their
    own, a first run from scratch, a second one from the first's export on both sources joined with
    a post-net added. A run cut short by the time limit is continued, not exported half-trained, and
    a chain run again does nothing."""
    import torch

    from train.synth import chain as C

    more = tmp_path / "more"  # the same two voices under other utterance names: a second text source
    for spk in ("p225", "p226"):
        for sub in ("wav48", "txt"):
            (more / sub / spk).mkdir(parents=True)
        for i, wav in enumerate(sorted((vctk / "wav48" / spk).glob("*.wav")), 101):
            shutil.copy(wav, more / "wav48" / spk / f"{spk}_{i:03d}.wav")
            shutil.copy(vctk / "txt" / spk / f"{wav.stem}.txt", more / "txt" / spk / f"{spk}_{i:03d}.txt")
    shutil.copy(vctk / "speaker-info.txt", more / "speaker-info.txt")
    chain = C.Chain(preps=(C.Prep("a", (str(vctk),), 1), C.Prep("b", (str(more),), 1)),
                    runs=(C.Run("r1", ("a",), 2, ("--tiny", "--batch", "4")),
                          C.Run("r2", ("a", "b"), 3, ("--batch", "4", "--postnet", "1"), init="r1")))
    cache = tmp_path / "cache"
    log: list[str] = []
    assert C.Runner(chain, cache, jobs=1, threads=1, dry_run=True, log=log.append)()
    assert len(log) == 9 and all(s.startswith("to do") for s in log) and not cache.exists()

    cut = C.Runner(chain, cache, jobs=1, threads=1, log=log.append)
    cut.minutes_left = lambda: 1e-6  # the limit is reached at the first step
    assert cut() is False
    ck = lambda run: torch.load(cache / "checkpoints" / run / "last.pt", map_location="cpu", weights_only=False)  # noqa: E731
    assert ck("r1")["step"] == 1 and not (cache / "synth-chain").exists() and not (cache / "checkpoints" / "r2").exists()
    assert not (cache / "synth-prep" / "b").exists()  # r2's data is prepared when r1 is done
    assert log[-1].startswith("stopped  r1 at step 1 of 2")

    log.clear()
    assert C.Runner(chain, cache, jobs=1, threads=1, log=log.append)()
    # r1: a prepared and aligned before, train on, export; r2: prepare and align b, join a and b, train, export
    assert [s.split()[0] for s in log] == ["done"] * 2 + ["running"] * 7
    r1, r2 = (cache / "synth-chain" / r / f"{r}.onnx" for r in ("r1", "r2"))
    side = json.loads(r2.with_suffix(".onnx.json").read_text())["training"]
    assert ck("r1")["step"] == 2 and side["steps"] == 3 and side["config"]["postnet_layers"] == 1
    assert side["init_from"]["model"] == str(r1)
    joined = {r["id"] for r in json.loads((cache / "synth-prep" / "r2-hmm" / "index.json").read_text())}
    assert joined == {r["id"] for p in ("a-hmm", "b-hmm")
                      for r in json.loads((cache / "synth-prep" / p / "index.json").read_text())} and len(joined) == 16

    stamps = [p.stat().st_mtime_ns for p in (r1, r2)]
    log.clear()
    assert C.Runner(chain, cache, jobs=1, threads=1, log=log.append)()
    assert all(s.startswith("done") for s in log) and [p.stat().st_mtime_ns for p in (r1, r2)] == stamps

    with pytest.raises(C.ChainError, match="not an earlier run"):
        C.Runner(C.Chain(preps=chain.preps, runs=chain.runs[::-1]), cache)


def test_the_shipped_chain_ends_where_make_export_synth_looks(tmp_path, capsys):
    from train.synth import chain as C

    shipped = C.shipped("m")
    assert [r.name for r in shipped.runs] == ["m-base", "m-wordnet", "m"]
    runner = C.Runner(shipped, tmp_path, dry_run=True, log=lambda s: None)
    assert runner.data_dir(shipped.runs[-1]) == tmp_path / "synth-prep" / "m-hmm"  # the Makefile's SYNTH_PREP-hmm
    assert runner.checkpoint(shipped.runs[-1]) == tmp_path / "checkpoints" / "m" / "last.pt"
    assert C.main(["--cache", str(tmp_path), "--name", "m", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 + 3 * 2 + 2 + 2 + 3 and all(s.startswith("to do") for s in out) and not list(tmp_path.iterdir())


def test_export_carries_the_per_voice_defaults_of_the_sidecar_it_replaces(model, tmp_path):
    """``make export-synth`` replaces the shipped sidecar; the per-voice rendering defaults chosen
    for it by measurement go over to the new model (for the voices it has) instead of being lost."""
    from train.synth import export

    work = model.parent.parent
    out = tmp_path / "models"
    out.mkdir()
    side = json.loads(model.with_suffix(".onnx.json").read_text())
    side["voice_defaults"] = {"chosen_by": "test", "speakers": {"p225": {"gv_f0": 1.0}, "p999": {"gv_f0": 0.5}}}
    (out / "vctk.onnx.json").write_text(json.dumps(side))
    assert export.main(["--checkpoint", str(work / "ck" / "vctk" / "last.pt"), "--name", "vctk", "--out", str(out),
                        "--voice-defaults-from", str(out / "vctk.onnx.json")]) == 0
    new = json.loads((out / "vctk.onnx.json").read_text())
    assert new["voice_defaults"]["speakers"] == {"p225": {"gv_f0": 1.0}} and new["voice_defaults"]["chosen_by"] == "test"
    voice = S.Voice(out / "vctk.onnx")
    assert voice.card.voice_defaults == {"p225": {"gv_f0": 1.0}}
    assert export.main(["--checkpoint", str(work / "ck" / "vctk" / "last.pt"), "--name", "vctk", "--out", str(out),
                        "--voice-defaults-from", str(tmp_path / "missing.json")]) == 1
