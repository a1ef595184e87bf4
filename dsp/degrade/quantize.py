"""Coarse quantization: rounding to a ``bits``-bit signed integer grid (no dither), as a
converter or file of too low a bit depth would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import finish, param


@dataclass(frozen=True)
class QuantizeParams:
    bits: int = param(8, lo=1, hi=24, help="bit depth of the signed integer grid")


def quantize(x: np.ndarray, sr: int, params: QuantizeParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` rounded to multiples of ``2^-(bits-1)`` and saturated to the integer range
    ``[-1, 1 - 2^-(bits-1)]``: at most ``2^bits`` distinct values."""
    scale = 2.0 ** (params.bits - 1)
    codes = np.clip(np.round(x.astype(np.float64) * scale), -scale, scale - 1)
    return finish(codes / scale, x), {"bits": params.bits, "step": 1.0 / scale,
                                      "clipped_fraction": round(float(np.mean(np.abs(x) * scale > scale - 0.5)), 6)}
