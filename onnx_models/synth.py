"""Multi-speaker synthesis at run time: text -> phones (``frontend.py``) -> frames per phone
(duration model) -> WORLD features per 5 ms frame (acoustic model) -> audio (pyworld). onnxruntime
only, never torch; every rate, size, table and statistic comes from the sidecars.

A voice model is two files pairs written by ``train/synth/export.py``: ``<name>.onnx`` (task
``acoustic``; its sidecar holds the speakers, phone table, feature normalization and frame
settings, and names its partner in ``duration_model``) and the duration model ``<name>-duration.onnx``
(task ``duration``). ``--model`` names or points to the acoustic one. Both are checked as the
repair model is (``runtime.checked_session``: SHA-256, I/O names, ranks and dtypes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msar.dsp import audio, pause_gate, world
from msar.dsp.errors import MsarError

from . import frontend, registry, runtime

PAD = "<pad>"
FORMAT_VERSION = 1
DEFAULT_MODEL = "multispeaker-synth"
_REQUIRED = ("name", "task", "format_version", "sha256", "sample_rate", "frame_period_ms", "n_sp", "inputs",
             "outputs", "speakers", "phones", "feature_mean", "feature_std", "duration_model")


def expand_durations(durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame phone index ``[T]`` int64 and position features ``[T, 2]`` float32 (relative
    position inside the phone, log(1 + phone frames) / 4) for frames per phone ``[N]``. Shared by
    training and runtime."""
    d = np.asarray(durations, dtype=np.int64)
    frame_phone = np.repeat(np.arange(len(d)), d)
    starts = np.repeat(np.cumsum(d) - d, d)
    lens = np.repeat(d, d)
    rel = (np.arange(len(frame_phone)) - starts + 0.5) / np.maximum(lens, 1)
    pos = np.stack([rel, np.log1p(lens) / 4.0], axis=1).astype(np.float32)
    return frame_phone.astype(np.int64), pos


@dataclass(frozen=True)
class Speaker:
    id: int
    name: str
    sex: str
    language: str
    hours: float


@dataclass(frozen=True)
class VoiceCard:
    """Typed view of a synthesis sidecar (acoustic or duration)."""

    name: str
    task: str
    sha256: str
    sample_rate: int
    frame_period_ms: float
    n_sp: int
    inputs: tuple
    outputs: tuple
    speakers: tuple[Speaker, ...]
    phones: tuple[str, ...]
    mean: np.ndarray = field(repr=False)
    std: np.ndarray = field(repr=False)
    duration_model: str
    raw: dict = field(repr=False, compare=False)
    #: Per speaker, the variance over an utterance of each coded-envelope dimension, averaged over
    #: the speaker's training utterances (``global_variance`` in the sidecar; empty for models
    #: exported without it): the target of :func:`msar.dsp.world.restore_variance`.
    sp_variance: dict = field(default_factory=dict, repr=False, compare=False)
    #: Per speaker, the variance of log F0 over an utterance's voiced frames, averaged likewise.
    lf0_variance: dict = field(default_factory=dict, repr=False, compare=False)
    #: Per speaker, rendering defaults chosen for that voice by measurement (``voice_defaults`` in
    #: the sidecar, written by ``bench/synth_postfilter_tune.py --write-voice-defaults``): a
    #: subset of :data:`RENDER_SETTINGS` each; what a voice lacks falls back to the module's.
    voice_defaults: dict = field(default_factory=dict, repr=False, compare=False)
    #: Per speaker, how much longer the speaker's recordings are than the model's rendering of
    #: their transcripts (``pace`` in the sidecar, measured by ``train.synth.calibrate_pace``):
    #: predicted durations are stretched by it, so ``rate`` 1 is the speaker's own pace. 1 where
    #: absent.
    pace: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict, where: str, task: str) -> "VoiceCard":
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise MsarError(f"{where}: synthesis sidecar lacks {', '.join(missing)}")
        if d["format_version"] != FORMAT_VERSION:
            raise MsarError(f"{where}: sidecar format_version {d['format_version']!r} is not the supported {FORMAT_VERSION}")
        if d["task"] != task:
            raise MsarError(f"{where}: a '{d['task']}' model, not a{'n' if task[0] == 'a' else ''} {task} model")
        speakers = tuple(Speaker(int(s["id"]), str(s["name"]), str(s.get("sex", "?")), str(s.get("language", "")),
                                 float(s.get("hours", 0.0))) for s in d["speakers"])
        return cls(str(d["name"]), task, str(d["sha256"]), int(d["sample_rate"]), float(d["frame_period_ms"]),
                   int(d["n_sp"]), runtime.tensor_specs(d, "inputs", where), runtime.tensor_specs(d, "outputs", where),
                   speakers, tuple(d["phones"]), np.asarray(d["feature_mean"], np.float32),
                   np.asarray(d["feature_std"], np.float32), str(d["duration_model"]), d,
                   {k: np.asarray(v, np.float64) for k, v in d.get("global_variance", {}).get("sp", {}).items()},
                   {k: float(v) for k, v in d.get("global_variance", {}).get("lf0", {}).items()},
                   _voice_defaults(d, where), _pace(d, where))


