"""Signal processing of the resynthesis repair path (``msar repair --mode resynth``), shared by
training (``train/resynth``) and the runtime (``msar.onnx_models.resynth``), so the network never
sees input features the runtime cannot produce (RNNoise's rule).

- :func:`logmel_frames`: the model's input, log-mel power of the damaged audio, one frame per
  WORLD frame (frame ``k`` is centred on sample ``k · hop``, as WORLD's frame ``k`` is at
  ``k · frame_period_ms``), so row ``k`` of the input and row ``k`` of
  :func:`msar.dsp.world.world_features` describe the same instant.
- :func:`measure_bandwidth`: the analysis stage's effective-bandwidth measurement
  (``msar.dsp.analysis.estimate_bandwidth``) on a mono signal; the model gets it as an input.
- :func:`band_merge`: the hybrid output. The input's own band below an edge and the resynthesis
  above it, through complementary linear-phase FIR filters (low-pass ``h`` and ``δ - h`` with the
  same delay, applied zero-phase), so that merging a signal with itself returns it exactly and
  nothing in the kept band is phase-shifted.
"""

from __future__ import annotations

import numpy as np

from . import analysis, world


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin_hz: float = 0.0, fmax_hz: float | None = None) -> np.ndarray:
    """Triangular mel filters ``(n_mels, n_fft // 2 + 1)`` float32 on the HTK mel scale
    (mel = 2595 log10(1 + f / 700)), each peaking at 1 (no area normalisation)."""
    fmax_hz = sr / 2 if fmax_hz is None else fmax_hz
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)  # noqa: E731
    hz = lambda m: 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)  # noqa: E731
    edges = hz(np.linspace(mel(fmin_hz), mel(fmax_hz), n_mels + 2))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - freqs[None, :]) / np.maximum(hi - mid, 1e-9)
    return np.clip(np.minimum(up, down), 0.0, None).astype(np.float32)


#: Floor added to the mel power before the log (-100 dB re a full-scale bin): digital silence
#: gives a finite feature.
LOGMEL_FLOOR = 1e-10


def n_frames_of(n_samples: int, hop: int) -> int:
    """WORLD's frame count for ``n_samples`` at one frame per ``hop`` samples:
    ``floor(n_samples / hop) + 1`` (``msar.dsp.world.world_features``' contract)."""
    return n_samples // hop + 1


