"""Quality metrics: the seed project's MSE / pitch / loudness / Q, plus standard references.

All functions are pure: 1-D float arrays in, a float out. ``ref`` is the reference (clean)
signal and ``out`` the signal under test, at the same rate and length (see ``dsp.scoring`` for
how files are mixed to mono, resampled, aligned and trimmed before they get here).

The seed's formula (README.ru.md): ``Q = α·MSE + β·(1 − CosSim_P) + γ·(1 − CosSim_L)``, lower is
better. Its table of four models is reproduced exactly by α=0.5, β=0.3, γ=0.2 (see tests).
"""

from __future__ import annotations

import importlib.util

import numpy as np

from .audio import resample
from .errors import MsarError
from .loudness import loudness_contour
from .world import f0_contour

#: Default weights of Q (the one home of these numbers).
ALPHA = 0.5
BETA = 0.3
GAMMA = 0.2

#: Metrics computed on every pair, in CSV column order.
CORE_METRICS = ("mse", "cos_pitch", "cos_loudness", "q")
#: Optional reference metrics (``--metrics``) -> the pip extra that provides their package.
OPTIONAL_METRICS = {"pesq_wb": "metrics", "pesq_nb": "metrics", "stoi": "metrics",
                    "si_sdr": None, "lsd": None}
_MODULE_OF = {"pesq_wb": "pesq", "pesq_nb": "pesq", "stoi": "pystoi"}


def mse(ref: np.ndarray, out: np.ndarray) -> float:
    """Mean squared error of two equal-length float waveforms (full scale ±1)."""
    ref, out = np.asarray(ref, np.float64), np.asarray(out, np.float64)
    if ref.shape != out.shape:
        raise ValueError(f"mse needs equal shapes, got {ref.shape} and {out.shape}")
    return float(np.mean((ref - out) ** 2)) if ref.size else 0.0


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two contours, trimmed to the shorter one.

    Both all-zero (e.g. two silent signals) -> 1.0; exactly one all-zero -> 0.0.
    """
    n = min(len(a), len(b))
    a, b = np.asarray(a[:n], np.float64), np.asarray(b[:n], np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))


def cos_pitch(ref: np.ndarray, out: np.ndarray, sr: int, f0_method: str = "dio") -> float:
    """Cosine similarity of the WORLD F0 contours (5 ms frames, unvoiced = 0 Hz)."""
    return cosine(f0_contour(ref, sr, f0_method), f0_contour(out, sr, f0_method))


def cos_loudness(ref: np.ndarray, out: np.ndarray, sr: int) -> float:
    """Cosine similarity of the K-weighted RMS loudness contours (20 ms windows, 10 ms hop)."""
    return cosine(loudness_contour(ref, sr), loudness_contour(out, sr))


def q_score(mse_value: float, cos_pitch_value: float, cos_loudness_value: float,
            alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA) -> float:
    """The seed's combined score ``α·MSE + β·(1 − cos_pitch) + γ·(1 − cos_loudness)``; lower is better."""
    return alpha * mse_value + beta * (1.0 - cos_pitch_value) + gamma * (1.0 - cos_loudness_value)


# ----------------------------------------------------------------------------- standard metrics


def si_sdr(ref: np.ndarray, out: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., ICASSP 2019, eq. 1-2).

    Both signals are made zero-mean; NaN when the reference is silent.
    """
    s = np.asarray(ref, np.float64) - np.mean(ref)
    s_hat = np.asarray(out, np.float64) - np.mean(out)
    energy = np.dot(s, s)
    if energy == 0.0:
        return float("nan")
    target = np.dot(s_hat, s) / energy * s
    noise = s_hat - target
    noise_energy = np.dot(noise, noise)
    if noise_energy == 0.0:
        return float("inf")
    return float(10.0 * np.log10(np.dot(target, target) / noise_energy)) if np.any(target) else float("-inf")


def lsd(ref: np.ndarray, out: np.ndarray, sr: int, min_hz: float = 0.0) -> float:
    """Log-spectral distance in dB: the RMS over frequency of the difference of the two power
    spectra in dB, averaged over frames.

    STFT: Hann window of the power of two nearest 32 ms, hop half of it; power floor 1e-10
    (-100 dB re full scale) so silent bins do not dominate. ``min_hz`` restricts the
    frequency range to bins at or above it (e.g. 4000 for the band a telephone line loses).
    """
    import scipy.signal

    n_fft = int(2 ** np.round(np.log2(0.032 * sr)))
    n = min(len(ref), len(out))
    if n < n_fft:
        n_fft = max(2, 2 ** int(np.floor(np.log2(max(n, 2)))))
    kwargs = dict(fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft // 2, boundary=None, padded=False)
    freqs, _, r = scipy.signal.stft(np.asarray(ref[:n], np.float64), **kwargs)
    _, _, o = scipy.signal.stft(np.asarray(out[:n], np.float64), **kwargs)
    band = freqs >= min_hz
    diff_db = 10 * np.log10(np.abs(r[band]) ** 2 + 1e-10) - 10 * np.log10(np.abs(o[band]) ** 2 + 1e-10)
    return float(np.mean(np.sqrt(np.mean(diff_db**2, axis=0))))


def check_available(names: list[str] | tuple[str, ...]) -> None:
    """Raise MsarError if a requested optional metric is unknown or its package is missing."""
    for name in names:
        if name not in OPTIONAL_METRICS:
            raise MsarError(f"unknown metric {name!r}; choose from {', '.join(OPTIONAL_METRICS)} or 'all'")
        module = _MODULE_OF.get(name)
        if module and importlib.util.find_spec(module) is None:
            raise MsarError(f"metric {name!r} needs the '{module}' package: "
                            f"pip install 'msar[{OPTIONAL_METRICS[name]}]'")


def optional_metric(name: str, ref: np.ndarray, out: np.ndarray, sr: int) -> float:
    """One optional metric of mono ``ref``/``out`` at ``sr`` Hz. NaN where it is undefined
    (e.g. PESQ finds no speech in the reference)."""
    if name in ("pesq_wb", "pesq_nb"):
        from pesq import PesqError, pesq

        # P.862.2 (wide band) is defined at 16 kHz, P.862 (narrow band) at 8 kHz.
        rate, mode = (16000, "wb") if name == "pesq_wb" else (8000, "nb")
        r = resample(np.asarray(ref, np.float32), sr, rate)
        o = resample(np.asarray(out, np.float32), sr, rate)
        try:
            return float(pesq(rate, r, o, mode))
        except PesqError:
            return float("nan")
    if name == "stoi":
        from pystoi import stoi

        return float(stoi(np.asarray(ref, np.float64), np.asarray(out, np.float64), sr, extended=False))
    if name == "si_sdr":
        return si_sdr(ref, out)
    if name == "lsd":
        return lsd(ref, out, sr)
    raise ValueError(f"unknown metric {name!r}")
