"""The repair network: features of a noisy STFT frame in, a real gain per bin in [0, 1] out.

    feat [B, T, F] --norm--> encoder (dense or conv over frequency) --> GRU (causal) --> decoder --> mask [B, T, F]

``F = n_fft // 2 + 1`` bins of ``msar.dsp.stft.log_power``. Every layer but the GRU works on one
frame at a time and the GRU runs forwards only, so the network is causal and a stream of blocks
with the GRU state carried across equals one pass over the whole file. The state is an explicit
input/output pair (GTCRN style): ``forward(feat, h) -> (mask, h_out)`` with ``h`` of shape
``[layers, B, hidden]``. The ``core="none"`` variant has no state and ``forward(feat) -> mask``.

Lookahead (``cfg.lookahead_frames = L > 0``): mask row ``t`` is the gain of frame ``t - L``, so the
GRU has heard ``L`` frames past the one it decides on (msar works on files, where 16 ms a frame of
latency costs nothing). The decoder's skip is then that frame's own encoding, ``z[t - L]``, kept
across calls in a second state, ``forward(feat, h, z) -> (mask, h_out, z_out)`` with ``z`` of shape
``[B, L, hidden]`` (the last ``L`` encodings). The first ``L`` rows of a signal belong to no frame;
the runtime and the training drop them, and both pad the signal with ``L`` hops of zeros.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .configs import RepairConfig

#: Initial feature normalization (``(feat - FEAT_MEAN) / FEAT_STD``, then learned per bin):
#: log-power of speech at -23 LUFS spans roughly -20..+5 with 512-point frames.
FEAT_MEAN = -8.0
FEAT_STD = 5.0


class ConvEncoder(nn.Module):
    """Two strided Conv1d layers over frequency (each frame separately), then a Linear to ``hidden``."""

    def __init__(self, n_bins: int, channels: int, hidden: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(1, channels, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2), nn.ReLU())
        reduced = math.ceil(math.ceil(n_bins / 2) / 2)
        self.proj = nn.Linear(channels * reduced, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, F] -> [B, T, H]
        b, t, f = x.shape
        y = self.conv(x.reshape(b * t, 1, f))
        return torch.relu(self.proj(y.reshape(b, t, -1)))


class RepairNet(nn.Module):
    """See the module docstring. ``cfg`` is the variant's :class:`RepairConfig`."""

    def __init__(self, cfg: RepairConfig):
        super().__init__()
        self.cfg = cfg
        f, h = cfg.n_bins, cfg.hidden
        self.scale = nn.Parameter(torch.full((f,), 1.0 / FEAT_STD))
        self.shift = nn.Parameter(torch.full((f,), -FEAT_MEAN / FEAT_STD))
        if cfg.encoder == "dense":
            self.encoder = nn.Sequential(nn.Linear(f, h), nn.ReLU())
        elif cfg.encoder == "conv":
            self.encoder = ConvEncoder(f, cfg.conv_channels, h)
        else:
            raise ValueError(f"unknown encoder {cfg.encoder!r}")
        if cfg.lookahead_frames and cfg.core != "gru":
            raise ValueError("lookahead_frames needs core='gru' (the skip history is carried as its state)")
        if cfg.core == "gru":
            self.gru = nn.GRU(h, h, num_layers=cfg.layers, batch_first=True)
        elif cfg.core != "none":
            raise ValueError(f"unknown core {cfg.core!r}")
        else:
            self.gru = None
        # The decoder sees the core's output and the encoder's (a skip), so per-bin detail the
        # core compresses away is still there for the mask.
        self.decoder = nn.Sequential(nn.Linear(2 * h, h), nn.ReLU(), nn.Linear(h, f))

    @property
    def stateful(self) -> bool:
        return self.gru is not None

    def state_shape(self, batch: int = 1) -> tuple[int, int, int]:
        """Shape of the GRU state ``h``: ``(layers, batch, hidden)``."""
        return (self.cfg.layers, batch, self.cfg.hidden)

    def initial_state(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(self.state_shape(batch))

    @property
    def lookahead(self) -> int:
        return self.cfg.lookahead_frames

    def skip_state_shape(self, batch: int = 1) -> tuple[int, int, int]:
        """Shape of the lookahead skip state ``z``: ``(batch, lookahead, hidden)``."""
        return (batch, self.lookahead, self.cfg.hidden)

    def initial_skip(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(self.skip_state_shape(batch))

    def forward(self, feat: torch.Tensor, h: torch.Tensor | None = None, z_hist: torch.Tensor | None = None):
        z = self.encoder(feat * self.scale + self.shift)
        if self.gru is None:
            return torch.sigmoid(self.decoder(torch.cat([z, z], dim=-1)))
        if h is None:
            h = self.initial_state(feat.shape[0]).to(feat)
        y, h_out = self.gru(z, h)
        if not self.lookahead:
            return torch.sigmoid(self.decoder(torch.cat([y, z], dim=-1))), h_out
        if z_hist is None:
            z_hist = self.initial_skip(feat.shape[0]).to(feat)
        zc = torch.cat([z_hist, z], dim=1)  # [B, L + T, H]: row t + L is frame t
        mask = torch.sigmoid(self.decoder(torch.cat([y, zc[:, :-self.lookahead]], dim=-1)))
        return mask, h_out, zc[:, -self.lookahead:]


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
