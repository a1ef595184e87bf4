"""Mains hum: a 50 or 60 Hz tone with harmonics, at a level relative to the signal.

The level is ``level_db = 10·log10(P_hum / P_signal)`` with whole-file mean-square powers (the
same measure as noise's SNR, with the sign flipped). Harmonic k has amplitude 1/k and a drawn
phase; harmonics at or above Nyquist are left out. The same hum goes on every channel, as
interference picked up before the channels split would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import SILENCE_POWER, finish, param, power


@dataclass(frozen=True)
class HumParams:
    freq_hz: float = param(50.0, lo=10.0, hi=1000.0, help="mains frequency in Hz (50 or 60 in practice)")
    level_db: float = param(-25.0, lo=-80.0, hi=20.0, help="hum power relative to the signal power, dB")
    harmonics: int = param(5, lo=1, hi=100, help="number of partials including the fundamental")


def hum(x: np.ndarray, sr: int, params: HumParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` plus a harmonic hum at ``params.level_db`` re the signal power (see module docstring).
    A silent input is returned unchanged: a level relative to it is undefined."""
    n = x.shape[0]
    ks = [k for k in range(1, params.harmonics + 1) if k * params.freq_hz < sr / 2]
    phases = rng.uniform(0, 2 * np.pi, size=len(ks))
    t = np.arange(n) / sr
    tone = np.zeros(n)
    for k, phase in zip(ks, phases):
        tone += np.sin(2 * np.pi * k * params.freq_hz * t + phase) / k
    applied = {"freq_hz": params.freq_hz, "level_db": params.level_db, "harmonics": len(ks),
               "phases_rad": [round(float(p), 4) for p in phases]}
    p_signal, p_tone = power(x), power(tone)
    if p_signal < SILENCE_POWER or p_tone == 0.0:
        applied.update(level_db=None, note="silent input, no hum added")
        return finish(x, x), applied
    tone *= np.sqrt(p_signal * 10 ** (params.level_db / 10) / p_tone)
    return finish(x + tone[:, None], x), applied
