"""Damage analysis of a long file block by block (:func:`analyze_blocks`), in bounded memory.

Each block is measured with :func:`dsp.analysis.analyze` and the measurements are combined
into one :class:`~dsp.analysis.Analysis` for the file:

- exactly: DC offset (sample-weighted means), sample peak, clipped fraction, dropouts (block
  offsets added), the BS.1770 integrated loudness (a streaming meter, equal to pyloudnorm on
  the whole file) and the loudness contour (equal to the whole-file contour);
- by their powers: SNR and noise floor (each block's noise and total power summed);
- by duration: hum (present when found in at least half of the audible duration; the median
  fundamental of those blocks, their power-mean level), bandwidth (median over audible blocks);
- block-wise: the WORLD F0 contour (:class:`dsp.blocks.F0Contour`).

Clipping levels and dropout context are judged within each block: a clip level is the block's
own peak, so a clipped file is found in the blocks where the clipping is.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .analysis import Analysis, AnalysisParams, analyze, as_2d
from .blocks import F0Contour
from .loudness import LoudnessContour, LoudnessMeter

#: Fields of :class:`Analysis` that :func:`merge` fills (a test checks this covers every field,
#: so a new measurement cannot be silently left at a block's value).
MERGED_FIELDS = frozenset({
    "sr", "n_channels", "duration_s", "dc_offset", "dc_offset_per_channel", "peak_dbfs",
    "clipped_fraction", "clipped_fraction_per_channel", "clip_level_hi", "clip_level_lo",
    "hum_hz", "hum_level_db", "hum_harmonics", "dropout_count", "dropout_total_s", "dropouts",
    "snr_db", "noise_floor_dbfs", "bandwidth_hz", "loudness_lufs", "voiced_fraction",
    "f0_median_hz", "f0_hz", "loudness"})


def _weighted_median(values: list[float], weights: list[float]) -> float:
    order = np.argsort(values)
    v, w = np.asarray(values)[order], np.asarray(weights, dtype=np.float64)[order]
    return float(v[np.searchsorted(np.cumsum(w), 0.5 * w.sum())])


def _db(p: float) -> float:
    return 10 * math.log10(p) if p > 0 else float("-inf")


def analyze_blocks(blocks: Iterable[np.ndarray], sr: int, params: AnalysisParams = AnalysisParams()) -> Analysis:
    """Analyse a file given as consecutive ``(n, ch)`` blocks (see module docstring). Every
    block but the last should be :func:`dsp.blocks.block_frames` long, so the F0 frames align."""
    parts: list[Analysis] = []
    offsets: list[int] = []
    mono_power: list[float] = []
    n = 0
    meter = None
    contour = LoudnessContour(sr)
    loudness_frames, f0_frames = [], []
    f0 = F0Contour(sr, params.f0_method)
    for block in blocks:
        b = as_2d(block)
        if meter is None:
            meter = LoudnessMeter(sr, b.shape[1])
        meter.update(b)
        loudness_frames.append(contour.update(b))
        f0_frames.append(f0.update(b))
        # The contours and loudness are streamed above, not measured per block.
        parts.append(analyze(b, sr, params, contours=False))
        offsets.append(n)
        mono = b.mean(axis=1, dtype=np.float64)
        mono_power.append(float(np.mean((mono - mono.mean()) ** 2)))
        n += len(b)
    if not parts:
        raise ValueError("no blocks to analyse")
    loudness_frames.append(contour.finish())
    f0_frames.append(f0.finish())
    return merge(parts, offsets, mono_power, meter.integrated(), np.concatenate(f0_frames),
                 np.concatenate(loudness_frames))


def merge(parts: list[Analysis], offsets: list[int], mono_power: list[float], loudness_lufs: float,
          f0_hz: np.ndarray, loudness: np.ndarray) -> Analysis:
    """One file's :class:`Analysis` from its blocks' (see module docstring): ``offsets`` are the
    blocks' first samples, ``mono_power`` the mean-square power of each block's mono mix (mean
    removed), the contours and integrated loudness measured over the whole stream."""
    first = parts[0]
    sr, n_ch = first.sr, first.n_channels
    lengths = np.array([round(p.duration_s * sr) for p in parts], dtype=np.float64)
    n = float(lengths.sum())
    w = lengths / n

    means = tuple(float(v) for v in np.sum([np.array(p.dc_offset_per_channel) * wi for p, wi in zip(parts, w)], axis=0))
    clipped = np.sum([np.array(p.clipped_fraction_per_channel) * wi for p, wi in zip(parts, w)], axis=0)
    worst = int(np.argmax(clipped))
    clip_parts = [p for p in parts if p.clipped_fraction_per_channel[worst] > 0] or parts
    audible = [i for i, p in enumerate(parts) if mono_power[i] > 1e-10]

    # Hum: a stationary line shows in most blocks; a block without it (a pause filled with
    # other noise, a cut) does not veto it, but a few blocks with it do not make a hum file.
    hum_i = [i for i in audible if parts[i].hum_hz is not None]
    hum_hz, hum_level, harmonics = None, float("-inf"), ()
    if hum_i and lengths[hum_i].sum() >= 0.5 * lengths[audible].sum():
        hum_hz = _weighted_median([parts[i].hum_hz for i in hum_i], list(lengths[hum_i]))
        hum_level = _db(float(np.average([10 ** (parts[i].hum_level_db / 10) for i in hum_i],
                                         weights=lengths[hum_i])))
        harmonics = tuple(sorted({k for i in hum_i for k in parts[i].hum_harmonics}))

    # SNR from summed powers: a block's noise share is 1 / (1 + 10^(snr/10)).
    noise = total = 0.0
    for i, p in enumerate(parts):
        if math.isnan(p.snr_db):
            continue
        share = 0.0 if math.isinf(p.snr_db) and p.snr_db > 0 else 1.0 / (1.0 + 10 ** (p.snr_db / 10))
        noise += share * mono_power[i] * lengths[i]
        total += mono_power[i] * lengths[i]
    if total <= 0:
        snr, floor = float("nan"), float("nan")
    else:
        snr = float("inf") if noise == 0 else _db(max(total - noise, 1e-30) / noise)
        floor = _db(noise / n)

    bw_i = [i for i in audible if parts[i].bandwidth_hz > 0]
    bandwidth = _weighted_median([parts[i].bandwidth_hz for i in bw_i], list(lengths[bw_i])) if bw_i else 0.0

    drops = tuple((s + off, e + off) for p, off in zip(parts, offsets) for s, e in p.dropouts)
    voiced = f0_hz[f0_hz > 0]
    peak = max(p.peak_dbfs for p in parts)
    return Analysis(
        sr=sr, n_channels=n_ch, duration_s=n / sr,
        dc_offset=max(means, key=abs), dc_offset_per_channel=means, peak_dbfs=peak,
        clipped_fraction=float(clipped[worst]), clipped_fraction_per_channel=tuple(float(c) for c in clipped),
        clip_level_hi=max(p.clip_level_hi for p in clip_parts), clip_level_lo=min(p.clip_level_lo for p in clip_parts),
        hum_hz=hum_hz, hum_level_db=hum_level, hum_harmonics=harmonics,
        dropout_count=len(drops), dropout_total_s=sum(e - s for s, e in drops) / sr, dropouts=drops,
        snr_db=snr, noise_floor_dbfs=floor, bandwidth_hz=bandwidth, loudness_lufs=loudness_lufs,
        voiced_fraction=float(len(voiced) / len(f0_hz)) if len(f0_hz) else 0.0,
        f0_median_hz=float(np.median(voiced)) if len(voiced) else float("nan"),
        f0_hz=f0_hz, loudness=loudness,
    )

