"""Tiny, seeded, generated fixtures (no stored audio except the demo speech)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SR = 16000
DEMO = Path(__file__).resolve().parent.parent / "demo"
DEMO_SPEECH = DEMO / "speech" / "en_allison_weasels.flac"


def harmonic_tone(f0_hz, duration_s: float = 1.0, sr: int = SR, n_harmonics: int = 8,
                  amplitude: float = 0.3) -> np.ndarray:
    """A voiced-speech-like tone: harmonics with 1/k amplitudes of a (possibly time-varying) F0.

    ``f0_hz`` is a number or an array of one F0 per sample.
    """
    n = int(duration_s * sr)
    f0 = np.broadcast_to(np.asarray(f0_hz, dtype=np.float64), (n,))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))
    return (amplitude * x / np.max(np.abs(x))).astype(np.float32)


def write(path: Path, x: np.ndarray, sr: int = SR, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, **kwargs)
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tone() -> np.ndarray:
    return harmonic_tone(200.0, 1.0)