#: Default formant emphasis of synthesized speech (``SynthOptions.postfilter``), chosen on
#: sentences of its own with the shipped model (reports/synth-postfilter.md): from 0 to 0.2 / 0.4
#: DistillMOS 1.88 -> 2.18 / 2.40, DNSMOS P.808 2.81 -> 2.91 / 3.02, but tiny.en WER 0.412 -> 0.430 /
#: 0.447 (consistently worse per voice at 0.4, mixed at 0.2): intelligibility is the first target.
POSTFILTER_BETA = 0.2

#: Default global-variance compensation (``SynthOptions.gv``; :func:`msar.dsp.world.restore_variance`'s
#: weight), chosen with the post-filter on sentences of its own (reports/synth-postfilter.md): with
#: beta 0.2, from 0 to 0.5 / 1 DistillMOS 2.70 -> 2.84 / 2.90 and DNSMOS P.808 3.21 -> 3.34 / 3.43,
#: WER 0.130 -> 0.130 / 0.133 (600 words a setting; allison worse, the flite voices better).
GV_WEIGHT = 1.0

#: Default global-variance compensation of log F0 over the voiced frames (``SynthOptions.gv_f0``):
#: off. At 1 it lifted DNSMOS OVRL 2.90 -> 2.97 but cost flite-kal16 9 words of 120 (pooled WER 0.038
#: -> 0.043; reports/synth-postfilter.md).
GV_F0_WEIGHT = 0.0

#: Default attenuation of the predicted pauses (``SynthOptions.pause_gate``, dB; 0: off) and the
#: length of its fade into each pause (:mod:`msar.dsp.pause_gate`), chosen on the post-filter
#: tuning sentences (reports/synth-postfilter.md): from off to 60 dB over 100 ms DistillMOS 2.886
#: -> 3.111, DNSMOS OVRL 2.898 -> 2.948, WER 0.038 either way; the best DistillMOS + OVRL of six
#: gates (30-60 dB, 40-100 ms; all within 0.06 of each other).
PAUSE_GATE_DB = 60.0
PAUSE_FADE_MS = 100.0

#: Noise segments a second in WORLD's long unvoiced runs (:func:`msar.dsp.world.sparse_unvoiced`;
#: None: WORLD's own 500). At 200 Hz, one per 5 ms frame, on the English voices' 180 tuning utterances
#: (reports/synth-unvoiced.md): ``pyworld.synthesize`` 37.4x -> 46.8x real time, the whole synthesis
#: 21.8x -> 24.8x; DistillMOS 3.161 -> 3.157, DNSMOS OVRL 3.009 -> 3.023, WER 0.076 -> 0.077 (one
#: word). 100 Hz was faster still (25.9x) but cost DistillMOS (3.132) and words (0.081).
UNVOICED_PULSE_HZ: float | None = 200.0

#: The rendering settings a voice may carry defaults for (``VoiceCard.voice_defaults``), with the
#: defaults of voices that carry none.
RENDER_SETTINGS = {"postfilter": POSTFILTER_BETA, "gv": GV_WEIGHT, "gv_f0": GV_F0_WEIGHT, "pause_gate": PAUSE_GATE_DB}
#: Their ranges (inclusive), for options and sidecar values alike.
RENDER_RANGES = {"postfilter": (0.0, 1.0), "gv": (0.0, 1.0), "gv_f0": (0.0, 1.0), "pause_gate": (0.0, 120.0)}


