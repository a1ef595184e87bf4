"""Loudness: ITU-R BS.1770 K-weighting and the short-time loudness contour.

The K-weighting filters are pyloudnorm's (``pyloudnorm.IIRfilter``), designed for any sample
rate with the constants of pyloudnorm's ``Meter``: a +4 dB high shelf at 1500 Hz followed by a
38 Hz high-pass (BS.1770-4, eq. 1-2 "pre-filter" and "RLB filter").
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from pyloudnorm import IIRfilter

#: Contour window and hop in milliseconds.
WINDOW_MS = 20.0
HOP_MS = 10.0


def k_weighting_sos(sr: int) -> np.ndarray:
    """Second-order sections of the BS.1770 K-weighting filter at ``sr`` Hz."""
    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sr, "high_shelf")
    highpass = IIRfilter(0.0, 0.5, 38.0, sr, "high_pass")
    return np.vstack([scipy.signal.tf2sos(shelf.b, shelf.a), scipy.signal.tf2sos(highpass.b, highpass.a)])


def k_weight(x: np.ndarray, sr: int) -> np.ndarray:
    """K-weighted copy of ``x`` along axis 0 (float64)."""
    return scipy.signal.sosfilt(k_weighting_sos(sr), np.asarray(x, dtype=np.float64), axis=0)


def loudness_contour(x: np.ndarray, sr: int, window_ms: float = WINDOW_MS,
                     hop_ms: float = HOP_MS) -> np.ndarray:
    """K-weighted RMS amplitude (linear, full scale 1) per window.

    Parameters
    ----------
    x : 1-D mono float audio (``(n, ch)`` input is averaged to mono first).
    sr : sample rate in Hz.
    window_ms, hop_ms : analysis window and hop in milliseconds. Defaults: 20 and 10.

    Returns one value per hop: frame ``i`` covers samples ``[i*hop, i*hop + win)``; a signal
    shorter than one window gives a single frame over the whole signal.
    """
    if x.ndim == 2:
        x = x.mean(axis=1)
    weighted = k_weight(x, sr)
    win = max(1, int(round(sr * window_ms / 1000.0)))
    hop = max(1, int(round(sr * hop_ms / 1000.0)))
    if len(weighted) <= win:
        return np.array([np.sqrt(np.mean(weighted**2))]) if len(weighted) else np.zeros(1)
    power = weighted**2
    # Windowed mean power via a cumulative sum: O(n) for any window length.
    csum = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, len(power) - win + 1, hop)
    mean_power = (csum[starts + win] - csum[starts]) / win
    return np.sqrt(np.maximum(mean_power, 0.0))
