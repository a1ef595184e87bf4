"""Torch versions of ``msar.dsp.stft``'s inverse transform, for the time-domain losses.

The windows come from ``msar.dsp.stft`` itself and ``tests/test_export.py`` checks
:func:`istft` against ``msar.dsp.stft.istft``, so training and runtime can't drift.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from msar.dsp import stft as S


@functools.lru_cache(maxsize=8)
def _synthesis_window(n_fft: int, hop: int) -> torch.Tensor:
    return torch.from_numpy(S.synthesis_window(n_fft, hop).astype(np.float32))


def istft(spec: torch.Tensor, n_fft: int, hop: int, length: int) -> torch.Tensor:
    """``msar.dsp.stft.istft`` for a batch: complex ``[B, T, n_fft // 2 + 1]`` -> float ``[B, length]``."""
    b, t, _ = spec.shape
    frames = torch.fft.irfft(spec, n=n_fft, dim=-1) * _synthesis_window(n_fft, hop).to(spec.device)
    total = (t - 1) * hop + n_fft
    out = F.fold(frames.transpose(1, 2), output_size=(1, total), kernel_size=(1, n_fft), stride=(1, hop))
    lead = n_fft - hop
    return out.reshape(b, total)[:, lead:lead + length]


def magnitude(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """|STFT| ``[B, T, n_fft // 2 + 1]`` of ``[B, N]`` waveforms with a periodic Hann window
    (loss only: this resolution need not match the model's own)."""
    window = torch.hann_window(n_fft, periodic=True, device=x.device)
    spec = torch.stft(x, n_fft, hop, window=window, center=True, return_complex=True)
    return spec.abs().transpose(1, 2)
