"""A file above the model's rate comes out wideband, its upper band treated with the model's gains."""

from __future__ import annotations

import numpy as np
import pytest

from msar.dsp import audio
from msar.onnx_models.runtime import enhance

from conftest import DEMO_SPEECH

SR = 48000


def band_db(z: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    power = np.abs(np.fft.rfft(z.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(z), 1 / SR)
    return float(10 * np.log10(power[(freqs >= lo_hz) & (freqs < hi_hz)].sum()))


@pytest.fixture(scope="module")
def speech_48k() -> np.ndarray:
    x, info = audio.read(DEMO_SPEECH)
    x = audio.resample(audio.to_mono(x), info.sr, SR)
    t = np.arange(len(x)) / SR
    return (x + 0.01 * np.sin(2 * np.pi * 12000 * t)).astype(np.float32)  # content the 16 kHz model never sees


def test_zero_strength_returns_the_input_exactly_at_48k(speech_48k):
    np.testing.assert_allclose(enhance(speech_48k, SR, strength=0.0), speech_48k, atol=1e-6)


def test_upper_band_is_kept_for_clean_and_attenuated_for_noisy_input(speech_48k):
    assert band_db(enhance(speech_48k, SR), 9000, 20000) == pytest.approx(band_db(speech_48k, 9000, 20000), abs=1.5)
    noisy = speech_48k + 0.03 * np.random.default_rng(0).standard_normal(len(speech_48k)).astype(np.float32)
    repaired = enhance(noisy, SR)
    # Without the wideband path the band would be gone (about -40 dB); with it, noise is reduced.
    assert band_db(speech_48k, 9000, 20000) - 3 < band_db(repaired, 9000, 20000) < band_db(noisy, 9000, 20000) - 3


def test_stereo_channels_are_each_repaired_and_kept(speech_48k):
    stereo = np.stack([speech_48k, 0.5 * speech_48k], axis=1)
    y = enhance(stereo, SR)
    assert y.shape == stereo.shape
    np.testing.assert_allclose(y[:, 1], enhance(0.5 * speech_48k, SR), atol=1e-6)
