"""Decode one source file to a mono float64 signal at its native rate.

libsndfile (through ``msar.dsp.audio``) reads WAV, FLAC and Ogg Vorbis. Headerless formats it cannot
read (raw G.722 from the Asterisk packages, raw unsigned 8-bit PCM) go through ffmpeg, whose
recipes are the ones verified in ``shared/DATA-SOURCES.md``.
"""

from __future__ import annotations

import subprocess

import numpy as np

from msar.dsp import audio
from msar.dsp.errors import MsarError

#: ffmpeg input options per raw format, and the rate it decodes to.
_FFMPEG_RAW = {
    "g722": (["-f", "g722"], 16000),
    "u8_11025": (["-f", "u8", "-ar", "11025", "-ac", "1"], 11025),
    "gsm": (["-f", "gsm"], 8000),
}


def decode(path: str, decoder: str = "sndfile") -> tuple[np.ndarray, int]:
    """Return ``(x, sr)``: 1-D float64 mono samples (channels averaged) and the native rate in Hz.

    ``decoder`` is ``"sndfile"`` (anything libsndfile reads) or a raw format known to ffmpeg:
    ``"g722"``, ``"u8_11025"``, ``"gsm"``. Raises MsarError when the file cannot be decoded.
    """
    if decoder == "sndfile":
        x, meta = audio.read(path)
        return np.asarray(audio.to_mono(x), dtype=np.float64), meta.sr
    if decoder not in _FFMPEG_RAW:
        raise ValueError(f"unknown decoder {decoder!r}")
    opts, sr = _FFMPEG_RAW[decoder]
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", *opts, "-i", path,
           "-ac", "1", "-ar", str(sr), "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise MsarError(f"{path}: ffmpeg could not decode it ({proc.stderr.decode(errors='replace').strip()[:200]})")
    x = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float64)
    if x.size == 0:
        raise MsarError(f"{path}: no audio samples (zero-length file)")
    return x, sr
