"""Loudness stage: keep the level (default) or normalize to a LUFS target, true-peak safe.

Integrated loudness is ITU-R BS.1770-4 (pyloudnorm's ``Meter``). True peak follows BS.1770-4
Annex 2: the signal is oversampled 4x (polyphase FIR) and the largest absolute value taken.
Peaks above the ceiling (``true_peak_dbtp``, default -1 dBTP, the EBU R128 maximum) are brought
down by a look-ahead limiter: the needed gain reduction per sample (in dB) is spread by a
maximum filter over ±``limiter_ms`` and smoothed by a Hann window of the same span, which by
construction never reduces less than needed at a peak and moves the gain over about
2·``limiter_ms`` (no clicks). A final static trim covers what the 4x measurement still finds.

With ``target_lufs=None`` ("keep") the level is left alone unless the sample peak exceeds full
scale (declipping can rebuild peaks above it); then the limiter brings the peaks to the
ceiling, because writing an integer format would clip them again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage
import scipy.signal

from ..analysis import integrated_loudness
from ._common import as_2d, finish

#: Oversampling factor of the true-peak measurement (BS.1770-4 Annex 2: 4x at 48 kHz).
OVERSAMPLE = 4


@dataclass(frozen=True)
class LoudnessParams:
    #: Integrated loudness target in LUFS; None keeps the input's level ("keep").
    target_lufs: float | None = None
    #: True-peak ceiling, dBTP.
    true_peak_dbtp: float = -1.0
    #: Look-ahead / release half-span of the limiter, milliseconds.
    limiter_ms: float = 5.0


def true_peak_envelope(x: np.ndarray) -> np.ndarray:
    """Per-sample true-peak magnitude of ``(n, ch)`` audio: the largest absolute value among the
    4x-oversampled points around each sample, maximized over channels. Shape ``(n,)``."""
    up = scipy.signal.resample_poly(x, OVERSAMPLE, 1, axis=0)
    env = np.abs(up).max(axis=1)
    n = x.shape[0]
    env = np.pad(env, (0, max(0, n * OVERSAMPLE - len(env))))[:n * OVERSAMPLE]
    return env.reshape(n, OVERSAMPLE).max(axis=1)


def true_peak_dbtp(x: np.ndarray) -> float:
    """True peak of 1-D or ``(n, ch)`` audio in dBTP (4x oversampled, BS.1770-4 Annex 2)."""
    x2, _ = as_2d(x)
    if x2.size == 0:
        return float("-inf")
    peak = float(true_peak_envelope(x2).max())
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def limit(x2: np.ndarray, sr: int, ceiling_dbtp: float, limiter_ms: float) -> np.ndarray:
    """``(n, ch)`` float64 audio with true peaks brought to ``ceiling_dbtp`` (see module docstring)."""
    ceiling = 10 ** (ceiling_dbtp / 20)
    env = true_peak_envelope(x2)
    need_db = np.maximum(0.0, 20 * np.log10(np.maximum(env, 1e-12) / ceiling))
    if not np.any(need_db > 0):
        return x2
    half = max(1, int(round(limiter_ms * sr / 1000)))
    spread = scipy.ndimage.maximum_filter1d(need_db, size=2 * half + 1, mode="nearest")
    win = np.hanning(2 * half + 3)[1:-1]
    # "full" sliced to the input, not mode="same": that returns the window's length when the
    # signal is shorter than the window (a file of a few ms).
    smooth = np.convolve(spread, win / win.sum(), mode="full")[half:half + len(spread)]
    # Hann smoothing of a ±half maximum filter stays >= the need at each peak only up to
    # rounding; take the larger of the two so the guarantee is exact.
    gain = 10 ** (-np.maximum(smooth, need_db) / 20)
    y = x2 * gain[:, None]
    residual = float(true_peak_envelope(y).max())
    if residual > ceiling:
        y *= ceiling / residual
    return y


def normalize_loudness(x: np.ndarray, sr: int, params: LoudnessParams = LoudnessParams()) -> np.ndarray:
    """``x`` (1-D or ``(n, ch)``) at ``params.target_lufs`` with true peaks at or below
    ``params.true_peak_dbtp`` (see module docstring); with ``target_lufs=None`` the input
    unchanged unless its sample peak exceeds full scale. Files under one 400 ms gating block,
    or silent, have no integrated loudness and only get the peak treatment."""
    x2, was_1d = as_2d(x)
    y = x2
    if params.target_lufs is not None:
        measured = integrated_loudness(x2, sr)
        if np.isfinite(measured):
            y = x2 * 10 ** ((params.target_lufs - measured) / 20)
        y = limit(y, sr, params.true_peak_dbtp, params.limiter_ms)
    elif y.size and np.max(np.abs(y)) > 1.0:
        y = limit(y, sr, params.true_peak_dbtp, params.limiter_ms)
    return finish(y, x, was_1d)
