"""The damage simulator: every damage measurably does what its parameters say, recipes parse (or
fail naming the bad term), draws are deterministic per seed and file, and `msar degrade` works."""

from __future__ import annotations

import csv
import io
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from scipy import signal

from msar.cli.main import cli
from msar.dsp.degrade import PRESETS, Sources, degrade, file_rng, flatten, parse_recipe
from msar.dsp.degrade import band, clip, codec, dc, dropout, gain, hum, noise, quantize, reverb
from msar.dsp.degrade.recipe import fit_full_scale
from msar.dsp.errors import MsarError

from conftest import SR, harmonic_tone, write

HAVE_FFMPEG = shutil.which("ffmpeg") is not None


def speech_like(seconds: float = 1.0, sr: int = SR, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Voiced harmonics with a gliding F0 under a syllable-rate envelope, plus a little noise:
    (n, channels) float32, different per channel."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    cols = []
    for c in range(channels):
        f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * np.arange(n) / sr + c)
        env = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * np.arange(n) / sr + c)
        cols.append(harmonic_tone(f0, seconds, sr, n_harmonics=20) * env + 0.003 * rng.standard_normal(n))
    return np.stack(cols, axis=1).astype(np.float32)


def snr_db(x: np.ndarray, y: np.ndarray) -> float:
    x64 = x.astype(np.float64)
    return float(10 * np.log10(np.mean(x64**2) / np.mean((y.astype(np.float64) - x64) ** 2)))


def band_power_db(x: np.ndarray, sr: int, lo_hz: float, hi_hz: float) -> float:
    f, p = signal.welch(x[:, 0].astype(np.float64), sr, nperseg=1024)
    sel = (f >= lo_hz) & (f <= hi_hz)
    return float(10 * np.log10(np.mean(p[sel])))


@pytest.fixture
def x() -> np.ndarray:
    return speech_like(1.0)


# ----------------------------------------------------------------------------- noise


@pytest.mark.parametrize("kind", ["white", "pink", "brown"])
@pytest.mark.parametrize("target", [-5.0, 5.0, 30.0])
def test_noise_hits_the_requested_snr(x, kind, target):
    y, applied = noise.noise(x, SR, noise.NoiseParams(snr_db=target, kind=kind), np.random.default_rng(1))
    assert not np.array_equal(y, x)
    assert snr_db(x, y) == pytest.approx(target, abs=0.05)  # the issue asks for 0.5 dB
    assert applied["kind"] == kind and applied["snr_db"] == target


def test_pink_and_brown_fall_3_and_6_db_per_octave(x):
    slopes = {}
    for kind in ("white", "pink", "brown"):
        n = noise.coloured(np.random.default_rng(2), 4 * SR, 1, SR, noise._ALPHA[kind])
        # 100-200 Hz against 1600-3200 Hz: four octaves apart.
        slopes[kind] = band_power_db(n, SR, 100, 200) - band_power_db(n, SR, 1600, 3200)
    assert slopes["white"] == pytest.approx(0, abs=1.5)
    assert slopes["pink"] == pytest.approx(12, abs=1.5)
    assert slopes["brown"] == pytest.approx(24, abs=1.5)


