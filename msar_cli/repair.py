"""``msar repair IN OUT``: diagnose each file and apply only the repairs it needs."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

import click
import numpy as np

from msar.dsp import audio
from msar.dsp.errors import MsarError
from msar.dsp.repair.loudness import LoudnessParams
from msar.dsp.repair.pipeline import STAGES, PipelineParams, repair as run_pipeline, select_stages

from . import tables, transform
from .common import BatchOptions, batch_options, block_seconds_option, exit_code, run_batch
from .runner import OK, Done, Task

DEFAULT_MODEL = "multispeaker-repair"
REPORT_FIRST = ["path", "status", "duration_s", "sample_rate", "channels", "x_realtime", "stages_applied",
                "guard_cos_pitch", "guard_cos_loudness", "guard_flagged", "guard_reason"]


def _denoise(y, sr, model: str, strength: float | None):
    # Imported in the worker: onnxruntime loads only when a file needs the neural stage, and
    # the model session is cached per process (onnx_models.runtime.load_model).
    from msar.onnx_models.runtime import enhance

    return enhance(y, sr, strength=strength, model=model)


def _resynth(y, sr, bandwidth_hz: float, params, model: str):
    from msar.onnx_models import resynth

    return resynth.repair(y, sr, bandwidth_hz, params, model=model)


#: ``auto`` on a file below the resynthesis model's rate takes the resynthesis path through the
#: model's rate and back (:func:`_resynth_via_model_rate`) when the file's own band holds at least
#: this much above the measured band edge, Hz: an 11.025 kHz game line cut at 3.8 kHz gains 1.7 kHz;
#: an 8 kHz call has nothing to gain.
MIN_FILL_ROOM_HZ = 1000.0


def _resynth_via_model_rate(y, sr, model_sr: int, **kwargs):
    """:func:`_resynth` for a file below the model's rate: up to ``model_sr``, repaired there, and
    back to ``sr``, so the restored band fills the file's own band up to its Nyquist frequency."""
    out = audio.resample(_resynth(audio.resample(y, sr, model_sr), model_sr, **kwargs), model_sr, sr)
    n = len(y)
    if len(out) >= n:
        return out[:n]
    return np.concatenate([out, np.zeros((n - len(out),) + out.shape[1:], out.dtype)])


def _resynth_stage(sr: int, model_sr: int, room_why: str, a, rp, resynth_model: str):
    """The resynthesis stage for ``auto`` at the file's own rate ``sr``, and a reason to add to the
    report; ``(None, reason)`` when a file below the model's rate has too little band to fill."""
    if sr >= model_sr:
        return partial(_resynth, bandwidth_hz=a.bandwidth_hz, params=rp, model=resynth_model), ""
    room = sr / 2 - a.bandwidth_hz
    if room < MIN_FILL_ROOM_HZ:
        return None, (f", but the file's {sr} Hz leaves {max(room, 0):.0f} Hz above the band edge to fill "
                      f"({room_why})")
    return (partial(_resynth_via_model_rate, model_sr=model_sr, bandwidth_hz=a.bandwidth_hz, params=rp,
                    model=resynth_model),
            f"; filled up to the file's {sr / 2:.0f} Hz through the model's {model_sr} Hz")


def _fill(y, sr, mask, model: str, speaker: str | None):
    from msar.onnx_models import resynth

    return resynth.fill_missing(y, sr, mask, resynth.FillParams(speaker=speaker), model=model)


def _gap_fill(a, mode: str, speaker: str | None, resynth_model: str | None):
    """Under ``--mode resynth|auto`` (whichever path the file takes), dropout gaps are filled from
    the resynthesis after their DSP concealment (``onnx_models.resynth.fill_missing``; it measured
    better than the concealment alone on the valid split); the fill and a report column."""
    if mode == "mask" or resynth_model is None or a.dropout_count == 0:
        return None, {}
    return partial(_fill, model=resynth_model, speaker=speaker), {"dropouts_fill": "resynthesis"}


