"""The neural repair stage at run time: onnxruntime only (never torch), streaming, and driven
entirely by the model's sidecar.

A repair model is ``<name>.onnx`` + ``<name>.onnx.json`` (written by ``train/export.py``). The
network maps features of damaged STFT frames to a real gain per bin; this module owns the rest:

1. :func:`load_model` reads the sidecar and checks it against the file before any audio: the
   SHA-256 of the ``.onnx`` (as RNNoise's ``model_version``), ``format_version``, and every
   input/output name, rank and dtype that onnxruntime reports. A mismatch is an MsarError
   naming the file. Models are loaded once per process and cached.
2. :class:`Denoiser` streams: ``reset()``, ``process(block)`` any number of times, ``flush()``.
   It carries the STFT overlap (``msar.dsp.stft``) and the recurrent state (the sidecar's
   ``state`` map, GTCRN style: each state output is fed back as its input on the next call),
   and removes the algorithmic delay (``n_fft - hop`` samples plus ``lookahead_frames · hop``),
   so the concatenated output is aligned with the input and just as long. A model with
   ``lookahead_frames = L`` returns frame ``t - L``'s gains with frame ``t``'s features: the
   spectra wait here for their gains, the first ``L`` rows (before the signal) are dropped, and
   the end is completed with ``L`` hops of zeros, whose own frames are never output.
3. :func:`enhance` runs a whole array at any rate: resample to the model's rate
   (``msar.dsp.audio.resample``), stream each channel, resample back.

Strength: ``gain' = 1 - strength · (1 - gain)``. ``strength = 1`` applies the network's gains,
``0`` passes the input through unchanged, values between limit how far any bin is attenuated
(at ``strength = 0.5`` no bin loses more than 6 dB). Its default is the sidecar's
``defaults.strength`` (1.0 when absent).

No sample rate, frame size or state shape is written here: they all come from the sidecar.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from msar.dsp import audio
from msar.dsp import stft as S
from msar.dsp.errors import MsarError

from . import registry

log = logging.getLogger(__name__)

#: The sidecar layout this runtime understands (``format_version`` in the JSON).
FORMAT_VERSION = 1

#: onnxruntime's type names for the dtypes a sidecar may give.
_ORT_TYPES = {"float32": "tensor(float)", "float64": "tensor(double)", "int64": "tensor(int64)",
              "int32": "tensor(int32)", "float16": "tensor(float16)"}

_REQUIRED = ("name", "task", "format_version", "sha256", "sample_rate", "n_fft", "hop", "window",
             "features", "inputs", "outputs", "state", "lookahead_frames")


@dataclass(frozen=True)
class TensorSpec:
    """One input or output as the sidecar declares it: shape entries are ints or axis names."""

    name: str
    shape: tuple
    dtype: str


@dataclass(frozen=True)
class ModelCard:
    """A typed view of a repair model's sidecar (piper's ``PiperConfig``). ``raw`` keeps the
    whole JSON (training summary, metrics) for ``msar models``."""

    name: str
    task: str
    format_version: int
    model_version: str
    sha256: str
    sample_rate: int
    n_fft: int
    hop: int
    window: str
    features: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    state: dict[str, str]
    lookahead_frames: int
    strength: float
    raw: dict = field(repr=False, compare=False)

    @property
    def feature_input(self) -> TensorSpec:
        """The one input that is not recurrent state: the features ``[1, T, F]``."""
        return next(t for t in self.inputs if t.name not in self.state)

    @property
    def mask_output(self) -> TensorSpec:
        """The one output that is not recurrent state: the gains ``[1, T, F]``."""
        fed_back = set(self.state.values())
        return next(t for t in self.outputs if t.name not in fed_back)

    @property
    def delay_samples(self) -> int:
        """Output delay of streaming processing, removed by :class:`Denoiser`."""
        return S.delay_samples(self.n_fft, self.hop) + self.lookahead_frames * self.hop

    @classmethod
    def from_dict(cls, d: dict, where: str) -> "ModelCard":
        """Validate a sidecar's structure; MsarError names ``where`` (the file) and the problem."""
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise MsarError(f"{where}: model sidecar lacks {', '.join(missing)}")
        if d["format_version"] != FORMAT_VERSION:
            raise MsarError(f"{where}: sidecar format_version {d['format_version']!r} is not the "
                            f"supported {FORMAT_VERSION} (a newer msar may read it)")
        if d["task"] != "repair":
            raise MsarError(f"{where}: a '{d['task']}' model, not a repair model")
        if d["window"] != "sqrt_hann":
            raise MsarError(f"{where}: unsupported window {d['window']!r} (this runtime has sqrt_hann)")
        if d["features"] not in S.FEATURES:
            raise MsarError(f"{where}: unknown features {d['features']!r} (known: {', '.join(S.FEATURES)})")

        inputs, outputs = tensor_specs(d, "inputs", where), tensor_specs(d, "outputs", where)
        state = dict(d["state"])
        in_names, out_names = {t.name for t in inputs}, {t.name for t in outputs}
        for src, dst in state.items():
            if src not in in_names or dst not in out_names:
                raise MsarError(f"{where}: state pair {src} -> {dst} names no declared input/output")
        if len(in_names - set(state)) != 1 or len(out_names - set(state.values())) != 1:
            raise MsarError(f"{where}: a repair model needs exactly one feature input and one mask output "
                            "besides its state pairs")
        try:
            S.check_cola(int(d["n_fft"]), int(d["hop"]))
        except ValueError as exc:
            raise MsarError(f"{where}: {exc}") from None
        strength = float(d.get("defaults", {}).get("strength", 1.0))
        return cls(str(d["name"]), d["task"], int(d["format_version"]), str(d.get("model_version", "")),
                   str(d["sha256"]), int(d["sample_rate"]), int(d["n_fft"]), int(d["hop"]), d["window"],
                   d["features"], inputs, outputs, state, int(d["lookahead_frames"]), strength, d)


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_io(card: ModelCard, session, where: str) -> None:
    """Names, ranks, static dims and dtypes of the sidecar against what onnxruntime reports."""
    for kind, declared, actual in (("input", card.inputs, session.get_inputs()),
                                   ("output", card.outputs, session.get_outputs())):
        got = {a.name: a for a in actual}
        want = {t.name: t for t in declared}
        if set(got) != set(want):
            raise MsarError(f"{where}: the model's {kind}s are {sorted(got)}, its sidecar declares {sorted(want)}")
        for name, spec in want.items():
            a = got[name]
            if len(a.shape) != len(spec.shape):
                raise MsarError(f"{where}: {kind} '{name}' has rank {len(a.shape)}, the sidecar says "
                                f"{len(spec.shape)}")
            for dim_model, dim_card in zip(a.shape, spec.shape):
                if isinstance(dim_model, int) and isinstance(dim_card, int) and dim_model != dim_card:
                    raise MsarError(f"{where}: {kind} '{name}' has shape {a.shape}, the sidecar says "
                                    f"{list(spec.shape)}")
            if _ORT_TYPES.get(spec.dtype) != a.type:
                raise MsarError(f"{where}: {kind} '{name}' is {a.type}, the sidecar says {spec.dtype}")


