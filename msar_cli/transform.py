"""Planning for commands that turn input audio into output audio (``repair``, ``degrade``):
file, folder or ``-`` arguments -> a list of (key, input, output) jobs plus the files skipped
because their output already exists. Knows paths, not audio.

Rules shared by every such command:
- IN and OUT are both folders (OUT mirrors IN's relative paths), or IN is a file and OUT a file,
  an existing folder, or ``-`` (stdout); IN ``-`` reads stdin.
- OUT equal to or inside IN is refused (a rerun would process its own outputs).
- An existing output is skipped unless ``overwrite``: an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from msar.dsp.audio import AUDIO_EXTENSIONS, STDIO
from msar.dsp.errors import MsarError

from . import runner
from .runner import SKIPPED, Record


@dataclass(frozen=True)
class Job:
    key: str  # relative path shown in logs and CSVs
    src: str
    dst: str


def overwrite_option(fn):
    return click.option("--overwrite", is_flag=True,
                        help="Replace existing outputs (default: skip them, so a rerun resumes).")(fn)


def plan(src: str, dst: str, overwrite: bool, suffix: str | None = None) -> tuple[list[Job], list[Record]]:
    """Jobs for IN=``src`` and OUT=``dst``, and skipped records for outputs that exist.

    ``suffix`` replaces the output's extension (e.g. ``.wav``); default: keep the input's.
    Raises click.UsageError for argument combinations that make no sense.
    """
    if src == STDIO:
        if dst != STDIO and Path(dst).is_dir():
            raise click.UsageError("with IN '-' (stdin), OUT must be a file or '-'")
        return _single("<stdin>", src, dst, overwrite), []
    source = Path(src)
    if not source.exists() and not source.is_symlink():
        raise click.BadParameter(f"{src}: no such file or folder", param_hint="IN")
    if not source.is_dir():
        if dst != STDIO and Path(dst).is_dir():
            target = Path(dst) / source.name
            dst = str(target.with_suffix(suffix) if suffix else target)
        return _filter_existing(_single(source.name, src, dst, overwrite), overwrite)
    if dst == STDIO or (Path(dst).exists() and not Path(dst).is_dir()):
        raise click.UsageError("IN is a folder, so OUT must be a folder")
    try:
        runner.check_output_folder(src, dst)
    except MsarError as exc:
        raise click.UsageError(str(exc)) from None
    jobs = [Job(rel, str(source / rel), str(runner.mirror(rel, dst, suffix)))
            for rel in runner.discover(source, AUDIO_EXTENSIONS)]
    if not jobs:
        raise click.UsageError(f"{src}: no audio files found")
    return _filter_existing(jobs, overwrite)


def _single(key: str, src: str, dst: str, overwrite: bool) -> list[Job]:
    # realpath, not Path.resolve(): that raises on a symlink loop, which must fail as a file later.
    if dst != STDIO and src != STDIO and os.path.realpath(dst) == os.path.realpath(src):
        raise click.UsageError(f"{dst}: OUT is the input file itself; inputs are never modified")
    return [Job(key, src, dst)]


def _filter_existing(jobs: list[Job], overwrite: bool) -> tuple[list[Job], list[Record]]:
    if overwrite:
        return jobs, []
    todo, skipped = [], []
    for job in jobs:
        if job.dst != STDIO and Path(job.dst).exists():
            skipped.append(Record(job.key, SKIPPED, "output exists (use --overwrite to replace it)"))
        else:
            todo.append(job)
    return todo, skipped
