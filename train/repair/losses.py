"""Training losses on waveforms ``[B, N]`` (enhanced ``y``, clean reference ``s``).

* Multi-resolution STFT loss (Yamamoto et al., Parallel WaveGAN, ICASSP 2020, eq. 4-6): per
  resolution the spectral convergence ``‖|S|-|Y|‖_F / ‖|S|‖_F`` plus the mean absolute
  difference of log magnitudes, averaged over resolutions.
* Loudness term: L1 of frame log-energies (dB, 32 ms frames), a differentiable proxy of the
  loudness contour ``cos_loudness`` compares.
* Compressed-magnitude term: MSE of ``|STFT|^0.3`` (the power-law compression GTCRN and
  DeepFilterNet train with), at the model's own resolution.
* SI-SDR term: minus the scale-invariant SDR in dB.
* Pitch term: log-magnitude L1 restricted to the band that carries F0 and the first harmonics
  (``pitch_band_hz``), a proxy of what ``cos_pitch`` measures.
"""

from __future__ import annotations

import torch

from .configs import RepairConfig
from .torch_stft import magnitude

#: Guards the norm ratio of spectral convergence against an all-zero reference.
_EPS = 1e-7


def stft_loss(y: torch.Tensor, s: torch.Tensor, n_fft: int, hop: int, floor: float) -> torch.Tensor:
    my, ms = magnitude(y, n_fft, hop), magnitude(s, n_fft, hop)
    sc = torch.linalg.norm(ms - my) / (torch.linalg.norm(ms) + _EPS)
    mag = torch.mean(torch.abs(torch.log(ms + floor) - torch.log(my + floor)))
    return sc + mag


def multi_resolution_stft_loss(y: torch.Tensor, s: torch.Tensor, resolutions, floor: float) -> torch.Tensor:
    return sum(stft_loss(y, s, n, h, floor) for n, h in resolutions) / len(resolutions)


def loudness_loss(y: torch.Tensor, s: torch.Tensor, sr: int) -> torch.Tensor:
    n = 2 ** round(torch.log2(torch.tensor(0.032 * sr)).item())
    fy = y[:, : y.shape[1] // n * n].reshape(y.shape[0], -1, n)
    fs = s[:, : s.shape[1] // n * n].reshape(s.shape[0], -1, n)
    ey = 10 * torch.log10(fy.pow(2).mean(-1) + 1e-8)
    es = 10 * torch.log10(fs.pow(2).mean(-1) + 1e-8)
    return torch.mean(torch.abs(ey - es)) / 10.0  # per 10 dB, on the scale of the other terms


def pitch_band_loss(y: torch.Tensor, s: torch.Tensor, cfg: RepairConfig) -> torch.Tensor:
    n_fft, hop = 1024, 256  # 64 ms at 16 kHz: resolves harmonics of a low voice
    my, ms = magnitude(y, n_fft, hop), magnitude(s, n_fft, hop)
    hz_per_bin = cfg.sample_rate / n_fft
    lo, hi = (int(f / hz_per_bin) for f in cfg.pitch_band_hz)
    floor = cfg.log_floor
    return torch.mean(torch.abs(torch.log(ms[..., lo:hi + 1] + floor) - torch.log(my[..., lo:hi + 1] + floor)))


def compressed_magnitude_loss(y: torch.Tensor, s: torch.Tensor, cfg: RepairConfig) -> torch.Tensor:
    my, ms = magnitude(y, cfg.n_fft, cfg.hop // 2), magnitude(s, cfg.n_fft, cfg.hop // 2)
    return torch.mean((ms.clamp_min(1e-8) ** 0.3 - my.clamp_min(1e-8) ** 0.3) ** 2)


def neg_si_sdr(y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -SI-SDR (dB); silent references are left out."""
    energy = (s * s).sum(-1)
    alpha = (y * s).sum(-1) / (energy + _EPS)
    target = alpha[:, None] * s
    ratio = (target.pow(2).sum(-1) + _EPS) / ((y - target).pow(2).sum(-1) + _EPS)
    keep = energy > 1e-6
    if not bool(keep.any()):
        return y.sum() * 0.0
    return -torch.mean(10 * torch.log10(ratio[keep]))


def total_loss(y: torch.Tensor, s: torch.Tensor, cfg: RepairConfig) -> tuple[torch.Tensor, dict]:
    """The variant's training loss and its terms (floats, for the log)."""
    terms = {"mrstft": multi_resolution_stft_loss(y, s, cfg.resolutions, cfg.log_floor)}
    if cfg.w_loudness:
        terms["loudness"] = cfg.w_loudness * loudness_loss(y, s, cfg.sample_rate)
    if cfg.w_pitch:
        terms["pitch"] = cfg.w_pitch * pitch_band_loss(y, s, cfg)
    if cfg.w_compressed:
        terms["compressed"] = cfg.w_compressed * compressed_magnitude_loss(y, s, cfg)
    if cfg.w_si_sdr:
        terms["si_sdr"] = cfg.w_si_sdr * neg_si_sdr(y, s)
    total = sum(terms.values())
    return total, {k: float(v.detach()) for k, v in terms.items()}
