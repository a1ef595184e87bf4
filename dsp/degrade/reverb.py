"""Reverberation: convolution with a room impulse response (RIR), time-aligned to the dry input.

Three RIR models:

- ``room``: a simulated shoebox room (pyroomacoustics, the optional ``degrade`` extra). Room size,
  source and microphone positions are drawn; wall absorption follows Sabine's formula for the
  requested RT60 (``pyroomacoustics.inverse_sabine``). The image-source method runs up to
  :data:`MAX_IMAGE_ORDER` reflections (early reflections, fast); beyond that a Gaussian-noise
  tail decaying 60 dB in ``rt60_s`` carries on, level-matched to the image-source response just
  before it ends (the usual hybrid of early ISM plus stochastic late reverb).
- ``exp``: the fallback without pyroomacoustics: a unit direct impulse plus Gaussian noise with an
  exponential envelope ``exp(-3·ln(10)·t/rt60_s)`` (60 dB of energy decay in ``rt60_s``), scaled
  so that direct-to-reverberant energy ratio is ``drr_db`` (Polack's statistical model).
- ``file``: a measured RIR from a folder (mixed to mono, resampled); ``rt60_s`` and ``drr_db``
  are then properties of the recording, measured and logged rather than set.

Every RIR is scaled to unit energy (so the output power is close to the input's) and the output
is shifted by the direct-path delay, so that damaged and clean files stay sample-aligned. The
same mono RIR is applied to every channel. The RIR's own ``rt60_measured_s`` (Schroeder backward
integration, T20 extrapolated, ISO 3382-1) and ``drr_measured_db`` are logged for every model.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import signal

from ..errors import MsarError
from .base import finish, load_mono, param, source

MODELS = ("auto", "room", "exp", "file")

#: Speed of sound, m/s.
SOUND_SPEED = 343.0
#: Highest image-source order simulated; later reflections come from the stochastic tail.
MAX_IMAGE_ORDER = 15
#: Drawn room size ranges in metres (length, width, height).
ROOM_RANGE_M = ((3.0, 10.0), (3.0, 8.0), (2.4, 4.0))
#: Closest a source or microphone gets to a wall, and to each other, in metres.
WALL_GAP_M, MIN_DISTANCE_M = 0.5, 0.75
#: Half width of the window around the direct-path peak that counts as "direct" for DRR, seconds.
DIRECT_WINDOW_S = 0.0025
#: Cross-fade between image-source response and stochastic tail, seconds.
TAIL_FADE_S = 0.01


@functools.lru_cache(maxsize=1)
def have_pyroomacoustics() -> bool:
    try:
        import pyroomacoustics  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class ReverbParams:
    rt60_s: float = param(0.5, lo=0.05, hi=5.0, help="reverberation time (60 dB decay) in seconds")
    model: str = param("auto", choices=MODELS,
                       help="room (simulated shoebox, needs pyroomacoustics), exp (exponential-decay "
                            "noise), file (a recorded RIR), auto (file if RIRs were given, else room "
                            "when pyroomacoustics is installed, else exp)")
    drr_db: float = param(0.0, lo=-30.0, hi=40.0, help="direct-to-reverberant ratio in dB (exp model only)")
    rir_files: tuple[str, ...] = source("rir_files", help="recorded room impulse responses for model=file")

    def __post_init__(self):
        if self.model == "file" and not self.rir_files:
            raise ValueError("model=file needs room impulse responses (an RIR folder), none were given")
        if self.model == "room" and not have_pyroomacoustics():
            raise ValueError("model=room needs pyroomacoustics (pip install 'msar[degrade]'); "
                             "model=exp works without it")


def resolve_model(params: ReverbParams) -> str:
    if params.model != "auto":
        return params.model
    if params.rir_files:
        return "file"
    return "room" if have_pyroomacoustics() else "exp"


def decay_envelope(n: int, sr: int, rt60_s: float) -> np.ndarray:
    """Amplitude envelope whose energy falls 60 dB in ``rt60_s``: ``10^(-3 t / rt60_s)``."""
    return 10.0 ** (-3.0 * np.arange(n) / (sr * rt60_s))


def exp_rir(rng: np.random.Generator, sr: int, rt60_s: float, drr_db: float) -> np.ndarray:
    """Direct impulse at sample 0 plus an exponentially decaying Gaussian tail (to -60 dB)."""
    n = max(int(rt60_s * sr), 2)
    tail = rng.standard_normal(n) * decay_envelope(n, sr, rt60_s)
    tail[0] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail**2))
    tail[0] = 1.0
    return tail


def _draw_room(rng: np.random.Generator, rt60_s: float) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Room dimensions, Sabine wall absorption, source and microphone positions."""
    import pyroomacoustics as pra

    dims = np.array([rng.uniform(lo, hi) for lo, hi in ROOM_RANGE_M])
    # Sabine: absorption = 24 ln10 V / (c S RT60) must stay below 1, so a short RT60 needs a small
    # room: shrink all dimensions (V/S scales linearly) until it fits.
    sabine = 24 * np.log(10) / SOUND_SPEED
    volume, surface = np.prod(dims), 2 * (dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2])
    limit = 0.9 * rt60_s / sabine
    if volume / surface > limit:
        dims *= limit / (volume / surface)
    e_absorption, _ = pra.inverse_sabine(rt60_s, dims.tolist(), c=SOUND_SPEED)
    gap = np.minimum(WALL_GAP_M, dims / 4)
    for _ in range(100):
        src = np.array([rng.uniform(g, d - g) for g, d in zip(gap, dims)])
        mic = np.array([rng.uniform(g, d - g) for g, d in zip(gap, dims)])
        if np.linalg.norm(src - mic) >= min(MIN_DISTANCE_M, dims.min() / 2):
            break
    return dims, float(e_absorption), src, mic