def tensor_specs(d: dict, section: str, where: str) -> tuple[TensorSpec, ...]:
    """The sidecar's ``inputs``/``outputs`` section as TensorSpecs; MsarError if malformed."""
    try:
        return tuple(TensorSpec(k, tuple(v["shape"]), str(v["dtype"])) for k, v in d[section].items())
    except (AttributeError, KeyError, TypeError):
        raise MsarError(f"{where}: '{section}' must map names to {{shape, dtype}}") from None


def checked_session(path: str | os.PathLike, card):
    """An onnxruntime session (CPU, one thread: msar parallelises over files) for ``path``, after
    checking its SHA-256 against ``card.sha256`` and, once loaded, its I/O against
    ``card.inputs``/``card.outputs`` (any card with those fields: repair or synthesis)."""
    import onnxruntime as ort

    where = str(path)
    try:
        digest = sha256_of(path)
    except OSError as exc:
        raise MsarError(f"{where}: cannot read model ({exc.strerror or exc})") from None
    if digest != card.sha256:
        raise MsarError(f"{where}: SHA-256 {digest[:12]}... does not match its sidecar's "
                        f"{card.sha256[:12]}... (model and sidecar are from different exports)")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise MsarError(f"{where}: onnxruntime cannot load the model ({str(exc).splitlines()[0]})") from None
    _check_io(card, session, where)
    return session


