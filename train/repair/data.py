"""On-the-fly training pairs: clean crops from the corpus, damaged with ``msar.dsp.degrade``.

The corpus is what ``make data`` (``train.data.prepare``) writes: ``<corpus>/manifest.csv``
(clean speech; columns ``path``, ``speaker``, ``split``, ``duration_s``, ...) and
``<corpus>/noise.csv`` (noise recordings; ``path``, ``category``, ``split``, ...), paths relative
to the corpus folder. Speech splits are disjoint by speaker; noise splits by file.

Features come from ``msar.dsp.stft``, the code the runtime uses (RNNoise's rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from msar.dsp import audio
from msar.dsp import stft as S
from msar.dsp.degrade import Sources, degrade, file_rng, parse_recipe
from msar.dsp.errors import MsarError

from ..data import manifest
from .configs import RepairConfig


@dataclass(frozen=True)
class Utterance:
    path: str
    speaker: str
    duration_s: float
    licence: str


def load_speech(corpus: Path, split: str, speakers: str = "all") -> list[Utterance]:
    """The clean utterances of ``split``; ``speakers="one"``: only the training split's speaker
    with the most hours (the same speaker for every split, so "one" may leave valid/test empty)."""
    path = Path(corpus) / "manifest.csv"
    if not path.exists():
        raise MsarError(f"{path}: no corpus manifest (build the corpus first: make data)")
    rows = manifest.read(path)
    if speakers == "one":
        hours: dict[str, float] = {}
        for r in rows:
            if r["split"] == "train":
                hours[r["speaker"]] = hours.get(r["speaker"], 0.0) + r["duration_s"]
        keep = max(hours, key=lambda s: (hours[s], s))
        rows = [r for r in rows if r["speaker"] == keep]
    return [Utterance(str(Path(corpus) / r["path"]), r["speaker"], r["duration_s"], r["licence"])
            for r in rows if r["split"] == split]


def load_noise(corpus: Path, split: str) -> list[str]:
    """Noise recordings of ``split`` (music excluded: a repair model should keep music beds
    only where the user asks). Empty when the corpus has no noise manifest."""
    path = Path(corpus) / "noise.csv"
    if not path.exists():
        return []
    return [str(Path(corpus) / r["path"]) for r in manifest.read(path)
            if r["split"] == split and r["category"] != "music"]


def read_crop(utt: Utterance, sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of ``utt`` at ``sr`` from a random offset; a shorter utterance is placed at
    a random offset in silence. float32 1-D."""
    info = sf.info(utt.path)
    n_src = int(math.ceil(n * info.samplerate / sr))
    if info.frames > n_src:
        start = int(rng.integers(0, info.frames - n_src + 1))
        x, file_sr = sf.read(utt.path, start=start, stop=start + n_src, dtype="float32", always_2d=True)
    else:
        x, file_sr = sf.read(utt.path, dtype="float32", always_2d=True)
    x = audio.resample(audio.to_mono(x), file_sr, sr)[:n]
    out = np.zeros(n, dtype=np.float32)
    offset = int(rng.integers(0, n - len(x) + 1))
    out[offset:offset + len(x)] = x
    return out


def guard_band(x: np.ndarray, sr: int, via_sr: int = 48000) -> np.ndarray:
    """``x`` through soxr to ``via_sr`` and back: what a file recorded at ``via_sr`` looks like at
    ``sr`` (its top ~100 Hz empty), same length, float32."""
    y = audio.resample(audio.resample(x, sr, via_sr), via_sr, sr)
    out = np.zeros(len(x), dtype=np.float32)
    out[:min(len(x), len(y))] = y[:len(x)]
    return out


