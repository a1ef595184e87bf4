"""Gain jumps: the level steps up or down at random moments, as a riding fader, an automatic
gain control or a switched input stage does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import finish, param


@dataclass(frozen=True)
class GainParams:
    count: int = param(2, lo=0, hi=1000, help="number of jumps")
    jump_db: float = param(6.0, lo=0.0, hi=40.0, help="size of each jump in dB (up or down, drawn)")
    ramp_ms: float = param(5.0, lo=0.0, hi=5000.0, help="duration of each change, linear in dB")


def gain(x: np.ndarray, sr: int, params: GainParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` times a piecewise-constant gain: 0 dB at the start, then ``count`` jumps of
    ``±jump_db`` (sign drawn per jump, cumulative) at uniformly drawn times, each a linear ramp
    in dB over ``ramp_ms``."""
    n = x.shape[0]
    times = np.sort(rng.integers(0, n, size=params.count))
    signs = rng.choice([-1.0, 1.0], size=params.count)
    levels_db = np.concatenate([[0.0], np.cumsum(signs * params.jump_db)])
    ramp = max(int(params.ramp_ms * sr / 1000), 1)
    # The sum of the clipped linear ramps is piecewise linear with corners where ramps start and
    # end: evaluate it there and interpolate, instead of summing `count` full-length ramps.
    steps = signs * params.jump_db
    corners = np.unique(np.concatenate([[0, n - 1], times, times + ramp]))
    at_corners = [float(np.sum(steps * np.clip((c - times) / ramp, 0.0, 1.0))) for c in corners]
    curve_db = np.interp(np.arange(n), corners, at_corners)
    y = x.astype(np.float64) * (10 ** (curve_db / 20))[:, None]
    return finish(y, x), {"count": params.count, "jump_db": params.jump_db, "ramp_ms": params.ramp_ms,
                          "times_s": [round(float(t) / sr, 6) for t in times],
                          "levels_db": [round(float(v), 3) for v in levels_db]}