class RepairModel:
    """A checked repair model: its :class:`ModelCard` and an onnxruntime session (one thread:
    msar parallelises over files). Use :func:`load_model` to get a cached one."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.card = ModelCard.from_dict(registry.read_sidecar(self.path), str(registry.sidecar_path(self.path)))
        self.session = checked_session(self.path, self.card)
        self._feat = self.card.feature_input.name
        self._mask = self.card.mask_output.name
        self._out_names = [self._mask] + list(self.card.state.values())
        self._dtype = {t.name: np.dtype(t.dtype) for t in self.card.inputs}

    def initial_state(self) -> dict[str, np.ndarray]:
        """Zero recurrent state, shaped as the sidecar declares (every dim static)."""
        specs = {t.name: t for t in self.card.inputs}
        return {name: np.zeros(specs[name].shape, dtype=self._dtype[name]) for name in self.card.state}

    def run(self, feat: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Gains ``[1, T, F]`` for features ``[1, T, F]``, and the state after the last frame."""
        feed = {self._feat: np.ascontiguousarray(feat, dtype=self._dtype[self._feat]), **state}
        outs = self.session.run(self._out_names, feed)
        return outs[0], dict(zip(self.card.state.keys(), outs[1:]))


def load_model(name_or_path: str | os.PathLike) -> RepairModel:
    """A checked :class:`RepairModel` by shipped name or path, loaded once per process (a file
    changed on disk is loaded again)."""
    return registry.load(name_or_path, "repair", RepairModel)


def _strength(value: float | None, card: ModelCard) -> float:
    s = card.strength if value is None else float(value)
    if not 0.0 <= s <= 1.0 or not np.isfinite(s):
        raise MsarError(f"strength must be between 0 and 1 (got {value})")
    return s


