"""Known-answer tests of the seed's metrics (mse, cos_pitch, cos_loudness, q) and the standard ones."""

from __future__ import annotations

import numpy as np
import pytest

from msar.dsp import metrics
from msar.dsp.loudness import loudness_contour
from msar.dsp.world import f0_contour

from conftest import DEMO_SPEECH, SR, harmonic_tone


def test_q_of_identical_signals_is_zero(tone):
    m = metrics.mse(tone, tone)
    cp = metrics.cos_pitch(tone, tone, SR)
    cl = metrics.cos_loudness(tone, tone, SR)
    assert (m, cp, cl) == (0.0, 1.0, 1.0)
    assert metrics.q_score(m, cp, cl) == 0.0


def test_scaled_copy_changes_only_mse(tone):
    k = 0.5
    out = k * tone
    assert metrics.mse(tone, out) == pytest.approx((1 - k) ** 2 * np.mean(tone.astype(np.float64) ** 2), rel=1e-6)
    # Cosine similarity ignores gain: loudness contours are proportional, F0 unchanged.
    assert metrics.cos_loudness(tone, out, SR) == pytest.approx(1.0, abs=1e-9)
    assert metrics.cos_pitch(tone, out, SR) == pytest.approx(1.0, abs=1e-4)


def test_pitch_change_of_second_half_gives_the_expected_cosine():
    n = 2 * SR
    ref = harmonic_tone(200.0, 2.0)
    f0_out = np.where(np.arange(n) < n // 2, 200.0, 300.0)
    out = harmonic_tone(f0_out, 2.0)
    # Contours 200|200 and 200|300: cos = (200*200 + 200*300) / (sqrt(2*200^2) * sqrt(200^2 + 300^2))
    expected = (200 * 200 + 200 * 300) / (np.sqrt(2 * 200**2) * np.sqrt(200**2 + 300**2))
    assert expected == pytest.approx(0.98058, abs=1e-5)
    for method in ("dio", "harvest"):
        assert metrics.cos_pitch(ref, out, SR, method) == pytest.approx(expected, abs=0.004)


def test_f0_contour_finds_the_tone_pitch_in_5ms_frames():
    f0 = f0_contour(harmonic_tone(220.0, 1.0), SR)
    assert len(f0) == int(1.0 * 1000 / 5) + 1
    voiced = f0[f0 > 0]
    assert len(voiced) > 0.9 * len(f0)
    assert np.median(voiced) == pytest.approx(220.0, rel=0.01)


def test_mse_of_noise_at_20db_snr(tone, rng):
    snr_db = 20.0
    power = np.mean(tone.astype(np.float64) ** 2)
    noise = rng.standard_normal(len(tone))
    noise *= np.sqrt(power / 10 ** (snr_db / 10) / np.mean(noise**2))
    assert metrics.mse(tone, tone + noise) == pytest.approx(power / 100, rel=1e-6)


def test_silence_against_silence_is_perfect():
    silence = np.zeros(SR, dtype=np.float32)
    assert metrics.cos_pitch(silence, silence, SR) == 1.0
    assert metrics.cos_loudness(silence, silence, SR) == 1.0


def test_silence_against_speech_has_zero_similarity(tone):
    silence = np.zeros_like(tone)
    assert metrics.cos_pitch(tone, silence, SR) == 0.0
    assert metrics.cos_loudness(tone, silence, SR) == 0.0


@pytest.mark.parametrize("row", [
    # The seed's table (README.ru.md): model, MSE, CosSim pitch, CosSim loudness, printed Q.
    ("base", 0.01, 0.90, 0.85, 0.065),
    ("improved", 0.005, 0.95, 0.90, 0.0375),
    ("multi-speaker", 0.003, 0.97, 0.92, 0.0265),
    ("multi-speaker + repair", 0.002, 0.98, 0.95, 0.017),
])
def test_seed_table_rows_reproduce_with_default_weights(row):
    _, mse_value, cp, cl, printed_q = row
    assert (metrics.ALPHA, metrics.BETA, metrics.GAMMA) == (0.5, 0.3, 0.2)
    assert metrics.q_score(mse_value, cp, cl) == pytest.approx(printed_q, abs=1e-12)


def test_cosine_is_trimmed_to_the_shorter_contour():
    assert metrics.cosine(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0])) == pytest.approx(1.0)


