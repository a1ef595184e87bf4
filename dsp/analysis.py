"""Damage analysis: measures a recording and changes nothing.

Per file (on the mono mix, and per channel where a damage is per channel) :func:`analyze`
measures DC offset, clipping, mains hum, dropouts, SNR, effective bandwidth, integrated
loudness, and the WORLD pitch and K-weighted loudness contours of the input (the preservation
guard compares the output's contours with these). :meth:`Analysis.indicated` turns the
measurements into the repair stages worth running, with a reason each, using the thresholds of
:class:`Thresholds`.

The detectors that locate damage sample by sample (:func:`clip_mask`, :func:`find_dropouts`,
:func:`measure_hum`) are shared with the repair stages, so a stage repairs exactly what the
analysis reported.

Arrays are float32 ``(n_samples, n_channels)`` at full scale ±1 (1-D input is taken as mono).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .audio import resample
from .loudness import loudness_contour
from .world import F0_METHODS, FRAME_PERIOD_MS, f0_contour

#: Power floor (mean square, full scale 1) below which a signal counts as silent: -100 dBFS.
SILENCE_POWER = 1e-10

#: Nominal mains frequencies in Hz.
MAINS_HZ = (50.0, 60.0)


def _db(power_ratio: float) -> float:
    return float(10.0 * np.log10(power_ratio)) if power_ratio > 0 else float("-inf")


def as_2d(x: np.ndarray) -> np.ndarray:
    """``x`` as ``(n_samples, n_channels)`` (1-D input becomes one channel)."""
    x = np.asarray(x)
    return x[:, None] if x.ndim == 1 else x


@dataclass(frozen=True)
class AnalysisParams:
    """How the damage is measured (not whether it is repaired: that is :class:`Thresholds`)."""

    #: Samples within this fraction of a channel's positive (negative) peak count as at the peak.
    clip_rel_tol: float = 1e-3
    #: Least number of consecutive samples at the peak that make a clipped run (a natural
    #: waveform touches its peak in isolated samples, a clipped one in flat runs).
    clip_min_run: int = 2
    #: Search half-width around each nominal mains harmonic k·f, in Hz per harmonic number
    #: (mains frequency is held to about ±1 %, i.e. ±0.5 Hz at 50 Hz).
    hum_search_hz: float = 1.0
    #: Partials of the mains frequency examined (fundamental included).
    hum_harmonics: int = 10
    #: A partial is present when its spectral peak stands this far above the local median, dB.
    hum_prominence_db: float = 8.0
    #: Partials (of the first five) that must be present to report hum.
    hum_min_partials: int = 2
    #: Segment length of the averaged periodogram used for hum, seconds (0.125 Hz resolution at 8 s).
    hum_window_s: float = 8.0
    #: Hum must also stand out in the file's quietest frames (this share of 20 ms frames by their
    #: energy below 1 kHz): mains hum is there all the time, a voice's harmonics only while it
    #: speaks. A voice near a multiple of 50/60 Hz otherwise reads as hum (1.7 % of the corpus'
    #: clean files did, mostly short words) and the notch comb then costs it ~1.8 PESQ-wb.
    hum_quiet_share: float = 0.3
    #: Least total length of those quiet frames, seconds; with less, hum is not reported.
    hum_quiet_min_s: float = 0.25
    #: How far the strongest found partial must stand out there, dB: clean files whose voice read
    #: as hum 0.2-9.2 dB (a sample of 33); the benchmark's hum and mix files 15-22 dB; a hum tone
    #: 26 dB under white noise 14.6 dB; short (3.5 s) demo sentences with hum at -30/-25 dB 9.6-12.6.
    hum_quiet_prominence_db: float = 12.0
    #: ... or at least ``hum_prominence_db`` with its amplitude in the quiet frames (a least-squares
    #: sinusoid) this share of its amplitude over the whole file: hum 0.66-1.1 (same files), a
    #: voice's harmonics mostly under 0.5.
    hum_quiet_amplitude: float = 0.6
    #: A run of digital silence at least this long is a dropout candidate, milliseconds.
    dropout_min_ms: float = 2.0
    #: Absolute sample value at or below which a sample counts as digital silence.
    dropout_zero_level: float = 0.0
    #: Length of the audio examined on each side of a candidate, milliseconds. Short, so that
    #: it sees the edge itself: a packet loss cuts in mid-waveform, while natural digital
    #: silence (a noise gate, a pause in a 16-bit file, the padding between joined
    #: utterances) is entered by a fade. Tuned on the valid split (``bench/tune_analysis.py``,
    #: ``reports/analysis-tuning.md``): with 10 ms, 15 of 93 reported gaps were natural pauses
    #: (2 of 16 clean clips got concealment, -0.37 PESQ-wb); with 2 ms all 77 reported gaps are
    #: injected dropouts (the 10 ms rule found 78).
    dropout_context_ms: float = 2.0
    #: A candidate is a dropout (not a gated pause) when the RMS on both sides is at least this
    #: far from the channel's active level (95th percentile of 20 ms frame RMS), dB.
    dropout_context_db: float = -50.0
    #: STFT size and hop for the SNR and bandwidth estimates, milliseconds.
    stft_ms: float = 32.0
    #: Frames averaged before the per-bin minimum search (variance reduction), count.
    snr_smooth_frames: int = 4
    #: Percentile of the smoothed per-bin power taken as the noise floor (minimum statistics).
    snr_percentile: float = 10.0
    #: The effective bandwidth is the highest frequency whose long-term spectrum is within this
    #: many dB of the spectrum's maximum below 4 kHz.
    bandwidth_drop_db: float = 50.0
    #: WORLD F0 method of the pitch contour ("dio" or "harvest").
    f0_method: str = "dio"

    def __post_init__(self):
        if self.f0_method not in F0_METHODS:
            raise ValueError(f"unknown F0 method {self.f0_method!r}; choose from {', '.join(F0_METHODS)}")


@dataclass(frozen=True)
class Thresholds:
    """When a measured damage calls for its repair stage (see :meth:`Analysis.indicated`).

    The defaults were chosen on the corpus' valid split (never the test split the benchmark
    uses) by ``bench/tune_analysis.py``: each stage run on its own on every damaged file and
    scored against the clean clip, then every candidate threshold evaluated on those outcomes
    (mean PESQ-wb and Q over the damage types); the tables are in ``reports/analysis-tuning.md``.
    """

    #: Largest |DC offset| left alone, linear full scale (0.01 is -40 dBFS). Offsets of 0.005-0.008
    #: are in some clean corpus recordings; removing them gained nothing (PESQ-wb -0.06 on those).
    dc_offset: float = 0.01
    #: Largest clipped fraction of samples left alone (0.1 %).
    clipped_fraction: float = 1e-3
    #: Quietest hum (power re the rest of the signal, dB) that is removed. Several clean corpus
    #: speakers carry mains lines at -45 to -22 dB, and the notch comb also takes the voice's
    #: energy at the partials: below about -18 dB removing hum cost more (PESQ-wb, and the pitch
    #: contour) than the hum did.
    hum_level_db: float = -18.0
    #: Fewest dropouts that are concealed.
    dropout_count: int = 1
    #: SNR in dB below which the neural denoise stage is indicated (clean valid-split clips read
    #: 22.7 dB and up; the estimate is within 1 dB for white/pink noise, and reads recorded and
    #: babble noise 5-8 dB high).
    snr_db: float = 20.0
    #: SNR in dB below which the neural stage runs at full strength; between this and ``snr_db``
    #: its attenuation is scaled by ``mild_strength`` (gain' = 1 - s·(1 - gain), the
    #: ``--strength`` rule), which scored better on mildly noisy speech than full strength.
    snr_full_strength_db: float = 8.0
    #: Strength factor for mildly noisy files (SNR between ``snr_full_strength_db`` and ``snr_db``).
    mild_strength: float = 0.75
    #: Effective bandwidth in Hz below which the neural stage is indicated (capped at 85 % of
    #: Nyquist, so that a file at a low sample rate is not band-limited by definition). 0 (the
    #: default): never for bandwidth alone. The shipped model is a spectral mask: it cannot put
    #: back a missing band, and on band-limited clean speech it lowered PESQ-wb (4 kHz low-pass:
    #: 4.23 -> 3.61; telephone: 3.57 -> 3.31 on the valid split).
    bandwidth_hz: float = 0.0


# ----------------------------------------------------------------------------- clipping


def clip_mask(x: np.ndarray, params: AnalysisParams = AnalysisParams()) -> tuple[np.ndarray, float, float]:
    """Samples of one channel that sit in flat runs at its positive or negative peak.

    Parameters
    ----------
    x : 1-D float audio (one channel).
    params : ``clip_rel_tol`` (closeness to the peak, relative) and ``clip_min_run`` (run length).

    A level counts as a clip level when at least one flat run of ``clip_min_run`` samples sits
    at it; then every sample at it is clipped. Returns ``(mask, hi, lo)``: a boolean mask of
    clipped samples and the clip levels found (the channel's maximum and minimum). Clipping below full scale is found too: the level is
    wherever the flat runs are. An unclipped channel gives an all-false mask.
    """
    x = np.asarray(x, dtype=np.float64)
    mask = np.zeros(x.shape, dtype=bool)
    if x.size == 0:
        return mask, 0.0, 0.0
    hi, lo = float(x.max()), float(x.min())
    for level, side in ((hi, x >= hi - params.clip_rel_tol * abs(hi)),
                        (lo, x <= lo + params.clip_rel_tol * abs(lo))):
        if level == 0.0:
            continue
        starts, ends = _runs(side)
        # One flat run proves the level is a clip level; then every sample at it is clipped,
        # including the single-sample crossings that lightly clipped peaks leave.
        if np.any(ends - starts >= params.clip_min_run):
            mask |= side
    return mask, hi, lo


def _runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a 1-D boolean array."""
    d = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


# ----------------------------------------------------------------------------- dropouts


def _frame_rms(x: np.ndarray, frame: int) -> np.ndarray:
    n = len(x) // frame
    if n == 0:
        return np.array([np.sqrt(np.mean(x**2))]) if len(x) else np.zeros(1)
    return np.sqrt(np.mean(x[:n * frame].reshape(n, frame) ** 2, axis=1))


def find_dropouts(x: np.ndarray, sr: int, params: AnalysisParams = AnalysisParams()) -> tuple[tuple[int, int], ...]:
    """Dropouts: runs of digital silence inside non-silent audio.

    A run of samples with ``|x| <= dropout_zero_level`` lasting at least ``dropout_min_ms``,
    not touching the start or end of the file, whose neighbourhood on *both* sides
    (``dropout_context_ms``) is no quieter than ``dropout_context_db`` re the channel's active
    level. A noise gate fades out before its silence, a dropout cuts in mid-signal, so gated
    pauses and leading/trailing silence are not reported.

    ``x`` is 1-D or ``(n, ch)``; channels are examined separately and overlapping gaps merged.
    Returns ``((start, end), ...)`` sample indices (end exclusive), sorted.
    """
    x2 = as_2d(np.asarray(x, dtype=np.float64))
    min_len = max(1, int(round(params.dropout_min_ms * sr / 1000)))
    ctx = max(1, int(round(params.dropout_context_ms * sr / 1000)))
    frame = max(1, int(round(0.02 * sr)))
    found: list[tuple[int, int]] = []
    for c in range(x2.shape[1]):
        ch = x2[:, c]
        starts, ends = _runs(np.abs(ch) <= params.dropout_zero_level)
        keep = (ends - starts >= min_len) & (starts > 0) & (ends < len(ch))
        if not np.any(keep):
            continue
        active = float(np.percentile(_frame_rms(ch, frame), 95))
        floor = max(active * 10 ** (params.dropout_context_db / 20), np.sqrt(SILENCE_POWER))
        for s, e in zip(starts[keep], ends[keep]):
            before = ch[max(0, s - ctx):s]
            after = ch[e:e + ctx]
            if np.sqrt(np.mean(before**2)) >= floor and np.sqrt(np.mean(after**2)) >= floor:
                found.append((int(s), int(e)))
    return _merge(found)


def _merge(intervals: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return tuple((s, e) for s, e in merged)


def dropout_mask(x: np.ndarray, sr: int, params: AnalysisParams = AnalysisParams()) -> np.ndarray:
    """Boolean ``(n, ch)`` mask of the samples :func:`find_dropouts` reports, set on every channel
    (a lost packet loses all channels; a gap found on one is concealed on all)."""
    x2 = as_2d(x)
    mask = np.zeros(x2.shape, dtype=bool)
    for s, e in find_dropouts(x2, sr, params):
        mask[s:e] = True
    return mask


# ----------------------------------------------------------------------------- hum


@dataclass(frozen=True)
class HumMeasurement:
    """Mains hum found in a signal (see :func:`measure_hum`)."""

    #: Refined fundamental in Hz, or None when no hum was found.
    freq_hz: float | None
    #: Hum power re the power of the rest of the signal, dB (-inf when none).
    level_db: float
    #: Harmonic numbers (1 = fundamental) whose peak is present, ascending.
    harmonics: tuple[int, ...]
    #: Refined frequency of each present harmonic, Hz (same order as ``harmonics``).
    harmonic_freqs_hz: tuple[float, ...]


NO_HUM = HumMeasurement(None, float("-inf"), (), ())

#: Rate the hum periodogram is taken at, Hz: its Nyquist frequency (minus soxr's transition band)
#: holds the examined partials, ``hum_harmonics`` x (60 + ``hum_search_hz``) = 610 Hz by default.
HUM_ANALYSIS_SR = 2000


def _power_spectrum(mono: np.ndarray, sr: int, window_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Averaged Hann periodogram with 4x zero padding, scaled so that a sinusoid of amplitude A
    on a bin reads A²/2. Segments of ``window_s`` with half overlap, accumulated one at a time
    so memory stays bounded on long files."""
    seg = int(min(len(mono), max(round(window_s * sr), 16)))
    n_fft = 1 << int(math.ceil(math.log2(4 * seg)))
    win = np.hanning(seg + 2)[1:-1]
    scale = 2.0 / np.sum(win) ** 2
    hop = max(seg // 2, 1)
    acc = np.zeros(n_fft // 2 + 1)
    count = 0
    for start in range(0, len(mono) - seg + 1, hop):
        acc += np.abs(np.fft.rfft(mono[start:start + seg] * win, n_fft)) ** 2
        count += 1
    return np.fft.rfftfreq(n_fft, 1.0 / sr), acc * scale / max(count, 1)


def _refine_peak(freqs: np.ndarray, p: np.ndarray, centre: float, half: float) -> tuple[float, float]:
    """Largest value of ``p`` within ``centre ± half`` Hz and its frequency, refined by parabolic
    interpolation of the log spectrum around the peak bin (Smith & Serra 1987)."""
    df = freqs[1] - freqs[0]
    i0 = max(int(np.searchsorted(freqs, centre - half)), 1)
    i1 = min(int(np.searchsorted(freqs, centre + half, "right")), len(p) - 1)
    if i1 <= i0:
        return 0.0, centre
    k = i0 + int(np.argmax(p[i0:i1]))
    a, b, c = np.log(p[k - 1:k + 2] + 1e-300)
    denom = a - 2 * b + c
    offset = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return float(p[k]), float(freqs[k] + np.clip(offset, -0.5, 0.5) * df)


def _floor(freqs: np.ndarray, p: np.ndarray, centre: float, half: float) -> float:
    """Median of ``p`` within ``centre ± half`` Hz: the broadband level a narrow line stands on."""
    sel = (freqs >= centre - half) & (freqs <= centre + half)
    return float(np.median(p[sel])) if np.any(sel) else 0.0


def _present_when_quiet(mono: np.ndarray, sr: int, partials: list, params: AnalysisParams) -> bool:
    """Whether the found ``partials`` ``(k, f_k, peak, floor)`` are there in the quietest frames
    of ``mono`` (the hum band, at ``sr``; ``hum_quiet_share`` of them, at least ``hum_quiet_min_s``):
    the strongest stands ``hum_quiet_prominence_db`` out of the periodogram gated to them, or
    ``hum_prominence_db`` with ``hum_quiet_amplitude`` of its whole-file amplitude there."""
    frame = max(int(round(0.02 * sr)), 1)
    n_frames = len(mono) // frame
    if n_frames < 2:
        return False
    energy = np.mean(mono[:n_frames * frame].reshape(n_frames, frame) ** 2, axis=1)
    quiet = energy <= np.quantile(energy, params.hum_quiet_share)
    if quiet.sum() * frame / sr < params.hum_quiet_min_s:
        return False
    k0, f0, *_ = max(partials, key=lambda q: q[2] / q[3])
    gate = np.zeros(len(mono))
    gate[:n_frames * frame] = np.repeat(quiet.astype(np.float64), frame)
    ramp = np.hanning(2 * frame + 1)  # 20 ms raised-cosine edges: no clicks to smear the lines
    gate = np.minimum(np.convolve(gate, ramp / ramp.sum(), mode="same"), 1.0)
    freqs, p = _power_spectrum(mono * gate, sr, params.hum_window_s)
    df = freqs[1] - freqs[0]
    floor = _floor(freqs, p, f0, 5.0 + k0 * params.hum_search_hz)
    peak, _ = _refine_peak(freqs, p, f0, 2 * df)
    prominence = peak / floor if floor > 0 else 0.0
    if prominence >= 10 ** (params.hum_quiet_prominence_db / 10):
        return True
    t = np.arange(len(mono)) / sr
    quiet_samples = gate >= 1.0 - 1e-9  # inside the quiet runs, past the ramps (a float sum of the ramp)

    def amplitude(sel):
        basis = np.stack([np.cos(2 * np.pi * f0 * t[sel]), np.sin(2 * np.pi * f0 * t[sel])], axis=1)
        return float(np.hypot(*np.linalg.lstsq(basis, mono[sel], rcond=None)[0]))

    whole = amplitude(slice(None))
    return (prominence >= 10 ** (params.hum_prominence_db / 10) and whole > 0
            and amplitude(quiet_samples) >= params.hum_quiet_amplitude * whole)


def measure_hum(x: np.ndarray, sr: int, params: AnalysisParams = AnalysisParams()) -> HumMeasurement:
    """Mains hum: a stationary 50 or 60 Hz line with harmonics.

    On the averaged periodogram (``hum_window_s`` segments, 4x zero padding), for each nominal
    f in (50, 60) the fundamental f0 within ``f ± hum_search_hz`` is found by a harmonic sum:
    the f0 that maximizes the summed prominence (dB above the local median, clipped at 0) of
    its first ``hum_harmonics`` partials k·f0. Mains partials are locked to k·f0, speech
    harmonics wander with the voice's pitch and smear out, noise peaks do not line up.
    Each partial's peak is then refined (parabolic interpolation) within two zero-padded
    bins of k·f0, and is present when it stands ``hum_prominence_db`` above the median of the
    spectrum within ±(5 + k·hum_search_hz) Hz.

    The nominal frequency with more present partials among the first five wins (five keeps the
    two sets apart: 300 Hz is the 6th of 50 and the 5th of 60); hum needs ``hum_min_partials``
    of them, or a fundamental standing out by twice the prominence (in dB). The reported
    fundamental is the weighted least-squares fit of ``f_k = k·f0`` to the refined peaks; the
    level is the summed peak power above the floor, relative to the rest of the signal.
    """
    mono = np.asarray(as_2d(x).mean(axis=1), dtype=np.float64)
    if len(mono) < sr // 10:  # under 0.1 s: too short to resolve 50 from 60 Hz
        return NO_HUM
    mono = mono - mono.mean()
    total = float(np.mean(mono**2))
    if total < SILENCE_POWER:
        return NO_HUM
    # Mains partials examined lie below 1 kHz, so the periodogram is taken at HUM_ANALYSIS_SR: the
    # same resolution in Hz from an FFT sr/HUM_ANALYSIS_SR times shorter (at 48 kHz an 8 s segment
    # would need a 2M-point FFT per half segment). soxr's pass band reaches ~0.9 of Nyquist.
    if sr > HUM_ANALYSIS_SR:
        mono = resample(mono, sr, HUM_ANALYSIS_SR)
        sr = HUM_ANALYSIS_SR
    freqs, p = _power_spectrum(mono, sr, params.hum_window_s)
    df = freqs[1] - freqs[0]
    threshold = 10 ** (params.hum_prominence_db / 10)
    best = None
    for nominal in MAINS_HZ:
        ks = [k for k in range(1, params.hum_harmonics + 1) if k * (nominal + params.hum_search_hz) < sr / 2 - 10]
        if not ks:
            continue
        floors = np.array([_floor(freqs, p, k * nominal, 5.0 + k * params.hum_search_hz) for k in ks])
        if not np.all(floors > 0):
            continue
        grid = np.arange(nominal - params.hum_search_hz, nominal + params.hum_search_hz, df / max(ks))
        harm = np.outer(grid, ks)  # (candidates, partials)
        prom = np.interp(harm, freqs, p) / floors[None, :]
        score_of = np.sum(np.maximum(np.log10(np.maximum(prom, 1e-30)), 0.0), axis=1)
        f_guess = float(grid[int(np.argmax(score_of))])
        partials = []
        for k, fl in zip(ks, floors):
            peak, f_k = _refine_peak(freqs, p, k * f_guess, 2 * df)
            if peak >= threshold * fl:
                partials.append((k, f_k, peak, fl))
        score = sum(1 for k, *_ in partials if k <= 5)
        strong = any(k == 1 and pk >= threshold**2 * fl for k, _, pk, fl in partials)
        if (score >= params.hum_min_partials or strong) and (best is None or score > best[0]):
            best = (score, nominal, partials)
    if best is None:
        return NO_HUM
    _, nominal, partials = best
    if not _present_when_quiet(mono, sr, partials, params):
        return NO_HUM
    ks_ = np.array([k for k, *_ in partials], dtype=np.float64)
    fk = np.array([f for _, f, *_ in partials])
    w = np.array([pk / fl for _, _, pk, fl in partials])
    f0 = float(np.sum(w * ks_ * fk) / np.sum(w * ks_**2))
    hum_power = float(sum(pk - fl for _, _, pk, fl in partials))
    rest = max(total - hum_power, SILENCE_POWER)
    return HumMeasurement(f0, _db(hum_power / rest), tuple(int(k) for k in ks_),
                          tuple(float(f) for f in fk))


# ----------------------------------------------------------------------------- SNR and bandwidth


def _stft_power(mono: np.ndarray, sr: int, stft_ms: float) -> tuple[np.ndarray, np.ndarray]:
    """Power spectrogram ``(frames, bins)`` (float32, Hann, half overlap) and bin frequencies."""
    n_fft = 1 << int(round(math.log2(max(stft_ms * sr / 1000, 16))))
    hop = n_fft // 2
    if len(mono) < n_fft:
        mono = np.pad(mono, (0, n_fft - len(mono)))
    n_frames = 1 + (len(mono) - n_fft) // hop
    win = np.hanning(n_fft + 2)[1:-1]
    out = np.empty((n_frames, n_fft // 2 + 1), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop]  # a view: no copy
    step = max(1, (1 << 19) // n_fft)  # frames per FFT batch: a few MB whatever the length
    for i in range(0, n_frames, step):
        out[i:i + step] = np.abs(np.fft.rfft(frames[i:i + step] * win, axis=1)) ** 2
    return out, np.fft.rfftfreq(n_fft, 1.0 / sr)


def _gamma_quantile(q: float, shape: int) -> float:
    """q-quantile of a unit-mean Gamma(shape, 1/shape) variable (scipy imported lazily)."""
    from scipy.stats import gamma

    return float(gamma.ppf(q, a=shape, scale=1.0 / shape))


def estimate_snr(power: np.ndarray, params: AnalysisParams = AnalysisParams()) -> tuple[float, float]:
    """SNR in dB and noise power share from a power spectrogram, by minimum statistics.

    Per frequency bin the power is averaged over ``snr_smooth_frames`` frames and its
    ``snr_percentile``-th percentile over time taken as the noise floor (Martin 2001, "Noise
    power spectral density estimation based on optimal smoothing and minimum statistics"),
    divided by the same percentile of a unit-mean Gamma(M) variable to remove the bias of
    taking a low percentile of a noisy estimate (M smoothed frames of chi-square(2) power).
    The SNR uses whole-file powers, ``10·log10((P_total - P_noise) / P_noise)``, the definition
    of ``dsp.degrade.noise``. Returns ``(snr_db, noise_fraction)``; +inf for a noiseless file.
    """
    m = max(1, min(params.snr_smooth_frames, power.shape[0]))
    if m > 1:
        c = np.cumsum(np.vstack([np.zeros((1, power.shape[1])), power.astype(np.float64)]), axis=0)
        smooth = (c[m:] - c[:-m]) / m
    else:
        smooth = power.astype(np.float64)
    floor = np.percentile(smooth, params.snr_percentile, axis=0)
    floor = floor / _gamma_quantile(params.snr_percentile / 100, m)
    p_noise = float(np.sum(floor[1:]))  # bin 0 (DC) is its own damage
    p_total = float(np.sum(power[:, 1:].mean(axis=0)))
    if p_total <= 0:
        return float("nan"), float("nan")
    p_noise = min(p_noise, p_total)
    if p_noise <= 0:
        return float("inf"), 0.0
    return _db(max(p_total - p_noise, 1e-30) / p_noise), p_noise / p_total


def estimate_bandwidth(power: np.ndarray, freqs: np.ndarray, params: AnalysisParams = AnalysisParams()) -> float:
    """Effective bandwidth in Hz: the highest frequency at which the long-term average
    spectrum is within ``bandwidth_drop_db`` of its maximum between 100 Hz and 4 kHz.

    A 3.4 kHz telephone low-pass falls 50 dB within a few hundred Hz of its cutoff while
    speech itself stays within about 45 dB of its peak up to Nyquist at 16 kHz, so the
    crossing marks the cutoff. Returns Nyquist for a full-band file, 0 for a silent one.
    """
    ltas = power.mean(axis=0).astype(np.float64)
    # Smooth over about 150 Hz so a single weak bin does not end the band early.
    width = max(1, int(round(150.0 / (freqs[1] - freqs[0]))))
    ltas = np.convolve(ltas, np.ones(width) / width, mode="same")
    band = (freqs >= 100) & (freqs <= min(4000.0, freqs[-1]))
    if not np.any(band) or ltas[band].max() <= 0:
        return 0.0
    ref = ltas[band].max()
    above = np.flatnonzero(ltas >= ref * 10 ** (-params.bandwidth_drop_db / 10))
    return float(freqs[above[-1]]) if above.size else 0.0


def integrated_loudness(x: np.ndarray, sr: int) -> float:
    """BS.1770 integrated loudness in LUFS (pyloudnorm); NaN for files under one 400 ms block,
    -inf for silence. Six channels are taken as 5.1 (LFE left out); more, as their mono mix."""
    import pyloudnorm

    x2 = as_2d(np.asarray(x, dtype=np.float64))
    if x2.shape[0] < int(0.4 * sr) + 1:
        return float("nan")
    if x2.shape[1] == 6:
        # 5.1 in WAV channel order (L R C LFE Ls Rs): BS.1770 leaves out the LFE channel.
        x2 = x2[:, [0, 1, 2, 4, 5]]
    elif x2.shape[1] > 5:
        # pyloudnorm weights at most 5 channels and no layout is known: measure the mono mix.
        x2 = x2.mean(axis=1, keepdims=True)
    meter = pyloudnorm.Meter(sr)  # pyloudnorm calls the sample rate `rate`
    with np.errstate(divide="ignore"):
        return float(meter.integrated_loudness(x2 if x2.shape[1] > 1 else x2[:, 0]))


# ----------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Analysis:
    """Everything :func:`analyze` measured about one file. Linear values are full scale ±1."""

    sr: int
    n_channels: int
    duration_s: float
    #: Largest-magnitude per-channel mean (signed), and every channel's mean.
    dc_offset: float
    dc_offset_per_channel: tuple[float, ...]
    #: Sample peak over all channels, dBFS.
    peak_dbfs: float
    #: Largest per-channel fraction of samples in flat runs at the channel's peak, and each channel's.
    clipped_fraction: float
    clipped_fraction_per_channel: tuple[float, ...]
    #: Positive and negative clip levels of the most clipped channel (its max and min).
    clip_level_hi: float
    clip_level_lo: float
    #: Refined mains fundamental (None: no hum), hum level re the rest of the signal (dB),
    #: and the harmonic numbers found.
    hum_hz: float | None
    hum_level_db: float
    hum_harmonics: tuple[int, ...]
    #: Dropouts: count, total length, and their ``(start, end)`` sample ranges.
    dropout_count: int
    dropout_total_s: float
    dropouts: tuple[tuple[int, int], ...]
    #: Estimated SNR (whole-file powers) and noise floor (mean-square power), dB / dBFS.
    snr_db: float
    noise_floor_dbfs: float
    #: Effective bandwidth: where the long-term spectrum falls off, Hz.
    bandwidth_hz: float
    #: BS.1770 integrated loudness, LUFS (NaN under 0.4 s).
    loudness_lufs: float
    #: Voiced share of WORLD frames and their median F0 in Hz (NaN when none is voiced).
    voiced_fraction: float
    f0_median_hz: float
    #: WORLD F0 contour (Hz per ``FRAME_PERIOD_MS`` frame, 0 = unvoiced) and K-weighted RMS
    #: loudness contour (10 ms hop) of the input, for the preservation guard.
    f0_hz: np.ndarray = field(repr=False, compare=False)
    loudness: np.ndarray = field(repr=False, compare=False)

    def as_row(self) -> dict:
        """Scalar measurements for one CSV row (contours and sample ranges left out)."""
        r = lambda v, n=4: None if v is None else (v if not isinstance(v, float) or not math.isfinite(v)
                                                   else round(v, n))
        return {
            "sr": self.sr, "channels": self.n_channels, "duration_s": r(self.duration_s, 3),
            "dc_offset": r(self.dc_offset, 6), "peak_dbfs": r(self.peak_dbfs, 2),
            "clipped_fraction": r(self.clipped_fraction, 6),
            "hum_hz": r(self.hum_hz, 3), "hum_level_db": r(self.hum_level_db, 1),
            "hum_harmonics": " ".join(map(str, self.hum_harmonics)),
            "dropout_count": self.dropout_count, "dropout_total_s": r(self.dropout_total_s, 4),
            "snr_db": r(self.snr_db, 1), "noise_floor_dbfs": r(self.noise_floor_dbfs, 1),
            "bandwidth_hz": r(self.bandwidth_hz, 0), "loudness_lufs": r(self.loudness_lufs, 2),
            "voiced_fraction": r(self.voiced_fraction, 3), "f0_median_hz": r(self.f0_median_hz, 1),
        }

    def denoise_strength(self, thresholds: Thresholds = Thresholds()) -> float:
        """Factor on the neural stage's strength for this file: 1 when the SNR is below
        ``snr_full_strength_db`` (or unknown), ``mild_strength`` when it is only mildly noisy."""
        t = thresholds
        if math.isfinite(self.snr_db) and self.snr_db >= t.snr_full_strength_db:
            return float(t.mild_strength)
        return 1.0

    def indicated(self, thresholds: Thresholds = Thresholds()) -> list[tuple[str, str]]:
        """The repair stages this file needs, as ``[(stage, reason), ...]`` in pipeline order.

        Stage names are those of ``dsp.repair.pipeline.STAGES``; ``denoise`` is the neural stage
        (low SNR or a band-limited file). ``loudness`` is never indicated: it is the user's choice.
        """
        t = thresholds
        out: list[tuple[str, str]] = []
        if abs(self.dc_offset) > t.dc_offset:
            out.append(("dc", f"DC offset {self.dc_offset:+.4f} exceeds ±{t.dc_offset:g}"))
        if self.hum_hz is not None and self.hum_level_db > t.hum_level_db:
            out.append(("hum", f"{self.hum_hz:.2f} Hz hum at {self.hum_level_db:.1f} dB "
                               f"(harmonics {','.join(map(str, self.hum_harmonics))})"))
        if self.clipped_fraction > t.clipped_fraction:
            out.append(("declip", f"{100 * self.clipped_fraction:.2f}% of samples clipped "
                                  f"(at {self.clip_level_hi:+.3f}/{self.clip_level_lo:+.3f})"))
        if self.dropout_count >= t.dropout_count:
            out.append(("dropouts", f"{self.dropout_count} dropouts, {1000 * self.dropout_total_s:.0f} ms in all"))
        reasons = []
        if self.snr_db < t.snr_db:
            scale = self.denoise_strength(t)
            reasons.append(f"SNR {self.snr_db:.1f} dB below {t.snr_db:g}"
                           + (f" (strength x{scale:g}: above {t.snr_full_strength_db:g} dB)" if scale < 1 else ""))
        limit = min(t.bandwidth_hz, 0.85 * self.sr / 2)
        if self.bandwidth_hz < limit:
            reasons.append(f"bandwidth {self.bandwidth_hz:.0f} Hz below {limit:.0f}")
        if reasons:
            out.append(("denoise", "; ".join(reasons)))
        return out


def analyze(x: np.ndarray, sr: int, params: AnalysisParams = AnalysisParams(),
            contours: bool = True) -> Analysis:
    """Measure the damage of one recording (see :class:`Analysis`); ``x`` is left unchanged.

    Parameters
    ----------
    x : float audio, 1-D or ``(n_samples, n_channels)``, full scale ±1.
    sr : sample rate in Hz.
    params : measurement settings. Default: ``AnalysisParams()``.
    contours : measure the pitch and loudness contours and the integrated loudness (the
        costliest part: WORLD F0). False leaves them empty / NaN, for a caller that streams
        them itself (``dsp.analysis_blocks``).
    """
    x2 = as_2d(np.asarray(x, dtype=np.float64))
    n, n_ch = x2.shape
    means = tuple(float(v) for v in x2.mean(axis=0)) if n else (0.0,) * n_ch
    dc = max(means, key=abs) if means else 0.0
    peak = float(np.max(np.abs(x2))) if n else 0.0

    fractions, levels = [], []
    for c in range(n_ch):
        mask, hi, lo = clip_mask(x2[:, c], params)
        fractions.append(float(mask.mean()) if n else 0.0)
        levels.append((hi, lo))
    worst = int(np.argmax(fractions)) if fractions else 0

    hum = measure_hum(x2, sr, params)
    drops = find_dropouts(x2, sr, params)

    mono = x2.mean(axis=1)
    mono = mono - mono.mean()
    power, freqs = _stft_power(mono, sr, params.stft_ms)
    snr, noise_share = estimate_snr(power, params)
    p_mono = float(np.mean(mono**2)) if n else 0.0
    bandwidth = estimate_bandwidth(power, freqs, params)

    f0 = f0_contour(x2, sr, params.f0_method, FRAME_PERIOD_MS) if contours else np.zeros(0)
    voiced = f0[f0 > 0]
    return Analysis(
        sr=int(sr), n_channels=n_ch, duration_s=n / sr,
        dc_offset=dc, dc_offset_per_channel=means,
        peak_dbfs=20 * math.log10(peak) if peak > 0 else float("-inf"),
        clipped_fraction=fractions[worst] if fractions else 0.0,
        clipped_fraction_per_channel=tuple(fractions),
        clip_level_hi=levels[worst][0] if levels else 0.0, clip_level_lo=levels[worst][1] if levels else 0.0,
        hum_hz=hum.freq_hz, hum_level_db=hum.level_db, hum_harmonics=hum.harmonics,
        dropout_count=len(drops), dropout_total_s=sum(e - s for s, e in drops) / sr, dropouts=drops,
        snr_db=snr, noise_floor_dbfs=_db(noise_share * p_mono) if math.isfinite(noise_share) else float("nan"),
        bandwidth_hz=bandwidth, loudness_lufs=integrated_loudness(x2, sr) if contours else float("nan"),
        voiced_fraction=float(len(voiced) / len(f0)) if len(f0) else 0.0,
        f0_median_hz=float(np.median(voiced)) if len(voiced) else float("nan"),
        f0_hz=f0, loudness=loudness_contour(x2, sr) if contours else np.zeros(0),
    )
