"""Recipes: parse ``"noise:snr=0..20,reverb:rt60=0.6,clip:fraction=0.05"`` into damage steps,
draw each file's parameters, apply the steps in order, and log what was applied.

Grammar (whitespace around items is ignored)::

    recipe  := item ("," item)*
    item    := NAME (":" setting)*      a damage (with settings) or a preset (without)
             | setting                  one more setting of the damage before it
    setting := KEY "=" VALUE
    VALUE   := constant | LO ".." HI | option ("|" option)*

So ``noise:snr=5:kind=pink`` and ``noise:snr=5,kind=pink`` say the same. ``LO..HI`` draws a
number uniformly per file (integers inclusive of both ends), ``a|b|c`` picks one option per file.
A KEY is a parameter name, which may drop its unit suffix (``snr`` for ``snr_db``, ``rt60`` for
``rt60_s``, ``cutoff`` for ``cutoff_hz``). Every damage also takes ``p``, the probability
(0..1, default 1) that the step is applied to a file at all. A preset name expands to its recipe.

Randomness: :func:`file_rng` derives a file's generator from the seed and the file's key
(relative path), so results depend neither on the number of jobs nor on file order; inside
:func:`degrade` every step draws from its own child generator, so changing one step's settings
leaves the draws of the others alone. Drawn floats are rounded to 6 significant digits before
use, so the logged values are exactly the applied ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import typing
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import MsarError
from . import band, clip, codec, dc, dropout, gain, hum, noise, quantize, reverb


@dataclass(frozen=True)
class Damage:
    """One kind of damage: its params dataclass, its function and a line of help."""

    name: str
    params: type
    fn: Callable[..., tuple[np.ndarray, dict]]
    help: str


#: Every damage by recipe name, in the order the help lists them.
DAMAGES: dict[str, Damage] = {d.name: d for d in (
    Damage("noise", noise.NoiseParams, noise.noise, "additive noise at an SNR (whole-file powers)"),
    Damage("reverb", reverb.ReverbParams, reverb.reverb, "room reverberation with an RT60"),
    Damage("clip", clip.ClipParams, clip.clip, "hard or soft clipping"),
    Damage("lowpass", band.LowpassParams, band.lowpass, "low-pass band limit"),
    Damage("highpass", band.HighpassParams, band.highpass, "high-pass band limit"),
    Damage("codec", codec.CodecParams, codec.codec, "telephony / low-rate codec round trip"),
    Damage("dropout", dropout.DropoutParams, dropout.dropout, "packet-loss dropouts (zeroed stretches)"),
    Damage("hum", hum.HumParams, hum.hum, "mains hum with harmonics"),
    Damage("dc", dc.DcParams, dc.dc, "DC offset"),
    Damage("quantize", quantize.QuantizeParams, quantize.quantize, "coarse quantization"),
    Damage("gain", gain.GainParams, gain.gain, "sudden gain jumps"),
)}

#: Named recipes: name -> (recipe, description). ``mix`` is the training mix of ``train/``.
PRESETS: dict[str, tuple[str, str]] = {
    "telephone": ("highpass:cutoff_hz=300,lowpass:cutoff_hz=3400,codec:codec=mulaw",
                  "a landline call: 300-3400 Hz, G.711 mu-law at 8 kHz"),
    "cellphone": ("noise:snr_db=10..30,highpass:cutoff_hz=200,codec:codec=gsm,"
                  "dropout:count=0..4,length_ms=20..60",
                  "a mobile call: background noise, GSM full rate, lost frames (needs ffmpeg)"),
    "room": ("reverb:rt60_s=0.3..1.2,drr_db=-6..6,noise:kind=any,snr_db=5..30",
             "a distant microphone in a reverberant room, with background noise"),
    "mix": ("gain:count=1..3,jump_db=2..10,p=0.15,"
            "reverb:rt60_s=0.2..1.2,drr_db=-6..12,p=0.35,"
            "noise:kind=any,snr_db=-5..30,p=0.8,"
            "hum:freq_hz=50|60,level_db=-45..-15,harmonics=1..8,p=0.15,"
            "highpass:cutoff_hz=80..400,p=0.15,"
            "lowpass:cutoff_hz=2500..8000,p=0.25,"
            "codec:codec=mulaw|alaw,p=0.1,"
            "clip:fraction=0.001..0.05,mode=hard|soft,p=0.2,"
            "dropout:count=1..6,length_ms=10..120,p=0.15,"
            "quantize:bits=6..12,p=0.05,"
            "dc:offset=-0.05..0.05,p=0.1",
            "the random training mix: every damage with its own probability and ranges"),
}

_UNIT_SUFFIXES = ("_db", "_s", "_ms", "_hz", "_kbps")


@dataclass(frozen=True)
class Sources:
    """Recordings that damages draw from, given by folder rather than in the recipe text."""

    noise_files: tuple[str, ...] = ()
    speech_files: tuple[str, ...] = ()
    rir_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Range:
    """A number drawn uniformly per file from ``[lo, hi]``."""

    lo: float
    hi: float


@dataclass(frozen=True)
class Choice:
    """One of ``options``, drawn uniformly per file."""

    options: tuple


@dataclass(frozen=True)
class Step:
    """One damage of a recipe: its settings (constants, Ranges or Choices) and probability."""

    damage: str
    settings: tuple[tuple[str, Any], ...]
    p: float
    term: str
    sources: Sources = Sources()

    def draw(self, rng: np.random.Generator):
        """The damage's params dataclass with every Range and Choice drawn."""
        values = {}
        for key, value in self.settings:
            if isinstance(value, Range):
                if _field_type(DAMAGES[self.damage].params, key) is int:
                    value = int(rng.integers(int(value.lo), int(value.hi) + 1))
                else:
                    value = float(f"{rng.uniform(value.lo, value.hi):.6g}")
            elif isinstance(value, Choice):
                value = value.options[int(rng.integers(len(value.options)))]
            values[key] = value
        return self._build(values)

    def _build(self, values: dict):
        cls = DAMAGES[self.damage].params
        for f in dataclasses.fields(cls):
            if f.metadata.get("source"):
                values[f.name] = getattr(self.sources, f.metadata["source"])
        return cls(**values)


