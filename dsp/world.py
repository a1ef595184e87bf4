"""WORLD vocoder analysis (pyworld): F0 contours, and the boundary where msar's float32 audio
becomes pyworld's float64 C-contiguous mono.

The metrics and the repair guard use :func:`f0_contour`. The synthesis models' features
(:func:`world_features`: log F0 + voicing, coded spectral envelope, band aperiodicity) and their
inverse (:func:`world_synthesize`; :func:`world_synthesize_at` for an output rate above the
features', the band above their Nyquist frequency continued) live here too, so training and runtime
share them.
"""

from __future__ import annotations

import functools
import importlib.metadata
import sys
import types
import warnings

import numpy as np

from .audio import resample
from .pause_gate import distance_to_speech


def _import_pyworld():
    """``import pyworld``, without importing pkg_resources for it.

    pyworld's ``__init__`` imports the deprecated ``pkg_resources`` only to read its own version
    (``get_distribution("pyworld").version``); that import scans every installed distribution and
    was about a quarter of ``msar synth``'s start-up. While pyworld is imported, a stand-in answers
    that one call from ``importlib.metadata``; it is removed straight after, so any later
    ``import pkg_resources`` gets the real one. Should pyworld ask more of it, the real import runs."""
    if "pyworld" in sys.modules or "pkg_resources" in sys.modules:
        import pyworld
        return pyworld
    stand_in = types.ModuleType("pkg_resources")
    stand_in.get_distribution = lambda name: types.SimpleNamespace(version=importlib.metadata.version(name))
    sys.modules["pkg_resources"] = stand_in
    try:
        import pyworld
    except Exception:  # noqa: BLE001 - pyworld wanted more than the stand-in has: import it the usual way
        sys.modules.pop("pyworld", None)
        sys.modules.pop("pyworld.pyworld", None)
        pyworld = None
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    if pyworld is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pkg_resources' deprecation warning
            import pyworld
    return pyworld


pyworld = _import_pyworld()

#: Period between consecutive F0 frames in milliseconds (WORLD's default).
FRAME_PERIOD_MS = 5.0
#: Lowest and highest F0 searched, in Hz (pyworld's defaults for speech).
F0_FLOOR_HZ = 71.0
F0_CEIL_HZ = 800.0
#: Rate at which F0 is analysed, in Hz. F0 lies far below its 4 kHz Nyquist limit, and dio
#: decimates internally anyway: on speech-like test signals the 8 kHz contour matched the
#: full-rate one (cosine 1.00000) while running 2.5x faster at 16 kHz input.
F0_ANALYSIS_SR = 8000

F0_METHODS = ("dio", "harvest")


def as_world_input(x: np.ndarray) -> np.ndarray:
    """pyworld wants 1-D, float64, C-contiguous mono; convert once here."""
    if x.ndim == 2:
        x = x.mean(axis=1)
    return np.ascontiguousarray(x, dtype=np.float64)


def f0_contour(x: np.ndarray, sr: int, method: str = "dio",
               frame_period_ms: float = FRAME_PERIOD_MS) -> np.ndarray:
    """F0 in Hz per frame (unvoiced frames are 0), one frame every ``frame_period_ms``.

    Parameters
    ----------
    x : 1-D or ``(n, ch)`` float audio (channels are averaged).
    sr : sample rate of ``x`` in Hz.
    method : ``"dio"`` (dio + stonemask refinement, fast; default) or ``"harvest"`` (slower,
        more robust voicing decisions).
    frame_period_ms : frame hop in milliseconds. Default: 5.0.

    The frame count is ``floor(len(x) / sr * 1000 / frame_period_ms) + 1``, whatever the method.
    """
    if method not in F0_METHODS:
        raise ValueError(f"unknown F0 method {method!r}; choose from {', '.join(F0_METHODS)}")
    mono = as_world_input(x)
    n_frames = int(len(mono) / sr * 1000.0 / frame_period_ms) + 1
    if sr > F0_ANALYSIS_SR:
        mono = as_world_input(resample(mono, sr, F0_ANALYSIS_SR))
        sr = F0_ANALYSIS_SR
    if len(mono) < 2:
        return np.zeros(n_frames)
    if method == "dio":
        f0, times = pyworld.dio(mono, sr, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                                frame_period=frame_period_ms)
        f0 = pyworld.stonemask(mono, f0, times, sr)
    else:
        f0, _ = pyworld.harvest(mono, sr, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ,
                                frame_period=frame_period_ms)
    return _fit_length(f0, n_frames)


