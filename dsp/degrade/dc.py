"""DC offset: a constant added to every sample, as a biased converter or preamp leaves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import finish, param


@dataclass(frozen=True)
class DcParams:
    offset: float = param(0.02, lo=-0.5, hi=0.5, help="offset added to every sample, linear full scale")


def dc(x: np.ndarray, sr: int, params: DcParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x + params.offset`` on every channel."""
    return finish(x.astype(np.float64) + params.offset, x), {"offset": params.offset}
