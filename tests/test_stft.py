"""msar.dsp.stft: perfect reconstruction, causal framing, and streaming == one-shot."""

from __future__ import annotations

import numpy as np
import pytest

from msar.dsp import stft as S

N_FFT, HOP = 512, 256


@pytest.mark.parametrize("n_fft,hop", [(512, 256), (64, 32), (64, 16)])
def test_sqrt_hann_pair_overlap_adds_to_one(n_fft, hop):
    w = S.sqrt_hann(n_fft) * S.synthesis_window(n_fft, hop)
    np.testing.assert_allclose(w.reshape(-1, hop).sum(axis=0), 1.0, atol=1e-12)


def test_hop_that_does_not_overlap_add_is_refused():
    with pytest.raises(ValueError):
        S.check_cola(512, 384)


@pytest.mark.parametrize("n", [1, 255, 256, 257, 4000])
@pytest.mark.parametrize("n_fft,hop", [(512, 256), (64, 16)])
def test_istft_of_stft_reconstructs_the_signal(rng, n, n_fft, hop):
    x = rng.standard_normal(n)
    spec = S.stft(x, n_fft, hop)
    assert spec.shape == (S.n_frames(n, n_fft, hop), n_fft // 2 + 1)
    y = S.istft(spec, n_fft, hop, length=n)
    np.testing.assert_allclose(y, x, atol=1e-12)


def test_framing_is_causal():
    # A click at sample 1000 shows up first in the frame that ends just after it, not earlier.
    x = np.zeros(4096)
    x[1000] = 1.0
    energy = np.abs(S.stft(x, N_FFT, HOP)).sum(axis=1)
    first = int(np.argmax(energy > 0))
    assert first * HOP - (N_FFT - HOP) <= 1000 < first * HOP - (N_FFT - HOP) + N_FFT
    assert first == (1000 + N_FFT - HOP) // HOP - (N_FFT // HOP - 1)


def test_log_power_of_silence_is_the_floor_and_finite():
    feat = S.log_power(S.stft(np.zeros(1000), N_FFT, HOP))
    assert feat.dtype == np.float32
    np.testing.assert_allclose(feat, np.log(S.LOG_POWER_FLOOR), rtol=1e-6)


@pytest.mark.parametrize("block", [1, 100, HOP, 7 * HOP, 5000])
def test_streaming_stft_equals_one_shot(rng, block):
    x = rng.standard_normal(5000)
    ana = S.StreamingStft(N_FFT, HOP)
    frames = [ana.push(x[i:i + block]) for i in range(0, len(x), block)] + [ana.flush()]
    np.testing.assert_allclose(np.concatenate(frames), S.stft(x, N_FFT, HOP), atol=1e-10)


@pytest.mark.parametrize("block", [1, 3, 50])
def test_streaming_istft_equals_one_shot_after_the_delay(rng, block):
    x = rng.standard_normal(3000)
    spec = S.stft(x, N_FFT, HOP)
    syn = S.StreamingIstft(N_FFT, HOP)
    y = np.concatenate([syn.push(spec[i:i + block]) for i in range(0, len(spec), block)])
    delay = S.delay_samples(N_FFT, HOP)
    assert delay == 256
    np.testing.assert_allclose(y[delay:delay + len(x)], x, atol=1e-12)
    np.testing.assert_allclose(y[:delay], 0.0, atol=1e-12)
