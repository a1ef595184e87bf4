"""The synthesizer's pause gate (dsp/pause_gate.py): the gain it puts on pause frames, and its use
by the shipped voice (``msar synth --pause-gate``)."""

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from msar.dsp import pause_gate as G
from msar.dsp.errors import MsarError
from msar.onnx_models import registry
from msar.onnx_models import synth as S


def test_gain_is_one_on_speech_and_fades_to_the_depth_inside_a_pause():
    silent = np.array([1] * 12 + [0] * 5 + [1] * 3 + [0] * 4 + [1] * 20, bool)
    g = G.pause_gain(silent, 30.0, 4.0)
    assert g.shape == silent.shape and np.all(g[~silent] == 1.0)
    db = -20 * np.log10(g)
    # the pause after the first word: 1, 2, 3 frames from speech (7.5, 15, 15 dB: 2 from both sides)
    np.testing.assert_allclose(db[17:20], [7.5, 15.0, 7.5])
    # the trailing silence: 7.5 dB a frame to the full 30 dB, never deeper
    np.testing.assert_allclose(db[24:30], [7.5, 15.0, 22.5, 30.0, 30.0, 30.0])
    assert db.max() == pytest.approx(30.0)
    np.testing.assert_allclose(db[:12][::-1][:5], [7.5, 15.0, 22.5, 30.0, 30.0])  # leading silence mirrors it


@pytest.mark.parametrize("silent", [np.zeros(9, bool), np.ones(9, bool), np.zeros(0, bool)])
def test_no_pause_or_nothing_but_pause_leaves_the_gain_at_one(silent):
    assert np.all(G.pause_gain(silent, 40.0, 8.0) == 1.0)


def test_depth_zero_is_off_and_bad_settings_are_refused():
    silent = np.array([1, 1, 0, 0, 1, 1], bool)
    assert np.all(G.pause_gain(silent, 0.0, 8.0) == 1.0)
    with pytest.raises(ValueError):
        G.pause_gain(silent, -3.0, 8.0)
    with pytest.raises(ValueError):
        G.pause_gain(silent, 30.0, 0.0)


def test_distance_to_speech_is_scipy_s_distance_transform():
    from scipy.ndimage import distance_transform_edt

    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 300):
        for p in (0.2, 0.8, 0.97):
            silent = rng.random(n) < p
            silent[rng.integers(n)] = False  # some speech
            np.testing.assert_array_equal(G.distance_to_speech(silent), distance_transform_edt(silent))


def test_frame_gain_is_interpolated_between_frame_centres():
    y = np.ones(9, np.float32)
    out = G.apply_frame_gain(y, np.array([1.0, 0.5, 0.0]), hop=4)
    np.testing.assert_allclose(out, [1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0])
    assert out.dtype == np.float32
    assert G.apply_frame_gain(np.zeros(0, np.float32), np.ones(3), 4).size == 0


PATH = registry.MODELS_DIR / "multispeaker-synth.onnx"
needs_voice = pytest.mark.skipif(not PATH.exists() or shutil.which("espeak-ng") is None,
                                 reason="needs the shipped voice and espeak-ng")


@needs_voice
def test_the_voice_gates_its_pauses_and_leaves_its_speech_alone():
    voice = S.load_voice("multispeaker-synth")
    spk = voice.speakers[0]
    from msar.onnx_models import frontend as F

    text = "Yes, the garden was full of roses."
    phones = F.fit_phones(F.phonemize(text, voice.language(spk)), voice.phone_table)
    ids = F.phone_ids(phones, voice.phone_table)
    stress = np.array([min(p.stress, 2) for p in phones], np.int64)
    dur = voice.durations(ids, stress, spk.id, 1.0)
    feats = voice.features(ids, stress, spk.id, dur, 1.0)
    silent = voice.silent_frames(phones, dur)
    assert silent[0] and silent[-1] and not silent.all() and len(silent) == len(feats)
    plain = voice.render(feats, spk.name)
    assert np.array_equal(voice.render(feats, spk.name, S.SynthOptions(pause_gate=0.0), silent), plain)
    gated = voice.render(feats, spk.name, S.SynthOptions(pause_gate=30.0, pause_fade_ms=20.0), silent)
    assert len(gated) == len(plain)
    hop = voice.card.sample_rate * voice.card.frame_period_ms / 1000
    frame_of = (np.arange(len(plain)) / hop).astype(int).clip(0, len(silent) - 1)
    # deep inside pauses (more than the fade from speech) the hiss drops by the full depth ...
    from scipy.ndimage import distance_transform_edt
    deep = (distance_transform_edt(silent) > 5)[frame_of]
    assert deep.sum() > 0
    np.testing.assert_allclose(gated[deep], plain[deep] * 10 ** (-30 / 20), rtol=1e-4, atol=1e-7)
    # ... and speech, a frame away from any pause, is untouched
    speech = (distance_transform_edt(~silent) > 1)[frame_of]
    np.testing.assert_array_equal(gated[speech], plain[speech])
    # synthesize gates by default
    y = voice.synthesize(text, spk.name)[0]
    assert np.array_equal(y, voice.render(feats, spk.name, S.SynthOptions(), silent))


@needs_voice
def test_pause_gate_option_is_range_checked(tmp_path):
    from msar.cli.main import cli

    voice = S.load_voice("multispeaker-synth")
    with pytest.raises(MsarError, match="pause gate"):
        voice.check(voice.speakers[0].name, S.SynthOptions(pause_gate=-1.0))
    with pytest.raises(MsarError, match="pause fade"):
        voice.check(voice.speakers[0].name, S.SynthOptions(pause_fade_ms=0.0))
    text = tmp_path / "t.txt"
    text.write_text("hello there\n")
    r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", voice.speakers[0].name,
                                 "--pause-gate", "130", "-o", str(tmp_path / "x.wav")])
    assert r.exit_code == 2 and "--pause-gate" in r.output
    outs = {}
    for depth in ("0", "40"):
        r = CliRunner().invoke(cli, ["synth", "--text", str(text), "--speaker", voice.speakers[0].name,
                                     "--pause-gate", depth, "-o", str(tmp_path / f"g{depth}.wav"), "-q"])
        assert r.exit_code == 0, r.output
        import soundfile as sf
        outs[depth] = sf.read(tmp_path / f"g{depth}.wav")[0]
    assert len(outs["0"]) == len(outs["40"]) and not np.allclose(outs["0"], outs["40"])