def _fit_length(contour: np.ndarray, n_frames: int) -> np.ndarray:
    """Trim or zero-pad ``contour`` to ``n_frames`` (resampling can shift the count by one)."""
    if len(contour) >= n_frames:
        return contour[:n_frames]
    return np.pad(contour, (0, n_frames - len(contour)))


# ---- WORLD features for the synthesis models (training and runtime share these) ---------------

#: Coded spectral envelope dimensions (``pyworld.code_spectral_envelope``: a mel-cepstrum-like
#: coding of the CheapTrick envelope).
N_SP_DIMS = 40


def n_ap_bands(sr: int) -> int:
    """Band aperiodicity dimensions WORLD codes at ``sr`` (one band per 3 kHz above 3 kHz: 1 at
    16 kHz, 2 at 22.05 kHz)."""
    return int(pyworld.get_num_aperiodicities(sr))


def feature_layout(sr: int, n_sp: int = N_SP_DIMS) -> dict[str, list[int]]:
    """Column ranges ``[start, stop)`` of each part of a :func:`world_features` row:
    ``lf0`` (log F0, interpolated through unvoiced frames), ``vuv`` (1 voiced / 0 unvoiced),
    ``sp`` (coded envelope) and ``ap`` (coded band aperiodicity, dB)."""
    n_ap = n_ap_bands(sr)
    return {"lf0": [0, 1], "vuv": [1, 2], "sp": [2, 2 + n_sp], "ap": [2 + n_sp, 2 + n_sp + n_ap]}


def interp_lf0(f0_hz: np.ndarray) -> np.ndarray:
    """Natural-log F0 with unvoiced frames (0 Hz) filled by linear interpolation between voiced
    neighbours and held flat at the ends (a continuous target is easier to regress; voicing is
    coded separately). All-unvoiced input gives log(100 Hz)."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced = f0_hz > 0
    if not voiced.any():
        return np.full(len(f0_hz), np.log(100.0))
    idx = np.arange(len(f0_hz))
    return np.interp(idx, idx[voiced], np.log(f0_hz[voiced]))


def world_features(x: np.ndarray, sr: int, n_sp: int = N_SP_DIMS,
                   frame_period_ms: float = FRAME_PERIOD_MS, f0_method: str = "dio") -> np.ndarray:
    """WORLD features ``(n_frames, 2 + n_sp + n_ap)`` float32 of a mono signal, one row per
    ``frame_period_ms`` (column layout: :func:`feature_layout`).

    Parameters
    ----------
    x : 1-D or ``(n, ch)`` float audio at ``sr`` Hz (channels are averaged).
    sr : sample rate in Hz; the features are specific to it (the envelope coding and the number
        of aperiodicity bands depend on it), so a model is trained and run at one rate.
    n_sp : coded spectral envelope dimensions. Default: :data:`N_SP_DIMS` (40).
    frame_period_ms : frame hop in milliseconds. Default: 5.0.
    f0_method : ``"dio"`` (dio + stonemask at the full rate; default, ~10x faster than harvest,
        which matters for hours of training data on CPU) or ``"harvest"``.

    F0 comes from ``f0_method``, then CheapTrick and D4C at the same frames, coded with ``code_spectral_envelope`` and
    ``code_aperiodicity``. Frame count: ``floor(len(x) / sr * 1000 / frame_period_ms) + 1``.
    """
    mono = as_world_input(x)
    if f0_method not in F0_METHODS:
        raise ValueError(f"unknown F0 method {f0_method!r}; choose from {', '.join(F0_METHODS)}")
    if f0_method == "dio":
        f0, t = pyworld.dio(mono, sr, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=frame_period_ms)
        f0 = pyworld.stonemask(mono, f0, t, sr)
    else:
        f0, t = pyworld.harvest(mono, sr, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=frame_period_ms)
    sp = pyworld.cheaptrick(mono, f0, t, sr)
    ap = pyworld.d4c(mono, f0, t, sr)
    csp = pyworld.code_spectral_envelope(sp, sr, n_sp)
    cap = pyworld.code_aperiodicity(ap, sr)
    feats = np.concatenate([interp_lf0(f0)[:, None], (f0 > 0)[:, None].astype(np.float64), csp, cap], axis=1)
    return feats.astype(np.float32)


@functools.lru_cache(maxsize=16)
def _envelope_decoder(sr: int, fft_size: int, n_dims: int) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, matrix)`` with ``log(pyworld.decode_spectral_envelope(c, sr, fft_size))`` equal to
    ``offset + c @ matrix`` for any coded envelope ``c`` of ``n_dims`` dimensions. WORLD's decoding
    is an inverse DCT on a mel axis followed by linear interpolation onto the FFT bins, linear in
    the coded values up to its final ``exp``; so the map is read off pyworld once (the zero vector
    and each unit vector) and a whole utterance then decodes in one matrix product, about twice
    as fast as pyworld's frame loop and equal to it to rounding (``tests/test_world_features.py``)."""
    offset = np.log(pyworld.decode_spectral_envelope(np.zeros((1, n_dims)), sr, fft_size))[0]
    matrix = np.log(pyworld.decode_spectral_envelope(np.eye(n_dims), sr, fft_size)) - offset
    return offset, matrix


