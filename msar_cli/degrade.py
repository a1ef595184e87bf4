"""``msar degrade CLEAN OUT``: damage clean speech with a recipe and log exactly what was applied."""

from __future__ import annotations

import csv
import functools
import os
from pathlib import Path

import click

from msar.dsp import audio
from msar.dsp.audio import AUDIO_EXTENSIONS, STDIO
from msar.dsp.degrade import Recipe, Sources, degrade as apply_recipe, describe, file_rng, flatten, parse_recipe
from msar.dsp.degrade.recipe import fit_full_scale
from msar.dsp.errors import MsarError

from . import runner, tables, transform
from .common import BatchOptions, batch_options, exit_code, run_batch
from .runner import OK, SKIPPED, Done, Task

LOG_NAME = "degrade.csv"
FIRST_COLUMNS = ["path", "status", "seed", "duration_s", "sample_rate", "channels", "output_gain_db"]


@functools.lru_cache(maxsize=4)
def _recipe(spec: tuple[str, str | None, str | None, str | None]) -> Recipe:
    """The parsed recipe of (text, noise_dir, speech_dir, rir_dir), once per worker process:
    tasks carry this small tuple rather than the recipe with every noise file name in it."""
    text, noise_dir, speech_dir, rir_dir = spec
    return parse_recipe(text, _sources_of(noise_dir, speech_dir, rir_dir))


def _degrade_task(src: str, dst: str, key: str, spec: tuple, seed: int) -> Done:
    recipe = _recipe(spec)
    x, meta = audio.read(src)
    y, applied = apply_recipe(x, meta.sr, recipe, file_rng(seed, key))
    # Written files hold ±1 at most (integer formats would saturate: an unlogged clipping).
    y, gain_db = fit_full_scale(y)
    audio.write_like(dst, y, meta.sr, meta)
    row = {"duration_s": round(meta.duration_s, 6), "sample_rate": meta.sr, "channels": meta.channels,
           "output_gain_db": round(gain_db, 3), **flatten(applied)}
    return Done(audio_s=meta.duration_s, row=row)


def _list_damages(ctx: click.Context, param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(describe())
        ctx.exit(0)


def _sources_of(noise_dir, speech_dir, rir_dir) -> Sources:
    def files(folder: str | None, option: str) -> tuple[str, ...]:
        if not folder:
            return ()
        found = runner.discover(folder, AUDIO_EXTENSIONS)
        if not found:
            raise click.BadParameter(f"{folder}: no audio files in this folder", param_hint=f"'{option}'")
        return tuple(str(Path(folder) / rel) for rel in found)

    return Sources(files(noise_dir, "--noise-dir"), files(speech_dir, "--speech-dir"), files(rir_dir, "--rir-dir"))


def _previous_rows(log_path: str | None) -> dict[str, dict]:
    """Rows of an earlier log at ``log_path``, by path: kept for the files this run skips."""
    if not log_path or log_path == STDIO or not os.path.isfile(log_path):
        return {}
    try:
        with open(log_path, newline="", encoding="utf-8") as f:
            return {row["path"]: row for row in csv.DictReader(f) if row.get("path")}
    except (OSError, UnicodeDecodeError, csv.Error, KeyError):
        return {}


@click.command(epilog="Run `msar degrade --list` for every damage, parameter, default and preset.")
@click.argument("clean", type=click.Path(allow_dash=True))
@click.argument("out", type=click.Path(allow_dash=True))
@click.option("-r", "--recipe", "recipe_text", required=True, metavar="RECIPE",
              help="Damages in order, e.g. 'noise:snr=0..20,reverb:rt60=0.6,clip:fraction=0.05', "
                   "or a preset: telephone, cellphone, room, mix.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed; each file's draws come from the seed and its relative path.")
@click.option("--noise-dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of noise recordings (noise:kind=file, the default when given).")
@click.option("--speech-dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of speech recordings to make babble from (noise:kind=babble).")
@click.option("--rir-dir", type=click.Path(exists=True, file_okay=False),
              help="Folder of room impulse responses (reverb:model=file, the default when given).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, allow_dash=True),
              help=f"CSV of every value applied to each file (default: OUT/{LOG_NAME} for folders, "
                   "stdout for one file written to a file, none when audio goes to stdout).")
@transform.overwrite_option
@click.option("--list", is_flag=True, is_eager=True, expose_value=False, callback=_list_damages,
              help="List damages, their parameters and defaults, and presets, then exit.")
@batch_options
def degrade(clean, out, recipe_text, seed, noise_dir, speech_dir, rir_dir, log_path, overwrite,
            batch: BatchOptions):
    """Damage the clean speech in CLEAN and write it to OUT, with a CSV of what was applied.

    CLEAN and OUT are folders (OUT mirrors CLEAN's relative paths; it must not lie inside CLEAN)
    or files; `-` is stdin/stdout. Outputs keep the input's format, rate, channels and subtype;
    existing outputs are skipped unless --overwrite. Damages apply in recipe order; LO..HI draws a
    value per file, a|b picks one; p=0.3 applies a step to 30 % of files. Noise SNR and hum level
    are relative to the whole-file power of the signal at that step. An output that would exceed
    full scale is scaled down as a whole (logged as output_gain_db).

    \b
    Examples:
      msar degrade clean/ noisy/ --recipe "noise:snr=5,reverb:rt60=0.6,clip:fraction=0.05" --seed 1
      msar degrade clean/ noisy/ --recipe mix --noise-dir noises/ --speech-dir speech/
      msar degrade in.wav - -r telephone --log applied.csv | aplay
    """
    if log_path == STDIO and out == STDIO:
        raise click.UsageError("--log - and OUT - would both write to stdout")
    spec = (recipe_text, noise_dir, speech_dir, rir_dir)
    try:
        _recipe(spec)  # check it here, where a bad recipe is a usage error
    except MsarError as exc:
        raise click.BadParameter(str(exc), param_hint="'--recipe'") from None

    jobs, skipped = transform.plan(clean, out, overwrite)
    tasks = [Task(j.key, _degrade_task, (j.src, j.dst, j.key, spec, seed)) for j in jobs]
    if clean != STDIO and Path(clean).is_dir():
        log_path = log_path or str(Path(out) / LOG_NAME)
    else:
        log_path = log_path or (None if out == STDIO else STDIO)
        batch.jobs = 1  # one file; stdin belongs to this process
    previous = _previous_rows(log_path) if skipped else {}
    records, _ = run_batch("degrade", tasks, batch, pre_records=skipped, outputs=[j.dst for j in jobs])

    if log_path:
        rows = []
        for r in sorted(records, key=lambda r: r.key):
            row = {"path": r.key, "status": r.status, "seed": seed, **r.row}
            if r.status == SKIPPED and r.key in previous:
                row = {**previous[r.key], "path": r.key, "status": SKIPPED}
            row["message"] = "" if r.status == OK else r.message
            rows.append(row)
        columns = tables.union_columns(FIRST_COLUMNS, rows, ["message"])
        tables.write_text(log_path, tables.to_csv(rows, columns))
    raise SystemExit(exit_code(records))