def _choose_neural(x, sr: int, params: PipelineParams, mode: str, speaker: str | None, resynth_model: str | None,
                   mask_stage, mode_params=None):
    """The neural stage for ``--mode resynth|auto``: the path :func:`choose_path` picks from the
    analysis, the (possibly resampled) input and its analysis, and report columns saying why."""
    from msar.dsp.analysis import analyze
    from msar.dsp.repair.mode import ModeParams, choose_path

    mp = mode_params or ModeParams()
    a = analyze(x, sr, params.analysis)
    path, why = choose_path(a, mode, mp)
    if path != "mask" and resynth_model is None:
        path, why = "mask", f"{why}; no resynthesis model installed"
    extra = {"mode": path, "mode_reason": why, "out_sample_rate": sr}
    if path == "mask":
        return x, sr, a, mask_stage, extra, params
    from msar.onnx_models import resynth

    model_sr = resynth.load_model(resynth_model).card.sample_rate
    if sr < model_sr and mode == "resynth":  # a narrowband file comes out at the model's rate: the whole restored band fits
        x, sr = audio.resample(x, sr, model_sr), model_sr
        a = analyze(x, sr, params.analysis)
        extra["out_sample_rate"] = sr
    rp = resynth.ResynthParams(output="resynth" if path == "resynth" else "hybrid", speaker=speaker)
    # auto keeps every file's rate: below the model's, the restored band is cut at the file's Nyquist.
    stage, more = _resynth_stage(sr, model_sr, f"--mode resynth writes it at {model_sr} Hz", a, rp, resynth_model)
    if stage is None:
        return x, sr, a, mask_stage, {**extra, "mode": "mask", "mode_reason": why + more}, params
    extra["mode_reason"] = why + more
    # The analysis indicates the neural stage for a band limit here (the mask path does not want
    # it for that), and the resynthesis is not mixed back with its input for mildly noisy files.
    params = replace(params, thresholds=replace(params.thresholds, bandwidth_hz=mp.band_limited_hz,
                                                mild_strength=1.0))
    return x, sr, a, stage, extra, params


def _repair_task(src: str, dst: str, params: PipelineParams, model: str, strength: float | None,
                 mode: str = "mask", speaker: str | None = None, resynth_model: str | None = None,
                 block_s: float | None = None, mode_params=None) -> Done:
    """One file through ``msar repair``; ``mode_params`` (``dsp.repair.mode.ModeParams``, default: its
    defaults) is the ``auto`` rule, a parameter for the valid-split tuning (``bench/tune_mode.py``)."""
    start = time.perf_counter()
    if block_s is not None and audio.STDIO not in (src, dst):
        from msar.dsp.repair.longform import BlockParams, is_long

        info = audio.info(src)
        if is_long(info.frames, info.sr, BlockParams(block_s)):
            return _repair_long(src, dst, info, params, model, strength, mode, BlockParams(block_s), start,
                                speaker, resynth_model, mode_params)
    x, info = audio.read(src)
    sr, analysis, extra = info.sr, None, {}
    denoise, fill = partial(_denoise, model=model, strength=strength), None
    if mode != "mask":
        x, sr, analysis, denoise, extra, params = _choose_neural(x, sr, params, mode, speaker, resynth_model, denoise,
                                                                 mode_params)
        if "dropouts" in params.stages:
            fill, more = _gap_fill(analysis, mode, speaker, resynth_model)
            extra = {**extra, **more}
    result = run_pipeline(x, sr, params, denoise=denoise, analysis=analysis, fill=fill)
    audio.write_like(dst, result.y, sr, info)
    return _done(info, start, extra, result)


