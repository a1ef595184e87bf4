"""Turn one source file into corpus files: decode, gate, trim, resample, normalize loudness, write FLAC.

Runs in a joblib worker: it takes an :class:`~train.data.sources.Item`, writes its outputs
atomically (``msar.dsp.audio.write``) and returns one flat record (a dict) that the parent collects.
It never raises for a bad file; the record's ``status`` says ``ok``, ``rejected`` or ``failed``.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyloudnorm

from msar.dsp import audio
from msar.dsp.errors import MsarError

from . import quality
from .decode import decode
from .sources import Item


@dataclass(frozen=True)
class PrepParams:
    """How files are prepared. Changing any value re-prepares every file (see :func:`params_key`)."""

    #: Rate of the main corpus, in Hz.
    sr: int = 16000
    #: Rate of the wideband copy, in Hz, written when the source is wideband (see ``wideband_hz``).
    sr_wide: int = 48000
    #: A source with a native rate of at least ``sr_wide_min_source`` Hz and an effective bandwidth of
    #: at least ``wideband_hz`` Hz also gets a ``sr_wide`` copy (44.1 kHz tuxpaint, klettres, fillets-cs).
    sr_wide_min_source: int = 44100
    wideband_hz: float = 10000.0
    #: Loudness target (ITU-R BS.1770 integrated loudness, LUFS).
    target_lufs: float = -23.0
    #: Sample-peak ceiling after gain, in dBFS; the gain is lowered to respect it ("peak-safe").
    peak_ceiling_db: float = -1.0
    #: Trimming: leading/trailing 10 ms frames more than ``trim_below_peak_db`` below the loudest
    #: frame are cut, keeping ``trim_pad_s`` seconds of margin on each side.
    trim_below_peak_db: float = 40.0
    trim_pad_s: float = 0.1
    #: Noise files are only trimmed of digital silence: frames below this level in dBFS.
    noise_trim_db: float = -80.0
    #: Noise files shorter than this after trimming are dropped, in seconds.
    noise_min_duration_s: float = 0.1
    version: int = 1


def params_key(prep: PrepParams, gate: quality.QualityParams) -> str:
    """A string that changes whenever a parameter that affects outputs changes."""
    return repr((asdict(prep), asdict(gate)))


def trim_bounds(x: np.ndarray, sr: int, below_peak_db: float, pad_s: float, floor_db: float | None = None
                ) -> tuple[int, int]:
    """``(start, stop)`` sample indices of ``x`` without leading/trailing quiet frames.

    A 10 ms frame is quiet when its RMS is more than ``below_peak_db`` dB below the loudest frame
    (or, with ``floor_db`` given, below that absolute level in dBFS). ``pad_s`` seconds of margin
    are kept on each side. Returns ``(0, 0)`` when every frame is quiet.
    """
    hop = max(int(round(0.01 * sr)), 1)
    level = quality.frame_levels_db(x, sr, 0.01)
    threshold = floor_db if floor_db is not None else level.max() - below_peak_db
    loud = np.nonzero(level > threshold)[0]
    if loud.size == 0:
        return 0, 0
    pad = int(round(pad_s * sr))
    start = max(int(loud[0]) * hop - pad, 0)
    stop = min((int(loud[-1]) + 1) * hop + pad, x.size)
    return start, stop


def loudness_gain_db(x: np.ndarray, sr: int, target_lufs: float, peak_ceiling_db: float) -> tuple[float, float]:
    """``(gain_db, loudness_lufs)``: the gain that brings ``x`` to ``target_lufs``, lowered so that the
    sample peak stays at or below ``peak_ceiling_db`` dBFS; and the loudness before gain.

    Files shorter than BS.1770's 400 ms gating block are measured with one block of their length.
    Raises MsarError for a silent signal (loudness of -inf).
    """
    block_s = min(0.4, x.size / sr)
    meter = pyloudnorm.Meter(sr, block_size=block_s)
    lufs = float(meter.integrated_loudness(x))
    if not np.isfinite(lufs):
        raise MsarError("silent (loudness -inf)")
    gain_db = target_lufs - lufs
    peak = float(np.max(np.abs(x)))
    if peak > 0:
        gain_db = min(gain_db, peak_ceiling_db - 20.0 * np.log10(peak))
    return gain_db, lufs


def _out_path(corpus: Path, item: Item, sr: int) -> Path:
    return corpus / item.section / f"{sr // 1000}k" / f"{item.out_name}.flac"


def _record(item: Item) -> dict:
    rec = asdict(item)
    rec.update(status="", reason="", path="", path_48k="", duration_s=0.0, source_duration_s=0.0, source_sr=0,
               clip_fraction=float("nan"), bandwidth_hz=float("nan"), snr_db=float("nan"),
               loudness_lufs=float("nan"), gain_db=float("nan"), wall_s=0.0)
    return rec


def prepare_item(item: Item, corpus: Path, prep: PrepParams = PrepParams(),
                 gate: quality.QualityParams = quality.QualityParams()) -> dict:
    """Prepare one file; return its record (see module docstring). Paths in the record are
    relative to ``corpus``."""
    t0 = time.perf_counter()
    rec = _record(item)
    try:
        x, sr = decode(item.src, item.decoder)
        rec.update(source_sr=sr, source_duration_s=x.size / sr)
        m = quality.measure(x, sr, gate)
        rec.update(clip_fraction=m.clip_fraction, bandwidth_hz=m.bandwidth_hz, snr_db=m.snr_db)
        if item.section == "noise":
            start, stop = trim_bounds(x, sr, 0.0, 0.0, floor_db=prep.noise_trim_db)
            min_s = prep.noise_min_duration_s
            reasons = []
        else:
            start, stop = trim_bounds(x, sr, prep.trim_below_peak_db, prep.trim_pad_s)
            min_s = gate.min_duration_s
            # Damaged speech is measured but kept: it is damaged by design.
            reasons = quality.verdict(m, gate) if item.section in ("clean", "synthetic") else []
        if (stop - start) / sr < min_s:
            reasons.append(f"too short ({(stop - start) / sr:.2f} s)")
        if reasons:
            rec.update(status="rejected", reason="; ".join(reasons))
            return rec
        x = x[start:stop]
        outputs = [(prep.sr, "path")]
        if (item.section != "noise" and sr >= prep.sr_wide_min_source and m.bandwidth_hz >= prep.wideband_hz):
            outputs.append((prep.sr_wide, "path_48k"))
        ys = {rate: audio.resample(x, sr, rate) for rate, _ in outputs}
        # One gain for every rate, from the main-rate signal, so the copies stay level-matched;
        # the peak check covers all copies (resampling can raise the sample peak slightly).
        peak = max(float(np.max(np.abs(y))) for y in ys.values())
        gain_db, lufs = loudness_gain_db(ys[prep.sr], prep.sr, prep.target_lufs, prep.peak_ceiling_db)
        if peak > 0:
            gain_db = min(gain_db, prep.peak_ceiling_db - 20.0 * np.log10(peak))
        g = 10.0 ** (gain_db / 20.0)
        for rate, key in outputs:
            out = _out_path(corpus, item, rate)
            audio.write(out, (ys[rate] * g).astype(np.float32), rate, fmt="FLAC", subtype="PCM_16")
            rec[key] = out.relative_to(corpus).as_posix()
        rec.update(status="ok", duration_s=ys[prep.sr].size / prep.sr, loudness_lufs=lufs, gain_db=gain_db)
    except MsarError as exc:
        # The message starts with the path, which the record already holds.
        rec.update(status="failed", reason=str(exc).removeprefix(f"{item.src}: "))
    except Exception as exc:  # a worker reports, the parent decides; never lose the whole batch
        rec.update(status="failed", reason=f"internal error: {exc!r} {traceback.format_exc(limit=2)}")
    finally:
        rec["wall_s"] = time.perf_counter() - t0
    return rec