def decode_envelope_log(coded_sp: np.ndarray, sr: int, fft_size: int) -> np.ndarray:
    """Natural log of ``pyworld.decode_spectral_envelope(coded_sp, sr, fft_size)``, by
    :func:`_envelope_decoder`'s matrix."""
    coded_sp = np.asarray(coded_sp, dtype=np.float64)
    offset, matrix = _envelope_decoder(int(sr), int(fft_size), coded_sp.shape[1])
    return offset + coded_sp @ matrix


#: WORLD's aperiodicity of an unvoiced frame (``1 - kMySafeGuardMinimum``) and the mean coded
#: aperiodicity (dB) above which its decoder calls a frame unvoiced (codec.cpp, ``CheckVUV``).
_AP_UNVOICED = 1.0 - 1e-12
_AP_UNVOICED_ABOVE_DB = -0.5


@functools.lru_cache(maxsize=16)
def _aperiodicity_decoder(sr: int, fft_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(offset, matrix)`` with ``20 log10(pyworld.decode_aperiodicity(c, sr, fft_size))`` equal
    to ``offset + c @ matrix`` on voiced frames: WORLD interpolates the coded band values (dB,
    with -60 dB at 0 Hz and 0 dB at Nyquist) linearly onto the FFT bins. Read off pyworld like
    :func:`_envelope_decoder`, from a voiced base frame (-10 dB in every band)."""
    n = pyworld.get_num_aperiodicities(sr)
    base = np.full((1, n), -10.0)
    db = lambda c: 20.0 * np.log10(pyworld.decode_aperiodicity(np.ascontiguousarray(c), sr, fft_size))  # noqa: E731
    at_base = db(base)[0]
    matrix = at_base - db(base - np.eye(n))  # a band 1 dB lower lowers each bin by its weight
    return at_base - base[0] @ matrix, matrix


def decode_aperiodicity(coded_ap: np.ndarray, sr: int, fft_size: int) -> np.ndarray:
    """``pyworld.decode_aperiodicity(coded_ap, sr, fft_size)`` by :func:`_aperiodicity_decoder`'s
    matrix, with WORLD's unvoiced rule (equal to it to rounding; several times faster)."""
    coded_ap = np.asarray(coded_ap, dtype=np.float64)
    offset, matrix = _aperiodicity_decoder(int(sr), int(fft_size))
    ap = 10.0 ** ((offset + coded_ap @ matrix) / 20.0)
    ap[coded_ap.mean(axis=1) > _AP_UNVOICED_ABOVE_DB] = _AP_UNVOICED
    return ap


def sharpen_envelope(coded_sp: np.ndarray, sr: int, fft_size: int, beta: float) -> np.ndarray:
    """Decoded spectral envelope ``(frames, fft_size // 2 + 1)`` of ``coded_sp`` with its formant
    structure emphasized: the cepstral post-filter of statistical parametric synthesis (SPTK's
    ``mcpf``; Yoshimura et al. 2004), coefficients from the second on scaled by ``1 + beta``.
    A regression model predicts over-smoothed envelopes (flattened peaks and valleys), which is
    what makes it sound muffled; scaling the cepstrum deepens them again. Each frame's power is
    then brought back to the unsharpened envelope's, so only the shape changes."""
    coded_sp = np.asarray(coded_sp, dtype=np.float64)
    log_plain = decode_envelope_log(coded_sp, sr, fft_size)
    plain = np.exp(log_plain)
    if beta == 0.0:
        return plain
    _, matrix = _envelope_decoder(int(sr), int(fft_size), coded_sp.shape[1])
    sp = np.exp(log_plain + beta * (coded_sp[:, 2:] @ matrix[2:]))
    gain = np.sum(plain, axis=1, keepdims=True) / np.maximum(np.sum(sp, axis=1, keepdims=True), 1e-300)
    return sp * gain


#: Largest factor :func:`restore_variance` scales a dimension's deviations by: a short or nearly
#: constant utterance has a tiny variance of its own, and matching it to the target would blow up
#: what is mostly estimation noise.
GV_MAX_GAIN = 3.0


def restore_variance(coded: np.ndarray, target_var: np.ndarray, weight: float,
                     max_gain: float = GV_MAX_GAIN, skip: int = 1) -> np.ndarray:
    """``coded`` (frames, dims) with each dimension's spread over the utterance moved towards
    ``target_var``: the global-variance compensation of statistical parametric synthesis (Toda &
    Tokuda 2007, in the closed form HTS and Merlin use as a post-filter). A regression model's
    trajectories vary less over time than real ones (on the shipped synthesis model, 0.2-0.9 of the
    recordings' variance per coded-envelope dimension, lowest in the fine-detail ones), which is
    the over-smoothing heard as muffled, buzzy speech; :func:`sharpen_envelope` deepens each
    frame's spectral shape, this restores how much it changes.

    Each dimension's deviation from its utterance mean is scaled by
    ``(target_var / var) ** (weight / 2)``, kept within ``[1, max_gain]`` (never smoothed further),
    so ``weight`` 1 reaches the target variance and 0 changes nothing. The first ``skip``
    dimensions are kept (the envelope's overall level, which would change loudness contours)."""
    x = np.asarray(coded, dtype=np.float64)
    if weight == 0.0 or len(x) < 2:
        return x.copy()
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    gain = (np.asarray(target_var, np.float64) / np.maximum(var, 1e-12)) ** (weight / 2.0)
    gain = np.clip(gain, 1.0, max_gain)
    gain[:skip] = 1.0
    return mean + (x - mean) * gain


def sparse_unvoiced(f0: np.ndarray, ap: np.ndarray, pulse_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """``(f0, ap)`` that ``pyworld.synthesize`` renders with ``pulse_hz`` noise segments a second,
    instead of 500, in unvoiced frames at least three frames from a voiced one.

    WORLD's synthesis (synthesis.cpp) excites unvoiced frames with one noise segment every 2 ms (its
    ``kDefaultF0``, 500 Hz), each through its own minimum-phase filter, four FFTs a segment: a
    second of silence or frication costs more than a second of a 270 Hz voice.

    Those frames are marked voiced at ``pulse_hz`` with an aperiodicity of 1 in every band, which
    WORLD renders as noise alone (it skips the periodic response when the aperiodicity of the lowest
    band exceeds 0.999) through the same envelope as an unvoiced frame. The frames next to voiced
    ones are left unvoiced, so every voiced pulse interpolates the aperiodicity it did before; the
    second one also gets the aperiodicity 1, which an unvoiced frame ignores, so that pulses between
    it and the first sparse frame see a fully aperiodic frame on both sides. The result is the same
    filtered noise with another random draw. On the synthesis voices at 200 Hz (180 utterances,
    reports/synth-unvoiced.md) its log-mel distance to WORLD's own rendering is 1.19 dB, against
    1.01 dB for WORLD's rendering with its noise drawn afresh, and DistillMOS, DNSMOS and WER do
    not move beyond their noise."""
    f0 = np.array(f0, dtype=np.float64)
    ap = np.array(ap, dtype=np.float64)
    voiced = f0 > 0
    if voiced.all():
        return f0, ap
    far = np.full(len(f0), np.inf) if not voiced.any() else distance_to_speech(~voiced)
    ap[far >= 2] = 1.0
    f0[far >= 3] = float(pulse_hz)
    return f0, ap


def world_synthesize(feats: np.ndarray, sr: int, n_sp: int = N_SP_DIMS,
                     frame_period_ms: float = FRAME_PERIOD_MS, vuv_threshold: float = 0.5,
                     postfilter_beta: float = 0.0, unvoiced_pulse_hz: float | None = None) -> np.ndarray:
    """Audio (float32 1-D at ``sr`` Hz) from :func:`world_features` rows (the inverse).

    ``vuv`` above ``vuv_threshold`` marks a frame voiced at ``exp(lf0)`` Hz; others are unvoiced.
    The coded envelope and aperiodicity are decoded with the FFT size CheapTrick uses at ``sr``
    (``pyworld.get_cheaptrick_fft_size``), the contract between coding and ``synthesize``.
    ``postfilter_beta`` > 0 sharpens the envelope first (:func:`sharpen_envelope`). A smaller
    synthesis FFT would be faster (512 at 16 kHz: ~40 % less time in ``pyworld.synthesize``) but was
    measured to cost naturalness on the synthesis voices (DistillMOS 3.148 -> 3.066 over 60
    utterances, flite-rms 3.35 -> 3.06), so the contract's size is kept. ``unvoiced_pulse_hz``
    (None: WORLD's 500 Hz) renders long unvoiced runs with fewer noise segments
    (:func:`sparse_unvoiced`).
    """
    feats = np.asarray(feats, dtype=np.float64)
    lay = feature_layout(sr, n_sp)
    if feats.ndim != 2 or feats.shape[1] != lay["ap"][1]:
        raise ValueError(f"features must be (n_frames, {lay['ap'][1]}) at {sr} Hz, got shape {feats.shape}")
    fft_size = pyworld.get_cheaptrick_fft_size(sr)
    f0 = np.where(feats[:, 1] > vuv_threshold, np.exp(feats[:, 0]), 0.0)
    sp = sharpen_envelope(feats[:, slice(*lay["sp"])], sr, fft_size, postfilter_beta)
    cap = np.ascontiguousarray(feats[:, slice(*lay["ap"])])
    ap = decode_aperiodicity(cap, sr, fft_size)
    ap = np.clip(ap, 0.0, 1.0)
    if unvoiced_pulse_hz is not None:
        f0, ap = sparse_unvoiced(f0, ap, unvoiced_pulse_hz)
    y = pyworld.synthesize(np.ascontiguousarray(f0), sp, ap, sr, frame_period=frame_period_ms)
    return y.astype(np.float32)


# ---- synthesis at a higher output rate than the features' ----------------------------------------

#: How :func:`world_synthesize_at` continues an envelope above the features' Nyquist frequency, and the
#: aperiodicity it puts there; chosen on the corpus' valid split (``bench/wideband_tune.py``:
#: 14 clips of 7 speakers, their real 48 kHz WORLD envelopes against the extension of 16 kHz ones;
#: reports/resynth.md, "Synthesis at the output rate").
#: Slope of the log envelope above the features' band, dB per octave: the least-squares slope over
#: the top octave of the band, limited to [``EXT_SLOPE_MIN_DB_OCT``, ``EXT_SLOPE_MAX_DB_OCT``]. The
#: measured top-octave slope did not predict the true one above 8 kHz (correlation 0.04; true 8-16 kHz
#: slopes: median -13.3 dB/octave, quartiles -34 .. -5), so the limits are equal: a fixed -12 dB/octave,
#: the lowest error on the model's envelopes of 4 kHz low-passed input (17.99 dB RMS against 18.04-19.92
#: for the other fixed and fitted rules; 16.75 on the clean envelopes, where -15 gave 16.49).
EXT_SLOPE_MIN_DB_OCT = -12.0
EXT_SLOPE_MAX_DB_OCT = -12.0
#: Aperiodicity above the features' band, dB (20 log10 of WORLD's ratio): voiced frames of real
#: speech read -1.6 to -2.8 dB above 8 kHz at 48 kHz (median per clip; the median of those -1.8),
#: unvoiced ones 0 dB (synthesis treats unvoiced frames as noise anyway).
EXT_AP_DB = -1.8


def _interp_rows(v: np.ndarray, f_in: np.ndarray, f_out: np.ndarray) -> np.ndarray:
    """``np.interp(f_out, f_in, row)`` for every row of ``v`` (``f_in`` ascending and evenly spaced
    from 0; points beyond its end read its last value)."""
    pos = np.clip(f_out / f_in[1], 0.0, len(f_in) - 1.0)
    i = np.minimum(pos.astype(np.int64), len(f_in) - 2)
    w = pos - i
    return v[:, i] * (1.0 - w) + v[:, i + 1] * w


def extend_envelope(sp: np.ndarray, sr_in: int, sr_out: int, fft_out: int,
                    slope_min_db_oct: float = EXT_SLOPE_MIN_DB_OCT,
                    slope_max_db_oct: float = EXT_SLOPE_MAX_DB_OCT) -> np.ndarray:
    """A CheapTrick envelope ``sp`` (frames x ``fft_in // 2 + 1``, at ``sr_in``) on ``sr_out``'s
    grid of ``fft_out // 2 + 1`` bins (``sr_out > sr_in``), in the units CheapTrick gives at
    ``sr_out`` (its power scales with the rate: x ``sr_out / sr_in``, measured 4.77 dB from 16 to
    48 kHz on real speech).

    Below ``sr_in / 2`` the log envelope is interpolated. Above, per frame, a straight line in dB
    over log frequency: its slope is the least-squares fit of the frame's log envelope over the top
    octave of its band (``sr_in / 4 .. sr_in / 2``) limited to [``slope_min_db_oct``,
    ``slope_max_db_oct``], and it passes through the fit's level at ``sr_in / 2``; from ``sr_in / 2``
    the envelope joins that line with a 1/8-octave raised-cosine cross-fade."""
    sp = np.asarray(sp, dtype=np.float64)
    fft_in = 2 * (sp.shape[1] - 1)
    f_in = np.arange(sp.shape[1]) * sr_in / fft_in
    f_out = np.arange(fft_out // 2 + 1) * sr_out / fft_out
    top = sr_in / 2
    log_sp = np.log(np.maximum(sp, 1e-300)) + np.log(sr_out / sr_in)
    # below the top: interpolation on the output grid (bins beyond it read the top bin)
    low = _interp_rows(log_sp, f_in, f_out)
    # the top octave's least-squares line in (log2 f, dB)
    fit = (f_in >= top / 2) & (f_in <= top)
    u = np.log2(f_in[fit] / top)
    db = (10 / np.log(10)) * log_sp[:, fit]
    uc = u - u.mean()
    slope = (db - db.mean(axis=1, keepdims=True)) @ uc / np.sum(uc ** 2)
    level_top = db.mean(axis=1) - slope * u.mean()  # the line's value at `top`
    slope = np.clip(slope, slope_min_db_oct, slope_max_db_oct)
    above = f_out > top
    oct_above = np.log2(np.maximum(f_out, 1.0) / top)
    line = (level_top[:, None] + slope[:, None] * oct_above[None, :]) * (np.log(10) / 10)
    w = np.where(above, 0.5 - 0.5 * np.cos(np.pi * np.clip(oct_above / 0.125, 0.0, 1.0)), 0.0)
    out = (1.0 - w) * low + w * line
    return np.exp(out)


def extend_aperiodicity(ap: np.ndarray, sr_in: int, sr_out: int, fft_out: int, ap_db: float = EXT_AP_DB) -> np.ndarray:
    """Aperiodicity ``ap`` (frames x bins at ``sr_in``) on ``sr_out``'s CheapTrick grid: interpolated
    below ``sr_in / 2``, ``ap_db`` above it (joined over 1/8 octave, as :func:`extend_envelope`)."""
    ap = np.asarray(ap, dtype=np.float64)
    fft_in = 2 * (ap.shape[1] - 1)
    f_in = np.arange(ap.shape[1]) * sr_in / fft_in
    f_out = np.arange(fft_out // 2 + 1) * sr_out / fft_out
    top = sr_in / 2
    low = _interp_rows(ap, f_in, f_out)
    oct_above = np.log2(np.maximum(f_out, 1.0) / top)
    w = np.where(f_out > top, 0.5 - 0.5 * np.cos(np.pi * np.clip(oct_above / 0.125, 0.0, 1.0)), 0.0)
    return (1.0 - w) * low + w * 10 ** (ap_db / 20)


def world_synthesize_at(feats: np.ndarray, sr: int, out_sr: int, n_sp: int = N_SP_DIMS,
                        frame_period_ms: float = FRAME_PERIOD_MS, vuv_threshold: float = 0.5,
                        slope_min_db_oct: float = EXT_SLOPE_MIN_DB_OCT,
                        slope_max_db_oct: float = EXT_SLOPE_MAX_DB_OCT, ap_db: float = EXT_AP_DB,
                        fft_size: int | None = None) -> np.ndarray:
    """Audio (float32 1-D at ``out_sr`` Hz) from :func:`world_features` rows of rate ``sr``: the
    envelope and aperiodicity are decoded on ``sr``'s grid, carried onto ``out_sr``'s CheapTrick
    grid and continued above ``sr / 2`` (:func:`extend_envelope`, :func:`extend_aperiodicity`),
    then ``pyworld.synthesize`` runs at ``out_sr``: the output is wideband up to ``out_sr / 2``.
    ``out_sr == sr`` is :func:`world_synthesize` itself (bit-identical); ``out_sr < sr`` is refused.
    ``fft_size``: the synthesis FFT size at ``out_sr`` (None: CheapTrick's there; WORLD's cost grows
    with it, and a smaller one only coarsens the frequency grid of an already smooth envelope)."""
    if out_sr == sr:
        return world_synthesize(feats, sr, n_sp, frame_period_ms, vuv_threshold)
    if out_sr < sr:
        raise ValueError(f"world_synthesize_at makes a higher rate than the features' ({out_sr} < {sr})")
    feats = np.asarray(feats, dtype=np.float64)
    lay = feature_layout(sr, n_sp)
    if feats.ndim != 2 or feats.shape[1] != lay["ap"][1]:
        raise ValueError(f"features must be (n_frames, {lay['ap'][1]}) at {sr} Hz, got shape {feats.shape}")
    fft_in = pyworld.get_cheaptrick_fft_size(sr)
    fft_out = pyworld.get_cheaptrick_fft_size(out_sr) if fft_size is None else int(fft_size)
    f0 = np.where(feats[:, 1] > vuv_threshold, np.exp(feats[:, 0]), 0.0)
    sp = np.exp(decode_envelope_log(feats[:, slice(*lay["sp"])], sr, fft_in))
    ap = decode_aperiodicity(feats[:, slice(*lay["ap"])], sr, fft_in)
    sp = extend_envelope(sp, sr, out_sr, fft_out, slope_min_db_oct, slope_max_db_oct)
    ap = extend_aperiodicity(np.clip(ap, 0.0, 1.0), sr, out_sr, fft_out, ap_db)
    y = pyworld.synthesize(np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(np.clip(ap, 0.0, 1.0)),
                           out_sr, frame_period=frame_period_ms)
    return y.astype(np.float32)
