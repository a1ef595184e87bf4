"""Telephony and low-rate codecs: encode, decode, and put the result back at the input's rate.

- ``mulaw`` / ``alaw``: ITU-T G.711 at 8 kHz, in numpy (the segmented 8-bit companding laws of
  the standard, as in the classic Sun ``g711.c`` reference), after resampling to 8 kHz.
- ``gsm``: GSM 06.10 full rate (13 kbit/s, 8 kHz) through ffmpeg's libgsm.
- ``mp3``: MPEG layer III at ``bitrate_kbps`` through ffmpeg's libmp3lame (8 kHz below 24 kbit/s,
  else 16 kHz: the MPEG-2/2.5 rates that allow such low bit rates).
- ``opus``: Opus at ``bitrate_kbps`` through ffmpeg's libopus (input at 16 kHz or 48 kHz).

Each channel is coded on its own, as a mono stream. ffmpeg writes real seekable files, so its
containers carry the encoder delay and the decoded stream comes back aligned; it is then cut or
padded to the input's length.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass

import numpy as np

from .. import audio
from ..errors import MsarError
from .base import ffmpeg_path, finish, param, require_ffmpeg

CODECS = ("mulaw", "alaw", "gsm", "mp3", "opus")
FFMPEG_CODECS = ("gsm", "mp3", "opus")

#: G.711 and GSM full rate are defined at 8 kHz.
TELEPHONE_SR = 8000

#: Shortest stretch handed to ffmpeg, seconds; shorter inputs are padded with silence, then cut.
MIN_CODED_S = 0.5

#: (ffmpeg encoder, container extension) per codec.
_FFMPEG = {"gsm": ("libgsm", "gsm"), "mp3": ("libmp3lame", "mp3"), "opus": ("libopus", "ogg")}


@dataclass(frozen=True)
class CodecParams:
    codec: str = param("mulaw", choices=CODECS,
                       help="mulaw, alaw (G.711, numpy), gsm, mp3, opus (these three need ffmpeg)")
    bitrate_kbps: int = param(16, lo=6, hi=128, help="bit rate of mp3 and opus in kbit/s")

    def __post_init__(self):
        if self.codec in FFMPEG_CODECS and ffmpeg_path() is None:
            raise ValueError(f"codec={self.codec} needs ffmpeg, which is not installed; "
                             "mulaw and alaw work without it")


# ----------------------------------------------------------------------------- G.711


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int32)


def mulaw(x: np.ndarray) -> np.ndarray:
    """G.711 mu-law encode then decode of float samples (full scale 1), as float64.

    As ITU-T G.191's reference ``ulaw_compress``/``ulaw_expand``: 14-bit magnitude (one's
    complement for negative samples) plus a bias of 33, segment = bit length of ``mag >> 6``,
    4-bit mantissa, decoded at the middle of its step.
    """
    pcm = _to_int16(x)
    negative = pcm < 0
    mag = np.minimum(np.where(negative, ~pcm, pcm) >> 2, 0x1FFF - 33) + 33
    seg = np.ceil(np.log2((mag >> 6) + 1)).astype(np.int32) + 1  # 1 + bit length, 1..8
    mantissa = (mag >> seg) & 0x0F
    step = 4 << seg
    out = (0x80 << (seg - 1)) + step * mantissa + step // 2 - 4 * 33
    return np.where(negative, -out, out) / 32768.0


def alaw(x: np.ndarray) -> np.ndarray:
    """G.711 A-law encode then decode of float samples (full scale 1), as float64.

    Per the reference: 13-bit samples, segment = first of the limits 0x1F, 0x3F, ... 0xFFF that
    the magnitude does not exceed, 4-bit mantissa, decoded at the middle of its step.
    """
    pcm = _to_int16(x) >> 3
    positive = pcm >= 0
    mag = np.where(positive, pcm, -pcm - 1)
    limits = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg = np.searchsorted(limits, mag)  # first limit >= mag
    over = seg >= 8
    seg = np.minimum(seg, 7)
    mantissa = np.where(seg < 2, mag >> 1, mag >> np.maximum(seg, 1)) & 0x0F
    mantissa = np.where(over, 0x0F, mantissa)
    t = (mantissa << 4) + np.where(seg == 0, 8, 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(positive, t, -t) / 32768.0


# ----------------------------------------------------------------------------- ffmpeg


def _codec_sr(codec: str, bitrate_kbps: int, sr: int) -> int:
    if codec == "gsm":
        return TELEPHONE_SR
    if codec == "mp3":
        return 8000 if bitrate_kbps < 24 else 16000
    return 48000 if sr > 16000 else 16000  # opus takes 8, 12, 16, 24 or 48 kHz


def _run(cmd: list[str], data: bytes | None, what: str) -> bytes:
    try:
        done = subprocess.run(cmd, input=data, capture_output=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MsarError(f"{what}: ffmpeg did not run ({exc})") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MsarError(f"{what}: ffmpeg failed ({lines[-1] if lines else f'exit {done.returncode}'})")
    return done.stdout


def ffmpeg_roundtrip(x: np.ndarray, sr: int, codec: str, bitrate_kbps: int) -> np.ndarray:
    """Mono float ``x`` at ``sr`` through an ffmpeg encoder and decoder; float64 at ``sr``,
    cut or padded to ``len(x)``."""
    exe = require_ffmpeg(f"codec={codec}")
    encoder, ext = _FFMPEG[codec]
    codec_sr = _codec_sr(codec, bitrate_kbps, sr)
    base = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    raw = ["-f", "f32le", "-ac", "1", "-ar", str(sr)]
    rate = [] if codec == "gsm" else ["-b:a", f"{bitrate_kbps}k"]
    # Encoders emit nothing for a few samples (and probing a tiny file fails): pad with silence.
    padded = np.pad(np.asarray(x, dtype="<f4"), (0, max(0, int(MIN_CODED_S * sr) - len(x))))
    with tempfile.TemporaryDirectory(prefix="msar-codec-") as tmp:
        coded = os.path.join(tmp, f"coded.{ext}")
        _run(base + raw + ["-i", "pipe:0", "-c:a", encoder, *rate, "-ar", str(codec_sr), coded],
             np.ascontiguousarray(padded).tobytes(), f"codec={codec}")
        out = _run(base + ["-i", coded] + raw + ["pipe:1"], None, f"codec={codec}")
    y = np.frombuffer(out, dtype="<f4").astype(np.float64)
    return np.pad(y, (0, max(0, len(x) - len(y))))[:len(x)]


def codec(x: np.ndarray, sr: int, params: CodecParams, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """``x`` encoded and decoded with ``params.codec``, back at ``sr`` (see module docstring)."""
    name = params.codec
    applied: dict = {"codec": name}
    if name in ("mulaw", "alaw"):
        law = mulaw if name == "mulaw" else alaw
        narrow = audio.resample(x.astype(np.float64), sr, TELEPHONE_SR)
        y = audio.resample(law(narrow), TELEPHONE_SR, sr)
        y = np.pad(y, ((0, max(0, x.shape[0] - y.shape[0])), (0, 0)))[:x.shape[0]]
        applied.update(codec_sr=TELEPHONE_SR, bitrate_kbps=64)
    else:
        y = np.stack([ffmpeg_roundtrip(x[:, c], sr, name, params.bitrate_kbps) for c in range(x.shape[1])],
                     axis=1)
        applied.update(codec_sr=_codec_sr(name, params.bitrate_kbps, sr),
                       bitrate_kbps=13 if name == "gsm" else params.bitrate_kbps)
    return finish(y, x), applied
