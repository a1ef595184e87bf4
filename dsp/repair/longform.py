"""Repair of long files in bounded memory: the pipeline of ``pipeline.py`` as streaming passes.

A file longer than one block (``dsp.blocks.DEFAULT_BLOCK_S``) never sits in memory whole:

1. **Analysis**: the input is read block by block and measured (``dsp.analysis_blocks``); the
   per-file decisions (which stages run, the hum fundamental) are made once, for the whole file,
   exactly as for a short file.
2. **Stages** (dc, hum, declip, dropouts, denoise): chunks of one block, each read with
   ``margin_s`` of context on both sides so that the filters, the declipper's and concealer's
   AR models settle before the part that is kept. The kept parts go through the mask model as
   one stream (its recurrent state carried across chunks: the same output as one pass over the
   whole file) into a float scratch file beside the output; a whole-signal neural stage (the
   resynthesis) runs per chunk with the context instead, and so does the dropout stage's ``fill``
   (the resynthesis of the chunk fills the gaps, as ``pipeline.repair``'s ``fill`` does for a
   short file). Skipped when no stage runs.
3. **Loudness and writing**: the scratch file (or the input) is read again, brought to the LUFS
   target (the gain measured over the whole repaired file by a streaming BS.1770 meter) or
   limited if peaks exceed full scale, and written block by block in the output's format to an
   atomic temporary file; the preservation guard's output contours are computed on the way.

Memory is a few chunks of audio whatever the length. The result equals the whole-file pipeline's
up to the chunk edges (tested: block output vs one-shot output on the same file).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from .. import audio
from ..analysis import Analysis
from ..analysis_blocks import analyze_blocks
from ..blocks import DEFAULT_BLOCK_S, DEFAULT_MARGIN_S, F0Contour, block_frames, chunks
from ..loudness import LoudnessContour, LoudnessMeter
from ..metrics import cosine
from .guard import GuardResult
from .loudness import limit
from .pipeline import STAGES, LostFill, NeuralStage, PipelineParams, RepairResult, StageRecord, apply_stage, stage_reason


class NeuralStream(Protocol):
    """A streaming neural stage (e.g. ``onnx_models.runtime.StreamingEnhancer``): ``process``
    returns the output samples that are final so far, ``flush`` the rest; concatenated they
    are aligned with the input and as long."""

    def process(self, block: np.ndarray) -> np.ndarray: ...

    def flush(self) -> np.ndarray: ...



@dataclass(frozen=True)
class BlockParams:
    #: Block (and chunk) length, seconds; files longer than one block take this path.
    block_s: float = DEFAULT_BLOCK_S
    #: Context on each side of a chunk, seconds.
    margin_s: float = DEFAULT_MARGIN_S


def is_long(frames: int, sr: int, block: BlockParams = BlockParams()) -> bool:
    """Whether a file of ``frames`` samples at ``sr`` goes the block-wise way."""
    return frames > block_frames(sr, block.block_s)


def analyze_file(src: str, params: PipelineParams = PipelineParams(), block: BlockParams = BlockParams()) -> Analysis:
    """The block-wise analysis of a long file (pass 1 of :func:`repair_file`)."""
    sr = audio.info(src).sr
    return analyze_blocks(audio.read_blocks(src, block_frames(sr, block.block_s)), sr, params.analysis)


class _Change:
    """Power of what a stage changed, summed over chunks, for :attr:`StageRecord.change_db`."""

    def __init__(self):
        self.seconds = 0.0
        self.signal = 0.0
        self.diff = 0.0

    def add(self, before: np.ndarray, after: np.ndarray, seconds: float) -> None:
        self.seconds += seconds
        self.signal += float(np.sum(np.square(before, dtype=np.float64)))
        self.diff += float(np.sum(np.square(after.astype(np.float64) - before)))

    def db(self) -> float:
        if self.diff == 0.0:
            return float("-inf")
        return float(10 * np.log10(self.diff / self.signal)) if self.signal > 0 else float("inf")


def repair_file(src: str, dst: str, params: PipelineParams = PipelineParams(),
                denoise: Callable[[int, int], NeuralStream] | None = None, block: BlockParams = BlockParams(),
                run_guard: bool = True, analysis: Analysis | None = None,
                denoise_chunks: NeuralStage | None = None, fill: LostFill | None = None) -> RepairResult:
    """Repair ``src`` into ``dst`` block by block (see module docstring).

    ``denoise(sr, channels)`` makes the neural stage's stream for this file (None skips it).
    ``analysis``: the file's :func:`analyze_file` result when the caller already has it.
    ``denoise_chunks``: instead of a stream, a whole-signal neural stage (``(x, sr) -> y``, e.g. the
    resynthesis) run on each chunk with its context, like the DSP stages: its recurrent state
    restarts at every chunk and settles within the ``margin_s`` of context before the kept part.
    ``fill``: ``(y, sr, lost_mask) -> y``, run after the dropout concealment of each chunk (with its
    context) on the chunk's gap mask, as :func:`pipeline.repair`'s ``fill``; memory stays one chunk.
    ``dst`` gets the format :func:`dsp.audio.format_like` picks; it appears only when complete.
    Returns a :class:`RepairResult` whose ``y`` is None (the audio went to ``dst``).
    """
    info = audio.info(src)
    sr, n_ch = info.sr, info.channels
    bf = block_frames(sr, block.block_s)
    margin = int(round(block.margin_s * sr))
    a = analysis if analysis is not None else analyze_file(src, params, block)
    found = dict(a.indicated(params.thresholds))

    records: dict[str, StageRecord] = {}
    todo: list[tuple[str, str]] = []
    for stage in STAGES[:-1]:  # loudness is pass 3's
        if stage not in params.stages:
            records[stage] = StageRecord(stage, "off", "not selected")
            continue
        reason = stage_reason(stage, found, params, False)
        if reason is None:
            records[stage] = StageRecord(stage, "skipped", "not detected")
        elif stage == "denoise" and denoise is None and denoise_chunks is None:
            records[stage] = StageRecord(stage, "skipped", f"{reason}; no neural model given")
        else:
            todo.append((stage, reason))

    fmt, subtype = audio.format_like(dst, info)
    with audio.AtomicWriter(dst, sr, n_ch, fmt, subtype) as out:
        if todo:
            # Between passes 2 and 3 the audio waits in a float scratch file beside the output.
            with audio.ScratchFile(dst, sr, n_ch) as scratch:
                peak, lufs = _run_stages(src, scratch, sr, n_ch, bf, margin, todo, params, a.hum_hz,
                                         denoise, a.denoise_strength(params.thresholds), records, denoise_chunks,
                                         fill)
                guard_out = _finish(scratch.path, out, sr, bf, params, subtype, peak, lufs, records,
                                    run_guard, changed=True)
        else:
            # Nothing changed the audio: pass 1 measured the peak and loudness of what is written.
            guard_out = _finish(src, out, sr, bf, params, subtype, 10 ** (a.peak_dbfs / 20), a.loudness_lufs, records,
                                run_guard, changed=False)
    guard = None
    if run_guard and guard_out is None:
        guard = GuardResult(1.0, 1.0, False, "")  # nothing changed: the contours are the input's
    elif run_guard:
        cp, cl = cosine(a.f0_hz, guard_out[0]), cosine(a.loudness, guard_out[1])
        gp = params.guard
        reasons = [f"cos_pitch {cp:.3f} < {gp.min_cos_pitch:g}"] if cp < gp.min_cos_pitch else []
        reasons += [f"cos_loudness {cl:.3f} < {gp.min_cos_loudness:g}"] if cl < gp.min_cos_loudness else []
        guard = GuardResult(cp, cl, bool(reasons), "; ".join(reasons))
    return RepairResult(None, a, tuple(records[s] for s in STAGES), guard)


def _run_stages(src, scratch: audio.ScratchFile, sr, n_ch, bf, margin, todo, params, hum_hz, denoise, factor, records,
                denoise_chunks=None, fill=None):
    """Pass 2: the stages in ``todo`` chunk by chunk into ``scratch``; the neural stage's
    output mixed with its input by ``factor`` (as ``pipeline.scaled_denoise``). Returns the
    repaired signal's sample peak and (with a LUFS target; else NaN) its integrated loudness."""
    changes = {stage: _Change() for stage, _ in todo}
    local = [stage for stage, _ in todo if stage != "denoise" or denoise_chunks is not None]
    stream = denoise(sr, n_ch) if "denoise" in changes and denoise_chunks is None else None
    meter = LoudnessMeter(sr, n_ch) if params.loudness.target_lufs is not None else None
    peak = 0.0
    waiting: list[np.ndarray] = []   # neural-stage input not yet matched by its output

    def neural(out: np.ndarray, seconds: float) -> np.ndarray:
        if len(out):
            before = np.concatenate(waiting)
            if factor < 1.0:
                out = before[:len(out)] + np.float32(factor) * (out - before[:len(out)])
            changes["denoise"].add(before[:len(out)], out, seconds)
            waiting[:] = [before[len(out):]]
        return out

    def put(own: np.ndarray) -> None:
        nonlocal peak
        if own.size:
            peak = max(peak, float(np.max(np.abs(own))))
            if meter is not None:
                meter.update(own)
            scratch.write(own)

    for c in chunks(audio.read_blocks(src, bf), bf, margin):
        x = c.data
        y = x
        for stage in local:
            t0 = time.perf_counter()
            out = apply_stage(stage, y, x, sr, params, hum_hz, denoise_chunks, fill)
            changes[stage].add(y[c.lead:c.lead + c.n], out[c.lead:c.lead + c.n], time.perf_counter() - t0)
            y = out
        own = y[c.lead:c.lead + c.n]
        if stream is not None:
            waiting.append(own)
            t0 = time.perf_counter()
            own = neural(stream.process(own), time.perf_counter() - t0)
        put(own)
    if stream is not None:
        t0 = time.perf_counter()
        put(neural(stream.flush(), time.perf_counter() - t0))
    scratch.finish_writing()
    for stage, reason in todo:
        ch = changes[stage]
        records[stage] = StageRecord(stage, "applied", reason, round(ch.seconds, 4), ch.db())
    return peak, meter.integrated() if meter is not None else float("nan")


