"""Declipping by constrained least-squares AR interpolation (Janssen, Veldhuis & Vries 1986).

Clipped samples (flat runs at a channel's positive or negative peak, found by
:func:`msar.dsp.analysis.clip_mask`, so clipping below full scale is found too) are treated
as missing. Around each group of clipped runs a block with ``context_ms`` of audio on either
side is modelled as an AR process of order ``order``; the missing samples are the
least-squares AR interpolation, re-estimating the AR model on the filled block for
``iterations`` rounds (Janssen's iteration). Each reconstructed sample is constrained to lie
beyond the clip level with the clipped sample's sign (the clipped value is a bound, not a
guess), enforced by an active-set loop in :func:`.ar.lsar_interpolate`.

Groups span at most ``block_ms``, so the linear systems stay small and the cost grows linearly
with the number of clipped samples; a block's right context may hold later clipped runs,
which are solved along (as unknowns) but kept only when their own group comes.

Reconstructed peaks may exceed full scale; the pipeline's loudness stage (or a gain) must
make room for them before writing an integer format.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis import AnalysisParams, clip_mask
from ._common import as_2d, finish, runs
from .ar import burg, lsar_interpolate


@dataclass(frozen=True)
class DeclipParams:
    #: AR model order. 30 models a 16 kHz voice's formants (2 poles per kHz plus spare) and
    #: keeps the banded normal matrix under LAPACK's block size (32), so its Cholesky runs the
    #: unblocked level-2 code: 10x faster than the blocked, threaded one for these small
    #: systems (measured 0.37 vs 3.8 ms for 200 unknowns on a loaded 2-core machine).
    order: int = 30
    #: Audio modelled on each side of a group of clipped runs, milliseconds.
    context_ms: float = 16.0
    #: Longest stretch of clipped runs solved as one group, milliseconds.
    block_ms: float = 16.0
    #: Janssen iterations (AR estimate, interpolate) per group.
    iterations: int = 3
    #: How clipped samples are found when no mask is given (see ``analysis.clip_mask``).
    detect: AnalysisParams = AnalysisParams()


def _declip_channel(x: np.ndarray, mask: np.ndarray, sr: int, params: DeclipParams) -> np.ndarray:
    y = x.copy()
    order = max(2, params.order)
    ctx = max(order * 2, int(round(params.context_ms * sr / 1000)))
    span = max(1, int(round(params.block_ms * sr / 1000)))
    clipped = runs(mask)
    i = 0
    while i < len(clipped):
        g_start = clipped[i][0]
        j = i
        while j + 1 < len(clipped) and clipped[j + 1][1] - g_start <= span:
            j += 1
        g_end = clipped[j][1]
        w0, w1 = max(0, g_start - ctx), min(len(y), g_end + ctx)
        block = y[w0:w1].copy()
        # Unknown: this group and later clipped runs in the right context; earlier runs in
        # the left context are already reconstructed and count as known.
        unknown = mask[w0:w1].copy()
        unknown[:g_start - w0] = False
        bounds = block[unknown]
        fill = block.copy()
        for _ in range(params.iterations):
            a = burg(fill, order)
            fill = lsar_interpolate(block, unknown, a, lower=bounds)
        y[g_start:g_end] = fill[g_start - w0:g_end - w0]
        i = j + 1
    return y


def declip(x: np.ndarray, sr: int, params: DeclipParams = DeclipParams(),
           mask: np.ndarray | None = None) -> np.ndarray:
    """``x`` (1-D or ``(n, ch)``) with its clipped samples reconstructed (see module docstring).

    Parameters
    ----------
    x : float audio, full scale ±1.
    sr : sample rate in Hz.
    params : AR order, context and block lengths, iterations, and the detection settings.
    mask : optional boolean array of ``x``'s shape marking the clipped samples (the pipeline
        passes the mask found on its input, before DC or hum removal moved the flat runs);
        the current value of each masked sample is its bound. None: detected on ``x``.

    Returns float32 of the same shape; samples outside the mask are unchanged.
    """
    x2, was_1d = as_2d(x)
    if mask is None:
        m2 = np.stack([clip_mask(x2[:, c], params.detect)[0] for c in range(x2.shape[1])], axis=1)
    else:
        m2 = np.asarray(mask, dtype=bool).reshape(x2.shape)
    y = x2.copy()
    for c in range(x2.shape[1]):
        if np.any(m2[:, c]):
            y[:, c] = _declip_channel(x2[:, c], m2[:, c], sr, params)
    return finish(y, x, was_1d)