def room_rir(rng: np.random.Generator, sr: int, rt60_s: float) -> tuple[np.ndarray, dict]:
    """A shoebox RIR: image sources up to :data:`MAX_IMAGE_ORDER`, then a stochastic tail."""
    import pyroomacoustics as pra

    dims, e_absorption, src, mic = _draw_room(rng, rt60_s)
    _, sabine_order = pra.inverse_sabine(rt60_s, dims.tolist(), c=SOUND_SPEED)
    order = int(min(sabine_order, MAX_IMAGE_ORDER))
    room = pra.ShoeBox(dims.tolist(), fs=sr, materials=pra.Material(e_absorption), max_order=order,
                       air_absorption=False, use_rand_ism=False)
    room.add_source(src.tolist())
    room.add_microphone(mic.tolist())
    # pyroomacoustics high-passes RIRs at 10 Hz with a zero-phase filter, which smears energy
    # hundreds of milliseconds before the direct sound; keep the response causal instead.
    hpf = pra.constants.get("rir_hpf_enable")
    pra.constants.set("rir_hpf_enable", False)
    try:
        room.compute_rir()
    finally:
        pra.constants.set("rir_hpf_enable", hpf)
    h = np.asarray(room.rir[0][0], dtype=np.float64)
    info = {"room_m": [round(float(d), 3) for d in dims], "source_m": [round(float(v), 3) for v in src],
            "mic_m": [round(float(v), 3) for v in mic], "distance_m": round(float(np.linalg.norm(src - mic)), 3),
            "absorption": round(e_absorption, 4), "image_order": order}
    if order < sabine_order:
        h = _add_tail(rng, h, sr, rt60_s, complete_s=order * dims.min() / SOUND_SPEED)
    return h, info


