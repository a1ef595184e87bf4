"""Additive noise at a given SNR: synthetic colours, real noise recordings, or babble.

SNR definition: ``snr_db = 10·log10(P_signal / P_noise)`` where both powers are mean squares
over the whole file and all channels (not an active-speech level, so pauses count), and the
signal is the input *as it is at this step of the recipe* (after any earlier reverb, say). The
noise is scaled to hit ``snr_db`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import MsarError
from .base import SILENCE_POWER, db, finish, load_mono, param, power, source, take_wrapped

KINDS = ("auto", "any", "white", "pink", "brown", "file", "babble")

#: Spectral slope of the synthetic colours: power ∝ 1/f^alpha.
_ALPHA = {"white": 0.0, "pink": 1.0, "brown": 2.0}

#: Below this frequency pink and brown noise are flat, so that 1/f does not pile up sub-audio rumble.
COLOUR_FLOOR_HZ = 20.0


@dataclass(frozen=True)
class NoiseParams:
    snr_db: float = param(10.0, lo=-30.0, hi=80.0,
                          help="signal-to-noise ratio in dB (whole-file mean-square powers)")
    kind: str = param("auto", choices=KINDS,
                      help="white, pink, brown, file (a noise recording), babble (a sum of talkers), "
                           "any (drawn among those available), auto (file if noise recordings "
                           "were given, else white)")
    talkers: int = param(4, lo=1, hi=32, help="number of talkers summed into babble")
    noise_files: tuple[str, ...] = source("noise_files", help="noise recordings for kind=file")
    speech_files: tuple[str, ...] = source("speech_files", help="speech recordings for kind=babble")

    def __post_init__(self):
        if self.kind == "file" and not self.noise_files:
            raise ValueError("kind=file needs noise recordings (a noise folder), none were given")
        if self.kind == "babble" and not self.speech_files:
            raise ValueError("kind=babble needs speech recordings (a speech folder), none were given")


def available_kinds(params: NoiseParams) -> list[str]:
    kinds = ["white", "pink", "brown"]
    if params.noise_files:
        kinds.append("file")
    if params.speech_files:
        kinds.append("babble")
    return kinds


def coloured(rng: np.random.Generator, n: int, channels: int, sr: int, alpha: float) -> np.ndarray:
    """Gaussian noise ``(n, channels)`` with power spectrum ∝ 1/f^alpha (flat below
    :data:`COLOUR_FLOOR_HZ`), shaped in the frequency domain, unit variance."""
    white = rng.standard_normal((n, channels))
    if alpha == 0.0 or n < 2:
        return white
    spec = np.fft.rfft(white, axis=0)
    f = np.maximum(np.fft.rfftfreq(n, 1.0 / sr), COLOUR_FLOOR_HZ)
    spec *= (f ** (-alpha / 2))[:, None]
    spec[0] = 0.0  # no DC: an offset is its own damage (dc)
    y = np.fft.irfft(spec, n=n, axis=0)
    std = y.std()
    return y / std if std > 0 else white


def _from_file(rng, files, n, sr) -> tuple[np.ndarray, str, float]:
    path = files[int(rng.integers(len(files)))]
    rec = load_mono(path, sr)
    if power(rec) < SILENCE_POWER:
        raise MsarError(f"{path}: noise recording is silent")
    offset = int(rng.integers(len(rec)))
    return take_wrapped(rec, offset, n), path, offset / sr


def noise(x: np.ndarray, sr: int, params: NoiseParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` plus noise of ``params.kind`` scaled to ``params.snr_db``.

    Recordings (file, babble) are mixed to mono, resampled to ``sr``, read from a random offset
    (looping when shorter than ``x``) and added identically to every channel; synthetic colours
    are drawn independently per channel. Babble sums ``talkers`` speech recordings, each at equal
    power. A silent input (below -100 dBFS) is returned unchanged: its SNR is undefined.
    """
    n, channels = x.shape
    kind = params.kind
    if kind == "auto":
        kind = "file" if params.noise_files else "white"
    elif kind == "any":
        options = available_kinds(params)
        kind = options[int(rng.integers(len(options)))]
    applied: dict = {"kind": kind, "snr_db": params.snr_db}
    if kind in _ALPHA:
        n_ = coloured(rng, n, channels, sr, _ALPHA[kind])
    elif kind == "file":
        mono, path, offset_s = _from_file(rng, params.noise_files, n, sr)
        n_ = np.repeat(mono[:, None], channels, axis=1)
        applied.update(noise_file=path, noise_offset_s=round(offset_s, 6))
    else:  # babble
        talkers, offsets, mix = [], [], np.zeros(n)
        for _ in range(params.talkers):
            mono, path, offset_s = _from_file(rng, params.speech_files, n, sr)
            mix += mono / np.sqrt(power(mono) + SILENCE_POWER)
            talkers.append(path)
            offsets.append(round(offset_s, 6))
        n_ = np.repeat(mix[:, None], channels, axis=1)
        applied.update(talkers=params.talkers, babble_files=talkers, babble_offsets_s=offsets)
    p_signal, p_noise = power(x), power(n_)
    if p_signal < SILENCE_POWER or p_noise == 0.0:
        applied.update(snr_db=None, note="silent input, no noise added")
        return finish(x, x), applied
    gain = np.sqrt(p_signal / (p_noise * 10 ** (params.snr_db / 10)))
    y = x.astype(np.float64) + gain * n_
    applied["noise_rms_dbfs"] = round(db(p_noise * gain**2), 3)  # RMS re full scale 1
    return finish(y, x), applied
