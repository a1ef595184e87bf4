"""Packet-loss dropouts: stretches of digital silence at random, non-overlapping places.

No concealment: the lost stretch is zero on every channel, as a decoder without packet-loss
concealment (or a dropped USB buffer) leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import finish, param

#: Least silence-free gap between two dropouts, seconds, so that each stays a separate event.
MIN_GAP_S = 0.01


@dataclass(frozen=True)
class DropoutParams:
    count: int = param(3, lo=0, hi=10000, help="number of dropouts")
    length_ms: float = param(40.0, lo=0.0, hi=10000.0, lo_open=True, help="length of each dropout in milliseconds")


def dropout(x: np.ndarray, sr: int, params: DropoutParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` with ``count`` stretches of ``length_ms`` set to zero, at uniformly drawn places at
    least :data:`MIN_GAP_S` apart. Fewer are placed (and logged) when the file is too short."""
    n = x.shape[0]
    length = max(int(round(params.length_ms * sr / 1000)), 1)
    gap = max(int(MIN_GAP_S * sr), 1)
    fits = max((n + gap) // (length + gap), 0)
    count = min(params.count, fits)
    # Uniform placement of `count` blocks with gaps: draw the free space before each block
    # (sorted uniform points in the slack), then add the lengths of the blocks before it.
    slack = n - count * length - max(count - 1, 0) * gap
    points = np.sort(rng.integers(0, slack + 1, size=count))
    starts = points + np.arange(count) * (length + gap)
    y = x.copy()
    for s in starts:
        y[s:s + length] = 0.0
    applied = {"count": int(count), "length_ms": params.length_ms,
               "starts_s": [round(float(s) / sr, 6) for s in starts]}
    if count < params.count:
        applied["note"] = f"only {count} of {params.count} dropouts fit"
    return finish(y, x), applied
