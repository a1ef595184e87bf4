"""Batch runner: find files, mirror paths, run one job per file in parallel, collect records.

It knows nothing about audio: a job is a function plus arguments that returns a :class:`Done`
(or raises :class:`MsarError`), and the runner turns each into a :class:`Record`. Workers return
records and the parent prints them, so output of parallel jobs never interleaves.

Two backends run the same tasks: ``local`` (joblib processes on this machine) and ``dask`` (a
running Dask distributed scheduler; tasks are files, so inputs and outputs must be on a
filesystem every worker sees at the same paths).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from msar.dsp.errors import MsarError

OK, SKIPPED, FAILED = "ok", "skipped", "failed"
BACKENDS = ("local", "dask")

#: Resubmissions of a Dask task that raised outside the per-file error handling (e.g. it could
#: not be unpickled on a worker). A task whose worker *died* is rerun by the scheduler up to
#: ``distributed.scheduler.allowed-failures`` times (default 3) and then reported failed.
DASK_RETRIES = 2


@dataclass
class Done:
    """What a job returns on success: seconds of audio it processed and its CSV columns."""

    audio_s: float = 0.0
    row: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass
class Record:
    """The outcome of one file: its key (relative path), status, message and timing."""

    key: str
    status: str
    message: str = ""
    audio_s: float = 0.0
    wall_s: float = 0.0
    row: dict[str, Any] = field(default_factory=dict)
    detail: str = ""  # traceback of an internal error, shown with -v


@dataclass(frozen=True)
class Task:
    key: str
    fn: Callable[..., Done]
    args: tuple = ()


#: Set once SIGINT or SIGTERM reached this process.
_interrupted = False


def _raise_interrupt(signum, frame):
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def handle_sigterm() -> None:
    """Turn SIGTERM (and SIGINT) into KeyboardInterrupt in this process (workers too), so open
    atomic writers delete their temporary files instead of leaving them behind, and remember
    that it happened: a C extension interrupted inside an import or a call can turn the
    KeyboardInterrupt into another error (onnxruntime's "ImportError: initialization failed"),
    which must still end the batch as interrupted, not fail one file."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not _raise_interrupt:
        signal.signal(signal.SIGTERM, _raise_interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _raise_interrupt)


def _run_task(task: Task) -> Record:
    handle_sigterm()
    start = time.perf_counter()
    try:
        done = task.fn(*task.args)
        status, message, detail = OK, done.message, ""
    except MsarError as exc:
        done, status, message, detail = Done(), FAILED, str(exc), ""
    except MemoryError:
        done, status, message, detail = Done(), FAILED, f"{task.key}: out of memory", ""
    except Exception as exc:  # one bad file must never stop a batch
        if _interrupted:
            raise KeyboardInterrupt from exc
        done, status = Done(), FAILED
        message = f"{task.key}: internal error ({type(exc).__name__}: {exc})"
        detail = traceback.format_exc()
    return Record(task.key, status, message, done.audio_s, time.perf_counter() - start, done.row, detail)


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run(tasks: Sequence[Task], jobs: int | None = None, progress: bool = False,
        on_record: Callable[[Record], None] | None = None, desc: str = "",
        client: Any = None) -> list[Record]:
    """Run ``tasks`` with ``jobs`` parallel workers (joblib; default all cores), or on the Dask
    cluster of ``client`` (a ``distributed.Client`` from :func:`connect_dask`; ``jobs`` is then
    ignored: the cluster's workers decide the parallelism).

    Calls ``on_record`` in the parent as each record arrives (in completion order) and returns
    the records in task order. ``progress`` draws a tqdm bar on stderr.
    """
    jobs = jobs or default_jobs()
    bar = None
    if progress and tasks:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc=desc or None, unit="file", file=sys.stderr, leave=False)
    records: dict[int, Record] = {}
    try:
        # One task (e.g. a file read from stdin, which only this process has) runs right here.
        iterate = _iterate(tasks, jobs) if client is None or len(tasks) <= 1 else _iterate_dask(tasks, client)
        for index, record in iterate:
            records[index] = record
            if bar is not None:
                bar.update(1)
            if on_record is not None:
                on_record(record)
    finally:
        if bar is not None:
            bar.close()
    return [records[i] for i in range(len(tasks))]


def _indexed(index: int, task: Task) -> tuple[int, Record]:
    return index, _run_task(task)


def _iterate(tasks: Sequence[Task], jobs: int) -> Iterator[tuple[int, Record]]:
    if jobs == 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            yield _indexed(i, task)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=min(jobs, len(tasks)), return_as="generator_unordered")
    yield from parallel(delayed(_indexed)(i, task) for i, task in enumerate(tasks))