@dataclass(frozen=True)
class Recipe:
    """Parsed recipe: the steps in the order they apply, and the text it came from."""

    steps: tuple[Step, ...]
    text: str

    def __len__(self) -> int:
        return len(self.steps)


# ----------------------------------------------------------------------------- parsing


def _field_type(cls: type, name: str) -> type:
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


def _recipe_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("recipe")}


def _aliases(cls: type) -> dict[str, str]:
    """Accepted keys -> field names: each field's name, and the name without its unit suffix."""
    out = {}
    for name in _recipe_fields(cls):
        out[name] = name
        for suffix in _UNIT_SUFFIXES:
            if name.endswith(suffix):
                out.setdefault(name[: -len(suffix)], name)
    return out


def _bad(term: str, reason: str) -> MsarError:
    return MsarError(f"recipe term '{term}': {reason}")


def _number(text: str, kind: type, key: str, meta: dict, term: str) -> float | int:
    try:
        value = kind(text) if kind is int else float(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise _bad(term, f"{key} must be {what} (got '{text}')") from None
    if not math.isfinite(value):
        raise _bad(term, f"{key} must be finite (got '{text}')")
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (value < lo or (meta.get("lo_open") and value == lo)):
        raise _bad(term, f"{key} must be {'above' if meta.get('lo_open') else 'at least'} {lo:g} (got {text})")
    if hi is not None and value > hi:
        raise _bad(term, f"{key} must be at most {hi:g} (got {text})")
    return value


def _value(text: str, f: dataclasses.Field, kind: type, term: str) -> Any:
    key, meta = f.name, f.metadata
    if text == "":
        raise _bad(term, f"{key} has no value")
    if kind is str:
        options = tuple(text.split("|"))
        for option in options:
            if meta.get("choices") and option not in meta["choices"]:
                raise _bad(term, f"{key} must be one of {', '.join(meta['choices'])} (got '{option}')")
        return options[0] if len(options) == 1 else Choice(options)
    if "|" in text:
        return Choice(tuple(_number(t, kind, key, meta, term) for t in text.split("|")))
    if ".." in text:
        lo_text, _, hi_text = text.partition("..")
        lo, hi = _number(lo_text, kind, key, meta, term), _number(hi_text, kind, key, meta, term)
        if lo > hi:
            raise _bad(term, f"bad range {key}={text}: the low end is above the high end")
        return lo if lo == hi else Range(lo, hi)
    return _number(text, kind, key, meta, term)


def _representatives(settings: dict) -> list[dict]:
    """Settings to check the params' own rules with: every range at both ends, every option once."""
    base = {k: (v.lo if isinstance(v, Range) else v.options[0] if isinstance(v, Choice) else v)
            for k, v in settings.items()}
    out = [base]
    for k, v in settings.items():
        for alt in ((v.hi,) if isinstance(v, Range) else v.options[1:] if isinstance(v, Choice) else ()):
            out.append({**base, k: alt})
    return out


def _make_step(name: str, pairs: list[tuple[str, str]], term: str, sources: Sources) -> Step:
    damage = DAMAGES[name]
    fields, aliases = _recipe_fields(damage.params), _aliases(damage.params)
    settings: dict[str, Any] = {}
    p = 1.0
    for key, text in pairs:
        if key == "p":
            p = _number(text, float, "p", {"lo": 0.0, "hi": 1.0}, term)
            continue
        if key not in aliases:
            raise _bad(term, f"unknown parameter '{key}' of {name} (parameters: {', '.join(list(fields) + ['p'])})")
        field_name = aliases[key]
        if field_name in settings:
            raise _bad(term, f"{field_name} given twice")
        f = fields[field_name]
        kind = _field_type(damage.params, field_name)
        value = _value(text, f, kind, term)
        if isinstance(value, Range) and kind is int and (value.lo != int(value.lo) or value.hi != int(value.hi)):
            raise _bad(term, f"{field_name} must be an integer range")
        settings[field_name] = value
    step = Step(name, tuple(settings.items()), p, term, sources)
    for values in _representatives(settings):
        try:
            step._build(dict(values))
        except (ValueError, MsarError) as exc:
            raise _bad(term, str(exc)) from None
    return step


def _split_setting(text: str, term: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise _bad(term, f"'{text}' is not KEY=VALUE")
    return key.strip(), value.strip()


def parse_recipe(text: str, sources: Sources = Sources()) -> Recipe:
    """Parse a recipe (see the module docstring for the grammar) into a :class:`Recipe`.

    ``sources`` gives the recordings for ``noise:kind=file``, ``noise:kind=babble`` and
    ``reverb:model=file``. Raises MsarError naming the bad term: unknown damage or preset,
    unknown parameter, bad value or range, or a damage that cannot run here (e.g. a codec
    without ffmpeg).
    """
    items = [item.strip() for item in text.split(",")]
    if not text.strip():
        raise MsarError("empty recipe")
    groups: list[tuple[str, list[str], str]] = []  # (name, settings, text) per damage or preset
    for item in items:
        if not item:
            raise MsarError(f"recipe '{text}': empty term (two commas in a row, or a trailing comma)")
        head, *rest = [part.strip() for part in item.split(":")]
        if "=" in head:
            if not groups:
                raise _bad(item, "a setting with no damage before it")
            if rest:
                raise _bad(item, "a setting cannot be followed by ':'")
            name, settings, term = groups[-1]
            groups[-1] = (name, settings + [head], f"{term},{item}")
        else:
            groups.append((head, rest, item))
    steps: list[Step] = []
    for name, settings, term in groups:
        if name in PRESETS:
            if settings:
                raise _bad(term, f"preset '{name}' takes no parameters (write its recipe out to change it)")
            steps.extend(parse_recipe(PRESETS[name][0], sources).steps)
        elif name in DAMAGES:
            steps.append(_make_step(name, [_split_setting(s, term) for s in settings], term, sources))
        else:
            raise _bad(term, f"unknown damage or preset '{name}' (damages: {', '.join(DAMAGES)}; "
                             f"presets: {', '.join(PRESETS)})")
    return Recipe(tuple(steps), text)


# ----------------------------------------------------------------------------- applying


def file_rng(seed: int, key: str) -> np.random.Generator:
    """The generator for one file: from ``seed`` (>= 0) and the file's key (its relative path),
    so that it does not depend on which worker runs the file or in which order."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def degrade(x: np.ndarray, sr: int, recipe: Recipe | str, rng: np.random.Generator,
            sources: Sources = Sources()) -> tuple[np.ndarray, list[dict]]:
    """Apply ``recipe``'s damages in order to ``x``.

    ``x``: float ``(n_samples, n_channels)`` (or 1-D) at ``sr`` Hz. ``recipe``: a parsed
    :class:`Recipe` or recipe text (parsed with ``sources``). ``rng``: e.g. :func:`file_rng`.
    Returns ``(y, applied)``: ``y`` float32 of ``x``'s shape; ``applied`` one dict per step,
    ``{"damage": name, ...every value used...}``, with ``"applied": False`` for a step that its
    ``p`` skipped (and ``"applied": True`` otherwise, for steps with ``p < 1``). The output is
    not limited to ±1: noise, hum or a gain jump can push it over.
    """
    if isinstance(recipe, str):
        recipe = parse_recipe(recipe, sources)
    one_d = x.ndim == 1
    y = np.asarray(x, dtype=np.float32)
    y = y[:, None] if one_d else y
    if y.ndim != 2 or y.shape[0] == 0:
        raise ValueError(f"x must be (n_samples, n_channels) with n_samples > 0, got shape {x.shape}")
    # One independent stream per step: a step's draws do not depend on the steps before it.
    step_seeds = rng.integers(0, 2**63, size=len(recipe.steps))
    applied: list[dict] = []
    for step, seed in zip(recipe.steps, step_seeds):
        step_rng = np.random.default_rng(int(seed))
        entry: dict = {"damage": step.damage}
        if step.p < 1.0:
            entry["applied"] = bool(step_rng.random() < step.p)
            if not entry["applied"]:
                applied.append(entry)
                continue
        params = step.draw(step_rng)
        y, info = DAMAGES[step.damage].fn(y, sr, params, step_rng)
        entry.update(info)
        applied.append(entry)
    return (y[:, 0] if one_d else y), applied


def fit_full_scale(y: np.ndarray, peak: float = 1.0) -> tuple[np.ndarray, float]:
    """``y`` scaled down as a whole when its peak exceeds ``peak`` (full scale), and the gain in
    dB that was applied (0 when none was needed). Scaling keeps every logged damage relative
    to the signal (SNR, hum level, clip fraction), where saturating would add clipping."""
    top = float(np.max(np.abs(y))) if y.size else 0.0
    if top <= peak:
        return y, 0.0
    return (y * np.float32(peak / top)).astype(np.float32), float(20 * np.log10(peak / top))


# ----------------------------------------------------------------------------- logging


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple)):
        return ";".join(str(_cell(v)) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def flatten(applied: list[dict]) -> dict[str, Any]:
    """One flat row from :func:`degrade`'s log: ``damage.key`` columns (a damage used twice
    gets ``damage2.key``), lists joined with ``;``, floats with 6 significant digits."""
    row: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for entry in applied:
        name = entry["damage"]
        seen[name] = seen.get(name, 0) + 1
        prefix = name if seen[name] == 1 else f"{name}{seen[name]}"
        for key, value in entry.items():
            if key != "damage":
                row[f"{prefix}.{key}"] = _cell(value)
    return row


def describe() -> str:
    """A plain-text reference of damages, their parameters with defaults, and presets."""
    lines = ["Damages (NAME:KEY=VALUE; every damage also takes p=PROBABILITY):"]
    for d in DAMAGES.values():
        lines.append(f"  {d.name}: {d.help}")
        for f in _recipe_fields(d.params).values():
            meta = f.metadata
            bounds = ""
            if meta.get("choices"):
                bounds = f" [{'|'.join(meta['choices'])}]"
            elif meta.get("lo") is not None:
                bounds = f" [{meta['lo']:g}..{meta['hi']:g}]"
            lines.append(f"    {f.name}={f.default}{bounds}  {meta['help']}")
    lines.append("Presets:")
    for name, (text, what) in PRESETS.items():
        lines.append(f"  {name}: {what}\n    = {text}")
    return "\n".join(lines)