def _repair_long(src, dst, info, params, model, strength, mode, block, start, speaker=None,
                 resynth_model=None, mode_params=None) -> Done:
    """A file longer than one block: streamed in bounded memory (``dsp.repair.longform``); the
    resynthesis path and the dropout gaps' resynthesis fill run chunk by chunk with context (its
    WORLD synthesis works on whole signals)."""
    from msar.dsp.repair.longform import analyze_file, repair_file
    from msar.onnx_models.runtime import StreamingEnhancer

    a = analyze_file(src, params, block)
    extra, chunk_stage = {}, None
    if mode != "mask":
        from msar.dsp.repair.mode import ModeParams, choose_path

        mp = mode_params or ModeParams()
        path, why = choose_path(a, mode, mp)
        extra = {"mode": path, "mode_reason": why}
        if path != "mask" and resynth_model is None:
            extra = {"mode": "mask", "mode_reason": f"{why}; no resynthesis model installed"}
        elif path != "mask":
            from msar.onnx_models import resynth

            model_sr = resynth.load_model(resynth_model).card.sample_rate
            rp = resynth.ResynthParams(output="resynth" if path == "resynth" else "hybrid", speaker=speaker)
            # A long file keeps its rate (whatever the mode), as auto keeps a short file's.
            chunk_stage, more = _resynth_stage(info.sr, model_sr, "long files keep their rate", a, rp, resynth_model)
            extra = {"mode": path if chunk_stage else "mask", "mode_reason": why + more}
            if chunk_stage is not None:
                # As for a short file (_choose_neural): the band limit calls the neural stage, unmixed.
                params = replace(params, thresholds=replace(params.thresholds, mild_strength=1.0,
                                                            bandwidth_hz=mp.band_limited_hz))
    fill = None
    if mode != "mask" and "dropouts" in params.stages:  # as for a short file, chunk by chunk
        fill, more = _gap_fill(a, mode, speaker, resynth_model)
        extra = {**extra, **more}
    result = repair_file(src, dst, params, denoise=partial(StreamingEnhancer, strength=strength, model=model),
                         block=block, analysis=a, denoise_chunks=chunk_stage, fill=fill)
    return _done(info, start, {**extra, "blocks": "yes"}, result)


def _done(info, start: float, extra: dict, result) -> Done:
    seconds = time.perf_counter() - start
    row = {"duration_s": round(info.duration_s, 4), "sample_rate": info.sr, "channels": info.channels,
           "x_realtime": round(info.duration_s / seconds, 2) if seconds > 0 else None, **extra, **result.as_row()}
    flagged = result.guard is not None and result.guard.flagged
    return Done(info.duration_s, row, f"guard: {result.guard.reason}" if flagged else "")


def _loudness(ctx, param, value: str) -> float | None:
    if value == "keep":
        return None
    try:
        target = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: give 'keep' or a LUFS target such as -16") from None
    if not -70.0 <= target <= 0.0:
        raise click.BadParameter(f"{target:g} LUFS is outside -70..0")
    return target


@click.command()
@click.argument("src", metavar="IN", type=click.Path(allow_dash=True))
@click.argument("dst", metavar="OUT", type=click.Path(allow_dash=True))
@click.option("--model", default=DEFAULT_MODEL, show_default=True,
              help="Neural repair model: a shipped name (see `msar models`) or a path to an .onnx file.")
@click.option("--strength", type=click.FloatRange(0.0, 1.0), default=None,
              help="Limit the neural stage's attenuation: 0 = leave as is, 1 = the model's full gains "
                   "(default: the model's own setting).")
@click.option("--mode", type=click.Choice(["mask", "resynth", "auto"]), default="auto", show_default=True,
              help="Neural path: mask (STFT gains: removes noise), resynth (speaker-conditioned resynthesis "
                   "fills the band the input lacks), auto (resynth only for band-limited input, by the "
                   "analysis' bandwidth; --report says why).")
@click.option("--speaker", default=None, metavar="NAME",
              help="Resynthesis voice from the resynth model's speaker table (default: estimated from the input).")
@click.option("--resynth-model", default="multispeaker-resynth", show_default=True,
              help="Resynthesis model: a shipped name or a path to an .onnx file.")
