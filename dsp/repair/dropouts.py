"""Dropout concealment: fill gaps of digital silence by AR extrapolation from both sides.

Gaps are found by :func:`msar.dsp.analysis.find_dropouts` (runs of exact zeros inside
non-silent audio), or given as a mask. Each gap is filled the way Kauppinen & Roth restore
lost audio ("Audio signal extrapolation - theory and applications", DAFx 2002) and Etter's
two-sided interpolation does ("Restoration of a discrete-time signal segment by interpolation
based on the left-sided and right-sided autoregressive parameters", IEEE Trans. SP 1996):
a Burg AR model of order ``order_ms`` (long enough to hold a pitch period of a voice down to
about 60 Hz, so voiced speech is continued periodically) is fitted to ``context_ms`` of audio
before the gap and continues it forwards; another, fitted to the audio after the gap,
continues it backwards in time; the two are cross-faded with a raised-cosine over the gap.
Each extrapolation is continuous with its own side, so no click is added at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis import AnalysisParams, dropout_mask
from ._common import as_2d, finish, runs
from .ar import burg, extrapolate


@dataclass(frozen=True)
class DropoutParams:
    #: AR order as a duration, milliseconds (16 ms: 256 at 16 kHz, a 62.5 Hz pitch period).
    order_ms: float = 16.0
    #: Audio modelled on each side of a gap, milliseconds.
    context_ms: float = 64.0
    #: How dropouts are found when no mask is given (see ``analysis.find_dropouts``).
    detect: AnalysisParams = AnalysisParams()


def _side(context: np.ndarray, order: int, n: int) -> np.ndarray:
    """``n`` samples continuing ``context`` (empty context: zeros), limited to twice the
    context's peak so that a nearly unstable model cannot blow up over a long gap."""
    if len(context) < 8 or not np.any(context):
        return np.zeros(n)
    a = burg(context, min(order, len(context) // 2))
    y = extrapolate(context, a, n)
    limit = 2.0 * np.max(np.abs(context))
    return np.clip(y, -limit, limit)


def _conceal_channel(x: np.ndarray, mask: np.ndarray, sr: int, params: DropoutParams) -> np.ndarray:
    y = x.copy()
    order = max(2, int(round(params.order_ms * sr / 1000)))
    ctx = max(order + 8, int(round(params.context_ms * sr / 1000)))
    gaps = runs(mask)
    for i, (s, e) in enumerate(gaps):
        # Context stops at the neighbouring gaps: earlier ones are already filled (usable),
        # later ones are not.
        left = y[max(0, s - ctx):s]
        right_end = min(len(y), e + ctx, gaps[i + 1][0] if i + 1 < len(gaps) else len(y))
        right = y[e:right_end]
        n = e - s
        fwd = _side(left, order, n)
        bwd = _side(right[::-1], order, n)[::-1]
        if len(right) < 8:
            fade = np.ones(n)
        elif len(left) < 8:
            fade = np.zeros(n)
        else:
            fade = 0.5 * (1 + np.cos(np.pi * (np.arange(n) + 0.5) / n))
        y[s:e] = fade * fwd + (1 - fade) * bwd
    return y


def conceal_dropouts(x: np.ndarray, sr: int, params: DropoutParams = DropoutParams(),
                     mask: np.ndarray | None = None) -> np.ndarray:
    """``x`` (1-D or ``(n, ch)``) with its dropouts filled (see module docstring).

    Parameters
    ----------
    x : float audio, full scale ±1.
    sr : sample rate in Hz.
    params : AR order and context, and the detection settings.
    mask : optional boolean array of ``x``'s shape marking the lost samples (the pipeline passes
        the mask found on its input, before DC or hum removal lifted the gaps off zero).
        None: detected on ``x``.

    Returns float32 of the same shape; samples outside the gaps are unchanged.
    """
    x2, was_1d = as_2d(x)
    m2 = dropout_mask(x2, sr, params.detect) if mask is None else np.asarray(mask, dtype=bool).reshape(x2.shape)
    y = x2.copy()
    for c in range(x2.shape[1]):
        if np.any(m2[:, c]):
            y[:, c] = _conceal_channel(x2[:, c], m2[:, c], sr, params)
    return finish(y, x, was_1d)