class Denoiser:
    """Streaming repair of one mono signal at the model's ``sample_rate``.

    ``process(block)`` takes any number of samples (1-D float) and returns the output samples
    that are final so far; ``flush()`` returns the rest. Concatenated, the outputs have exactly
    the input's length and are aligned with it (the delay is removed), and they do not depend
    on how the input was cut into blocks. ``reset()`` starts a new signal (state and overlap
    cleared); :meth:`flush` resets too.
    """

    def __init__(self, model: RepairModel | str | os.PathLike = "multispeaker-repair", strength: float | None = None):
        self.model = model if isinstance(model, RepairModel) else load_model(model)
        card = self.model.card
        self.sr = card.sample_rate
        self.strength = _strength(strength, card)
        self._feature = S.FEATURES[card.features]
        self._ana = S.StreamingStft(card.n_fft, card.hop)
        self._syn = S.StreamingIstft(card.n_fft, card.hop)
        #: When a list, each processed frame appends its mean gain over the top quarter of the
        #: model's band (used by :func:`enhance` to treat a wideband file's upper band alike).
        self.top_band_gains: list[float] | None = None
        self.reset()

    def reset(self) -> None:
        self._ana.reset()
        self._syn.reset()
        self._state = self.model.initial_state()
        self._n_in = 0
        self._n_out = 0
        card = self.model.card
        # The lookahead delay is undone by pairing gains with their own frames, so only the
        # STFT's delay is left to drop from the output.
        self._to_drop = S.delay_samples(card.n_fft, card.hop)
        self._rows_to_drop = card.lookahead_frames  # gains of the frames before the signal
        self._waiting = np.zeros((0, card.n_fft // 2 + 1), dtype=np.complex128)  # spectra without gains yet

    def _frames(self, spec: np.ndarray) -> np.ndarray:
        if spec.shape[0] == 0:
            return np.zeros(0)
        mask, self._state = self.model.run(self._feature(spec)[None], self._state)
        gain = 1.0 - self.strength * (1.0 - mask[0].astype(np.float64))
        if self.model.card.lookahead_frames:
            drop = min(self._rows_to_drop, len(gain))
            self._rows_to_drop -= drop
            gain = gain[drop:]
            waiting = np.concatenate([self._waiting, spec])
            spec, self._waiting = waiting[: len(gain)], waiting[len(gain):]
            if len(gain) == 0:
                return np.zeros(0)
        if self.top_band_gains is not None:
            self.top_band_gains.extend(gain[:, -(gain.shape[1] // 4):].mean(axis=1).tolist())
        y = self._syn.push(spec * gain)
        drop = min(self._to_drop, len(y))
        self._to_drop -= drop
        return y[drop:]

    def process(self, block: np.ndarray) -> np.ndarray:
        """Repaired samples (float32 1-D) that ``block`` completes; may be shorter or longer than it."""
        block = np.asarray(block, dtype=np.float64).reshape(-1)
        self._n_in += len(block)
        y = self._frames(self._ana.push(block))
        self._n_out += len(y)
        return y.astype(np.float32)

    def flush(self) -> np.ndarray:
        """The remaining output samples after the last block; then :meth:`reset`."""
        card = self.model.card
        # Lookahead frames need input past the end: zeros, not counted as input.
        y = self._frames(self._ana.push(np.zeros(card.lookahead_frames * card.hop)))
        y = np.concatenate([y, self._frames(self._ana.flush())])
        y = y[: max(self._n_in - self._n_out, 0)]
        self.reset()
        return y.astype(np.float32)


class StreamingEnhancer:
    """Streaming repair of ``(n, channels)`` audio at any rate ``sr``: one :class:`Denoiser` per
    channel between two stream resamplers, with the wideband upper band treated as in
    :func:`enhance` (which is this class run on the whole signal at once).

    ``process(block)`` returns the output samples that are final so far (all channels, the
    same count), ``flush()`` the rest; concatenated they have the input's length, are aligned
    with it, and do not depend on how the input was cut into blocks. Memory is bounded: the
    only history kept is the few thousand samples not yet final.
    """

    #: Longest block processed in one piece, samples.
    MAX_BLOCK = 1 << 16

    def __init__(self, sr: int, channels: int, strength: float | None = None,
                 model: RepairModel | str | os.PathLike = "multispeaker-repair"):
        first = Denoiser(model, strength)
        self.sr, self.channels = int(sr), int(channels)
        self._dens = [first] + [Denoiser(first.model, strength) for _ in range(channels - 1)]
        self._msr = first.sr
        card = first.model.card
        self._wide = self.sr > self._msr
        self._down = audio.StreamResampler(self.sr, self._msr, channels)
        self._up = audio.StreamResampler(self._msr, self.sr, channels)
        if self._wide:
            # The upper band is x minus x's own round trip through the model's rate.
            self._rt_down = audio.StreamResampler(self.sr, self._msr, channels)
            self._rt_up = audio.StreamResampler(self._msr, self.sr, channels)
            for d in self._dens:
                d.top_band_gains = []
            # Frame k of the causal STFT ends at model-rate sample (k+1)*hop; its centre is n_fft/2 earlier.
            self._centre0 = (card.hop - card.n_fft / 2) * self.sr / self._msr
            self._centre_step = card.hop * self.sr / self._msr
        self._n_out = 0
        self._g0 = 0      # index of the first top-band gain frame still kept
        empty = np.zeros((0, channels), np.float32)
        self._x = self._y = self._rt = empty   # pending input, low-band output, round trip

    def _denoise(self, low: np.ndarray, flush: bool = False) -> np.ndarray:
        outs = []
        for c, d in enumerate(self._dens):
            y = d.process(low[:, c])
            outs.append(np.concatenate([y, d.flush()]) if flush else y)
        return np.stack(outs, axis=1)

    def _centre(self, frame):
        return self._centre0 + np.asarray(frame) * self._centre_step

    def _emit(self, final: bool) -> np.ndarray:
        if final:
            # soxr's total length can differ from the input's by a sample: pad or trim.
            self._y = _fit(self._y, len(self._x))
            if self._wide:
                self._rt = _fit(self._rt, len(self._x))
        n = min(len(self._x), len(self._y), len(self._rt) if self._wide else len(self._x))
        frames = self._g0 + len(self._dens[0].top_band_gains) if self._wide else 0  # gain frames so far
        if self._wide and not final:
            # A sample is final once a frame centred at or after it has its gain.
            n = min(n, int(np.floor(self._centre(frames - 1))) - self._n_out + 1) if frames else 0
            n = max(n, 0)
        out = self._y[:n].copy()
        if self._wide and n:
            idx = self._n_out + np.arange(n)
            centres = self._centre(self._g0 + np.arange(len(self._dens[0].top_band_gains)))
            for c, d in enumerate(self._dens):
                g = np.interp(idx, centres, d.top_band_gains) if d.top_band_gains else 1.0
                out[:, c] += (g * (self._x[:n, c] - self._rt[:n, c])).astype(np.float32)
            # Keep the gains from the last frame centred at or before the next sample on.
            keep = max(self._g0, int((self._n_out + n - self._centre0) // self._centre_step))
            keep = min(keep, frames - 1) if not final else keep
            for d in self._dens:
                del d.top_band_gains[:max(0, keep - self._g0)]
            self._g0 = max(self._g0, keep)
            self._rt = self._rt[n:]
        self._x, self._y = self._x[n:], self._y[n:]
        self._n_out += n
        return out

    def process(self, block: np.ndarray) -> np.ndarray:
        """Repaired samples (float32 ``(m, channels)``) that ``block`` completes."""
        block = np.asarray(block, dtype=np.float32).reshape(-1, self.channels)
        if len(block) > self.MAX_BLOCK:
            # Large blocks in pieces: the STFT frames and features of a piece stay a few MB.
            return np.concatenate([self.process(block[i:i + self.MAX_BLOCK])
                                   for i in range(0, len(block), self.MAX_BLOCK)])
        self._x = np.concatenate([self._x, block])
        low = self._down.process(block)
        self._y = np.concatenate([self._y, self._up.process(self._denoise(low))])
        if self._wide:
            self._rt = np.concatenate([self._rt, self._rt_up.process(self._rt_down.process(block))])
        return self._emit(final=False)

    def flush(self) -> np.ndarray:
        """The remaining output samples after the last block."""
        y = self._denoise(self._down.flush(), flush=True)
        self._y = np.concatenate([self._y, self._up.process(y), self._up.flush()])
        if self._wide:
            self._rt = np.concatenate([self._rt, self._rt_up.process(self._rt_down.flush()), self._rt_up.flush()])
        return self._emit(final=True)


def enhance(x: np.ndarray, sr: int, strength: float | None = None,
            model: RepairModel | str | os.PathLike = "multispeaker-repair") -> np.ndarray:
    """Repair a whole signal: ``x`` float ``(n_samples, n_channels)`` or 1-D at ``sr`` Hz.

    Each channel is resampled to the model's rate, streamed through a :class:`Denoiser` and
    resampled back (:class:`StreamingEnhancer` on the whole signal). Returns float32 of ``x``'s
    shape. ``strength``: see the module docstring (``None``: the model's default).

    A file above the model's rate stays wideband: its band above the model's Nyquist frequency
    (``x`` minus its round trip through the model's rate) is kept and scaled, frame by frame, by
    the model's mean gain over the top quarter of its own band, then added back. With gains of
    1 the output equals the input exactly, whatever the rate.
    """
    one_d = np.ndim(x) == 1
    x2 = np.asarray(x, dtype=np.float32)
    x2 = x2[:, None] if one_d else x2
    if x2.ndim != 2:
        raise ValueError(f"x must be 1-D or (n_samples, n_channels), got shape {np.shape(x)}")
    stream = StreamingEnhancer(sr, x2.shape[1], strength, model)
    out = np.concatenate([stream.process(x2), stream.flush()])
    return out[:, 0] if one_d else out


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` trimmed or zero-padded to ``n`` samples along axis 0 (soxr's length can differ by a sample)."""
    return y[:n] if len(y) >= n else np.pad(y, [(0, n - len(y))] + [(0, 0)] * (y.ndim - 1))