def test_noise_file_and_offset_in_the_log_are_what_was_added(tmp_path, x):
    rec = np.random.default_rng(3).standard_normal(SR // 3).astype(np.float32) * 0.1  # shorter: loops
    path = str(write(tmp_path / "fan.wav", rec, subtype="FLOAT"))
    params = noise.NoiseParams(snr_db=3.0, kind="file", noise_files=(path,))
    y, applied = noise.noise(x, SR, params, np.random.default_rng(4))
    assert applied["noise_file"] == path
    offset = round(applied["noise_offset_s"] * SR)
    expected = np.take(rec, np.arange(offset, offset + len(x)), mode="wrap")
    added = (y - x)[:, 0]
    assert np.corrcoef(added, expected)[0, 1] > 0.9999
    assert snr_db(x, y) == pytest.approx(3.0, abs=0.05)


def test_babble_sums_talkers_from_the_speech_folder(tmp_path, x):
    files = tuple(str(write(tmp_path / f"s{i}.wav", speech_like(0.5, seed=i)[:, 0])) for i in range(3))
    params = noise.NoiseParams(snr_db=10.0, kind="babble", talkers=5, speech_files=files)
    y, applied = noise.noise(x, SR, params, np.random.default_rng(5))
    assert len(applied["babble_files"]) == 5 and set(applied["babble_files"]) <= set(files)
    assert snr_db(x, y) == pytest.approx(10.0, abs=0.05)


def test_noise_on_silence_adds_nothing():
    z = np.zeros((SR, 1), np.float32)
    y, applied = noise.noise(z, SR, noise.NoiseParams(snr_db=0.0), np.random.default_rng(0))
    assert np.array_equal(y, z) and "silent" in applied["note"]


# ----------------------------------------------------------------------------- reverb


def _decay_rt60(y: np.ndarray, sr: int) -> float:
    return reverb.measure_rt60(y[:, 0].astype(np.float64), sr)


@pytest.mark.parametrize("model", ["exp"] + (["room"] if reverb.have_pyroomacoustics() else []))
@pytest.mark.parametrize("rt60_s", [0.3, 0.8])
def test_reverb_of_an_impulse_decays_with_the_requested_rt60_and_stays_aligned(model, rt60_s):
    impulse = np.zeros((2 * SR, 1), np.float32)
    impulse[SR // 4] = 1.0
    y, applied = reverb.reverb(impulse, SR, reverb.ReverbParams(rt60_s=rt60_s, model=model), np.random.default_rng(6))
    assert applied["model"] == model
    assert int(np.argmax(np.abs(y[:, 0]))) == SR // 4  # the direct path lands where the dry impulse was
    assert _decay_rt60(y[SR // 4:], SR) == pytest.approx(rt60_s, rel=0.15)
    assert applied["rt60_measured_s"] == pytest.approx(rt60_s, rel=0.15)
    assert np.sum(y[: SR // 4 - 100] ** 2) < 1e-6  # no energy long before the direct sound


def test_reverb_with_a_recorded_rir_uses_it(tmp_path, x):
    h = np.zeros(800, np.float32)
    h[50], h[300] = 1.0, 0.5  # direct path and one echo 250 samples later
    path = str(write(tmp_path / "rir.wav", h, subtype="FLOAT"))
    params = reverb.ReverbParams(rir_files=(path,))
    y, applied = reverb.reverb(x, SR, params, np.random.default_rng(0))
    assert applied["model"] == "file" and applied["rir_file"] == path
    expected = (x[:, 0] + 0.5 * np.concatenate([np.zeros(250), x[:-250, 0]])) / np.sqrt(1.25)
    assert np.allclose(y[:, 0], expected, atol=1e-5)


def test_reverb_falls_back_to_the_exp_model_without_pyroomacoustics(monkeypatch, x):
    monkeypatch.setattr(reverb, "have_pyroomacoustics", lambda: False)
    _, applied = degrade(x, SR, "reverb:rt60=0.4", file_rng(0, "a"))
    assert applied[0]["model"] == "exp"
    with pytest.raises(MsarError, match="model=room needs pyroomacoustics"):
        parse_recipe("reverb:model=room")


# ----------------------------------------------------------------------------- clip


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.2])
def test_hard_clip_fraction_sets_the_share_of_clipped_samples(x, fraction):
    y, applied = clip.clip(x, SR, clip.ClipParams(fraction=fraction), np.random.default_rng(0))
    threshold = applied["threshold"]
    assert np.max(np.abs(y)) == pytest.approx(threshold, rel=1e-5)
    at_rail = np.mean(np.abs(y) >= threshold * (1 - 1e-5))
    assert at_rail == pytest.approx(fraction, abs=0.002)
    assert applied["clipped_fraction"] == pytest.approx(fraction, abs=0.002)


def test_clip_level_and_soft_mode(x):
    y, _ = clip.clip(x, SR, clip.ClipParams(level=0.1), np.random.default_rng(0))
    assert np.max(np.abs(y)) == pytest.approx(0.1, rel=1e-6)
    assert np.max(np.abs(x)) > 0.2  # precondition: there was something to clip
    soft, _ = clip.clip(x, SR, clip.ClipParams(level=0.1, mode="soft"), np.random.default_rng(0))
    below_knee = np.abs(x) < 0.05
    assert np.array_equal(soft[below_knee], x[below_knee])
    assert np.max(np.abs(soft)) < 0.1 and np.max(np.abs(soft)) > 0.09


# ----------------------------------------------------------------------------- band


@pytest.mark.parametrize("cutoff_hz", [1000.0, 3400.0])
def test_lowpass_removes_the_band_above_the_cutoff(cutoff_hz):
    white = np.random.default_rng(7).standard_normal((2 * SR, 1)).astype(np.float32) * 0.1
    y, _ = band.lowpass(white, SR, band.LowpassParams(cutoff_hz=cutoff_hz), np.random.default_rng(0))
    drop_above = band_power_db(white, SR, 1.5 * cutoff_hz, SR / 2) - band_power_db(y, SR, 1.5 * cutoff_hz, SR / 2)
    drop_below = band_power_db(white, SR, 50, 0.6 * cutoff_hz) - band_power_db(y, SR, 50, 0.6 * cutoff_hz)
    assert drop_above > 40
    assert abs(drop_below) < 0.5


def test_highpass_removes_the_band_below_the_cutoff():
    white = np.random.default_rng(8).standard_normal((2 * SR, 1)).astype(np.float32) * 0.1
    y, _ = band.highpass(white, SR, band.HighpassParams(cutoff_hz=500.0, order=8), np.random.default_rng(0))
    assert band_power_db(white, SR, 20, 300) - band_power_db(y, SR, 20, 300) > 25
    assert abs(band_power_db(white, SR, 1000, 7000) - band_power_db(y, SR, 1000, 7000)) < 0.5


def test_cutoff_above_nyquist_leaves_the_signal_alone(x):
    y, applied = band.lowpass(x, SR, band.LowpassParams(cutoff_hz=9000.0), np.random.default_rng(0))
    assert np.array_equal(y, x) and "Nyquist" in applied["note"]


# ----------------------------------------------------------------------------- codec


def test_g711_reference_values():
    # Round trips of 16-bit values through CPython's audioop (Sun's g711.c) for the positive and
    # A-law values; negative mu-law values follow ITU-T G.191, which codes a negative x as ~x = -x - 1
    # (audioop differs there by one step at step edges).
    pcm = np.array([0, 1, 100, 1000, 10000, 32767, -100, -32768])
    mu = np.round(codec.mulaw(pcm / 32768.0) * 32768).astype(int)
    al = np.round(codec.alaw(pcm / 32768.0) * 32768).astype(int)
    assert mu.tolist() == [0, 0, 104, 988, 9852, 32124, -96, -32124]
    assert al.tolist() == [8, 8, 104, 1008, 9984, 32256, -104, -32256]


@pytest.mark.parametrize("name", ["mulaw", "alaw"])
def test_g711_at_8khz_leaves_at_most_256_levels_and_about_38_db_snr(name):
    x8 = speech_like(1.0, sr=8000)
    y, applied = codec.codec(x8, 8000, codec.CodecParams(codec=name), np.random.default_rng(0))
    assert len(np.unique(y)) <= 256 < len(np.unique(x8))
    assert 30 < snr_db(x8, y) < 45
    assert applied["codec_sr"] == 8000


def test_g711_at_16khz_band_limits_to_4khz(x):
    white = np.random.default_rng(9).standard_normal((SR, 1)).astype(np.float32) * 0.1
    y, _ = codec.codec(white, SR, codec.CodecParams(codec="mulaw"), np.random.default_rng(0))
    assert band_power_db(white, SR, 4500, 7500) - band_power_db(y, SR, 4500, 7500) > 40
    y, _ = codec.codec(x, SR, codec.CodecParams(codec="mulaw"), np.random.default_rng(0))
    assert snr_db(x, y) > 20  # aligned: no delay from the resampling


@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
@pytest.mark.parametrize("name", ["gsm", "mp3", "opus"])
def test_ffmpeg_codecs_keep_length_and_alignment(name):
    x = speech_like(1.0, channels=2)
    y, applied = codec.codec(x, SR, codec.CodecParams(codec=name, bitrate_kbps=24), np.random.default_rng(0))
    assert y.shape == x.shape and not np.allclose(y, x, atol=1e-3)
    lags = np.arange(-200, 201)
    corr = [np.dot(x[1000:-1000, 0], np.roll(y[:, 0], -lag)[1000:-1000]) for lag in lags]
    assert abs(int(lags[int(np.argmax(corr))])) <= 1


# ----------------------------------------------------------------------------- the rest


def test_dropouts_are_counted_and_logged():
    x = (0.3 + 0.1 * speech_like(1.0)).astype(np.float32)  # never zero on its own
    y, applied = dropout.dropout(x, SR, dropout.DropoutParams(count=5, length_ms=20), np.random.default_rng(1))
    zero = np.concatenate([[0], (y[:, 0] == 0).astype(int), [0]])
    starts = np.flatnonzero(np.diff(zero) == 1)
    ends = np.flatnonzero(np.diff(zero) == -1)
    assert len(starts) == 5 == applied["count"]
    assert np.all(ends - starts == int(0.02 * SR))
    assert np.allclose(starts / SR, applied["starts_s"], atol=1 / SR)


def test_dropouts_that_do_not_fit_are_fewer_and_noted():
    x = np.ones((1000, 1), np.float32)
    y, applied = dropout.dropout(x, SR, dropout.DropoutParams(count=50, length_ms=10), np.random.default_rng(1))
    assert 0 < applied["count"] < 50 and "fit" in applied["note"]


@pytest.mark.parametrize("freq_hz", [50.0, 60.0])
def test_hum_peaks_at_the_mains_frequency_at_the_requested_level(x, freq_hz):
    y, applied = hum.hum(x, SR, hum.HumParams(freq_hz=freq_hz, level_db=-20.0, harmonics=3), np.random.default_rng(0))
    added = (y - x)[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(added * np.hanning(len(added))))
    freqs = np.fft.rfftfreq(len(added), 1 / SR)
    assert freqs[np.argmax(spectrum)] == pytest.approx(freq_hz, abs=1.0)
    assert -snr_db(x, y) == pytest.approx(-20.0, abs=0.05)
    assert applied["harmonics"] == 3


def test_dc_offset_moves_the_mean(x):
    y, _ = dc.dc(x, SR, dc.DcParams(offset=-0.07), np.random.default_rng(0))
    assert float(np.mean(y - x)) == pytest.approx(-0.07, abs=1e-6)
    assert float(np.mean(y)) == pytest.approx(float(np.mean(x)) - 0.07, abs=1e-5)


@pytest.mark.parametrize("bits", [4, 8])
def test_quantize_leaves_2_to_the_bits_levels(x, bits):
    y, applied = quantize.quantize(x, SR, quantize.QuantizeParams(bits=bits), np.random.default_rng(0))
    step = 2.0 ** -(bits - 1)
    codes = y.astype(np.float64) / step
    assert np.allclose(codes, np.round(codes))
    assert len(np.unique(y)) <= 2**bits < len(np.unique(x))
    assert np.max(np.abs(y - x)) <= step / 2 + 1e-7  # x stays inside full scale here
    assert applied["step"] == step


def test_gain_jumps_change_the_level_by_the_logged_steps(x):
    params = gain.GainParams(count=3, jump_db=6.0, ramp_ms=1.0)
    y, applied = gain.gain(x, SR, params, np.random.default_rng(3))
    edges = [0] + [round(t * SR) for t in applied["times_s"]] + [len(x)]
    for level_db, (a, b) in zip(applied["levels_db"], zip(edges[:-1], edges[1:])):
        a += int(0.002 * SR)  # past the ramp
        if b - a > 10:
            ratio = y[a:b, 0] / x[a:b, 0]
            assert np.allclose(ratio[np.abs(x[a:b, 0]) > 1e-3], 10 ** (level_db / 20), rtol=1e-4)
    assert np.allclose(np.abs(np.diff(applied["levels_db"])), 6.0)


def test_fit_full_scale_only_scales_down():
    y, g = fit_full_scale(np.array([[0.5], [-2.0]], np.float32))
    assert g == pytest.approx(-6.0206, abs=1e-3) and np.max(np.abs(y)) == pytest.approx(1.0)
    y, g = fit_full_scale(np.array([[0.5]], np.float32))
    assert g == 0.0 and y[0, 0] == 0.5


# ----------------------------------------------------------------------------- recipes


ALL_DAMAGES = ("noise:kind=pink,reverb:model=exp,clip,lowpass,highpass,codec:codec=alaw,dropout,hum,dc,"
               "quantize,gain")


@pytest.mark.parametrize("recipe", [ALL_DAMAGES, "mix", "telephone", "room"]
                         + (["cellphone", "codec:codec=mp3|opus,bitrate=8..32"] if HAVE_FFMPEG else []))
def test_every_damage_keeps_shape_and_finiteness(recipe):
    x = speech_like(0.5, channels=2)
    for seed in range(1 if "codec" in recipe or recipe == "cellphone" else 3):  # ffmpeg is slow to start
        y, applied = degrade(x, SR, recipe, file_rng(seed, "a.wav"))
        assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
        assert len(applied) == len(parse_recipe(recipe).steps)


def test_same_seed_same_output_different_seed_or_file_different(x):
    recipe = parse_recipe("noise:snr=0..20,kind=white|pink,reverb:model=exp,rt60=0.2..0.9,clip:fraction=0.01..0.1")
    y1, a1 = degrade(x, SR, recipe, file_rng(1, "dir/a.wav"))
    y2, a2 = degrade(x, SR, recipe, file_rng(1, "dir/a.wav"))
    y3, a3 = degrade(x, SR, recipe, file_rng(2, "dir/a.wav"))
    y4, a4 = degrade(x, SR, recipe, file_rng(1, "dir/b.wav"))
    assert np.array_equal(y1, y2) and a1 == a2
    assert not np.array_equal(y1, y3) and a1 != a3
    assert not np.array_equal(y1, y4) and a1 != a4


def test_a_step_draws_do_not_depend_on_the_other_steps(x):
    a = degrade(x, SR, "dc:offset=0.01,noise:snr=0..20", file_rng(1, "a"))[1]
    b = degrade(x, SR, "dc:offset=0.2,noise:snr=0..20", file_rng(1, "a"))[1]
    assert a[1]["snr_db"] == b[1]["snr_db"]


def test_ranges_and_choices_are_drawn_per_file_within_bounds(x):
    recipe = parse_recipe("noise:snr=0..20,kind=pink|brown,dropout:count=1..3,length_ms=10")
    draws = [degrade(x[:2000], SR, recipe, file_rng(0, str(i)))[1] for i in range(60)]
    snrs = [d[0]["snr_db"] for d in draws]
    assert all(0 <= s <= 20 for s in snrs) and np.std(snrs) > 3
    assert {d[0]["kind"] for d in draws} == {"pink", "brown"}
    assert {d[1]["count"] for d in draws} == {1, 2, 3}


def test_p_applies_a_step_to_that_share_of_files(x):
    applied = [degrade(x[:10], SR, "dc:p=0.3", file_rng(0, str(i)))[1][0]["applied"] for i in range(2000)]
    assert np.mean(applied) == pytest.approx(0.3, abs=0.04)  # 4 standard deviations
    y, log = degrade(x, SR, "dc:p=0", file_rng(0, "a"))
    assert np.array_equal(y, x) and log == [{"damage": "dc", "applied": False}]


def test_recipe_spellings_mean_the_same(x):
    a = degrade(x, SR, "noise:snr=5:kind=pink", file_rng(0, "a"))
    b = degrade(x, SR, "noise:snr_db=5, kind=pink", file_rng(0, "a"))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert len(parse_recipe("telephone,noise").steps) == 4
    assert all(parse_recipe(name) for name in PRESETS if name != "cellphone" or HAVE_FFMPEG)


def test_flatten_names_columns_by_damage_and_repeats():
    row = flatten([{"damage": "noise", "snr_db": 5.0, "kind": "pink"}, {"damage": "noise", "snr_db": 1.23456789},
                   {"damage": "dropout", "starts_s": [0.1, 0.25], "applied": True}])
    assert row == {"noise.snr_db": "5", "noise.kind": "pink", "noise2.snr_db": "1.23457",
                   "dropout.starts_s": "0.1;0.25", "dropout.applied": 1}


@pytest.mark.parametrize("recipe, needle", [
    ("nosie:snr=5", "unknown damage or preset 'nosie'"),
    ("noise:snr=5,volume=3", "unknown parameter 'volume' of noise"),
    ("noise:snr=loud", "snr_db must be a number (got 'loud')"),
    ("noise:snr=20..5", "bad range snr_db=20..5"),
    ("noise:kind=purple", "kind must be one of"),
    ("noise:snr=5..x", "snr_db must be a number (got 'x')"),
    ("clip:fraction=1.5", "fraction must be at most 0.99"),
    ("clip:fraction=0", "fraction must be above 0"),
    ("clip:fraction=0.1,level=0.5", "give fraction or level, not both"),
    ("dropout:count=2.5", "count must be an integer"),
    ("noise:kind=file", "needs noise recordings"),
    ("reverb:model=file", "needs room impulse responses"),
    ("dc:offset", "'offset' is not KEY=VALUE"),
    ("snr=5,noise", "a setting with no damage before it"),
    ("noise,,dc", "empty term"),
    ("telephone:p=0.5", "preset 'telephone' takes no parameters"),
    ("dc:p=1.5", "p must be at most 1"),
    ("quantize:bits=nan", "bits must be an integer"),
    ("hum:level=inf", "level_db must be finite"),
])
def test_bad_recipes_name_the_bad_term(recipe, needle):
    with pytest.raises(MsarError) as info:
        parse_recipe(recipe)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_sources_enable_file_noise(tmp_path):
    path = str(write(tmp_path / "n.wav", np.random.default_rng(0).standard_normal(800) * 0.1))
    recipe = parse_recipe("noise:snr=5", Sources(noise_files=(path,)))
    _, applied = degrade(speech_like(0.2), SR, recipe, file_rng(0, "a"))
    assert applied[0]["kind"] == "file" and applied[0]["noise_file"] == path


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def clean_dir(tmp_path):
    root = tmp_path / "clean"
    write(root / "a.wav", speech_like(0.5)[:, 0], subtype="PCM_16")
    write(root / "sub" / "b.flac", speech_like(0.4, sr=22050, channels=2, seed=1), sr=22050, subtype="PCM_24")
    return root


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_cli_degrades_a_folder_and_logs_every_value(clean_dir, tmp_path):
    out = tmp_path / "noisy"
    result = CliRunner().invoke(cli, ["degrade", str(clean_dir), str(out), "--recipe",
                                      "noise:snr=0..20,reverb:model=exp,rt60=0.6,clip:fraction=0.05",
                                      "--seed", "1", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the log goes to OUT/degrade.csv
    for rel, clean in (("a.wav", clean_dir / "a.wav"), ("sub/b.flac", clean_dir / "sub" / "b.flac")):
        a, b = sf.info(str(clean)), sf.info(str(out / rel))
        assert (a.samplerate, a.channels, a.frames, a.format, a.subtype) == \
               (b.samplerate, b.channels, b.frames, b.format, b.subtype)
    rows = read_csv((out / "degrade.csv").read_text())
    assert [r["path"] for r in rows] == ["a.wav", "sub/b.flac"]
    assert all(r["status"] == "ok" and r["seed"] == "1" for r in rows)
    snrs = [float(r["noise.snr_db"]) for r in rows]
    assert all(0 <= s <= 20 for s in snrs) and snrs[0] != snrs[1]
    assert rows[0]["reverb.rt60_s"] == "0.6" and rows[0]["clip.fraction"] == "0.05"
    assert float(rows[0]["clip.clipped_fraction"]) == pytest.approx(0.05, abs=0.002)


def test_cli_results_do_not_depend_on_jobs_and_reruns_skip(clean_dir, tmp_path):
    noises = tmp_path / "noises"
    for i in range(3):
        write(noises / f"n{i}.wav", np.random.default_rng(i).standard_normal(SR // 2) * 0.1)
    recipe = ["--recipe", "noise:snr=0..20,dropout:count=1..4", "--seed", "7", "--noise-dir", str(noises)]
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        result = CliRunner().invoke(cli, ["degrade", str(clean_dir), str(out), *recipe, "-j", jobs, "-q"])
        assert result.exit_code == 0, result.output
        runs[jobs] = out
    for rel in ("a.wav", "sub/b.flac"):
        assert (runs["1"] / rel).read_bytes() == (runs["2"] / rel).read_bytes()
    before = (runs["1"] / "degrade.csv").read_text()
    assert all(r["noise.kind"] == "file" and r["noise.noise_file"].startswith(str(noises)) for r in read_csv(before))
    result = CliRunner().invoke(cli, ["degrade", str(clean_dir), str(runs["1"]), *recipe])
    assert result.exit_code == 0 and "0 ok, 2 skipped" in result.output
    rows = read_csv((runs["1"] / "degrade.csv").read_text())
    assert [r["status"] for r in rows] == ["skipped", "skipped"]
    assert [r["noise.snr_db"] for r in rows] == [r["noise.snr_db"] for r in read_csv(before)]
    result = CliRunner().invoke(cli, ["degrade", str(clean_dir), str(runs["1"]), *recipe, "--overwrite", "-q"])
    assert result.exit_code == 0 and read_csv((runs["1"] / "degrade.csv").read_text())[0]["status"] == "ok"


@pytest.mark.parametrize("args, needle", [
    (["--recipe", "noise:snr=lots"], "noise:snr=lots"),
    (["--recipe", "shout"], "unknown damage or preset 'shout'"),
    (["--recipe", "noise:kind=babble"], "needs speech recordings"),
])
def test_cli_bad_recipe_is_a_usage_error(clean_dir, tmp_path, args, needle):
    result = CliRunner().invoke(cli, ["degrade", str(clean_dir), str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert "--recipe" in result.output and needle in result.output
    assert not (tmp_path / "o").exists()


def test_cli_refuses_an_output_folder_inside_the_input(clean_dir):
    result = CliRunner().invoke(cli, ["degrade", str(clean_dir), str(clean_dir / "out"), "-r", "dc"])
    assert result.exit_code == 2 and "must not be the input folder or inside it" in result.output


def test_cli_single_file_logs_to_stdout_and_stdout_audio_keeps_stdout_clean(clean_dir, tmp_path):
    out = tmp_path / "one.flac"
    result = CliRunner().invoke(cli, ["degrade", str(clean_dir / "a.wav"), str(out), "-r", "telephone", "-q"])
    assert result.exit_code == 0, result.output
    assert sf.info(str(out)).format == "FLAC" and sf.info(str(out)).subtype == "PCM_16"
    rows = read_csv(result.stdout)
    assert rows[0]["path"] == "a.wav" and rows[0]["codec.codec"] == "mulaw"

    log = tmp_path / "log.csv"
    data = (clean_dir / "a.wav").read_bytes()
    result = CliRunner().invoke(cli, ["degrade", "-", "-", "-r", "dc:offset=0.1", "--log", str(log), "-q"],
                                input=data)
    assert result.exit_code == 0
    y, sr = sf.read(io.BytesIO(result.stdout_bytes))
    x, _ = sf.read(str(clean_dir / "a.wav"))
    assert sr == SR and np.mean(y - x) == pytest.approx(0.1, abs=1e-3)
    assert read_csv(log.read_text())[0]["dc.offset"] == "0.1"


def test_cli_scales_outputs_that_would_exceed_full_scale(clean_dir, tmp_path):
    out = tmp_path / "loud.wav"
    result = CliRunner().invoke(cli, ["degrade", str(clean_dir / "a.wav"), str(out), "-r", "noise:snr=-20", "-q"])
    assert result.exit_code == 0, result.output
    gain_db = float(read_csv(result.stdout)[0]["output_gain_db"])
    y, _ = sf.read(str(out))
    x, _ = sf.read(str(clean_dir / "a.wav"))
    assert gain_db < -3 and np.max(np.abs(y)) > 0.99  # scaled to full scale, not clipped:
    assert snr_db(x[:, None] * 10 ** (gain_db / 20), y[:, None]) == pytest.approx(-20, abs=0.1)


def test_cli_list_prints_damages_and_presets():
    result = CliRunner().invoke(cli, ["degrade", "--list"])
    assert result.exit_code == 0
    assert "snr_db" in result.output and "telephone" in result.output and "mix" in result.output
