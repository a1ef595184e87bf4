"""dsp.analysis: each measurement finds its damage (made with dsp.degrade or in code) and stays
quiet on clean demo speech."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import soundfile as sf

from msar.dsp import analysis as A
from msar.dsp.degrade import degrade, parse_recipe

from conftest import DEMO, SR, harmonic_tone

DEMO_FILES = sorted((DEMO / "speech").glob("*.flac"))


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray]:
    out = {}
    for path in DEMO_FILES:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
        assert sr == SR
        out[path.stem] = x
    return out


@pytest.fixture(scope="module")
def allison(speech) -> np.ndarray:
    return speech["en_allison_weasels"]


def damaged(x: np.ndarray, recipe: str, seed: int = 0) -> np.ndarray:
    return degrade(x, SR, parse_recipe(recipe), np.random.default_rng(seed))[0]


def test_clean_demo_speech_indicates_no_repair(speech):
    assert len(speech) == 3
    for name, x in speech.items():
        a = A.analyze(x, SR)
        assert a.indicated() == [], (name, a.as_row())
        assert a.clipped_fraction < 1e-4 and a.dropout_count == 0 and a.hum_hz is None
        assert a.bandwidth_hz > 7500 and a.snr_db > 18
        assert abs(a.dc_offset) < 1e-3


def test_dc_offset_is_measured_per_channel(allison):
    x = np.hstack([allison, allison])
    x[:, 1] += 0.02
    a = A.analyze(x, SR)
    assert a.dc_offset_per_channel[0] == pytest.approx(float(allison.mean()), abs=1e-6)
    assert a.dc_offset_per_channel[1] == pytest.approx(0.02 + float(allison.mean()), abs=1e-6)
    assert a.dc_offset == pytest.approx(0.02, abs=5e-4)
    assert [s for s, _ in a.indicated()] == ["dc"]


@pytest.mark.parametrize("fraction", [0.005, 0.02, 0.05])
def test_clipped_fraction_matches_the_degrade_clip(allison, fraction):
    y = damaged(allison, f"clip:fraction={fraction}")
    a = A.analyze(y, SR)
    assert a.clipped_fraction == pytest.approx(fraction, rel=0.05)
    assert a.clip_level_hi < 0.7  # clipping far below full scale is found too
    assert "declip" in dict(a.indicated())


def test_clipping_of_one_channel_is_reported_for_that_channel(allison):
    clipped = damaged(allison, "clip:fraction=0.02")
    a = A.analyze(np.hstack([allison, clipped]), SR)
    assert a.clipped_fraction_per_channel[0] < 1e-4
    assert a.clipped_fraction_per_channel[1] > 0.015


def test_a_sine_touching_its_peak_is_not_clipped():
    t = np.arange(SR) / SR
    x = (0.9 * np.sin(2 * np.pi * 441.3 * t)).astype(np.float32)
    mask, hi, lo = A.clip_mask(x)
    assert hi == pytest.approx(0.9, abs=1e-3) and not mask.any()
    mask, *_ = A.clip_mask(np.clip(x, -0.5, 0.5))
    assert mask.mean() > 0.3


@pytest.mark.parametrize("freq", [50.0, 60.0])
def test_hum_frequency_and_level(speech, freq):
    for name in ("en_allison_weasels", "it_carlo_onlyperson"):
        y = damaged(speech[name], f"hum:freq_hz={freq}:level_db=-30:harmonics=5")
        a = A.analyze(y, SR)
        assert a.hum_hz == pytest.approx(freq, abs=0.05), name
        assert a.hum_level_db == pytest.approx(-30, abs=3), name
        assert "hum" in dict(a.indicated())


def test_hum_on_a_tone_with_harmonics_is_found_exactly():
    t = np.arange(3 * SR) / SR
    x = 0.01 * sum(np.sin(2 * np.pi * k * 59.9 * t + k) / k for k in range(1, 6))
    x = x + 0.1 * np.random.default_rng(0).standard_normal(len(t))
    m = A.measure_hum(x, SR)
    assert m.freq_hz == pytest.approx(59.9, abs=0.01)
    assert m.harmonics[:2] == (1, 2)


def test_dropouts_inside_speech_are_counted_and_pauses_are_not(allison):
    x = allison.copy()
    rms = A._frame_rms(x[:, 0].astype(np.float64), 320)
    loud = np.flatnonzero(rms > np.percentile(rms, 70))
    starts = [int(f) * 320 for f in loud[[5, len(loud) // 2, -8]]]
    for s in starts:
        x[s:s + 480] = 0.0
    # Digital silence at both ends (padding) is no dropout.
    x[:800] = 0.0
    x[-800:] = 0.0
    a = A.analyze(x, SR)
    assert a.dropout_count == 3
    assert [s for s, _ in a.dropouts] == sorted(starts)
    assert a.dropout_total_s == pytest.approx(3 * 0.03, abs=1e-9)
    assert A.analyze(allison, SR).dropout_count == 0


def test_degrade_dropouts_are_found(speech):
    y = damaged(speech["fr_june_onlyperson"], "dropout:count=3:length_ms=40")
    a = A.analyze(y, SR)
    assert a.dropout_count == 3
    assert a.dropout_total_s == pytest.approx(0.12, abs=0.002)


def test_snr_estimates_are_ordered_and_roughly_right(speech):
    for name, x in speech.items():
        low = A.analyze(damaged(x, "noise:snr_db=10:kind=white"), SR).snr_db
        high = A.analyze(damaged(x, "noise:snr_db=30:kind=white"), SR).snr_db
        pink = A.analyze(damaged(x, "noise:snr_db=10:kind=pink"), SR).snr_db
        assert low == pytest.approx(10, abs=2.5), name
        assert pink == pytest.approx(10, abs=2.5), name
        assert high > low + 8, name
        # The recordings' own noise adds to 30 dB of white noise: at most 30.
        assert 17 < high < 31, name


@pytest.mark.parametrize("cutoff, lo, hi", [(3400, 3300, 4000), (4000, 3900, 4600), (7000, 6900, 7500)])
def test_bandwidth_of_a_lowpassed_signal(allison, cutoff, lo, hi):
    a = A.analyze(damaged(allison, f"lowpass:cutoff_hz={cutoff}"), SR)
    assert lo <= a.bandwidth_hz <= hi
    assert ("denoise" in dict(a.indicated())) == (cutoff < 6000)


def test_contours_and_loudness_of_the_input(allison):
    a = A.analyze(allison, SR)
    assert 0.5 < a.voiced_fraction < 0.95 and 150 < a.f0_median_hz < 250
    assert len(a.f0_hz) == int(len(allison) / SR * 1000 / 5.0) + 1
    assert len(a.loudness) > 250
    assert -25 < a.loudness_lufs < -10


def test_as_row_is_flat_and_the_input_unchanged(allison):
    x = damaged(allison, "clip:fraction=0.02,hum:freq_hz=50")
    before = x.copy()
    row = A.analyze(x, SR).as_row()
    assert np.array_equal(x, before)
    assert all(isinstance(v, (int, float, str, bool)) or v is None for v in row.values())
    assert {"dc_offset", "clipped_fraction", "hum_hz", "hum_level_db", "dropout_count", "snr_db",
            "bandwidth_hz", "loudness_lufs"} <= set(row)


def test_thresholds_decide_what_is_indicated(allison):
    a = A.analyze(damaged(allison, "dc:offset=0.002"), SR)
    assert "dc" not in dict(a.indicated())
    assert "dc" in dict(a.indicated(dataclasses.replace(A.Thresholds(), dc_offset=0.001)))


def test_silence_and_short_input_do_not_fail():
    for x in (np.zeros((SR, 1), np.float32), harmonic_tone(200.0, 0.05)[:, None]):
        a = A.analyze(x, SR)
        assert a.dropout_count == 0 and a.hum_hz is None
