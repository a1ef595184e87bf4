"""WORLD synthesis features (msar.dsp.world): layout, frame count and the analysis/synthesis
round trip that training (targets) and ``msar synth`` (inverse) rely on."""

from pathlib import Path

import numpy as np
import pytest

from msar.dsp import audio, world

DEMO = Path(__file__).resolve().parents[1] / "demo" / "speech" / "en_allison_weasels.flac"

SR = 16000


def _voice(duration_s=0.6, f0_hz=140.0):
    t = np.arange(int(duration_s * SR)) / SR
    f0 = f0_hz * (1 + 0.1 * np.sin(2 * np.pi * 2 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    return 0.2 * sum(np.sin(k * phase) / k for k in range(1, 20))


def test_layout_and_frame_count_at_16k():
    x = _voice()
    f = world.world_features(x, SR)
    lay = world.feature_layout(SR)
    assert lay["ap"][1] == f.shape[1] == 2 + world.N_SP_DIMS + 1  # one aperiodicity band at 16 kHz
    assert f.shape[0] == int(len(x) / SR * 1000 / world.FRAME_PERIOD_MS) + 1
    assert f.dtype == np.float32


def test_f0_of_a_harmonic_tone_is_recovered():
    f = world.world_features(_voice(f0_hz=140.0), SR)
    voiced = f[:, 1] > 0.5
    assert voiced.mean() > 0.8
    f0 = np.exp(f[voiced, 0])
    assert 125 < np.median(f0) < 155


def test_round_trip_keeps_envelope_and_pitch():
    x, info = audio.read(DEMO)
    assert info.sr == SR
    x = x[: 2 * SR, 0]
    f = world.world_features(x, SR)
    y = world.world_synthesize(f, SR)
    assert abs(len(y) - len(x)) <= SR * world.FRAME_PERIOD_MS / 1000
    g = world.world_features(y, SR)
    n = min(len(f), len(g))
    sp = slice(*world.feature_layout(SR)["sp"])
    # mel-cepstral-like distance of the coded envelopes (dB scale), resynthesis vs original
    d = f[:n, sp][:, 1:] - g[:n, sp][:, 1:]
    mcd = np.mean(np.sqrt(2 * np.sum(d ** 2, axis=1))) * 10 / np.log(10)
    assert mcd < 6.0
    voiced = (f[:n, 1] > 0.5) & (g[:n, 1] > 0.5)
    assert voiced.mean() > 0.3
    assert np.median(np.abs(np.exp(g[:n, 0]) - np.exp(f[:n, 0]))[voiced]) < 5
    # the distance can fail: another utterance's envelope is far away
    h = world.world_features(audio.read(DEMO)[0][2 * SR: 4 * SR, 0], SR)
    m = min(n, len(h))
    d = f[:m, sp][:, 1:] - h[:m, sp][:, 1:]
    assert np.mean(np.sqrt(2 * np.sum(d ** 2, axis=1))) * 10 / np.log(10) > 2 * mcd


def test_interp_lf0_fills_unvoiced_gaps():
    f0 = np.array([0, 100, 0, 0, 200, 0.0])
    assert (f0 == 0).sum() == 4
    lf0 = world.interp_lf0(f0)
    assert np.all(np.isfinite(lf0))
    assert lf0[0] == pytest.approx(np.log(100)) and lf0[-1] == pytest.approx(np.log(200))
    assert np.log(100) < lf0[2] < np.log(200)


def test_synthesize_rejects_wrong_width():
    with pytest.raises(ValueError, match="features must be"):
        world.world_synthesize(np.zeros((10, 5), np.float32), SR)


def test_sharpen_envelope_keeps_power_and_deepens_valleys():
    """The synthesis post-filter: beta 0 is the plain decode; beta > 0 keeps each frame's power
    and widens the spread of the log envelope (formant peaks over valleys) on real speech."""
    x, info = audio.read(DEMO)
    x = audio.resample(audio.to_mono(x), info.sr, SR)[: 2 * SR]
    f = world.world_features(x, SR)
    lay = world.feature_layout(SR)
    coded = f[:, slice(*lay["sp"])]
    fft_size = world.pyworld.get_cheaptrick_fft_size(SR)
    plain = world.sharpen_envelope(coded, SR, fft_size, 0.0)
    # decoded by one matrix product (world._envelope_decoder): pyworld's own decoding, to rounding
    np.testing.assert_allclose(plain, world.pyworld.decode_spectral_envelope(
        np.ascontiguousarray(coded, np.float64), SR, fft_size), rtol=1e-9)
    for sr, fft in ((8000, 512), (48000, 2048)):  # other rates and sizes, random envelopes
        c = np.random.default_rng(sr).standard_normal((50, 40)) * np.linspace(2.0, 0.05, 40) - np.eye(40)[0] * 8
        np.testing.assert_allclose(world.sharpen_envelope(c, sr, fft, 0.0),
                                   world.pyworld.decode_spectral_envelope(c, sr, fft), rtol=1e-9)
    sharp = world.sharpen_envelope(coded, SR, fft_size, 0.4)
    np.testing.assert_allclose(sharp.sum(axis=1), plain.sum(axis=1), rtol=1e-9)
    spread = lambda sp: np.std(np.log(sp), axis=1)  # noqa: E731
    loud = plain.sum(axis=1) > np.median(plain.sum(axis=1))
    assert np.mean(spread(sharp)[loud] / spread(plain)[loud]) > 1.05  # 1.11 measured; tilt (c1) is kept
    y0 = world.world_synthesize(f, SR)
    y1 = world.world_synthesize(f, SR, postfilter_beta=0.4)
    assert len(y0) == len(y1) and np.all(np.isfinite(y1))


def test_restore_variance_moves_each_dimension_towards_its_target():
    """Global-variance compensation: weight 1 reaches the target variance, 0 changes nothing,
    the utterance mean and the first (level) dimension are kept, no dimension is smoothed further
    and the gain is bounded."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4)) * np.array([1.0, 0.5, 2.0, 0.01]) + np.array([3.0, -1.0, 0.5, 0.0])
    target = np.array([4.0, 1.0, 1.0, 1.0])  # dim 0 skipped; dim 1 x4 var; dim 2 already above; dim 3 x10^4
    y = world.restore_variance(x, target, 1.0)
    np.testing.assert_allclose(y.mean(0), x.mean(0), atol=1e-9)
    np.testing.assert_allclose(y[:, 0], x[:, 0])
    np.testing.assert_allclose(y[:, 1].var(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(y[:, 2], x[:, 2])  # never scaled down
    np.testing.assert_allclose(y[:, 3].std() / x[:, 3].std(), world.GV_MAX_GAIN, rtol=1e-6)
    half = world.restore_variance(x, target, 0.5)
    np.testing.assert_allclose(half[:, 1].std() / x[:, 1].std(), (1.0 / x[:, 1].var()) ** 0.25, rtol=1e-6)  # ~sqrt(2)
    np.testing.assert_array_equal(world.restore_variance(x, target, 0.0), x)
    np.testing.assert_array_equal(world.restore_variance(x[:1], target, 1.0), x[:1])


@pytest.mark.parametrize("sr", [16000, 22050, 48000])  # (8 kHz has no coded bands)
def test_aperiodicity_decoding_equals_pyworld_s(sr):
    """world.decode_aperiodicity (a matrix product) against pyworld's frame loop, on voiced and
    unvoiced frames and around WORLD's voicing threshold (mean coded value -0.5 dB)."""
    fft = world.pyworld.get_cheaptrick_fft_size(sr)
    n = world.pyworld.get_num_aperiodicities(sr)
    rng = np.random.default_rng(sr)
    cap = np.concatenate([rng.uniform(-60.0, 0.0, (200, n)), rng.uniform(-1.0, 0.0, (200, n)),
                          np.full((1, n), -0.5), np.full((1, n), -0.4999), np.zeros((1, n))])
    ours = world.decode_aperiodicity(cap, sr, fft)
    np.testing.assert_allclose(ours, world.pyworld.decode_aperiodicity(np.ascontiguousarray(cap), sr, fft), rtol=1e-9)
    assert (ours == world._AP_UNVOICED).any() and (ours < 0.5).any()  # both kinds of frame were there


def test_sparse_unvoiced_marks_only_frames_far_from_voicing():
    f0 = np.array([0, 0, 0, 0, 120, 130, 0, 0, 0, 0, 0, 0, 0, 140.0])
    ap = np.full((len(f0), 5), 0.3)
    g, a = world.sparse_unvoiced(f0, ap, 200.0)
    # distance to voicing: 4 3 2 1 0 0 1 2 3 4 3 2 1 0
    assert g.tolist() == [200, 200, 0, 0, 120, 130, 0, 0, 200, 200, 200, 0, 0, 140]
    assert (a[[0, 1, 2, 7, 8, 9, 10, 11]] == 1.0).all()  # the second frame from voicing too
    assert (a[[3, 4, 5, 6, 12, 13]] == 0.3).all()  # next to voicing and voiced: as they were
    assert f0[0] == 0 and ap[0, 0] == 0.3  # inputs untouched
    v, b = world.sparse_unvoiced(np.array([100.0, 110.0]), ap[:2], 200.0)
    assert v.tolist() == [100, 110] and (b == 0.3).all()
    u, c = world.sparse_unvoiced(np.zeros(4), ap[:4], 200.0)
    assert (u == 200).all() and (c == 1).all()


def test_sparse_unvoiced_renders_the_same_speech_with_fewer_noise_segments():
    """On real speech: same length, same level in the unvoiced runs and in the voiced ones (whose
    pulses may fall elsewhere: WORLD's pulse phase runs on through unvoiced frames), same pitch."""
    x = audio.read(DEMO)[0][: 3 * SR, 0]
    f = world.world_features(x, SR)
    y = world.world_synthesize(f, SR)
    z = world.world_synthesize(f, SR, unvoiced_pulse_hz=200.0)
    assert len(z) == len(y)
    hop = int(SR * world.FRAME_PERIOD_MS / 1000)
    voiced = f[:, 1] > 0.5
    sparse = world.distance_to_speech(~voiced) >= 3  # the frames rendered with fewer segments
    samples = lambda frames: np.repeat(frames, hop)[: len(y)]  # noqa: E731
    level = lambda s, frames: 10 * np.log10(np.mean(s[samples(frames)] ** 2))  # noqa: E731
    assert sparse.mean() > 0.1
    assert abs(level(z, sparse) - level(y, sparse)) < 1.0
    assert abs(level(z, voiced) - level(y, voiced)) < 0.2
    assert not np.allclose(z[samples(sparse)], y[samples(sparse)])  # rendered anew
    fz = world.world_features(z, SR)[: len(f)]
    both = voiced[: len(fz)] & (fz[:, 1] > 0.5)
    assert both.sum() > 0.9 * voiced.sum()
    assert np.median(np.abs(fz[both, 0] - f[: len(fz)][both, 0])) < 0.01  # log F0


def test_pyworld_is_imported_without_pkg_resources():
    """pkg_resources (deprecated; scanning every installed distribution) was a quarter of
    ``msar synth``'s start-up: msar imports pyworld without it, and pyworld still knows its version."""
    import importlib.metadata
    import subprocess
    import sys

    code = "import sys; from msar.dsp import world; print(world.pyworld.__version__, 'pkg_resources' in sys.modules)"
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [importlib.metadata.version("pyworld"), "False"]


def test_pyworld_that_wants_more_of_pkg_resources_is_imported_the_usual_way(tmp_path):
    """Should a later pyworld ask pkg_resources for more than its version, the stand-in's failure
    is not the user's: pyworld is imported again with the real pkg_resources, which stays loaded."""
    import subprocess
    import sys

    fake = tmp_path / "pyworld"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import pkg_resources\n"
        "REQUIRE = pkg_resources.require  # only the real module has it\n"
        "__version__ = pkg_resources.get_distribution('pyworld').version\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from msar.dsp import world; "
            "print(world.pyworld.__file__.startswith(sys.argv[1]), hasattr(sys.modules['pkg_resources'], 'require'))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"], out.stderr
