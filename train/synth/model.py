"""The two speaker-conditioned synthesis networks (PyTorch; exported to ONNX by ``export.py``).

``DurationNet``: phones ``[B, N]``, stress ``[B, N]``, speaker ``[B]`` -> ``log_dur [B, N]``,
the natural log of (1 + frames per phone).

``AcousticNet``: phones, stress, speaker, plus per-frame ``frame_phone [B, T]`` (index of the
phone each 5 ms frame belongs to) and ``frame_pos [B, T, 2]`` (relative position in the phone,
log(1 + phone frames) / 4) -> ``feats [B, T, D]``: normalized WORLD features (lf0, vuv logit,
coded envelope, band aperiodicity; ``msar.dsp.world.feature_layout``). The runtime expands
durations into ``frame_phone``/``frame_pos`` in numpy (``msar.onnx_models.synth``), so the graph
has no data-dependent shapes beyond T.

Both embed the speaker with a table (one row per voice) broadcast over time. With
``speaker_f0_norm``, the acoustic network's log-F0 output is in the speaker's own units (its
z-score) and a fixed per-speaker affine, set from the training data and traced into the graph,
maps it to the model-wide normalization: a voice's pitch level and range then come from its own
recordings' statistics instead of having to be learnt into its embedding (which a voice with a
few dozen utterances cannot do; reports/synth.md, multi-speaker generalization).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

#: The log-F0 column of the features (``msar.dsp.world.feature_layout(sr)["lf0"][0]``; checked by train.py).
LF0_COL = 0


@dataclass(frozen=True)
class SynthConfig:
    n_phones: int
    n_speakers: int
    n_feats: int
    phone_dim: int = 64
    stress_dim: int = 8
    speaker_dim: int = 16
    enc_hidden: int = 64
    dec_hidden: int = 96
    dec_layers: int = 2
    #: Dropout on the decoder's input and between its layers while training (none at inference:
    #: the exported graph is traced in eval mode).
    dropout: float = 0.0
    #: Per-speaker log-F0 anchoring (see the module docstring; ``AcousticNet.set_speaker_lf0``).
    speaker_f0_norm: bool = False
    #: A residual convolutional post-net over the decoder's output (0: none): ``postnet_layers``
    #: 1-D convolutions along time, tanh between them, added to the features (see ``AcousticNet``).
    postnet_layers: int = 0
    postnet_channels: int = 128
    postnet_kernel: int = 5

    def to_dict(self) -> dict:
        return asdict(self)


class _Encoder(nn.Module):
    def __init__(self, cfg: SynthConfig):
        super().__init__()
        self.phone = nn.Embedding(cfg.n_phones, cfg.phone_dim)
        self.stress = nn.Embedding(3, cfg.stress_dim)
        self.speaker = nn.Embedding(cfg.n_speakers, cfg.speaker_dim)
        self.rnn = nn.GRU(cfg.phone_dim + cfg.stress_dim + cfg.speaker_dim, cfg.enc_hidden, batch_first=True,
                          bidirectional=True)

    def forward(self, phones, stress, speaker):
        spk = self.speaker(speaker)[:, None, :].expand(-1, phones.shape[1], -1)
        h, _ = self.rnn(torch.cat([self.phone(phones), self.stress(stress), spk], dim=-1))
        return h, spk


class DurationNet(nn.Module):
    def __init__(self, cfg: SynthConfig):
        super().__init__()
        self.cfg = cfg
        self.enc = _Encoder(cfg)
        self.out = nn.Linear(2 * cfg.enc_hidden + cfg.speaker_dim, 1)

    def forward(self, phones, stress, speaker):
        h, spk = self.enc(phones, stress, speaker)
        return self.out(torch.cat([h, spk], dim=-1))[..., 0]


class _PostNet(nn.Module):
    """Convolutions along time over the whole feature vector, whose output is added to it: a
    bidirectional LSTM trained on MSE smooths the frames it predicts, most where phones change,
    and a few local filters over its output can restore some of that detail (the post-net of
    Tacotron 2, Shen et al. 2018, over WORLD features instead of a mel spectrogram). The last
    layer starts at zero, so a post-net added to a trained model starts as that model."""

    def __init__(self, cfg: SynthConfig):
        super().__init__()
        k, c = cfg.postnet_kernel, cfg.postnet_channels
        dims = [cfg.n_feats] + [c] * (cfg.postnet_layers - 1) + [cfg.n_feats]
        self.convs = nn.ModuleList(nn.Conv1d(a, b, k, padding=k // 2) for a, b in zip(dims[:-1], dims[1:]))
        self.drop = nn.Dropout(cfg.dropout)
        with torch.no_grad():
            self.convs[-1].weight.zero_()
            self.convs[-1].bias.zero_()

    def forward(self, y):
        h = y.transpose(1, 2)
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i < len(self.convs) - 1:
                h = self.drop(torch.tanh(h))
        return h.transpose(1, 2)


class AcousticNet(nn.Module):
    def __init__(self, cfg: SynthConfig):
        super().__init__()
        self.cfg = cfg
        self.enc = _Encoder(cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.dec = nn.LSTM(2 * cfg.enc_hidden + cfg.speaker_dim + 2, cfg.dec_hidden, num_layers=cfg.dec_layers,
                           batch_first=True, bidirectional=True, dropout=cfg.dropout if cfg.dec_layers > 1 else 0.0)
        self.out = nn.Linear(2 * cfg.dec_hidden, cfg.n_feats)
        self.postnet = _PostNet(cfg) if cfg.postnet_layers > 0 else None
        if cfg.speaker_f0_norm:  # buffers: saved in the state dict, traced as constants, never trained
            self.register_buffer("lf0_scale", torch.ones(cfg.n_speakers))
            self.register_buffer("lf0_shift", torch.zeros(cfg.n_speakers))

    def set_speaker_lf0(self, scale, shift) -> None:
        """The per-speaker affine from the speaker's log-F0 z-score to the model's normalization:
        ``scale = std_speaker / std_model``, ``shift = (mean_speaker - mean_model) / std_model``."""
        with torch.no_grad():
            self.lf0_scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
            self.lf0_shift.copy_(torch.as_tensor(shift, dtype=torch.float32))

    def forward(self, phones, stress, speaker, frame_phone, frame_pos):
        h, _ = self.enc(phones, stress, speaker)
        idx = frame_phone[..., None].expand(-1, -1, h.shape[-1])
        hf = torch.gather(h, 1, idx)
        spk = self.enc.speaker(speaker)[:, None, :].expand(-1, frame_phone.shape[1], -1)
        y, _ = self.dec(self.drop(torch.cat([hf, spk, frame_pos], dim=-1)))
        y = self.out(y)
        if self.postnet is not None:
            y = y + self.postnet(y)
        if self.cfg.speaker_f0_norm:  # column LF0_COL is log F0 (msar.dsp.world.feature_layout)
            lf0 = y[..., LF0_COL:LF0_COL + 1] * self.lf0_scale[speaker][:, None, None] + self.lf0_shift[speaker][:, None, None]
            y = torch.cat([y[..., :LF0_COL], lf0, y[..., LF0_COL + 1:]], dim=-1)
        return y


def n_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