def _add_tail(rng, h: np.ndarray, sr: int, rt60_s: float, complete_s: float) -> np.ndarray:
    """Continue ``h`` with Gaussian noise decaying 60 dB in ``rt60_s``.

    The image-source response of order N holds every reflection arriving within about
    N·(smallest dimension)/c of the sound's emission (``complete_s``); the tail takes over there,
    its level matched to the energy of ``h`` in the 20 ms before, and cross-faded in.
    """
    start = int(np.argmax(np.abs(h)))  # direct path: the tail's envelope starts from it
    join = max(int(complete_s * sr), start + int(0.005 * sr))
    window = int(0.02 * sr)
    fade = max(int(TAIL_FADE_S * sr), 1)
    lo = max(join - window, start + 1)
    n = max(start + int(rt60_s * sr), join + fade + 1)
    envelope = np.zeros(n)
    envelope[start:] = decay_envelope(n - start, sr, rt60_s)
    tail = rng.standard_normal(n) * envelope
    h = np.pad(h, (0, max(0, n - len(h))))[:n]
    measured = np.sum(h[lo:join] ** 2)
    expected = np.sum(envelope[lo:join] ** 2)
    if measured <= 0 or expected <= 0:
        return h
    tail *= np.sqrt(measured / expected)
    ramp = np.clip((np.arange(n) - join) / fade, 0.0, 1.0)
    return h * (1 - ramp) + tail * ramp


def measure_rt60(h: np.ndarray, sr: int) -> float:
    """RT60 of an RIR from Schroeder's backward-integrated energy decay: the time from -5 to
    -25 dB, times 3 (T20, ISO 3382-1). NaN if the decay never reaches -25 dB."""
    energy = np.cumsum(h[::-1].astype(np.float64) ** 2)[::-1]
    if energy[0] <= 0:
        return float("nan")
    curve = 10 * np.log10(np.maximum(energy / energy[0], 1e-30))
    i5, i25 = np.argmax(curve <= -5), np.argmax(curve <= -25)
    if curve[-1] > -25 or i25 <= i5:
        return float("nan")
    # Least-squares line through the -5..-25 dB part of the decay curve.
    t = np.arange(i5, i25 + 1) / sr
    slope = np.polyfit(t, curve[i5:i25 + 1], 1)[0]
    return float(-60.0 / slope) if slope < 0 else float("nan")


def measure_drr(h: np.ndarray, sr: int) -> float:
    """Direct-to-reverberant energy ratio in dB: energy within ±2.5 ms of the direct-path peak
    against everything after it."""
    peak = int(np.argmax(np.abs(h)))
    half = int(DIRECT_WINDOW_S * sr)
    direct = np.sum(h[max(peak - half, 0):peak + half + 1] ** 2)
    late = np.sum(h[peak + half + 1:] ** 2)
    return float(10 * np.log10(direct / late)) if late > 0 and direct > 0 else float("inf")


def convolve_aligned(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``x`` (n, ch) convolved with 1-D ``h``, shifted by ``h``'s peak and cut to ``len(x)``."""
    delay = int(np.argmax(np.abs(h)))
    y = signal.oaconvolve(x.astype(np.float64), h[:, None], axes=0)
    return y[delay:delay + len(x)]


def reverb(x: np.ndarray, sr: int, params: ReverbParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` convolved with a room impulse response of the chosen model (see module docstring)."""
    model = resolve_model(params)
    applied: dict = {"model": model}
    if model == "room":
        h, info = room_rir(rng, sr, params.rt60_s)
        applied.update(rt60_s=params.rt60_s, **info)
    elif model == "exp":
        h = exp_rir(rng, sr, params.rt60_s, params.drr_db)
        applied.update(rt60_s=params.rt60_s, drr_db=params.drr_db)
    else:
        path = params.rir_files[int(rng.integers(len(params.rir_files)))]
        h = np.asarray(load_mono(path, sr), dtype=np.float64)
        applied["rir_file"] = path
    energy = np.sum(h**2)
    if not np.isfinite(energy) or energy <= 0:
        raise MsarError(f"{applied.get('rir_file', 'reverb')}: impulse response is silent")
    h = h / np.sqrt(energy)
    applied.update(rt60_measured_s=round(measure_rt60(h, sr), 4), drr_measured_db=round(measure_drr(h, sr), 2))
    return finish(convolve_aligned(x, h), x), applied