def _finish(source, out, sr, bf, params, subtype, peak, lufs, records, run_guard, changed):
    """Pass 3: loudness (gain + limiter) and the final write; the output's guard contours
    (None when nothing changed the audio). ``peak`` and ``lufs``: the sample peak and the
    integrated loudness of ``source``, measured by the pass that made (or read) it."""
    if "loudness" not in params.stages:
        records["loudness"] = StageRecord("loudness", "off", "not selected")
        reason = None
    else:
        reason = stage_reason("loudness", {}, params, peak > 1.0)
        if reason is None:
            records["loudness"] = StageRecord("loudness", "skipped", "not detected")
    gain = 1.0
    lp = params.loudness
    if reason is not None and lp.target_lufs is not None and np.isfinite(lufs):
        gain = 10 ** ((lp.target_lufs - lufs) / 20)
    # The limiter looks +-limiter_ms around each peak and oversamples 4x with a polyphase FIR:
    # 50 ms of context covers both.
    margin = int(0.05 * sr) if reason is not None else 0
    run_guard = run_guard and (changed or reason is not None)
    change = _Change()
    f0 = F0Contour(sr, params.guard.f0_method) if run_guard else None
    contour = LoudnessContour(sr) if run_guard else None
    f0_parts, ld_parts = [], []
    for c in chunks(audio.read_blocks(source, bf), bf, margin):
        x_own = c.own
        if reason is not None:
            t0 = time.perf_counter()
            y = limit(c.data.astype(np.float64) * gain, sr, lp.true_peak_dbtp, lp.limiter_ms)
            y_own = y[c.lead:c.lead + c.n].astype(np.float32)
            change.add(x_own, y_own, time.perf_counter() - t0)
        else:
            y_own = x_own
        out.write(audio.prepare_for_writing(y_own, subtype))
        if run_guard:
            f0_parts.append(f0.update(y_own))
            ld_parts.append(contour.update(y_own))
    if reason is not None:
        records["loudness"] = StageRecord("loudness", "applied", reason, round(change.seconds, 4), change.db())
    if not run_guard:
        return None
    return np.concatenate(f0_parts + [f0.finish()]), np.concatenate(ld_parts + [contour.finish()])
