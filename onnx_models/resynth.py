"""Resynthesis repair at run time: damaged audio -> input features (``msar.dsp.resynth``) ->
restoration model (ONNX, streamed with carried state) -> clean WORLD features -> pyworld
synthesis (``msar.dsp.world``) -> either the resynthesis alone or a hybrid with the input.
onnxruntime only, never torch; every rate, size, table and statistic comes from the sidecar.

A resynthesis model is ``<name>.onnx`` + ``<name>.onnx.json`` (task ``resynth``, written by
``train/resynth/export.py``). It is checked as the other models are (``runtime.checked_session``:
SHA-256, I/O names, ranks and dtypes) and its speaker table is the synthesis voices' shape
(``synth.Speaker``: id, name, sex, language, hours) plus one vector per speaker.

Speaker: ``speaker=NAME`` conditions on that table row; ``None`` lets the model estimate the
speaker from the input as it goes (a running mean carried in its state).

Output band: the model describes 0 .. ``sample_rate / 2`` (8 kHz for a 16 kHz model). For a file at a
higher rate, :func:`repair` synthesizes at the file's rate (``world.world_synthesize_at``: the
envelope continued above 8 kHz at a fixed slope measured on real fullband speech, near-fully
aperiodic there), so a band-limited 44.1/48 kHz file is filled up to its own Nyquist frequency;
:func:`resynthesize` without ``wideband`` (the dropout fill) stays band-limited to the model's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msar.dsp import audio, world
from msar.dsp import resynth as R
from msar.dsp.errors import MsarError

from . import registry, runtime
from .synth import Speaker

FORMAT_VERSION = 1
DEFAULT_MODEL = "multispeaker-resynth"
_REQUIRED = ("name", "task", "format_version", "sha256", "sample_rate", "frame_period_ms", "n_fft", "n_mels",
             "lookahead_frames", "n_sp", "inputs", "outputs", "state", "speakers", "speaker_vectors",
             "input_mean", "input_std", "feature_mean", "feature_std")


@dataclass(frozen=True)
class ResynthCard:
    """Typed view of a resynthesis sidecar."""

    name: str
    sha256: str
    sample_rate: int
    frame_period_ms: float
    n_fft: int
    n_mels: int
    lookahead_frames: int
    n_sp: int
    inputs: tuple
    outputs: tuple
    state: dict
    speakers: tuple[Speaker, ...]
    speaker_vectors: np.ndarray = field(repr=False)
    input_mean: np.ndarray = field(repr=False)
    input_std: np.ndarray = field(repr=False)
    feature_mean: np.ndarray = field(repr=False)
    feature_std: np.ndarray = field(repr=False)
    raw: dict = field(repr=False, compare=False)

    @property
    def hop(self) -> int:
        """Samples per frame at ``sample_rate``."""
        return int(round(self.sample_rate * self.frame_period_ms / 1000))

    @classmethod
    def from_dict(cls, d: dict, where: str) -> "ResynthCard":
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise MsarError(f"{where}: resynthesis sidecar lacks {', '.join(missing)}")
        if d["format_version"] != FORMAT_VERSION:
            raise MsarError(f"{where}: sidecar format_version {d['format_version']!r} is not the supported {FORMAT_VERSION}")
        if d["task"] != "resynth":
            raise MsarError(f"{where}: a '{d['task']}' model, not a resynth model")
        speakers = tuple(Speaker(int(s["id"]), str(s["name"]), str(s.get("sex", "?")), str(s.get("language", "")),
                                 float(s.get("hours", 0.0))) for s in d["speakers"])
        vecs = np.asarray(d["speaker_vectors"], np.float32)
        if vecs.shape[0] != len(speakers):
            raise MsarError(f"{where}: {len(speakers)} speakers but {vecs.shape[0]} speaker vectors")
        f = lambda k: np.asarray(d[k], np.float32)  # noqa: E731
        return cls(str(d["name"]), str(d["sha256"]), int(d["sample_rate"]), float(d["frame_period_ms"]),
                   int(d["n_fft"]), int(d["n_mels"]), int(d["lookahead_frames"]), int(d["n_sp"]),
                   runtime.tensor_specs(d, "inputs", where), runtime.tensor_specs(d, "outputs", where),
                   dict(d["state"]), speakers, vecs, f("input_mean"), f("input_std"), f("feature_mean"),
                   f("feature_std"), d)


class ResynthModel:
    """A checked resynthesis model; use :func:`load_model` for a cached one."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.card = ResynthCard.from_dict(registry.read_sidecar(self.path), str(registry.sidecar_path(self.path)))
        self.session = runtime.checked_session(self.path, self.card)
        c = self.card
        self.fbank = R.mel_filterbank(c.sample_rate, c.n_fft, c.n_mels)
        self.layout = world.feature_layout(c.sample_rate, c.n_sp)
        self._specs = {t.name: t for t in c.inputs}
        self._out_names = ["feats"] + [c.state[k] for k in c.state]

    def speaker(self, name: str | None) -> tuple[np.ndarray, float]:
        """The speaker vector ``[1, D]`` and ``use_table`` for ``name`` (None: estimate)."""
        if name is None:
            return np.zeros((1, self.card.speaker_vectors.shape[1]), np.float32), 0.0
        for s in self.card.speakers:
            if s.name == name:
                return self.card.speaker_vectors[s.id][None].copy(), 1.0
        raise MsarError(f"unknown speaker '{name}' in {self.card.name} (available: "
                        f"{', '.join(s.name for s in self.card.speakers)})")

    @property
    def f0_input(self) -> bool:
        """Whether the model reads the input's WORLD F0 contour."""
        return bool(self.card.raw.get("f0_input", False))

    def initial_state(self) -> dict[str, np.ndarray]:
        return {k: np.zeros(self._specs[k].shape, np.float32) for k in self.card.state}

    def input_features(self, x: np.ndarray, n_frames: int, bandwidth_hz: float,
                       f0_hz: np.ndarray | None = None) -> np.ndarray:
        """Normalized input ``[n_frames, F]`` of mono ``x`` at the model's rate
        (``msar.dsp.resynth.input_features``, the code training used; ``f0_hz``: ``x``'s WORLD F0
        contour if the caller has it)."""
        c = self.card
        f = R.input_features(x, c.sample_rate, c.hop, c.n_fft, self.fbank, n_frames, bandwidth_hz,
                             self.f0_input, f0_hz)
        return (f - c.input_mean) / c.input_std

    def run(self, feat: np.ndarray, spk: tuple[np.ndarray, float], state: dict) -> tuple[np.ndarray, dict]:
        """Normalized model output ``[T, D]`` for normalized features ``[T, F]``, and the new state."""
        outs = self.session.run(self._out_names, {"feat": np.ascontiguousarray(feat[None], np.float32),
                                                  "speaker_vec": spk[0], "use_table": np.array([[spk[1]]], np.float32),
                                                  **state})
        return outs[0][0], dict(zip(self.card.state, outs[1:]))

    def denormalize(self, y: np.ndarray) -> np.ndarray:
        """WORLD features (``world.world_synthesize``'s rows) from normalized output rows."""
        c = self.card
        f = y * c.feature_std + c.feature_mean
        v = self.layout["vuv"][0]
        f[:, v] = 1.0 / (1.0 + np.exp(-y[:, v]))
        return f


