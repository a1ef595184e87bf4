"""Shared pieces of the damage modules: parameter declarations, signal power, cached loading of
noise/speech/RIR recordings.

Every damage module defines a frozen ``*Params`` dataclass whose fields are declared with
:func:`param` (default, bounds, choices, help) and a function ``(x, sr, params, rng) -> (y, applied)``:
``x`` float32 ``(n_samples, n_channels)``, ``sr`` in Hz, ``rng`` a ``numpy.random.Generator``;
``y`` has the same shape and is finite, ``applied`` a flat dict of every value the damage used,
including those it drew from ``rng`` (scalars, strings, or lists of them).
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
from typing import Any

import numpy as np

from .. import audio
from ..errors import MsarError

#: Power floor (mean square, full scale 1) below which a signal counts as silent: -100 dBFS.
SILENCE_POWER = 1e-10


def param(default: Any, *, help: str, lo: float | None = None, hi: float | None = None,
          lo_open: bool = False, choices: tuple | None = None) -> Any:
    """A dataclass field that a recipe may set: ``lo``/``hi`` bound numbers (``lo_open``: strict),
    ``choices`` lists the allowed values of a string."""
    return dataclasses.field(default=default, metadata={
        "recipe": True, "help": help, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices})


def source(kind: str, *, help: str) -> Any:
    """A field filled from :class:`~msar.dsp.degrade.recipe.Sources` (files given by folder),
    never from the recipe text. ``kind`` is the Sources attribute: noise_files, speech_files, rir_files."""
    return dataclasses.field(default=(), metadata={"recipe": False, "source": kind, "help": help})


def power(x: np.ndarray) -> float:
    """Mean square over all samples and channels (float64), full scale 1."""
    return float(np.mean(np.square(x, dtype=np.float64))) if x.size else 0.0


def db(ratio: float) -> float:
    """10·log10 of a power ratio; -inf for 0."""
    return float(10 * np.log10(ratio)) if ratio > 0 else float("-inf")


def finish(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``y`` as float32 of ``like``'s shape; asserts the damage contract (same shape, finite)."""
    y = np.asarray(y, dtype=np.float32)
    assert y.shape == like.shape, (y.shape, like.shape)
    assert np.all(np.isfinite(y)), "a damage produced non-finite samples"
    return y


def take_wrapped(signal: np.ndarray, offset: int, n: int) -> np.ndarray:
    """``n`` samples of 1-D ``signal`` from ``offset`` on, looping round when it is shorter."""
    return np.take(signal, np.arange(offset, offset + n), mode="wrap")


@functools.lru_cache(maxsize=32)
def load_mono(path: str, sr: int) -> np.ndarray:
    """A recording mixed to mono and resampled to ``sr`` (read-only float32, cached per process,
    so dynamic mixing in training reads each noise file once)."""
    x, meta = audio.read(path)
    y = audio.resample(audio.to_mono(x), meta.sr, sr).astype(np.float32, copy=False)
    y.setflags(write=False)
    return y


@functools.lru_cache(maxsize=1)
def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def require_ffmpeg(what: str) -> str:
    exe = ffmpeg_path()
    if exe is None:
        raise MsarError(f"{what} needs ffmpeg, which is not installed (not found on PATH)")
    return exe
