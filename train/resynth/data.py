"""On-the-fly training pairs for the restoration model: a random crop of a prepared clean
utterance (``prepare.py``: audio + WORLD targets), a random level, and a damage recipe from the
damage simulator (``msar.dsp.degrade``); the input features come from ``msar.dsp.resynth``, the
runtime's own code.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from msar.dsp import resynth as R
from msar.dsp import world
from msar.dsp.degrade import Sources, degrade, file_rng, parse_recipe

#: How much the coded envelope's first coefficient moves per natural-log unit of amplitude gain:
#: ``pyworld.code_spectral_envelope`` codes log power, and a gain ``g`` adds ``2 ln g`` to the
#: log of every bin, i.e. to c0 only (measured: 2.7725885 for g = 1/4, exactly 2 ln 4).
C0_PER_LOG_GAIN = 2.0

#: The training damage: band limits and telephony/low-rate codecs first of all (what a mask
#: cannot restore), then clipping and dropouts, with mild noise; some crops stay clean, so the
#: model learns to leave good speech alone.
RECIPE = ("highpass:cutoff_hz=80..400,p=0.3,"
          "lowpass:cutoff_hz=2500..7500,p=0.45,"
          "codec:codec=mulaw|alaw,p=0.3,"
          "codec:codec=gsm|mp3|opus,bitrate_kbps=8..24,p=0.08,"
          "clip:fraction=0.005..0.08,mode=hard|soft,p=0.2,"
          "dropout:count=1..4,length_ms=20..120,p=0.15,"
          "noise:kind=any,snr_db=12..40,p=0.5")


@dataclass(frozen=True)
class FeatureConfig:
    """The input features (copied into the sidecar; the runtime reads them from there)."""

    sample_rate: int = 16000
    frame_period_ms: float = world.FRAME_PERIOD_MS
    n_fft: int = 512
    n_mels: int = 64
    lookahead_frames: int = 4
    #: The input's own WORLD F0 (log F0 + voicing) as two more input columns.
    f0_input: bool = True

    @property
    def hop(self) -> int:
        return int(round(self.sample_rate * self.frame_period_ms / 1000))

    @property
    def n_in(self) -> int:
        return self.n_mels + 1 + 2 * self.f0_input  # + measured bandwidth (+ the input's lf0, voicing)

    def to_dict(self) -> dict:
        return asdict(self)


def input_features(x: np.ndarray, fc: FeatureConfig, fbank: np.ndarray, n_frames: int | None = None,
                   bandwidth_hz: float | None = None) -> np.ndarray:
    """Un-normalized model input (``msar.dsp.resynth.input_features``, the runtime's own code)."""
    return R.input_features(x, fc.sample_rate, fc.hop, fc.n_fft, fbank, n_frames, bandwidth_hz, fc.f0_input)


def load_prepared(prep: Path, split: str) -> list[dict]:
    index = json.loads((prep / "index.json").read_text(encoding="utf-8"))
    out = []
    for r in index:
        if r["split"] != split:
            continue
        d = np.load(prep / "utts" / f"{r['id']}.npz")
        out.append({**r, "audio": d["audio"], "feats": d["feats"]})
    return out


def make_example(utt: dict, fc: FeatureConfig, fbank, recipe, rng: np.random.Generator, n_frames: int,
                 level_db=(-18.0, 6.0)) -> dict:
    """One crop of ``n_frames`` input frames: ``feat [T, F]`` (un-normalized), ``target [T, D]``
    (clean WORLD features delayed by ``lookahead_frames``: row t is frame t - L), ``mask [T]``."""
    hop, L = fc.hop, fc.lookahead_frames
    feats = utt["feats"]
    n_f = len(feats)
    start = int(rng.integers(0, n_f - n_frames + 1)) if n_f > n_frames else 0
    clean = np.zeros(n_frames * hop, np.float32)
    seg = utt["audio"][start * hop:(start + n_frames) * hop].astype(np.float32) / 32767
    clean[:len(seg)] = seg
    g_db = rng.uniform(*level_db)
    clean *= 10 ** (g_db / 20)
    damaged, _ = degrade(clean, fc.sample_rate, recipe, rng)
    feat = input_features(damaged, fc, fbank, n_frames)
    target = np.zeros((n_frames, feats.shape[1]), np.float32)
    mask = np.zeros(n_frames, np.float32)
    src = feats[start:start + n_frames - L]
    target[L:L + len(src)] = src
    mask[L:L + len(src)] = 1
    target[:, 2] += C0_PER_LOG_GAIN * np.log(10 ** (g_db / 20))  # the coded envelope's c0 (feature_layout "sp")
    return {"feat": feat, "target": target, "mask": mask}


class PairStream(torch.utils.data.IterableDataset):
    """Endless random examples from ``utts`` (weighted by duration), with speaker ids."""

    def __init__(self, utts: list[dict], spk_ids: dict, fc: FeatureConfig, sources: Sources, n_frames: int,
                 seed: int, recipe: str = RECIPE):
        self.utts, self.spk_ids, self.fc, self.sources = utts, spk_ids, fc, sources
        self.n_frames, self.seed, self.recipe = n_frames, seed, recipe
        w = np.array([u["duration_s"] for u in utts])
        self.p = w / w.sum()

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        recipe = parse_recipe(self.recipe, self.sources)
        fbank = R.mel_filterbank(self.fc.sample_rate, self.fc.n_fft, self.fc.n_mels)
        while True:
            u = self.utts[int(rng.choice(len(self.utts), p=self.p))]
            ex = make_example(u, self.fc, fbank, recipe, rng, self.n_frames)
            ex["speaker"] = np.int64(self.spk_ids.get(u["speaker"], 0))
            yield ex


def validation_set(utts: list[dict], fc: FeatureConfig, sources: Sources, n: int = 40, n_frames: int = 400,
                   seed: int = 1234, recipe: str = RECIPE) -> list[dict]:
    """A fixed list of damaged crops of unseen speakers (the valid split), the same on every run."""
    utts = sorted(utts, key=lambda u: u["id"])
    utts = utts[:: max(1, len(utts) // n)][:n]
    rec = parse_recipe(recipe, sources)
    fbank = R.mel_filterbank(fc.sample_rate, fc.n_fft, fc.n_mels)
    return [make_example(u, fc, fbank, rec, file_rng(seed, u["id"]), n_frames) for u in utts]
