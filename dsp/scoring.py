"""Scoring one (reference, output) pair of files: the engine behind ``msar score``.

Before comparing, both files are mixed to mono, the output is resampled to the reference's
rate, and the two are either aligned (``align=True``: the lag that maximises their
cross-correlation within ±0.5 s, then trimmed to the overlap) or simply trimmed to the shorter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.signal

from . import audio, metrics
from .errors import MsarError

#: Largest lag searched by ``align``, in seconds.
MAX_LAG_S = 0.5


@dataclass(frozen=True)
class ScoreParams:
    """How a pair is compared. Defaults are the seed's (metrics.ALPHA/BETA/GAMMA, dio F0)."""

    alpha: float = metrics.ALPHA
    beta: float = metrics.BETA
    gamma: float = metrics.GAMMA
    f0_method: str = "dio"
    align: bool = False
    extra_metrics: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class Pair:
    """Mono, equal-length reference and output at the reference's rate."""

    ref: np.ndarray
    out: np.ndarray
    sr: int
    lag: int  # samples by which the output lags the reference (0 without align)


def find_lag(ref: np.ndarray, out: np.ndarray, max_lag: int) -> int:
    """Samples by which ``out`` lags ``ref`` (positive: ``out`` is late), searched in
    ``[-max_lag, max_lag]`` by FFT cross-correlation.

    The peak of the *absolute* correlation is taken, so a polarity-inverted copy (some codecs
    and telephone chains invert) is still aligned; the inversion itself is left for the metrics
    to see."""
    if not np.any(ref) or not np.any(out):
        return 0
    corr = scipy.signal.correlate(out.astype(np.float64), ref.astype(np.float64), mode="full", method="fft")
    lags = scipy.signal.correlation_lags(len(out), len(ref), mode="full")
    window = np.abs(lags) <= max_lag
    return int(lags[window][np.argmax(np.abs(corr[window]))])


def make_pair(ref: np.ndarray, ref_sr: int, out: np.ndarray, out_sr: int, align: bool = False) -> Pair:
    """Mix to mono, resample ``out`` to ``ref_sr``, then align or trim to a common length."""
    ref = audio.to_mono(ref).astype(np.float32, copy=False)
    out = audio.resample(audio.to_mono(out).astype(np.float32, copy=False), out_sr, ref_sr)
    lag = find_lag(ref, out, int(MAX_LAG_S * ref_sr)) if align else 0
    if lag >= 0:
        out = out[lag:]
    else:
        ref = ref[-lag:]
    n = min(len(ref), len(out))
    return Pair(ref[:n], out[:n], ref_sr, lag)


def score_pair(pair: Pair, params: ScoreParams) -> dict[str, float]:
    """All metrics of a prepared pair, as CSV columns in a fixed order."""
    if len(pair.ref) == 0:
        raise MsarError("no overlap between reference and output after alignment")
    m = metrics.mse(pair.ref, pair.out)
    cp = metrics.cos_pitch(pair.ref, pair.out, pair.sr, params.f0_method)
    cl = metrics.cos_loudness(pair.ref, pair.out, pair.sr)
    row = {"mse": m, "cos_pitch": cp, "cos_loudness": cl,
           "q": metrics.q_score(m, cp, cl, params.alpha, params.beta, params.gamma)}
    for name in params.extra_metrics:
        row[name] = metrics.optional_metric(name, pair.ref, pair.out, pair.sr)
    return row


def score_files(ref_path: str, out_path: str, params: ScoreParams) -> tuple[dict, float]:
    """Read, pair and score two files. Returns ``(row, duration_s)``; the row starts with
    ``duration_s``, ``sample_rate`` and (with align) ``lag_s``, then the metrics."""
    ref, ref_info = audio.read(ref_path)
    out, out_info = audio.read(out_path)
    pair = make_pair(ref, ref_info.sr, out, out_info.sr, params.align)
    if len(pair.ref) == 0:
        raise MsarError(f"{out_path}: no overlap with {ref_path} after alignment")
    duration = len(pair.ref) / pair.sr
    row: dict = {"duration_s": round(duration, 4), "sample_rate": pair.sr}
    if params.align:
        row["lag_s"] = round(pair.lag / pair.sr, 5)
    row.update(score_pair(pair, params))
    return row, duration
