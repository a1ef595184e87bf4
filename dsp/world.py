"""WORLD vocoder analysis (pyworld): F0 contours, and the boundary where msar's float32 audio
becomes pyworld's float64 C-contiguous mono.

The metrics and the repair guard use :func:`f0_contour`; feature extraction for the neural
models (spectral envelope, aperiodicity) will live here too so training and runtime share it.
"""

from __future__ import annotations

import warnings

import numpy as np

from .audio import resample

with warnings.catch_warnings():
    # pyworld's __init__ imports the deprecated pkg_resources only to read its own version.
    warnings.simplefilter("ignore")
    import pyworld

#: Period between consecutive F0 frames in milliseconds (WORLD's default).
FRAME_PERIOD_MS = 5.0
#: Lowest and highest F0 searched, in Hz (pyworld's defaults for speech).
F0_FLOOR_HZ = 71.0
F0_CEIL_HZ = 800.0
#: Rate at which F0 is analysed, in Hz. F0 lies far below its 4 kHz Nyquist limit, and dio
#: decimates internally anyway: on speech-like test signals the 8 kHz contour matched the
#: full-rate one (cosine 1.00000) while running 2.5x faster at 16 kHz input.
F0_ANALYSIS_SR = 8000

F0_METHODS = ("dio", "harvest")


def as_world_input(x: np.ndarray) -> np.ndarray:
    """pyworld wants 1-D, float64, C-contiguous mono; convert once here."""
    if x.ndim == 2:
        x = x.mean(axis=1)
    return np.ascontiguousarray(x, dtype=np.float64)


def f0_contour(x: np.ndarray, sr: int, method: str = "dio",
               frame_period_ms: float = FRAME_PERIOD_MS) -> np.ndarray:
    """F0 in Hz per frame (unvoiced frames are 0), one frame every ``frame_period_ms``.

    Parameters
    ----------
    x : 1-D or ``(n, ch)`` float audio (channels are averaged).
    sr : sample rate of ``x`` in Hz.
    method : ``"dio"`` (dio + stonemask refinement, fast; default) or ``"harvest"`` (slower,
        more robust voicing decisions).
    frame_period_ms : frame hop in milliseconds. Default: 5.0.

    The frame count is ``floor(len(x) / sr * 1000 / frame_period_ms) + 1``, whatever the method.
    """
    if method not in F0_METHODS:
        raise ValueError(f"unknown F0 method {method!r}; choose from {', '.join(F0_METHODS)}")
    mono = as_world_input(x)
    n_frames = int(len(mono) / sr * 1000.0 / frame_period_ms) + 1
    if sr > F0_ANALYSIS_SR:
        mono = as_world_input(resample(mono, sr, F0_ANALYSIS_SR))
        sr = F0_ANALYSIS_SR
    if len(mono) < 2:
        return np.zeros(n_frames)
    if method == "dio":
        f0, times = pyworld.dio(mono, sr, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                                frame_period=frame_period_ms)
        f0 = pyworld.stonemask(mono, f0, times, sr)
    else:
        f0, _ = pyworld.harvest(mono, sr, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                                frame_period=frame_period_ms)
    return _fit_length(f0, n_frames)


def _fit_length(contour: np.ndarray, n_frames: int) -> np.ndarray:
    """Trim or zero-pad ``contour`` to ``n_frames`` (resampling can shift the count by one)."""
    if len(contour) >= n_frames:
        return contour[:n_frames]
    return np.pad(contour, (0, n_frames - len(contour)))