def stop_workers() -> None:
    """After an interruption: shut joblib's worker pool down now, killing its workers.

    Otherwise the workers die only at interpreter exit, after msar's closing "interrupted" line,
    and loky's resource tracker may then warn about the queues they left behind ("leaked semlock
    objects"), so a stray warning becomes the last line on stderr. Shutting the pool down here
    releases those queues first. Does nothing when no worker pool was started."""
    reusable = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(reusable, "_executor", None)
    if executor is None:
        return
    try:
        executor.shutdown(wait=True, kill_workers=True)
    except Exception:  # best effort: the run is ending either way
        pass


def connect_dask(address: str, timeout_s: float = 10.0) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address`` (``tcp://HOST:8786``).

    Raises MsarError when the ``dask`` extra is not installed or the scheduler does not answer
    within ``timeout_s`` seconds.
    """
    try:
        from distributed import Client
    except ImportError:
        raise MsarError("--backend dask needs Dask distributed: pip install 'msar[dask]'") from None
    try:
        # set_as_default=False: a user's own default client (or dask collections) stays untouched.
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise MsarError(f"{address}: cannot reach the Dask scheduler ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else 'no answer'})") from None


def _iterate_dask(tasks: Sequence[Task], client: Any) -> Iterator[tuple[int, Record]]:
    """Submit one Dask task per file and yield records as they finish.

    Each file's task returns its Record (errors inside it are already records). A task that
    still fails on the cluster, e.g. ``KilledWorker`` after its workers died
    ``allowed-failures`` times, becomes a failed record; its output was never renamed into
    place, because writes are atomic.
    """
    if not tasks:
        return
    from uuid import uuid4

    from distributed import as_completed

    batch = uuid4().hex[:12]
    # pure=False and unique keys: a rerun of the same file must run again, never reuse a result.
    futures = {client.submit(_indexed, i, task, key=f"msar-{batch}-{i}", pure=False,
                             retries=DASK_RETRIES): i for i, task in enumerate(tasks)}
    try:
        for future in as_completed(futures, loop=client.loop):
            index = futures.pop(future)
            if future.status == "finished":
                yield future.result()
                continue
            try:
                exc = future.exception()
            except Exception as lost:  # e.g. the future was cancelled
                exc = lost
            key = tasks[index].key
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
            yield index, Record(key, FAILED, f"{key}: failed on the Dask cluster ({reason})")
            future.release()
    finally:
        if futures:  # interrupted: stop what has not started; running tasks finish or are dropped
            client.cancel(list(futures))


# ----------------------------------------------------------------------------- folders


def discover(root: str | os.PathLike, extensions: Iterable[str]) -> list[str]:
    """Relative POSIX paths of the files under ``root`` whose extension is in ``extensions``.

    Sorted; follows symlinked folders once (a symlink loop is not followed twice); hidden files
    and our own temporary ``*.part`` files are ignored.
    """
    exts = {e.lower() for e in extensions}
    root = Path(root)
    found: list[str] = []
    seen_dirs: set[str] = set()

    def walk(folder: Path, rel: str) -> None:
        real = os.path.realpath(folder)
        if real in seen_dirs:
            return
        seen_dirs.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:  # symlink loop or dangling link: report it as a file if it looks like audio
                is_dir = False
            if is_dir:
                walk(Path(entry.path), child_rel)
            elif os.path.splitext(entry.name)[1].lower() in exts:
                found.append(child_rel)

    walk(root, "")
    return found


def check_output_folder(input_root: str | os.PathLike, output_root: str | os.PathLike) -> None:
    """Raise MsarError if the output folder is the input folder or inside it."""
    src = Path(os.path.realpath(input_root))
    dst = Path(os.path.realpath(output_root))
    if dst == src or src in dst.parents:
        raise MsarError(f"{output_root}: the output folder must not be the input folder or inside it")


def mirror(rel: str, output_root: str | os.PathLike, suffix: str | None = None) -> Path:
    """Output path of input ``rel`` under ``output_root``, optionally with a new suffix."""
    out = Path(output_root) / rel
    return out.with_suffix(suffix) if suffix else out


# ----------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Summary:
    ok: int
    skipped: int
    failed: int
    audio_s: float
    wall_s: float

    @classmethod
    def of(cls, records: Sequence[Record], wall_s: float) -> "Summary":
        ok = sum(r.status == OK for r in records)
        skipped = sum(r.status == SKIPPED for r in records)
        audio = sum(r.audio_s for r in records if r.status == OK)
        # Anything else (failed, or a status such as score's missing_output) counts as failed.
        return cls(ok, skipped, len(records) - ok - skipped, audio, wall_s)

    @property
    def realtime_factor(self) -> float:
        return self.audio_s / self.wall_s if self.wall_s > 0 else 0.0

    def line(self, command: str) -> str:
        return (f"msar {command}: {self.ok} ok, {self.skipped} skipped, {self.failed} failed; "
                f"{self.audio_s / 3600:.3f} h audio in {self.wall_s:.1f} s wall "
                f"({self.realtime_factor:.1f}x real time)")