class Restorer:
    """Streaming restoration of WORLD features: ``process(frames)`` takes normalized input
    frames (any number per call) and returns the output rows that are final; ``flush()`` the
    rest. Output row ``k`` describes input frame ``k``: the model's ``lookahead_frames`` delay is
    removed, so the caller must feed that many frames past the last one it wants (the features
    of the zeros after the end). Concatenated output does not depend on the block sizes."""

    def __init__(self, model: ResynthModel, speaker: str | None = None):
        self.model = model
        self.spk = model.speaker(speaker)
        self.reset()

    def reset(self) -> None:
        self._state = self.model.initial_state()
        self._to_drop = self.model.card.lookahead_frames

    def process(self, frames: np.ndarray) -> np.ndarray:
        if len(frames) == 0:
            return np.zeros((0, len(self.model.card.feature_mean)), np.float32)
        y, self._state = self.model.run(frames, self.spk, self._state)
        drop = min(self._to_drop, len(y))
        self._to_drop -= drop
        return y[drop:]


def load_model(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> ResynthModel:
    """A checked :class:`ResynthModel` by shipped name or path, loaded once per process."""
    return registry.load(name_or_path, "resynth", ResynthModel)


#: Frames per model call in :func:`restore_features` (5 s at 5 ms): bounded memory per call.
BLOCK_FRAMES = 1000


def restore_features(x: np.ndarray, model: ResynthModel, speaker: str | None = None,
                     bandwidth_hz: float | None = None, block_frames: int = BLOCK_FRAMES,
                     f0_hz: np.ndarray | None = None) -> np.ndarray:
    """Clean WORLD features ``(n_frames, D)`` for mono ``x`` at the model's rate, one row per
    WORLD frame of ``x`` (``n_frames = len(x) // hop + 1``). ``bandwidth_hz``: the measured
    bandwidth (None: measured here, as the analysis stage does); ``f0_hz``: ``x``'s
    ``world.f0_contour`` (None: measured here if the model reads it)."""
    c = model.card
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = R.n_frames_of(len(x), c.hop)
    bw = R.measure_bandwidth(x, c.sample_rate) if bandwidth_hz is None else float(bandwidth_hz)
    feat = model.input_features(x, n + c.lookahead_frames, bw, f0_hz)
    rest = Restorer(model, speaker)
    out = [rest.process(feat[i:i + block_frames]) for i in range(0, len(feat), block_frames)]
    return model.denormalize(np.concatenate(out)[:n])


def keep_input_pitch(feats: np.ndarray, x: np.ndarray, sr: int, layout: dict,
                     f0_hz: np.ndarray | None = None) -> np.ndarray:
    """``feats`` with log F0 and voicing taken from ``x``'s own WORLD F0 contour (``f0_hz``, or
    measured here) wherever ``x`` is voiced (the model's where it is not), so that filled harmonics
    follow the kept ones exactly. The hybrid no longer uses it by default (``ResynthParams.input_pitch``:
    the current model reads that contour itself and its own pitch measured better)."""
    f0 = world.f0_contour(x, sr) if f0_hz is None else f0_hz
    n = len(feats)
    f0 = f0[:n] if len(f0) >= n else np.pad(f0, (0, n - len(f0)))
    voiced = f0 > 0
    out = feats.copy()
    out[voiced, layout["lf0"][0]] = np.log(f0[voiced])
    out[voiced, layout["vuv"][0]] = 1.0
    return out


def resynthesize(x: np.ndarray, sr: int, model: ResynthModel | str = DEFAULT_MODEL, speaker: str | None = None,
                 bandwidth_hz: float | None = None, pitch: str = "model", wideband: bool = False,
                 wide_fft_size: int | None = None) -> np.ndarray:
    """Pure resynthesis of mono ``x`` (1-D, ``sr`` Hz): float32 1-D of ``x``'s length at ``sr``.
    ``pitch``: ``"model"`` (F0 and voicing as the model restores them) or ``"input"``
    (:func:`keep_input_pitch`). Band: up to the model's Nyquist frequency (WORLD at the model's rate,
    resampled to ``sr``); with ``wideband`` and ``sr`` above the model's rate, WORLD synthesizes at
    ``sr`` from the model's features continued above its band (``world.world_synthesize_at``), so
    the output reaches ``sr / 2``. At or below the model's rate ``wideband`` changes nothing."""
    if pitch not in ("model", "input"):
        raise ValueError(f"pitch must be 'model' or 'input', got {pitch!r}")
    model = model if isinstance(model, ResynthModel) else load_model(model)
    c = model.card
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    xm = audio.resample(x, sr, c.sample_rate) if sr != c.sample_rate else x
    # One F0 contour serves both the model's input and the kept pitch (dio is the costly part).
    f0 = world.f0_contour(xm, c.sample_rate) if len(xm) and (model.f0_input or pitch == "input") else None
    feats = restore_features(xm, model, speaker, bandwidth_hz, f0_hz=f0)
    if pitch == "input":
        feats = keep_input_pitch(feats, xm, c.sample_rate, model.layout, f0)
    if wideband and sr > c.sample_rate:
        return _fit(world.world_synthesize_at(feats, c.sample_rate, sr, c.n_sp, c.frame_period_ms,
                                              fft_size=wide_fft_size), len(x))
    y = world.world_synthesize(feats, c.sample_rate, c.n_sp, c.frame_period_ms)
    y = _fit(y, len(xm))
    if sr != c.sample_rate:
        y = _fit(audio.resample(y, c.sample_rate, sr), len(x))
    return y.astype(np.float32)


def match_level(x: np.ndarray, y: np.ndarray, sr: int, band_hz: tuple[float, float], frame_s: float = 0.02,
                max_gain_db: float = 12.0) -> np.ndarray:
    """``y`` scaled, frame by frame, so that its energy in ``band_hz`` follows ``x``'s (both 1-D,
    same length and rate): the resynthesis' level just below the band edge is matched to the
    input's there, so the filled band continues the kept one. The gain is smoothed over five
    frames in dB, limited to ±``max_gain_db``, and held where either band is silent."""
    from scipy.signal import stft

    n = max(16, int(round(frame_s * sr)))
    _, _, X = stft(x, sr, nperseg=2 * n, noverlap=n, boundary="even", padded=True)
    _, _, Y = stft(y, sr, nperseg=2 * n, noverlap=n, boundary="even", padded=True)
    f = np.fft.rfftfreq(2 * n, 1.0 / sr)
    band = (f >= band_hz[0]) & (f < band_hz[1])
    if not band.any():
        return y
    ex = np.sum(np.abs(X[band]) ** 2, axis=0)
    ey = np.sum(np.abs(Y[band]) ** 2, axis=0)
    floor = 1e-3 * max(float(ex.max()), 1e-20)
    ok = (ex > floor) & (ey > 1e-3 * max(float(ey.max()), 1e-20))
    g_db = np.where(ok, 10 * np.log10((ex + 1e-20) / (ey + 1e-20)), np.nan)
    if not np.isfinite(g_db).any():
        return y
    idx = np.arange(len(g_db))
    good = np.isfinite(g_db)
    g_db = np.interp(idx, idx[good], g_db[good])
    g_db = np.convolve(np.pad(g_db, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    g_db = np.clip(g_db, -max_gain_db, max_gain_db)
    gain = 10 ** (np.interp(np.arange(len(y)), idx * n, g_db) / 20)
    return (y * gain).astype(np.float32)


@dataclass(frozen=True)
class ResynthParams:
    """How the resynthesis path builds its output (``msar repair --mode resynth|auto``)."""

    #: ``"hybrid"``: keep the input below the band edge, fill above it; ``"resynth"``: all of it.
    output: str = "hybrid"
    #: Width of the crossover between kept and filled band, Hz.
    transition_hz: float = 400.0
    #: The crossover sits this far below the measured edge (the last few hundred Hz before a
    #: band limit are already attenuated), Hz.
    edge_margin_hz: float = 200.0
    #: Width of the band below the crossover where the resynthesis' level is matched to the input's, Hz.
    match_band_hz: float = 1500.0
    #: Gain of the filled band relative to the level-matched resynthesis, dB: the PESQ-wb optimum
    #: on the valid split (``bench/resynth_tune.py``, 12 files x telephone / 4 kHz low-pass / 8 kHz
    #: narrowband, model of step 1400): PESQ-wb 3.20 at 0 dB, 3.82 at -12, 4.00 at -18, 4.07 at
    #: -24, 4.06 at -30 (input 3.86); LSD above 4 kHz 10.4, 11.9, 13.5, 14.7, 15.5 (input 16.1).
    #: The first model's filled band is too inexact to be given at full level.
    fill_gain_db: float = -24.0
    #: Hybrid output: F0 and voicing from the input's own contour where it is voiced
    #: (:func:`keep_input_pitch`) instead of the model's. Off since the model reads that contour
    #: itself (``f0_input``): on the valid split (32 clips x telephone / 4 kHz low-pass / codec, seed
    #: 11) the model's pitch scored PESQ-wb 3.7579 vs 3.7576 and Q 0.05124 vs 0.05163 (low-pass:
    #: cos_pitch 0.9981 vs 0.9944); a second draw of 16 clips agreed. It was on for the first model.
    input_pitch: bool = False
    #: Speaker table row (None: estimated from the input).
    speaker: str | None = None
    #: A file above the model's rate: the resynthesis is synthesized at the file's rate and reaches
    #: its Nyquist frequency (``resynthesize(wideband=True)``), so the filled band runs from the
    #: crossover up to it; False: it stops at the model's Nyquist frequency (8 kHz), as before.
    wideband: bool = True
    #: With ``wideband``: gain of the filled band above the model's Nyquist frequency relative to the
    #: level-matched resynthesis, dB (``fill_gain_db`` applies below it). Valid split, 14 fullband clips x
    #: 4 kHz low-pass / telephone / 8 kHz round trip at 44.1 and 48 kHz (``bench/wideband_eval.py
    #: --wide-gains``): mean LSD above 8 kHz 6.68 dB (nothing filled there) -> 6.61 at -24, 6.37 at -12,
    #: 6.14 at -6, 5.92 at 0, 5.92 at +6, 6.43 at +12; whole band 8.80 -> 8.75, 8.61, 8.47, 8.33, 8.31,
    #: 8.59. 0 dB (the extension at the level the input's band implies) lowers LSD above 8 kHz on 34
    #: of 42 files, +6 on 28. PESQ-wb (16 kHz) does not see this band.
    wide_fill_gain_db: float = 0.0
    #: With ``wideband``: WORLD's synthesis FFT size at the file's rate (0: CheapTrick's there, 2048 at
    #: 44.1/48 kHz). 1024, the model rate's own size: the decoded envelope has no detail a finer grid
    #: would carry, and WORLD's synthesis, most of the hybrid's cost at these rates, halves. Valid
    #: split, 14 fullband clips x 3 band limits (``bench/wideband_eval.py --fft-sizes 1024``): LSD above
    #: 8 kHz 5.92 dB and whole band 8.34 with either size, PESQ-wb 3.911 with either; x real time per
    #: core of the hybrid files 14.2 -> 19.1 at 48 kHz and 13.7 -> 19.3 at 44.1 kHz (a busy machine).
    wide_fft_size: int = 1024
    #: How the hybrid joins the input and the fill. ``"add"``: the input is kept whole and the fill,
    #: high-passed at the crossover, is added to it (a band-limited input has nothing above its edge
    #: to give way); ``"crossover"``: complementary filters, so the input is faded out over
    #: ``transition_hz`` around the crossover, its last few hundred Hz replaced by the (quieter) fill.
    #: Valid split, 16 clips x telephone / 4 kHz low-pass / codec (``bench/hybrid_merge_tune.py``,
    #: seed 11; 48 files), against ``--mode mask`` on the same files: PESQ-wb +0.126 (add) vs +0.129
    #: (crossover), LSD above 4 kHz 9.69 vs 9.81 dB, and Q better than mask's on 23 files and worse on
    #: 15 with add, better on 5 and worse on 33 with crossover (4 kHz low-pass: worse on all 16).
    merge: str = "add"


def repair(x: np.ndarray, sr: int, bandwidth_hz: float, params: ResynthParams = ResynthParams(),
           model: ResynthModel | str = DEFAULT_MODEL) -> np.ndarray:
    """The resynthesis repair of ``x`` (float ``(n, ch)`` or 1-D at ``sr`` Hz) whose measured
    effective bandwidth is ``bandwidth_hz``: float32 of ``x``'s shape. Each channel is resynthesized
    on its own. ``hybrid`` fills the band above ``bandwidth_hz - edge_margin_hz`` from the
    level-matched resynthesis (``msar.dsp.resynth.band_merge``; at ``fill_gain_db`` below the
    model's Nyquist frequency, at ``wide_fill_gain_db`` above it when ``sr`` is higher), added to the
    whole input or replacing the input above that edge (``params.merge``); ``resynth`` returns the
    resynthesis alone."""
    if params.output not in ("hybrid", "resynth"):
        raise ValueError(f"output must be 'hybrid' or 'resynth', got {params.output!r}")
    if params.merge not in ("crossover", "add"):
        raise ValueError(f"merge must be 'crossover' or 'add', got {params.merge!r}")
    model = model if isinstance(model, ResynthModel) else load_model(model)
    one_d = np.ndim(x) == 1
    x2 = np.asarray(x, dtype=np.float32)
    x2 = x2[:, None] if one_d else x2
    out = np.empty_like(x2)
    edge = max(bandwidth_hz - params.edge_margin_hz, 2 * params.transition_hz)
    for c in range(x2.shape[1]):
        xc = np.ascontiguousarray(x2[:, c])
        y = resynthesize(xc, sr, model, params.speaker, bandwidth_hz,
                         pitch="input" if params.output == "hybrid" and params.input_pitch else "model",
                         wideband=params.wideband, wide_fft_size=params.wide_fft_size or None)
        if params.output == "hybrid":
            lo = max(edge - params.transition_hz / 2 - params.match_band_hz, 50.0)
            ym = match_level(xc, y, sr, (lo, edge - params.transition_hz / 2))
            y = ym * np.float32(10 ** (params.fill_gain_db / 20))
            if params.wideband and sr > model.card.sample_rate:  # above the model's band: its own gain
                y = R.band_merge(y, ym * np.float32(10 ** (params.wide_fill_gain_db / 20)), sr,
                                 model.card.sample_rate / 2, params.transition_hz)
            y = R.band_merge(xc, y if params.merge == "crossover" else xc + y, sr, edge, params.transition_hz)
        out[:, c] = y
    return out[:, 0] if one_d else out


@dataclass(frozen=True)
class FillParams:
    """How :func:`fill_missing` takes lost samples (dropout gaps, clipped peaks) from the resynthesis."""

    #: Raised-cosine cross-fade from the DSP concealment to the resynthesis at each edge of a run, ms.
    #: Valid split, dropouts (2-6 gaps of 20-120 ms), 16 clips (``bench/resynth_fill_tune.py``): the
    #: concealment alone PESQ-wb 3.574, Q 0.0053, SNR in the gaps 1.70 dB, LSD around them 8.55 dB;
    #: 40 ms fades 3.595, 0.0047, 1.94, 7.91; 60 ms 3.588, 0.0048, 1.94, 8.12; on 8 of those clips
    #: 5-20 ms fades lowered PESQ-wb (3.43-3.46 against 3.49): the AR continuation is the better
    #: signal near the edges, the resynthesis only in the middle of a long gap.
    fade_ms: float = 40.0
    #: The resynthesis is shifted by up to this much per run to add in phase in the fades, ms.
    max_lag_ms: float = 5.0
    #: Share of the resynthesis inside a run once the fades are complete (1: the resynthesis alone).
    mix: float = 1.0
    #: Speaker table row (None: estimated from the input).
    speaker: str | None = None


def fill_missing(y: np.ndarray, sr: int, missing: np.ndarray, params: FillParams = FillParams(),
                 model: ResynthModel | str = DEFAULT_MODEL) -> np.ndarray:
    """``y`` (1-D or ``(n, ch)``, ``sr`` Hz: the DSP stages' output, whose lost samples already
    hold their concealment) with the samples marked in ``missing`` (boolean, ``y``'s shape) taken
    from its resynthesis: the resynthesis of ``y`` itself (the model sees the concealed gap, and the
    input's own pitch is kept where ``y`` is voiced), level-matched to ``y`` frame by frame over the
    model's band, merged by :func:`msar.dsp.resynth.fill_missing` (cross-fades, phase-aligned per
    run). float32 of ``y``'s shape; unchanged where ``missing`` is False. Each channel on its own."""
    one_d = np.ndim(y) == 1
    y2 = np.asarray(y, dtype=np.float32)
    y2 = y2[:, None] if one_d else y2
    m2 = np.asarray(missing, dtype=bool).reshape(y2.shape)
    out = y2.copy()
    for c in range(y2.shape[1]):
        if not m2[:, c].any():
            continue
        model = model if isinstance(model, ResynthModel) else load_model(model)
        yc = np.ascontiguousarray(y2[:, c])
        r = resynthesize(yc, sr, model, params.speaker, pitch="input")
        r = match_level(yc, r, sr, (50.0, min(sr, model.card.sample_rate) / 2))
        out[:, c] = R.fill_missing(yc, r, m2[:, c], sr, params.fade_ms, params.max_lag_ms, params.mix)
    return out[:, 0] if one_d else out


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))
