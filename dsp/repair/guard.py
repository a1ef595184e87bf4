"""Preservation guard: did the repair keep the voice's pitch and loudness contours?

Cosine similarity (``dsp.metrics.cosine``) of the output's WORLD F0 contour and K-weighted
loudness contour against the input's, the same measures as the ``cos_pitch`` and
``cos_loudness`` columns of ``msar score``. Both ignore gain, so loudness normalization alone
does not flag a file; a repair that changed the intonation or the syllable rhythm does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..loudness import loudness_contour
from ..metrics import cosine
from ..world import f0_contour


@dataclass(frozen=True)
class GuardParams:
    #: Least cos_pitch of output vs input that passes.
    min_cos_pitch: float = 0.9
    #: Least cos_loudness of output vs input that passes.
    min_cos_loudness: float = 0.95
    #: WORLD F0 method ("dio" or "harvest").
    f0_method: str = "dio"


@dataclass(frozen=True)
class GuardResult:
    cos_pitch: float
    cos_loudness: float
    #: True when either similarity is below its threshold.
    flagged: bool
    #: Why it was flagged ("" when not).
    reason: str

    def as_row(self) -> dict:
        return {"guard_cos_pitch": round(self.cos_pitch, 5), "guard_cos_loudness": round(self.cos_loudness, 5),
                "guard_flagged": self.flagged, "guard_reason": self.reason}


def guard(x: np.ndarray, y: np.ndarray, sr: int, params: GuardParams = GuardParams(),
          f0_in: np.ndarray | None = None, loudness_in: np.ndarray | None = None) -> GuardResult:
    """Compare output ``y`` with input ``x`` (1-D or ``(n, ch)``, same rate ``sr``).

    ``f0_in`` / ``loudness_in``: the input's contours when already computed (``Analysis.f0_hz``
    and ``Analysis.loudness``, same frame settings), to save recomputing them.
    """
    if np.shape(x) == np.shape(y) and np.array_equal(x, y):
        # Nothing was changed (clean input): the contours are the same, no need to measure y.
        return GuardResult(1.0, 1.0, False, "")
    f0_x = f0_contour(x, sr, params.f0_method) if f0_in is None else f0_in
    ld_x = loudness_contour(x, sr) if loudness_in is None else loudness_in
    cp = cosine(f0_x, f0_contour(y, sr, params.f0_method))
    cl = cosine(ld_x, loudness_contour(y, sr))
    reasons = []
    if cp < params.min_cos_pitch:
        reasons.append(f"cos_pitch {cp:.3f} < {params.min_cos_pitch:g}")
    if cl < params.min_cos_loudness:
        reasons.append(f"cos_loudness {cl:.3f} < {params.min_cos_loudness:g}")
    return GuardResult(cp, cl, bool(reasons), "; ".join(reasons))
