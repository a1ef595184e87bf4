"""Band-limiting: Butterworth low-pass (``lowpass``) and high-pass (``highpass``) filters.

Filtered forwards and backwards (``scipy.signal.sosfiltfilt``): zero phase, so the damaged file
stays sample-aligned with the clean one, and the magnitude response is the Butterworth one
squared (-6 dB at the cutoff, 2·order·6 dB per octave beyond it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from .base import finish, param

#: A cutoff this close to Nyquist (as a fraction of sr/2) or above leaves the signal unchanged.
NYQUIST_MARGIN = 0.98


@dataclass(frozen=True)
class LowpassParams:
    cutoff_hz: float = param(3400.0, lo=20.0, hi=96000.0, help="cutoff frequency in Hz")
    order: int = param(8, lo=1, hi=16, help="Butterworth order (applied twice, forwards and backwards)")


@dataclass(frozen=True)
class HighpassParams:
    cutoff_hz: float = param(300.0, lo=1.0, hi=96000.0, help="cutoff frequency in Hz")
    order: int = param(4, lo=1, hi=16, help="Butterworth order (applied twice, forwards and backwards)")


def _filter(x: np.ndarray, sr: int, cutoff_hz: float, order: int, btype: str) -> tuple[np.ndarray, dict]:
    applied: dict = {"cutoff_hz": cutoff_hz, "order": order}
    if cutoff_hz >= NYQUIST_MARGIN * sr / 2:
        applied["note"] = f"cutoff at or above Nyquist ({sr / 2:g} Hz), unchanged"
        return finish(x, x), applied
    sos = signal.butter(order, cutoff_hz, btype=btype, fs=sr, output="sos")
    # sosfiltfilt's default edge padding is longer than very short inputs allow.
    padlen = min(3 * (2 * len(sos) + 1), x.shape[0] - 1)
    y = signal.sosfiltfilt(sos, x.astype(np.float64), axis=0, padlen=max(padlen, 0))
    return finish(y, x), applied


def lowpass(x: np.ndarray, sr: int, params: LowpassParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` low-pass filtered at ``params.cutoff_hz`` (unchanged if that is at Nyquist or above)."""
    return _filter(x, sr, params.cutoff_hz, params.order, "lowpass")


def highpass(x: np.ndarray, sr: int, params: HighpassParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` high-pass filtered at ``params.cutoff_hz`` (unchanged if that is at Nyquist or above)."""
    return _filter(x, sr, params.cutoff_hz, params.order, "highpass")