def _voice_defaults(d: dict, where: str) -> dict[str, dict[str, float]]:
    out = {}
    for spk, settings in d.get("voice_defaults", {}).get("speakers", {}).items():
        for k, v in settings.items():
            lo, hi = RENDER_RANGES.get(k, (None, None))
            if lo is None or not isinstance(v, (int, float)) or not lo <= v <= hi:
                raise MsarError(f"{where}: voice_defaults of {spk}: {k}={v!r} is not a setting in its range "
                                f"({', '.join(f'{n} {a:g}-{b:g}' for n, (a, b) in RENDER_RANGES.items())})")
        out[spk] = {k: float(v) for k, v in settings.items()}
    return out


#: Accepted range of a speaker's pace calibration (``VoiceCard.pace``): beyond it the
#: measurement, not the model, is wrong.
PACE_RANGE = (0.5, 2.0)


def _pace(d: dict, where: str) -> dict[str, float]:
    out = {}
    for spk, v in d.get("pace", {}).get("speakers", {}).items():
        if not isinstance(v, (int, float)) or not PACE_RANGE[0] <= v <= PACE_RANGE[1]:
            raise MsarError(f"{where}: pace of {spk}: {v!r} is not a duration factor in {PACE_RANGE[0]:g}-{PACE_RANGE[1]:g}")
        out[spk] = float(v)
    return out


@dataclass(frozen=True)
class SynthOptions:
    """Per-call overrides; ``None`` means the model's default (piper's ``SynthesisConfig``)."""

    rate: float = 1.0  # speaking rate: 2.0 is twice as fast as the speaker (``VoiceCard.pace``)
    pitch: float = 1.0  # F0 scale
    sample_rate: int | None = None
    #: Formant emphasis of the WORLD envelope (``dsp.world.sharpen_envelope``'s beta; 0: off;
    #: None: the voice's default (``VoiceCard.voice_defaults``), else :data:`POSTFILTER_BETA`; so
    #: for ``gv``, ``gv_f0`` and ``pause_gate``).
    postfilter: float | None = None
    #: Language of the text, one of the speaker's (``Speaker.language``, comma-separated); None:
    #: the first of them.
    language: str | None = None
    #: Global-variance compensation of the envelope's movement over the utterance, 0 (off) to 1
    #: (the speaker's training variance); None: :data:`GV_WEIGHT` where the model has the
    #: statistics, off where it has not.
    gv: float | None = None
    #: The same for the pitch contour (log F0 over the voiced frames): livelier intonation; None:
    #: :data:`GV_F0_WEIGHT` where the model has the statistics.
    gv_f0: float | None = None
    #: Attenuation in dB of the frames the model placed in a pause (``sil``/``pau`` phones),
    #: faded in over ``pause_fade_ms``: the vocoder's hiss there reads as noise. 0: off; None:
    #: :data:`PAUSE_GATE_DB`.
    pause_gate: float | None = None
    pause_fade_ms: float = PAUSE_FADE_MS


