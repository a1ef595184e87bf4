"""Options and output shared by every batch subcommand: -j/--jobs, -q/--quiet, -v/--verbose,
--backend/--scheduler, per-file log lines, failure lines and the one-line summary."""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import click

from msar.dsp.audio import remove_partial

from msar.dsp.errors import MsarError

from . import runner
from .runner import OK, Record, Summary, Task


@dataclass
class BatchOptions:
    jobs: int
    quiet: bool
    verbose: bool
    backend: str = "local"
    #: the ``distributed.Client`` of ``--backend dask`` (connected before the command runs)
    client: Any = field(default=None, repr=False)

    @property
    def progress(self) -> bool:
        return not self.quiet and sys.stderr.isatty()


def batch_options(fn: Callable) -> Callable:
    """Add -j/--jobs, -q/--quiet, -v/--verbose, --backend and --scheduler; the command receives
    ``batch: BatchOptions``. With ``--backend dask`` the scheduler is reached before the command
    starts (unreachable: a usage error, exit 2) and the connection is closed when it ends."""

    @click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                  help="Parallel worker processes (default: all cores; local backend only).")
    @click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary; errors only.")
    @click.option("-v", "--verbose", is_flag=True, help="One log line per file (tracebacks of internal errors).")
    @click.option("--backend", type=click.Choice(runner.BACKENDS), default="local", show_default=True,
                  help="local: processes on this machine (joblib); dask: the workers of a Dask "
                       "distributed cluster (--scheduler), files on a filesystem they all share.")
    @click.option("--scheduler", metavar="ADDRESS",
                  help="Dask scheduler address for --backend dask, e.g. tcp://HOST:8786.")
    @functools.wraps(fn)
    def wrapper(*args, jobs, quiet, verbose, backend, scheduler, **kwargs):
        batch = BatchOptions(jobs or runner.default_jobs(), quiet, verbose, backend)
        if backend == "local" and scheduler:
            raise click.UsageError("--scheduler needs --backend dask")
        if backend == "dask":
            if not scheduler:
                raise click.UsageError("--backend dask needs --scheduler ADDRESS (e.g. tcp://HOST:8786)")
            try:
                batch.client = runner.connect_dask(scheduler)
            except MsarError as exc:
                raise click.UsageError(str(exc)) from None
        try:
            return fn(*args, batch=batch, **kwargs)
        finally:
            if batch.client is not None:
                batch.client.close()

    return wrapper


#: Default of ``--block-seconds`` (the value of ``msar.dsp.blocks.DEFAULT_BLOCK_S``, repeated
#: here so the CLI starts without importing the DSP stack; a test keeps the two equal).
BLOCK_SECONDS = 20.0


def block_seconds_option(fn: Callable) -> Callable:
    """``--block-seconds S``: files longer than S seconds are processed in S-second blocks,
    in bounded memory (``dsp.blocks``)."""
    return click.option("--block-seconds", "block_s", type=click.FloatRange(min=0.5), default=BLOCK_SECONDS,
                        show_default=True, metavar="S",
                        help="Files longer than S seconds are processed block by block in bounded "
                             "memory (any length, e.g. hours at 48 kHz).")(fn)


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
              pre_records: Sequence[Record] = (), outputs: Sequence[str] = ()) -> tuple[list[Record], Summary]:
    """Run ``tasks``, print per-file lines and the summary line; return records (``pre_records``
    first: files decided before running, e.g. skipped or missing) and the summary.

    ``outputs``: the files the tasks write. If the run is interrupted, their temporary files are
    removed once the workers are gone (a worker killed mid-write cannot clean up after itself)."""
    start = time.perf_counter()
    emit = log_record(batch)
    for record in pre_records:
        emit(record)
    try:
        records = list(pre_records) + runner.run(tasks, batch.jobs, batch.progress, emit, desc=command,
                                                 client=batch.client)
    except KeyboardInterrupt:
        runner.stop_workers()
        for path in outputs:
            if path != "-":
                remove_partial(path)
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