@click.option("--stages", default="all", show_default=True, metavar="LIST",
              help=f"Comma list of stages to allow, in pipeline order: {', '.join(STAGES)}.")
@click.option("--skip", default="", metavar="LIST", help="Comma list of stages to leave out.")
@click.option("--force", is_flag=True,
              help="Run every allowed stage even where the analysis found no damage "
                   "(default: a stage runs only on files that need it, so clean speech is left alone).")
@click.option("--loudness", "target_lufs", default="keep", show_default=True, callback=_loudness,
              metavar="keep|LUFS", help="Keep the input's level, or normalize to a LUFS target (true-peak safe).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="CSV per file: what the analysis found, what each stage did and why, the "
                   "preservation guard (pitch/loudness similarity to the input), x real time.")
@transform.overwrite_option
@block_seconds_option
@batch_options
def repair(src, dst, model, strength, mode, speaker, resynth_model, stages, skip, force, target_lufs, report_path,
           overwrite, block_s, batch: BatchOptions):
    """Repair damaged speech: measure each file, then apply only the repairs it needs.

    IN and OUT are folders (OUT mirrors IN; it must not lie inside IN), or files; `-` is
    stdin/stdout. Outputs keep the input's format, rate, channels and subtype; existing
    outputs are skipped unless --overwrite, so an interrupted run resumes.

    Stages, in order: dc (offset removal), hum (50/60 Hz notch comb), declip (AR reconstruction),
    dropouts (gap concealment), denoise (the neural model), loudness.

    \b
    Examples:
      msar repair in/ out/ --report report.csv
      msar repair in/ out/ --skip denoise            # DSP repairs only
      msar repair noisy.wav clean.wav --strength 0.7 --loudness -16
      sox in.wav -t wav - | msar repair - - > out.wav
    """
    try:
        chosen = select_stages(stages, skip)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--stages' / '--skip'") from None
    if "denoise" in chosen:
        from msar.onnx_models import registry

        try:
            model = str(registry.resolve(model, task="repair"))
        except MsarError as exc:
            raise click.BadParameter(str(exc), param_hint="'--model'") from None
    resynth_path = None
    if mode != "mask" and "denoise" in chosen:
        from msar.onnx_models import registry, resynth

        try:
            resynth_path = str(registry.resolve(resynth_model, task="resynth"))
            if speaker is not None:
                resynth.load_model(resynth_path).speaker(speaker)
        except MsarError as exc:
            if mode == "resynth" or speaker is not None or resynth_model != "multispeaker-resynth":
                raise click.BadParameter(str(exc), param_hint="'--speaker' / '--resynth-model'") from None
    if report_path == "-" and dst == "-":
        raise click.UsageError("--report - and OUT - would both write to stdout")
    params = PipelineParams(stages=chosen, force=force,
                            loudness=replace(LoudnessParams(), target_lufs=target_lufs))
    jobs, skipped = transform.plan(src, dst, overwrite)
    if src == "-" or dst == "-":
        batch.jobs = 1  # stdin/stdout belong to this process
    tasks = [Task(j.key, _repair_task, (j.src, j.dst, params, model, strength, mode if "denoise" in chosen else "mask",
                                        speaker, resynth_path, block_s)) for j in jobs]
    records, summary = run_batch("repair", tasks, batch, pre_records=skipped, outputs=[j.dst for j in jobs])
    flagged = [r.key for r in records if r.status == OK and r.row.get("guard_flagged")]
    if flagged and not batch.quiet:
        click.echo(f"msar repair: {len(flagged)} file(s) flagged by the preservation guard (speech may have "
                   f"been removed): {', '.join(flagged[:10])}{' ...' if len(flagged) > 10 else ''}", err=True)
    if report_path:
        rows = [{"path": r.key, "status": r.status, **r.row, "message": r.message} for r in records]
        tables.write_text(report_path, tables.to_csv(rows, tables.union_columns(REPORT_FIRST, rows, ["message"])))
    raise SystemExit(exit_code(records))
