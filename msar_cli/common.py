"""Options and output shared by every batch subcommand: -j/--jobs, -q/--quiet, -v/--verbose,
per-file log lines, failure lines and the one-line summary."""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import click

from . import runner
from .runner import OK, Record, Summary, Task


@dataclass
class BatchOptions:
    jobs: int
    quiet: bool
    verbose: bool

    @property
    def progress(self) -> bool:
        return not self.quiet and sys.stderr.isatty()


def batch_options(fn: Callable) -> Callable:
    """Add -j/--jobs, -q/--quiet and -v/--verbose; the command receives ``batch: BatchOptions``."""

    @click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                  help="Parallel worker processes (default: all cores).")
    @click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary; errors only.")
    @click.option("-v", "--verbose", is_flag=True, help="One log line per file (tracebacks of internal errors).")
    @functools.wraps(fn)
    def wrapper(*args, jobs, quiet, verbose, **kwargs):
        return fn(*args, batch=BatchOptions(jobs or runner.default_jobs(), quiet, verbose), **kwargs)

    return wrapper


def log_record(batch: BatchOptions) -> Callable[[Record], None]:
    """The per-record printer: failures always, every file with -v."""

    def emit(record: Record) -> None:
        if record.status not in (OK, runner.SKIPPED):  # failed, or e.g. score's missing_output
            click.echo(f"msar: {record.status}: {record.message}", err=True)
            if batch.verbose and record.detail:
                click.echo(record.detail.rstrip(), err=True)
        elif batch.verbose:
            speed = f", {record.audio_s / record.wall_s:.1f}x real time" if record.wall_s > 0 and record.audio_s else ""
            note = f" ({record.message})" if record.message else ""
            click.echo(f"msar: {record.status}: {record.key}{note}{speed}", err=True)

    return emit


def run_batch(command: str, tasks: Sequence[Task], batch: BatchOptions,
              pre_records: Sequence[Record] = ()) -> tuple[list[Record], Summary]:
    """Run ``tasks``, print per-file lines and the summary line; return records (``pre_records``
    first: files decided before running, e.g. skipped or missing) and the summary."""
    start = time.perf_counter()
    emit = log_record(batch)
    for record in pre_records:
        emit(record)
    try:
        records = list(pre_records) + runner.run(tasks, batch.jobs, batch.progress, emit, desc=command)
    except KeyboardInterrupt:
        click.echo(f"msar {command}: interrupted; finished outputs are complete, "
                   "rerun the same command to resume", err=True)
        raise SystemExit(130) from None
    summary = Summary.of(records, time.perf_counter() - start)
    if not batch.quiet:
        click.echo(summary.line(command), err=True)
    return records, summary


def exit_code(records: Sequence[Record]) -> int:
    """0 when every file is ok or skipped, 1 when any failed."""
    return 1 if any(r.status not in (OK, runner.SKIPPED) for r in records) else 0
