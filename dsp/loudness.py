"""Loudness: ITU-R BS.1770 K-weighting and the short-time loudness contour.

The K-weighting filters are pyloudnorm's (``pyloudnorm.IIRfilter``), designed for any sample
rate with the constants of pyloudnorm's ``Meter``: a +4 dB high shelf at 1500 Hz followed by a
38 Hz high-pass (BS.1770-4, eq. 1-2 "pre-filter" and "RLB filter").
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from pyloudnorm import IIRfilter

#: Contour window and hop in milliseconds.
WINDOW_MS = 20.0
HOP_MS = 10.0


def k_weighting_sos(sr: int) -> np.ndarray:
    """Second-order sections of the BS.1770 K-weighting filter at ``sr`` Hz."""
    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sr, "high_shelf")
    highpass = IIRfilter(0.0, 0.5, 38.0, sr, "high_pass")
    return np.vstack([scipy.signal.tf2sos(shelf.b, shelf.a), scipy.signal.tf2sos(highpass.b, highpass.a)])


def k_weight(x: np.ndarray, sr: int) -> np.ndarray:
    """K-weighted copy of ``x`` along axis 0 (float64)."""
    return scipy.signal.sosfilt(k_weighting_sos(sr), np.asarray(x, dtype=np.float64), axis=0)


def loudness_contour(x: np.ndarray, sr: int, window_ms: float = WINDOW_MS,
                     hop_ms: float = HOP_MS) -> np.ndarray:
    """K-weighted RMS amplitude (linear, full scale 1) per window.

    Parameters
    ----------
    x : 1-D mono float audio (``(n, ch)`` input is averaged to mono first).
    sr : sample rate in Hz.
    window_ms, hop_ms : analysis window and hop in milliseconds. Defaults: 20 and 10.

    Returns one value per hop: frame ``i`` covers samples ``[i*hop, i*hop + win)``; a signal
    shorter than one window gives a single frame over the whole signal.
    """
    if x.ndim == 2:
        x = x.mean(axis=1)
    weighted = k_weight(x, sr)
    win = max(1, int(round(sr * window_ms / 1000.0)))
    hop = max(1, int(round(sr * hop_ms / 1000.0)))
    if len(weighted) <= win:
        return np.array([np.sqrt(np.mean(weighted**2))]) if len(weighted) else np.zeros(1)
    power = weighted**2
    # Windowed mean power via a cumulative sum: O(n) for any window length.
    csum = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, len(power) - win + 1, hop)
    mean_power = (csum[starts + win] - csum[starts]) / win
    return np.sqrt(np.maximum(mean_power, 0.0))


# ----------------------------------------------------------------------------- integrated, streaming

#: BS.1770-4 gating: 400 ms blocks with 75 % overlap (a 100 ms step), absolute gate -70 LUFS,
#: relative gate 10 LU below the absolutely gated mean; channel weights L R C Ls Rs.
GATE_BLOCK_S = 0.4
GATE_STEP = 0.25
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)


def _step_bound(j, sr: int):
    # Written as pyloudnorm writes it (T_g * (j * step) * rate), so the sample bounds of the
    # gating blocks, and so the result, are the same to the last bit of rounding.
    return (GATE_BLOCK_S * (np.asarray(j) * GATE_STEP) * sr).astype(np.int64)


class LoudnessMeter:
    """BS.1770-4 integrated loudness of a signal fed block by block, in bounded memory.

    Equal to ``pyloudnorm.Meter(sr).integrated_loudness`` on the whole signal (the same
    K-weighting, gating blocks and gates; tested), but it keeps only the K-weighting filter state
    and one energy per channel per 100 ms step (288 kB per channel-hour). Six channels are taken
    as 5.1 (LFE left out); more than five otherwise, as their mono mix (pyloudnorm weights five).
    """

    def __init__(self, sr: int, channels: int):
        self.sr = int(sr)
        self._layout = "5.1" if channels == 6 else ("mono-mix" if channels > 5 else "direct")
        ch = 5 if channels == 6 else (1 if channels > 5 else channels)
        self._weights = np.array(CHANNEL_WEIGHTS[:ch])
        self._sos = k_weighting_sos(self.sr)
        self._zi = np.zeros((len(self._sos), 2, ch))
        self._n = 0             # samples seen
        self._step = 0          # index of the 100 ms step being filled
        self._acc = np.zeros(ch)
        self._steps: list[np.ndarray] = []   # finished steps' energies, (ch,) each

    def _channels(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, dtype=np.float64)
        x = x[:, None] if x.ndim == 1 else x
        if self._layout == "5.1":
            return x[:, [0, 1, 2, 4, 5]]
        if self._layout == "mono-mix":
            return x.mean(axis=1, keepdims=True)
        return x

    def update(self, block: np.ndarray) -> None:
        """Feed the next ``(n, channels)`` (or 1-D mono) samples."""
        x = self._channels(block)
        if not len(x):
            return
        y, self._zi = scipy.signal.sosfilt(self._sos, x, axis=0, zi=self._zi)
        csum = np.vstack([np.zeros((1, y.shape[1])), np.cumsum(y * y, axis=0)])
        start, end = self._n, self._n + len(y)
        pos = start
        while True:
            bound = int(_step_bound(self._step + 1, self.sr))
            if bound > end:
                break
            self._acc += csum[bound - start] - csum[pos - start]
            self._steps.append(self._acc)
            self._acc = np.zeros_like(self._acc)
            self._step += 1
            pos = bound
        self._acc = self._acc + (csum[end - start] - csum[pos - start])
        self._n = end

    def integrated(self) -> float:
        """Integrated loudness in LUFS so far: NaN under one 400 ms block, -inf for silence."""
        block = GATE_BLOCK_S * self.sr
        if self._n < block:
            return float("nan")
        steps = np.array(self._steps + [self._acc])  # (steps, ch); the last is partial
        n_blocks = int(np.round((self._n / self.sr - GATE_BLOCK_S) / (GATE_BLOCK_S * GATE_STEP))) + 1
        per_block = int(round(1 / GATE_STEP))
        padded = np.vstack([steps, np.zeros((n_blocks + per_block, steps.shape[1]))])
        csum = np.vstack([np.zeros((1, steps.shape[1])), np.cumsum(padded, axis=0)])
        j = np.arange(n_blocks)
        z = (csum[j + per_block] - csum[j]) / block                  # (blocks, ch) mean squares
        with np.errstate(divide="ignore"):
            lj = -0.691 + 10 * np.log10(z @ self._weights)
        gated = lj >= ABSOLUTE_GATE_LUFS
        if not np.any(gated):
            return float("-inf")
        rel = -0.691 + 10 * np.log10(z[gated].mean(axis=0) @ self._weights) + RELATIVE_GATE_LU
        keep = (lj > rel) & (lj > ABSOLUTE_GATE_LUFS)
        if not np.any(keep):
            return float("-inf")
        with np.errstate(divide="ignore"):
            return float(-0.691 + 10 * np.log10(z[keep].mean(axis=0) @ self._weights))


class LoudnessContour:
    """:func:`loudness_contour` of a signal fed block by block: the same frames, computed with
    the K-weighting filter state and the unfinished window carried from block to block, so the
    concatenated output equals the whole-signal contour (tested) in bounded memory."""

    def __init__(self, sr: int, window_ms: float = WINDOW_MS, hop_ms: float = HOP_MS):
        self.sr = int(sr)
        self._sos = k_weighting_sos(self.sr)
        self._zi = np.zeros((len(self._sos), 2))
        self._win = max(1, int(round(sr * window_ms / 1000.0)))
        self._hop = max(1, int(round(sr * hop_ms / 1000.0)))
        self._pending = np.zeros(0)   # weighted power from the next frame's start on
        self._frames = 0

    def update(self, block: np.ndarray) -> np.ndarray:
        """Feed the next samples (1-D, or ``(n, ch)`` mixed to mono); return the frames completed."""
        x = np.asarray(block, dtype=np.float64)
        x = x.mean(axis=1) if x.ndim == 2 else x
        y, self._zi = scipy.signal.sosfilt(self._sos, x, zi=self._zi)
        power = np.concatenate([self._pending, y * y])
        if len(power) < self._win:
            self._pending = power
            return np.zeros(0)
        csum = np.concatenate([[0.0], np.cumsum(power)])
        starts = np.arange(0, len(power) - self._win + 1, self._hop)
        out = np.sqrt(np.maximum((csum[starts + self._win] - csum[starts]) / self._win, 0.0))
        self._pending = power[starts[-1] + self._hop:]
        self._frames += len(out)
        return out

    def finish(self) -> np.ndarray:
        """The last frame for a signal shorter than one window (as :func:`loudness_contour`)."""
        if self._frames == 0:
            p = self._pending
            return np.array([np.sqrt(np.mean(p))]) if len(p) else np.zeros(1)
        return np.zeros(0)
