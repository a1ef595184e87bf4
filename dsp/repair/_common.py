"""Helpers shared by the repair stages: shape handling and the stage output contract."""

from __future__ import annotations

import numpy as np


def as_2d(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """``x`` as float64 ``(n, ch)``, and whether it came in 1-D (to give it back that way)."""
    x = np.asarray(x)
    was_1d = x.ndim == 1
    return np.asarray(x[:, None] if was_1d else x, dtype=np.float64), was_1d


def finish(y: np.ndarray, like: np.ndarray, was_1d: bool) -> np.ndarray:
    """``y`` as float32 in the input's shape; asserts the stage contract (shape kept, finite)."""
    y = np.asarray(y[:, 0] if was_1d else y, dtype=np.float32)
    assert y.shape == np.shape(like), (y.shape, np.shape(like))
    assert np.all(np.isfinite(y)), "a repair stage produced non-finite samples"
    return y


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``(start, end)`` (end exclusive) of the runs of True in a 1-D boolean array."""
    d = np.diff(np.concatenate([[0], np.asarray(flags, dtype=np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))