def make_pair(clean: np.ndarray, cfg: RepairConfig, recipe, rng: np.random.Generator,
              target_recipe=None) -> dict:
    """One training example from a clean 1-D crop: a random level, the target recipe's damage (on
    both sides), the recipe's damage, and the damaged signal's STFT and features. Arrays: ``feat``
    [T, F], ``spec`` [T, F, 2] (re, im), ``clean`` (the target) and ``noisy`` [N] (float32). With
    ``cfg.lookahead_frames = L`` the STFT runs over ``noisy`` and ``L`` hops of zeros (``T`` is ``L`` more)."""
    gain = 10 ** (rng.uniform(*cfg.level_db) / 20)
    clean = (clean * gain).astype(np.float32)
    if target_recipe is not None:
        clean = degrade(clean, cfg.sample_rate, target_recipe, rng)[0].astype(np.float32)
    noisy, _ = degrade(clean, cfg.sample_rate, recipe, rng)
    if cfg.guard_band_p and rng.random() < cfg.guard_band_p:
        clean, noisy = (guard_band(z, cfg.sample_rate) for z in (clean, noisy))
    # A lookahead model needs L frames past the signal's end, as the runtime gives it: L hops of zeros.
    padded = np.concatenate([noisy, np.zeros(cfg.lookahead_frames * cfg.hop, dtype=noisy.dtype)])
    spec = S.stft(padded, cfg.n_fft, cfg.hop)
    feat = S.FEATURES[cfg.features](spec)
    return {"feat": feat, "spec": np.stack([spec.real, spec.imag], axis=-1).astype(np.float32),
            "clean": clean, "noisy": noisy.astype(np.float32)}


class PairStream(torch.utils.data.IterableDataset):
    """An endless stream of random training examples (see :func:`make_pair`)."""

    def __init__(self, cfg: RepairConfig, speech: list[Utterance], noise_files: list[str], seed: int):
        if not speech:
            raise MsarError("no training speech in the corpus manifest")
        self.cfg, self.speech, self.seed = cfg, speech, seed
        self.sources = Sources(noise_files=tuple(noise_files), speech_files=tuple(u.path for u in speech))
        weights = np.array([u.duration_s for u in speech], dtype=np.float64)
        self.weights = weights / weights.sum()

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, worker])
        recipe = parse_recipe(self.cfg.recipe, self.sources)
        target_recipe = parse_recipe(self.cfg.target_recipe, self.sources) if self.cfg.target_recipe else None
        n = int(round(self.cfg.crop_s * self.cfg.sample_rate))
        while True:
            utt = self.speech[int(rng.choice(len(self.speech), p=self.weights))]
            pair = make_pair(read_crop(utt, self.cfg.sample_rate, n, rng), self.cfg, recipe, rng, target_recipe)
            del pair["noisy"]  # training reads feat, spec and clean: a fifth less to pass between processes
            yield pair


def evenly_spaced(items: list, n: int) -> list:
    """At most ``n`` of ``items``, every k-th from the first: the same ones on every machine."""
    return items[:: len(items) // n][:n] if len(items) > n else items


def validation_set(cfg: RepairConfig, speech: list[Utterance], noise_files: list[str], n: int = 48,
                   seed: int = 1234, max_s: float = 6.0) -> list[dict]:
    """A fixed list of damaged validation utterances (the same on every call and machine):
    every k-th utterance of the valid split up to ``n``, each cut to ``max_s`` and damaged with
    its own :func:`msar.dsp.degrade.file_rng` generator."""
    speech = sorted(speech, key=lambda u: u.path)
    speech = evenly_spaced(speech, n)
    sources = Sources(noise_files=tuple(sorted(noise_files)), speech_files=tuple(u.path for u in speech))
    recipe = parse_recipe(cfg.recipe, sources)
    target_recipe = parse_recipe(cfg.target_recipe, sources) if cfg.target_recipe else None
    out = []
    for utt in speech:
        rng = file_rng(seed, Path(utt.path).name)
        x, file_sr = sf.read(utt.path, dtype="float32", always_2d=True)
        x = audio.resample(audio.to_mono(x), file_sr, cfg.sample_rate)[: int(max_s * cfg.sample_rate)]
        out.append(make_pair(np.ascontiguousarray(x), cfg, recipe, rng, target_recipe))
    return out
