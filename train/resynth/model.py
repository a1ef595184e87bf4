"""The speaker-conditioned restoration network (PyTorch; exported to ONNX by ``export.py``).

Input per 5 ms frame: log-mel of the damaged audio plus its measured bandwidth (``feat [B, T, F]``,
``msar.dsp.resynth``). Output per frame: normalized clean WORLD features (``out [B, T, D]``: lf0,
voicing logit, coded envelope, band aperiodicity; ``msar.dsp.world.feature_layout``), delayed by
``lookahead_frames``: output row ``t`` describes input frame ``t - lookahead_frames``.

Speaker conditioning (one vector of ``speaker_dim``, broadcast into the recurrent core):

- a table of the training speakers (``speakers``), one learned row each: ``--speaker NAME``;
- an estimate from the input itself: a small per-frame encoder gives an embedding and a weight,
  and the speaker vector at frame ``t`` is the weighted running mean of the embeddings up to
  ``t`` (causal; its two sums are carried state, so streaming equals one-shot). It is trained
  jointly: half of the training crops use it instead of the table row, and an auxiliary loss
  pulls it towards the (detached) table row of the true speaker.

``use_table [B, 1]`` blends: 1 uses ``speaker_vec``, 0 the running estimate.

Causal: a GRU core (state ``h``), frame-wise layers elsewhere; all state is explicit
(``h``, ``spk_sum``, ``spk_w``) in and out, GTCRN style.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as Fn


@dataclass(frozen=True)
class ResynthConfig:
    n_in: int
    n_out: int
    n_speakers: int
    speaker_dim: int = 16
    hidden: int = 160
    layers: int = 2
    enc_hidden: int = 64

    def to_dict(self) -> dict:
        return asdict(self)


class ResynthNet(nn.Module):
    def __init__(self, cfg: ResynthConfig):
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Sequential(nn.Linear(cfg.n_in, cfg.hidden), nn.ReLU())
        self.spk_enc = nn.Sequential(nn.Linear(cfg.n_in, cfg.enc_hidden), nn.ReLU(),
                                     nn.Linear(cfg.enc_hidden, cfg.speaker_dim + 1))
        self.table = nn.Embedding(cfg.n_speakers, cfg.speaker_dim)
        self.gru = nn.GRU(cfg.hidden + cfg.speaker_dim, cfg.hidden, num_layers=cfg.layers, batch_first=True)
        self.out = nn.Sequential(nn.Linear(cfg.hidden + cfg.speaker_dim, cfg.hidden), nn.ReLU(),
                                 nn.Linear(cfg.hidden, cfg.n_out))

    def initial_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = self.cfg
        return (torch.zeros(c.layers, batch, c.hidden), torch.zeros(batch, c.speaker_dim), torch.zeros(batch, 1))

    def estimate(self, feat, spk_sum, spk_w):
        """Running speaker estimate ``[B, T, D]`` and the sums after the last frame."""
        e = self.spk_enc(feat)
        w = Fn.softplus(e[..., -1:])
        s = torch.cumsum(w * e[..., :-1], dim=1) + spk_sum[:, None, :]
        n = torch.cumsum(w, dim=1) + spk_w[:, None, :]
        return s / (n + 1e-3), s[:, -1], n[:, -1]

    def forward(self, feat, speaker_vec, use_table, h, spk_sum, spk_w):
        est, s_out, w_out = self.estimate(feat, spk_sum, spk_w)
        u = use_table[:, None, :]
        spk = u * speaker_vec[:, None, :] + (1 - u) * est
        y, h_out = self.gru(torch.cat([self.inp(feat), spk], dim=-1), h)
        return self.out(torch.cat([y, spk], dim=-1)), h_out, s_out, w_out


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