class Voice:
    """A checked pair of synthesis models; :meth:`synthesize` speaks one utterance."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.card = VoiceCard.from_dict(registry.read_sidecar(self.path), str(registry.sidecar_path(self.path)), "acoustic")
        self.session = runtime.checked_session(self.path, self.card)
        dpath = self.path.parent / self.card.duration_model
        self.dcard = VoiceCard.from_dict(registry.read_sidecar(dpath), str(registry.sidecar_path(dpath)), "duration")
        if self.dcard.phones != self.card.phones or [s.name for s in self.dcard.speakers] != [s.name for s in self.card.speakers]:
            raise MsarError(f"{dpath}: its phone or speaker table differs from {self.path.name}'s")
        self.dsession = runtime.checked_session(dpath, self.dcard)
        self.phone_table = {p: i for i, p in enumerate(self.card.phones)}
        self.layout = world.feature_layout(self.card.sample_rate, self.card.n_sp)

    @property
    def speakers(self) -> tuple[Speaker, ...]:
        return self.card.speakers

    def speaker(self, name: str) -> Speaker:
        for s in self.card.speakers:
            if s.name == name:
                return s
        raise MsarError(f"unknown speaker '{name}' in {self.card.name} (available: "
                        f"{', '.join(s.name for s in self.card.speakers)})")

    @staticmethod
    def language(spk: Speaker, wanted: str | None = None) -> str:
        """The front-end language for ``spk``: ``wanted`` if the speaker was trained on it (else a
        clear error), otherwise the first of its languages."""
        langs = [x for x in spk.language.split(",") if x] or ["en"]
        if wanted is not None and wanted not in langs:
            raise MsarError(f"speaker {spk.name} speaks {', '.join(langs)}, not {wanted!r} (see `msar speakers`)")
        return wanted or langs[0]

    def pace(self, speaker: str) -> float:
        """Duration factor that brings ``speaker``'s predicted durations to the pace of their
        recordings (:attr:`VoiceCard.pace`; 1 where the model was not calibrated)."""
        return self.card.pace.get(speaker, 1.0)

    def durations(self, ids: np.ndarray, stress: np.ndarray, spk: int, rate: float) -> np.ndarray:
        """Frames per phone for speaker id ``spk`` at speaking ``rate`` (1: the speaker's pace)."""
        log_dur = self.dsession.run(["log_dur"], {"phones": ids[None], "stress": stress[None],
                                                  "speaker": np.array([spk], np.int64)})[0][0]
        # The model predicts mean log durations, whose exponential falls short of the mean duration
        # (more so the more a speaker's durations vary): the pace calibration restores the length.
        name = next((s.name for s in self.card.speakers if s.id == spk), "")
        frames = np.expm1(np.maximum(log_dur, 0.0)) * self.pace(name) / rate
        # round with carried remainder so the total length follows the predicted total
        edges = np.round(np.cumsum(frames)).astype(np.int64)
        # at least one frame per phone (one dropped by rounding would be skipped altogether)
        return np.maximum(np.diff(np.concatenate([[0], edges])), 1)

    def features(self, ids, stress, spk: int, dur: np.ndarray, pitch: float) -> np.ndarray:
        frame_phone, pos = expand_durations(dur)
        y = self.session.run(["feats"], {"phones": ids[None], "stress": stress[None], "speaker": np.array([spk], np.int64),
                                         "frame_phone": frame_phone[None], "frame_pos": pos[None]})[0][0]
        f = y * self.card.std + self.card.mean
        v = self.layout["vuv"][0]
        f[:, v] = 1.0 / (1.0 + np.exp(-y[:, v]))
        f[:, self.layout["lf0"][0]] += np.log(pitch)
        return f

    def check(self, speaker: str, options: SynthOptions = SynthOptions()) -> Speaker:
        """The speaker, after checking ``options`` against it and this model: a clear
        :class:`MsarError` for any that cannot be honoured (a batch calls this before any work)."""
        spk = self.speaker(speaker)
        if not (0.25 <= options.rate <= 4.0) or not (0.25 <= options.pitch <= 4.0):
            raise MsarError("rate and pitch must be between 0.25 and 4")
        for name, (lo, hi) in RENDER_RANGES.items():
            value = getattr(options, name)
            if value is not None and not lo <= value <= hi:
                raise MsarError(f"{name.replace('_', ' ')} must be between {lo:g} and {hi:g} (got {value})")
        if not options.pause_fade_ms > 0.0:
            raise MsarError(f"pause fade must be positive (got {options.pause_fade_ms} ms)")
        for name, weight, stats in (("gv", options.gv, self.card.sp_variance),
                                    ("gv_f0", options.gv_f0, self.card.lf0_variance)):
            if weight and spk.name not in stats:
                raise MsarError(f"{self.card.name} has no global-variance statistics for {spk.name} "
                                "(exported without them: python -m train.synth.export --data)")
        self.language(spk, options.language)
        return spk

    def setting(self, name: str, speaker: str, options: SynthOptions = SynthOptions()) -> float:
        """The value of rendering setting ``name`` (one of :data:`RENDER_SETTINGS`) for
        ``speaker``: the option when given, else the voice's own default, else the module's."""
        given = getattr(options, name)
        if given is not None:
            return float(given)
        return self.card.voice_defaults.get(speaker, {}).get(name, RENDER_SETTINGS[name])

    def effective_setting(self, name: str, speaker: str, options: SynthOptions = SynthOptions()) -> float:
        """:meth:`setting` as rendering applies it: variance compensation needs the speaker's
        statistics in the sidecar, and is 0 without them."""
        stats = {"gv": self.card.sp_variance, "gv_f0": self.card.lf0_variance}.get(name)
        return 0.0 if stats is not None and speaker not in stats else self.setting(name, speaker, options)

    def silent_frames(self, phones, durations: np.ndarray) -> np.ndarray:
        """Per frame, whether its phone is a pause (``sil``/``pau``), for phone symbols (or
        :class:`frontend.Phone`) and their frame counts."""
        names = [getattr(p, "symbol", p) for p in phones]
        return np.repeat(np.array([str(n) in (frontend.SIL, frontend.PAU) for n in names], bool),
                         np.asarray(durations, np.int64))

    def render(self, feats: np.ndarray, speaker: str, options: SynthOptions = SynthOptions(),
               silent: np.ndarray | None = None) -> np.ndarray:
        """Audio (float32 1-D, the model's rate) of predicted features (:meth:`features`) as the
        runtime shapes them for ``speaker``: variance compensation (``gv``, ``gv_f0``), the
        post-filter, WORLD, the pause gate on the ``silent`` frames (:meth:`silent_frames`; none
        given: no gate), and a peak limit. ``train.synth.diagnose`` renders through it too."""
        feats = np.array(feats, dtype=np.float32)
        gv = self.effective_setting("gv", speaker, options)
        if gv > 0.0:
            sp = slice(*self.layout["sp"])
            feats[:, sp] = world.restore_variance(feats[:, sp], self.card.sp_variance[speaker], gv)
        gv_f0 = self.effective_setting("gv_f0", speaker, options)
        if gv_f0 > 0.0:
            voiced, lf0 = feats[:, self.layout["vuv"][0]] > 0.5, self.layout["lf0"][0]
            feats[voiced, lf0] = world.restore_variance(feats[voiced, lf0][:, None],
                                                        np.array([self.card.lf0_variance[speaker]]), gv_f0, skip=0)[:, 0]
        beta = self.setting("postfilter", speaker, options)
        y = world.world_synthesize(feats, self.card.sample_rate, self.card.n_sp, self.card.frame_period_ms,
                                   postfilter_beta=beta, unvoiced_pulse_hz=UNVOICED_PULSE_HZ)
        depth = self.setting("pause_gate", speaker, options)
        if silent is not None and depth > 0.0:
            if len(silent) != len(feats):
                raise ValueError(f"{len(silent)} silence flags for {len(feats)} frames")
            gain = pause_gate.pause_gain(silent, depth, options.pause_fade_ms / self.card.frame_period_ms)
            y = pause_gate.apply_frame_gain(y, gain, round(self.card.sample_rate * self.card.frame_period_ms / 1000))
        peak = float(np.max(np.abs(y))) if len(y) else 0.0
        if peak > 0.99:  # WORLD can overshoot on extreme predicted envelopes
            y = y * (0.99 / peak)
        return y

    def synthesize(self, text: str, speaker: str, options: SynthOptions = SynthOptions(), line: int | None = None) -> tuple[np.ndarray, int]:
        """Audio (float32 1-D) and its rate for one utterance of raw text spoken by ``speaker``."""
        spk = self.check(speaker, options)
        lang = self.language(spk, options.language)  # checked above
        phones = frontend.fit_phones(frontend.phonemize(text, lang, line), self.phone_table)
        ids = frontend.phone_ids(phones, self.phone_table, line)
        stress = np.array([min(p.stress, 2) for p in phones], np.int64)
        dur = self.durations(ids, stress, spk.id, options.rate)
        if dur.sum() < 2:
            raise MsarError(f"{'line %d: ' % line if line else ''}predicted an empty utterance")
        feats = self.features(ids, stress, spk.id, dur, options.pitch)
        y, sr = self.render(feats, spk.name, options, self.silent_frames(phones, dur)), self.card.sample_rate
        if options.sample_rate and options.sample_rate != sr:
            y, sr = audio.resample(y, sr, options.sample_rate).astype(np.float32), options.sample_rate
        return y, sr


def load_voice(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> Voice:
    """A checked :class:`Voice` by shipped name or path, loaded once per process."""
    return registry.load(name_or_path, "acoustic", Voice)