def logmel_frames(x: np.ndarray, hop: int, n_fft: int, fbank: np.ndarray, n_frames: int | None = None) -> np.ndarray:
    """Natural-log mel power ``(n_frames, n_mels)`` float32 of mono ``x``.

    Frame ``k`` is a periodic-Hann window of ``n_fft`` samples centred on sample ``k · hop``
    (zeros outside ``x``). Default ``n_frames``: :func:`n_frames_of` ``(len(x), hop)``. A frame
    needs ``n_fft / 2`` samples after its centre: that is the model's look-ahead in samples.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n_frames = n_frames_of(len(x), hop) if n_frames is None else n_frames
    half = n_fft // 2
    need = (n_frames - 1) * hop + n_fft
    padded = np.zeros(max(need, half + len(x)))
    padded[half:half + len(x)] = x
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    out = np.empty((n_frames, fbank.shape[0]), dtype=np.float32)
    step = 2048  # frames per FFT batch: bounded memory on long files
    for i in range(0, n_frames, step):
        idx = np.arange(i, min(i + step, n_frames))[:, None] * hop + np.arange(n_fft)[None, :]
        p = np.abs(np.fft.rfft(padded[idx] * win, axis=1)) ** 2
        out[i:i + step] = np.log(p @ fbank.T.astype(np.float64) + LOGMEL_FLOOR)
    return out


def measure_bandwidth(x: np.ndarray, sr: int, params: analysis.AnalysisParams = analysis.AnalysisParams()) -> float:
    """Effective bandwidth in Hz of mono ``x``: the analysis stage's measurement (same STFT and
    the same :func:`msar.dsp.analysis.estimate_bandwidth`), so training and ``--report`` agree."""
    mono = np.asarray(x, dtype=np.float64).reshape(-1)
    mono = mono - mono.mean() if len(mono) else mono
    power, freqs = analysis._stft_power(mono, sr, params.stft_ms)
    return analysis.estimate_bandwidth(power, freqs, params)


def input_features(x: np.ndarray, sr: int, hop: int, n_fft: int, fbank: np.ndarray, n_frames: int | None = None,
                   bandwidth_hz: float | None = None, f0: bool = True,
                   f0_hz: np.ndarray | None = None) -> np.ndarray:
    """The restoration model's un-normalized input ``(n_frames, n_mels + 1 [+ 2])`` float32 of
    mono ``x`` at ``sr`` Hz (training and runtime both call this):

    - :func:`logmel_frames` (``n_mels`` columns);
    - the measured bandwidth as a fraction of Nyquist (:func:`measure_bandwidth`, or
      ``bandwidth_hz``), constant over the file;
    - with ``f0``: the input's own WORLD F0 (``world.f0_contour``, dio + stonemask at 8 kHz:
      the guard's contour) as interpolated log F0 and a voicing flag. A band-limited input still
      carries its harmonics, so the model need not find the pitch in the log-mel alone. Frames past
      the end of ``x`` (the look-ahead) read unvoiced. ``f0_hz``: that contour when the caller
      has it already (it is the costly part).
    """
    mel = logmel_frames(x, hop, n_fft, fbank, n_frames)
    n = len(mel)
    bw = measure_bandwidth(x, sr) if bandwidth_hz is None else float(bandwidth_hz)
    cols = [mel, np.full((n, 1), min(bw / (sr / 2), 1.0), np.float32)]
    if f0:
        f = f0_hz if f0_hz is not None else world.f0_contour(x, sr) if len(x) else np.zeros(1)
        f = f[:n] if len(f) >= n else np.pad(f, (0, n - len(f)))
        cols += [world.interp_lf0(f)[:, None].astype(np.float32), (f > 0)[:, None].astype(np.float32)]
    return np.concatenate(cols, axis=1)


def lowpass_fir(sr: int, edge_hz: float, transition_hz: float) -> np.ndarray:
    """Linear-phase low-pass FIR (odd length, Kaiser-windowed sinc, ~60 dB stop band) whose
    -6 dB point is ``edge_hz`` and whose transition band is ``transition_hz`` wide."""
    from scipy.signal import firwin, kaiserord

    n, beta = kaiserord(60.0, transition_hz / (sr / 2))
    n |= 1  # odd: a whole-sample delay, so δ - h is the exact complement
    return firwin(n, edge_hz, window=("kaiser", beta), fs=sr)


def band_merge(low_src: np.ndarray, high_src: np.ndarray, sr: int, edge_hz: float,
               transition_hz: float = 400.0) -> np.ndarray:
    """``low_src`` below ``edge_hz`` plus ``high_src`` above it (1-D, same length, float32).

    Complementary linear-phase filters: ``y = h * low_src + (δ - h) * high_src`` with ``h``
    from :func:`lowpass_fir`, both applied zero-phase (centred convolution), so
    ``band_merge(x, x) == x`` to rounding and the kept band keeps its phase. ``edge_hz`` at or
    above Nyquist returns ``low_src``.
    """
    from scipy.signal import fftconvolve

    low_src = np.asarray(low_src, dtype=np.float64)
    high_src = np.asarray(high_src, dtype=np.float64)
    if low_src.shape != high_src.shape:
        raise ValueError(f"band_merge needs equal lengths, got {low_src.shape} and {high_src.shape}")
    if edge_hz >= sr / 2 - transition_hz / 2:
        return low_src.astype(np.float32)
    h = lowpass_fir(sr, edge_hz, transition_hz)
    d = len(h) // 2
    diff = low_src - high_src
    # h * low + (δ - h) * high = high + h * (low - high): one convolution.
    y = high_src + fftconvolve(diff, h, mode="full")[d:d + len(diff)]
    return y.astype(np.float32)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], np.asarray(flags, dtype=np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def fill_missing(x: np.ndarray, fill: np.ndarray, missing: np.ndarray, sr: int, fade_ms: float = 10.0,
                 max_lag_ms: float = 5.0, mix: float = 1.0) -> np.ndarray:
    """``x`` (1-D) with its ``missing`` samples (boolean, ``x``'s length) taken from ``fill``
    (1-D, same length and rate): float32, unchanged outside ``missing``.

    Inside each run of missing samples the output cross-fades from ``x`` (the DSP concealment,
    continuous with the audio around the gap) to ``fill`` over ``fade_ms`` from either edge with a
    raised cosine, so nothing jumps at the edges; a run shorter than two fades never reaches
    ``fill`` alone. Phase: per run, ``fill`` is shifted by the lag within ±``max_lag_ms`` that
    maximises its correlation with ``x`` over the two fade zones, so in the cross-fades the two
    waveforms add in phase rather than cancelling (a WORLD resynthesis keeps the pitch contour
    but not the waveform's phase). 5 ms covers half a pitch period down to 100 Hz. ``mix`` (0..1):
    the share of ``fill`` once both fades are complete (1: ``fill`` alone).
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    fill = np.asarray(fill, dtype=np.float64).reshape(-1)
    missing = np.asarray(missing, dtype=bool).reshape(-1)
    if not (len(x) == len(fill) == len(missing)):
        raise ValueError(f"fill_missing needs equal lengths, got {len(x)}, {len(fill)}, {len(missing)}")
    y = x.copy()
    fade = max(1, int(round(fade_ms * sr / 1000)))
    max_lag = int(round(max_lag_ms * sr / 1000))
    for s, e in _runs(missing):
        n = e - s
        k = np.arange(n)
        # raised cosine from 0 at each edge to 1 after `fade` samples, the lower of the two ramps
        ramp = lambda m: 0.5 - 0.5 * np.cos(np.pi * np.minimum(m + 0.5, fade) / fade)  # noqa: E731
        w = np.minimum(ramp(k), ramp(n - 1 - k))
        zone = w < 1.0
        w = mix * w
        best, best_c = 0, -np.inf
        for lag in range(-max_lag, max_lag + 1):
            lo, hi = s - lag, e - lag
            if lo < 0 or hi > len(fill):
                continue
            seg = fill[lo:hi]
            c = float(np.dot(seg[zone], x[s:e][zone]))
            if c > best_c:
                best, best_c = lag, c
        lo, hi = s - best, e - best
        seg = fill[lo:hi] if 0 <= lo and hi <= len(fill) else fill[s:e]
        y[s:e] = (1.0 - w) * x[s:e] + w * seg
    return y.astype(np.float32)
