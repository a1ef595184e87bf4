"""Property-based tests (hypothesis) over the DSP stages, the damages and the metrics: finite
output with the input's length and channel count, metric ranges, a signal against itself scores
ideally, cosine metrics ignore gain. Examples are small and few, so the file runs in seconds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from msar.dsp import metrics
from msar.dsp.degrade import degrade, parse_recipe
from msar.dsp.repair.pipeline import PipelineParams, repair

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])

rates = st.sampled_from([8000, 16000, 44100])


@st.composite
def audio(draw, min_len: int = 1, max_len: int = 2400, max_channels: int = 3):
    """(x, sr): float32 (n, ch) within ±1, either arbitrary samples or a structured signal
    (a tone with DC, optional clipping and a digital-silence gap), so stages find something."""
    sr = draw(rates)
    n = draw(st.integers(min_len, max_len))
    ch = draw(st.integers(1, max_channels))
    if draw(st.booleans()):
        x = draw(hnp.arrays(np.float32, (n, ch), elements=st.floats(-1, 1, width=32)))
    else:
        t = np.arange(n) / sr
        f0 = draw(st.floats(60, 1000))
        amp = draw(st.floats(0, 1.5))
        x = amp * np.sin(2 * np.pi * f0 * t)[:, None] + draw(st.floats(-0.3, 0.3))
        if draw(st.booleans()):
            x = np.clip(x, -0.5, 0.5)
        if n > 20 and draw(st.booleans()):
            x[n // 3: n // 3 + n // 10] = 0.0
        x = np.repeat(x, ch, axis=1) * np.linspace(1.0, 0.5, ch)
        x = np.clip(x, -1, 1).astype(np.float32)
    return x, sr


def _shape_and_finite(x: np.ndarray, y: np.ndarray) -> None:
    assert y.shape == x.shape
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y))


# ----------------------------------------------------------------------------- repair stages

@pytest.mark.parametrize("stage", ["dc", "hum", "declip", "dropouts", "loudness"])
@SETTINGS
@given(signal=audio())
def test_each_forced_repair_stage_keeps_shape_and_stays_finite(stage, signal):
    x, sr = signal
    result = repair(x, sr, PipelineParams(stages=(stage,), force=True), run_guard=False)
    _shape_and_finite(x, result.y)


@SLOW
@given(signal=audio(), target=st.one_of(st.none(), st.floats(-40, -10)))
def test_the_whole_dsp_pipeline_keeps_shape_and_stays_finite(signal, target):
    from dataclasses import replace

    from msar.dsp.repair.loudness import LoudnessParams

    x, sr = signal
    params = PipelineParams(stages=("dc", "hum", "declip", "dropouts", "loudness"),
                            loudness=replace(LoudnessParams(), target_lufs=target))
    result = repair(x, sr, params)
    _shape_and_finite(x, result.y)
    if target is not None:  # the limiter keeps the output within full scale
        assert np.max(np.abs(result.y), initial=0.0) <= 1.0


# ----------------------------------------------------------------------------- damages

# Every damage that runs without recordings or ffmpeg (those are covered in test_degrade.py).
DAMAGE_RECIPES = ["noise:kind=white", "noise:kind=pink,snr_db=-5", "noise:kind=brown", "reverb:model=exp",
                  "clip", "clip:mode=soft,level=0.2", "lowpass", "highpass", "codec:codec=mulaw",
                  "codec:codec=alaw", "dropout:count=5,length_ms=10", "hum", "dc", "quantize:bits=4",
                  "gain:count=3,jump_db=20"]


@pytest.mark.parametrize("recipe", DAMAGE_RECIPES)
@SETTINGS
@given(signal=audio(), seed=st.integers(0, 2**32 - 1))
def test_each_damage_keeps_shape_and_stays_finite(recipe, signal, seed):
    x, sr = signal
    y, applied = degrade(x, sr, parse_recipe(recipe), np.random.default_rng(seed))
    _shape_and_finite(x, y)
    assert len(applied) == 1


@SETTINGS
@given(signal=audio(), seed=st.integers(0, 2**32 - 1))
def test_a_damage_is_deterministic_for_a_seed(signal, seed):
    x, sr = signal
    recipe = parse_recipe("mix")
    y1, a1 = degrade(x, sr, recipe, np.random.default_rng(seed))
    y2, a2 = degrade(x, sr, recipe, np.random.default_rng(seed))
    assert np.array_equal(y1, y2) and a1 == a2


# ----------------------------------------------------------------------------- metrics

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
contours = hnp.arrays(np.float64, st.integers(1, 50), elements=finite)


@SETTINGS
@given(a=contours, b=contours)
def test_cosine_is_within_minus_one_and_one(a, b):
    assert -1.0 <= metrics.cosine(a, b) <= 1.0


@SETTINGS
@given(a=contours, gain=st.floats(1e-3, 1e3))
def test_cosine_ignores_positive_gain_and_of_itself_is_one(a, gain):
    assume(np.linalg.norm(a) > 1e-6)
    assert metrics.cosine(a, a) == pytest.approx(1.0)
    assert metrics.cosine(a, gain * a) == pytest.approx(1.0)


@SETTINGS
@given(data=st.data(), n=st.integers(0, 200))
def test_mse_is_non_negative_symmetric_and_zero_on_itself(data, n):
    a = data.draw(hnp.arrays(np.float64, n, elements=finite))
    b = data.draw(hnp.arrays(np.float64, n, elements=finite))
    assert metrics.mse(a, b) >= 0.0
    assert metrics.mse(a, b) == metrics.mse(b, a)
    assert metrics.mse(a, a) == 0.0


@SETTINGS
@given(m=st.floats(0, 10), cp=st.floats(0, 1), cl=st.floats(0, 1))
def test_q_is_non_negative_for_cosines_in_0_1_and_zero_when_ideal(m, cp, cl):
    assert metrics.q_score(m, cp, cl) >= 0.0
    assert metrics.q_score(0.0, 1.0, 1.0) == 0.0


@st.composite
def voiced(draw):
    """A short harmonic tone at 16 kHz with a drawn F0 and a few partials."""
    sr = 16000
    n = draw(st.integers(2400, 6400))
    f0 = draw(st.floats(90, 400))
    t = np.arange(n) / sr
    x = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
    return (0.3 * x / np.max(np.abs(x))).astype(np.float64), sr


@SLOW
@given(signal=voiced(), gain=st.floats(0.05, 3.0))
def test_pitch_and_loudness_cosines_ignore_gain_and_of_itself_are_one(signal, gain):
    x, sr = signal
    assert metrics.cos_pitch(x, x, sr) == pytest.approx(1.0)
    assert metrics.cos_loudness(x, x, sr) == pytest.approx(1.0)
    assert metrics.cos_loudness(x, gain * x, sr) == pytest.approx(1.0, abs=1e-9)
    assert metrics.cos_pitch(x, gain * x, sr) == pytest.approx(1.0, abs=1e-6)


@SLOW
@given(ref=audio(min_len=800, max_channels=1), out=audio(min_len=800, max_channels=1))
def test_metrics_of_any_two_signals_respect_their_ranges(ref, out):
    (r, sr), (o, _) = ref, out
    n = min(len(r), len(o))
    r, o = r[:n, 0].astype(np.float64), o[:n, 0].astype(np.float64)
    m, cp, cl = metrics.mse(r, o), metrics.cos_pitch(r, o, sr), metrics.cos_loudness(r, o, sr)
    assert m >= 0.0
    assert 0.0 <= cp <= 1.0  # F0 >= 0 Hz and loudness >= 0: the cosine cannot be negative
    assert 0.0 <= cl <= 1.0
    assert metrics.q_score(m, cp, cl) >= 0.0
    assert metrics.q_score(metrics.mse(r, r), metrics.cos_pitch(r, r, sr), metrics.cos_loudness(r, r, sr)) \
        == pytest.approx(0.0, abs=1e-12)
