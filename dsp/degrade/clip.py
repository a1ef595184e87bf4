"""Clipping: hard (saturation at a threshold) or soft (a smooth knee up to the threshold).

The threshold is either given (``level``, linear full scale) or set from ``fraction``: the
(1 - fraction) quantile of |x| over all samples and channels, so that that fraction of samples
lies beyond it and gets clipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import finish, param

MODES = ("hard", "soft")

#: Fraction of samples clipped when neither ``fraction`` nor ``level`` is given.
DEFAULT_FRACTION = 0.01


@dataclass(frozen=True)
class ClipParams:
    fraction: float | None = param(None, lo=0.0, hi=0.99, lo_open=True,
                                   help=f"fraction of samples beyond the threshold (default {DEFAULT_FRACTION} "
                                        "when level is not given)")
    level: float | None = param(None, lo=0.0, hi=1.0, lo_open=True, help="threshold, linear full scale")
    mode: str = param("hard", choices=MODES,
                      help="hard: saturate at the threshold; soft: linear up to half the threshold, "
                           "then a tanh knee approaching it")

    def __post_init__(self):
        if self.fraction is not None and self.level is not None:
            raise ValueError("give fraction or level, not both")


def soft_clip(x: np.ndarray, threshold: float) -> np.ndarray:
    """Identity below ``threshold/2``; above, ``k + k·tanh((|x|-k)/k)`` with ``k = threshold/2``:
    continuous with slope 1 at the knee and approaching ``threshold``, never reaching it."""
    knee = threshold / 2
    mag = np.abs(x)
    over = mag > knee
    out = x.copy()
    out[over] = np.sign(x[over]) * (knee + knee * np.tanh((mag[over] - knee) / knee))
    return out


def clip(x: np.ndarray, sr: int, params: ClipParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` clipped at a threshold from ``level`` or ``fraction`` (see module docstring).

    Logs the threshold and the fraction of samples actually beyond it. A threshold of 0 (a file
    of mostly digital silence asked to clip most samples) leaves ``x`` unchanged.
    """
    mag = np.abs(x.astype(np.float64))
    if params.level is not None:
        threshold = float(params.level)
        applied: dict = {"mode": params.mode, "level": threshold}
    else:
        fraction = DEFAULT_FRACTION if params.fraction is None else params.fraction
        threshold = float(np.quantile(mag, 1.0 - fraction))
        applied = {"mode": params.mode, "fraction": fraction}
    applied.update(threshold=round(threshold, 6),
                   threshold_dbfs=round(20 * np.log10(threshold), 3) if threshold > 0 else None,
                   clipped_fraction=round(float(np.mean(mag > threshold)), 6))
    if threshold <= 0:
        applied.update(clipped_fraction=0.0, note="threshold 0, nothing clipped")
        return finish(x, x), applied
    xd = x.astype(np.float64)
    y = np.clip(xd, -threshold, threshold) if params.mode == "hard" else soft_clip(xd, threshold)
    return finish(y, x), applied
