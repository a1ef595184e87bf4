"""``msar repair IN OUT``: diagnose each file and apply only the repairs it needs."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

import click

from msar.dsp import audio
from msar.dsp.errors import MsarError
from msar.dsp.repair.loudness import LoudnessParams
from msar.dsp.repair.pipeline import STAGES, PipelineParams, repair as run_pipeline, select_stages

from . import tables, transform
from .common import BatchOptions, batch_options, exit_code, run_batch
from .runner import OK, Done, Task

DEFAULT_MODEL = "multispeaker-repair"
REPORT_FIRST = ["path", "status", "duration_s", "sample_rate", "channels", "x_realtime", "stages_applied",
                "guard_cos_pitch", "guard_cos_loudness", "guard_flagged", "guard_reason"]


def _denoise(y, sr, model: str, strength: float | None):
    # Imported in the worker: onnxruntime loads only when a file needs the neural stage, and
    # the model session is cached per process (onnx_models.runtime.load_model).
    from msar.onnx_models.runtime import enhance

    return enhance(y, sr, strength=strength, model=model)


def _repair_task(src: str, dst: str, params: PipelineParams, model: str, strength: float | None) -> Done:
    start = time.perf_counter()
    x, info = audio.read(src)
    result = run_pipeline(x, info.sr, params, denoise=partial(_denoise, model=model, strength=strength))
    audio.write_like(dst, result.y, info.sr, info)
    seconds = time.perf_counter() - start
    row = {"duration_s": round(info.duration_s, 4), "sample_rate": info.sr, "channels": info.channels,
           "x_realtime": round(info.duration_s / seconds, 2) if seconds > 0 else None, **result.as_row()}
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
@batch_options
def repair(src, dst, model, strength, stages, skip, force, target_lufs, report_path, overwrite,
           batch: BatchOptions):
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
    if report_path == "-" and dst == "-":
        raise click.UsageError("--report - and OUT - would both write to stdout")
    params = PipelineParams(stages=chosen, force=force,
                            loudness=replace(LoudnessParams(), target_lufs=target_lufs))
    jobs, skipped = transform.plan(src, dst, overwrite)
    if src == "-" or dst == "-":
        batch.jobs = 1  # stdin/stdout belong to this process
    tasks = [Task(j.key, _repair_task, (j.src, j.dst, params, model, strength)) for j in jobs]
    records, summary = run_batch("repair", tasks, batch, pre_records=skipped, outputs=[j.dst for j in jobs])
    flagged = [r.key for r in records if r.status == OK and r.row.get("guard_flagged")]
    if flagged and not batch.quiet:
        click.echo(f"msar repair: {len(flagged)} file(s) flagged by the preservation guard (speech may have "
                   f"been removed): {', '.join(flagged[:10])}{' ...' if len(flagged) > 10 else ''}", err=True)
    if report_path:
        rows = [{"path": r.key, "status": r.status, **r.row, "message": r.message} for r in records]
        tables.write_text(report_path, tables.to_csv(rows, tables.union_columns(REPORT_FIRST, rows, ["message"])))
    raise SystemExit(exit_code(records))