def test_loudness_contour_frames_and_level_of_a_1khz_sine():
    # K-weighting is about +0.7 dB at 1 kHz (BS.1770): the RMS of a 0.5 amplitude sine, 0.3536, rises a little.
    x = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(SR) / SR)
    contour = loudness_contour(x, SR)
    assert len(contour) == (SR - 320) // 160 + 1
    assert 20 * np.log10(np.median(contour) / (0.5 / np.sqrt(2))) == pytest.approx(0.69, abs=0.1)


def test_k_weighting_matches_pyloudnorm_meter_filters():
    import pyloudnorm
    import scipy.signal

    from msar.dsp.loudness import k_weighting_sos

    for sr in (8000, 16000, 44100, 48000):
        filters = pyloudnorm.Meter(sr)._filters
        expected = np.vstack([scipy.signal.tf2sos(filters[name].b, filters[name].a)
                              for name in ("high_shelf", "high_pass")])
        np.testing.assert_allclose(k_weighting_sos(sr), expected, rtol=1e-12)


def test_si_sdr_of_known_noise_level(tone, rng):
    noise = rng.standard_normal(len(tone))
    noise -= noise.mean()
    s = tone.astype(np.float64) - tone.mean()
    noise = noise - np.dot(noise, s) / np.dot(s, s) * s  # orthogonal to the target
    noise *= np.sqrt(np.dot(s, s) / np.dot(noise, noise) / 10)  # 10 dB below
    assert metrics.si_sdr(tone, tone + noise) == pytest.approx(10.0, abs=1e-6)
    assert metrics.si_sdr(tone, 3 * tone) > 100  # scale-invariant: only rounding error remains


def test_lsd_is_zero_for_identical_and_grows_with_lowpass(tone, rng):
    import scipy.signal

    x = tone + 0.01 * rng.standard_normal(len(tone)).astype(np.float32)
    assert metrics.lsd(x, x, SR) == 0.0
    sos = scipy.signal.butter(8, 3000, fs=SR, output="sos")
    lowpassed = scipy.signal.sosfilt(sos, x)
    whole, upper = metrics.lsd(x, lowpassed, SR), metrics.lsd(x, lowpassed, SR, min_hz=4000)
    assert upper > whole > 5.0  # the loss is all above 3 kHz, so the upper band differs most


def test_pesq_and_stoi_of_real_speech(rng):
    pytest.importorskip("pesq")
    pytest.importorskip("pystoi")
    from msar.dsp.audio import read, to_mono

    x, info = read(DEMO_SPEECH)
    x = to_mono(x)
    assert info.sr == SR
    assert metrics.optional_metric("pesq_wb", x, x, SR) > 4.4
    assert metrics.optional_metric("stoi", x, x, SR) == pytest.approx(1.0, abs=1e-6)
    noisy = x + 0.05 * rng.standard_normal(len(x)).astype(np.float32)
    assert metrics.optional_metric("pesq_wb", x, noisy, SR) < 3.0


def test_unknown_metric_is_a_clear_error():
    from msar.dsp.errors import MsarError

    with pytest.raises(MsarError, match="unknown metric 'pesq'"):
        metrics.check_available(["pesq"])


def test_missing_metric_package_names_the_extra(monkeypatch):
    import importlib.util

    from msar.dsp.errors import MsarError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pystoi" else real(name, *a))
    with pytest.raises(MsarError, match=r"msar\[metrics\]"):
        metrics.check_available(["stoi"])
