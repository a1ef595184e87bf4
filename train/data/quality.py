"""The quality gate for "clean" speech: measure clipping, bandwidth and SNR, then accept or reject.

Measurements are taken on the decoded source at its native rate, before trimming, resampling or
gain, so they describe the recording and not our processing. Definitions follow the measurements in
``shared/DATA-SOURCES.md`` so the gate reproduces its verdicts:

* clip fraction: share of samples with ``|x| >= clip_level`` (full scale is 1.0).
* effective bandwidth: the highest frequency at which the long-term average spectrum of the loud
  (speech) frames is within ``bandwidth_drop_db`` of its maximum. A file low-passed at 4 kHz
  reads about 4 kHz whatever its sample rate; the G.722 codec (50-7000 Hz) reads about 7 kHz.
* SNR estimate: the 95th percentile of 20 ms frame levels minus the quietest frame's level,
  with digital silence floored at ``floor_db``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QualityParams:
    """Thresholds of the gate. Defaults are the one home of these numbers."""

    #: |x| at or above this counts as a full-scale sample (Vorbis decoding overshoots 1.0 slightly).
    clip_level: float = 0.999
    #: Reject when more than this fraction of samples is at full scale (0.01 %).
    max_clip_fraction: float = 1e-4
    #: Reject when the effective bandwidth is below this many Hz. A 16 kHz target has content up to
    #: ~7 kHz (G.722's pass band ends at 7 kHz; festvox-ru reads 6.8 kHz); tuxpaint ca, known to be
    #: low-passed, reads 3.6-6.7 kHz; muffled fillets-nl is -45 dB at 4 kHz and -70 dB at 8 kHz.
    min_bandwidth_hz: float = 5500.0
    #: The spectrum level, below its maximum, that marks the band edge.
    bandwidth_drop_db: float = 60.0
    #: Reject when the estimated SNR is below this many dB. Per file (short files, little pause) the
    #: estimate reads lower than over a whole set: tuxpaint ro (clean) has a per-file median of
    #: 31 dB, tuxpaint fr (hissy) 22 dB, gcin voice 3 (noisy) 14 dB.
    min_snr_db: float = 20.0
    #: Frame level assigned to digital silence, in dBFS.
    floor_db: float = -100.0
    #: Minimum duration after trimming, in seconds (gcin's Mandarin syllables last 0.2-0.4 s).
    min_duration_s: float = 0.15


@dataclass(frozen=True)
class Measurements:
    clip_fraction: float
    bandwidth_hz: float
    snr_db: float


def clip_fraction(x: np.ndarray, clip_level: float = QualityParams.clip_level) -> float:
    """Fraction (0..1) of samples of 1-D ``x`` whose magnitude is at or above ``clip_level``."""
    if x.size == 0:
        return 0.0
    return float(np.count_nonzero(np.abs(x) >= clip_level)) / x.size


def frame_levels_db(x: np.ndarray, sr: int, frame_s: float = 0.02, floor_db: float = QualityParams.floor_db
                    ) -> np.ndarray:
    """RMS level in dBFS of consecutive non-overlapping frames of 1-D ``x`` (``frame_s`` seconds,
    default 20 ms), floored at ``floor_db``. A last partial frame is dropped unless it is the only one."""
    n = max(int(round(frame_s * sr)), 1)
    n_frames = max(x.size // n, 1)
    frames = np.zeros((n_frames, n), dtype=np.float64)
    body = np.asarray(x[: n_frames * n], dtype=np.float64)
    frames.reshape(-1)[: body.size] = body
    ms = np.mean(frames**2, axis=1)
    with np.errstate(divide="ignore"):
        level = 10.0 * np.log10(ms)
    return np.maximum(level, floor_db)


def snr_db(x: np.ndarray, sr: int, floor_db: float = QualityParams.floor_db) -> float:
    """Estimated SNR in dB: 95th percentile of 20 ms frame levels minus the quietest frame."""
    level = frame_levels_db(x, sr, 0.02, floor_db)
    return float(np.percentile(level, 95) - level.min())


def bandwidth_hz(x: np.ndarray, sr: int, drop_db: float = QualityParams.bandwidth_drop_db,
                 n_fft: int | None = None) -> float:
    """Effective bandwidth in Hz of 1-D ``x`` at ``sr`` Hz.

    The long-term average power spectrum is taken over the loudest half of the frames (speech, not
    pauses), smoothed over ~250 Hz, and the band edge is the highest frequency still within
    ``drop_db`` dB of the spectrum's maximum. ``n_fft`` defaults to ~46 ms of samples.
    """
    if n_fft is None:
        n_fft = int(2 ** np.ceil(np.log2(0.046 * sr)))
    x = np.asarray(x, dtype=np.float64)
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    hop = n_fft // 2
    n_frames = 1 + (x.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = x[idx] * np.hanning(n_fft)[None, :]
    energy = np.sum(frames**2, axis=1)
    loud = energy >= np.median(energy)
    if not np.any(energy > 0):
        return 0.0
    power = np.mean(np.abs(np.fft.rfft(frames[loud], axis=1)) ** 2, axis=0)
    bin_hz = sr / n_fft
    width = max(int(round(250.0 / bin_hz)), 1)
    smooth = np.convolve(power, np.ones(width) / width, mode="same")
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(smooth + 1e-30)
    above = np.nonzero(db >= db.max() - drop_db)[0]
    return float(above[-1] * bin_hz)


def measure(x: np.ndarray, sr: int, params: QualityParams = QualityParams()) -> Measurements:
    """Clip fraction, effective bandwidth (Hz) and estimated SNR (dB) of mono ``x`` at ``sr`` Hz."""
    return Measurements(clip_fraction(x, params.clip_level), bandwidth_hz(x, sr, params.bandwidth_drop_db),
                        snr_db(x, sr, params.floor_db))


def verdict(m: Measurements, params: QualityParams = QualityParams()) -> list[str]:
    """The reasons to reject a clean-speech candidate (an empty list means it passes).

    Each reason is a short tag followed by the measured value, e.g. ``"clipped (0.120 %)"``.
    """
    reasons = []
    if m.clip_fraction > params.max_clip_fraction:
        reasons.append(f"clipped ({100 * m.clip_fraction:.3f} %)")
    if m.bandwidth_hz < params.min_bandwidth_hz:
        reasons.append(f"band-limited ({m.bandwidth_hz:.0f} Hz)")
    if m.snr_db < params.min_snr_db:
        reasons.append(f"low SNR ({m.snr_db:.1f} dB)")
    return reasons


def reason_tag(reason: str) -> str:
    """The tag of a reason string: ``"clipped (0.1 %)"`` -> ``"clipped"``."""
    return reason.split(" (", 1)[0]
