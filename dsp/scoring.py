"""Scoring one (reference, output) pair of files: the engine behind ``msar score``.

Before comparing, both files are mixed to mono, the output is resampled to the reference's
rate, and the two are either aligned (``align=True``: the lag that maximises their
cross-correlation within ±0.5 s, then trimmed to the overlap) or simply trimmed to the shorter.

Files longer than one block (``dsp.blocks.DEFAULT_BLOCK_S``) are scored block by block in
bounded memory (:func:`score_blocks`): MSE and the loudness contours are exact, the F0 contours
are computed per block (``dsp.blocks.F0Contour``), the lag is found on the first block, and the
optional metrics (PESQ, STOI, ...) are the duration-weighted means of their per-block values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.signal

from . import audio, metrics
from .blocks import DEFAULT_BLOCK_S, F0Contour, block_frames, rechunk
from .errors import MsarError
from .loudness import LoudnessContour

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
    #: Files longer than this many seconds are scored block by block, in blocks this long.
    block_s: float = DEFAULT_BLOCK_S


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
    ``duration_s``, ``sample_rate`` and (with align) ``lag_s``, then the metrics. Long files
    (either one longer than ``params.block_s``) go through :func:`score_blocks`."""
    if audio.STDIO not in (str(ref_path), str(out_path)):
        ref_info, out_info = audio.info(ref_path), audio.info(out_path)
        if (ref_info.duration_s > params.block_s or out_info.duration_s > params.block_s):
            return score_blocks(ref_path, out_path, params)
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


def _mono_stream(path: str, block: int, sr_out: int):
    """Mono float32 blocks of a file, resampled to ``sr_out`` on the way (state carried)."""
    sr = audio.info(path).sr
    resampler = audio.StreamResampler(sr, sr_out, 1)
    for b in audio.read_blocks(path, block):
        yield resampler.process(audio.to_mono(b).astype(np.float32)[:, None])[:, 0]
    yield resampler.flush()[:, 0]


def _skip(stream, n: int):
    """``stream`` without its first ``n`` samples."""
    for b in stream:
        if n >= len(b):
            n -= len(b)
            continue
        yield b[n:]
        n = 0


def _head(stream, n: int) -> np.ndarray:
    parts, got = [], 0
    for b in stream:
        parts.append(b)
        got += len(b)
        if got >= n:
            break
    return np.concatenate(parts)[:n] if parts else np.zeros(0, np.float32)


def score_blocks(ref_path: str, out_path: str, params: ScoreParams) -> tuple[dict, float]:
    """:func:`score_files` for long files, block by block (see module docstring)."""
    sr = audio.info(ref_path).sr
    bf = block_frames(sr, params.block_s)
    lag = 0
    if params.align:
        n = max(bf, int(4 * MAX_LAG_S * sr))
        lag = find_lag(_head(_mono_stream(ref_path, bf, sr), n), _head(_mono_stream(out_path, bf, sr), n),
                       int(MAX_LAG_S * sr))
    refs = rechunk(_skip(_mono_stream(ref_path, bf, sr), max(-lag, 0)), bf)
    outs = rechunk(_skip(_mono_stream(out_path, bf, sr), max(lag, 0)), bf)
    f0_ref, f0_out = F0Contour(sr, params.f0_method), F0Contour(sr, params.f0_method)
    ld_ref, ld_out = LoudnessContour(sr), LoudnessContour(sr)
    parts = {"f0_ref": [], "f0_out": [], "ld_ref": [], "ld_out": []}
    sse, total = 0.0, 0
    extras = {name: [] for name in params.extra_metrics}
    for r, o in zip(refs, outs):
        n = min(len(r), len(o))
        r, o = r[:n], o[:n]
        sse += float(np.sum((r.astype(np.float64) - o) ** 2))
        total += n
        parts["f0_ref"].append(f0_ref.update(r))
        parts["f0_out"].append(f0_out.update(o))
        parts["ld_ref"].append(ld_ref.update(r))
        parts["ld_out"].append(ld_out.update(o))
        for name in extras:
            extras[name].append((metrics.optional_metric(name, r, o, sr), n))
        if n < bf:
            break
    if total == 0:
        raise MsarError(f"{out_path}: no overlap with {ref_path} after alignment")
    m = sse / total
    cp = metrics.cosine(np.concatenate(parts["f0_ref"] + [f0_ref.finish()]),
                        np.concatenate(parts["f0_out"] + [f0_out.finish()]))
    cl = metrics.cosine(np.concatenate(parts["ld_ref"] + [ld_ref.finish()]),
                        np.concatenate(parts["ld_out"] + [ld_out.finish()]))
    duration = total / sr
    row: dict = {"duration_s": round(duration, 4), "sample_rate": sr}
    if params.align:
        row["lag_s"] = round(lag / sr, 5)
    row.update({"mse": m, "cos_pitch": cp, "cos_loudness": cl,
                "q": metrics.q_score(m, cp, cl, params.alpha, params.beta, params.gamma)})
    for name, values in extras.items():
        ok = [(v, n) for v, n in values if np.isfinite(v)]
        row[name] = float(np.average([v for v, _ in ok], weights=[n for _, n in ok])) if ok else float("nan")
    return row, duration
