"""msar.cli.runner: discovery, output-folder rules, parallel jobs, failure records, summary."""

from __future__ import annotations

import os

import pytest

from msar.cli import runner
from msar.cli.runner import Done, Task
from msar.dsp.errors import MsarError


def _square(x):
    if x == 3:
        raise MsarError(f"item {x}: refuses to be squared")
    if x == 4:
        raise ZeroDivisionError("boom")
    return Done(audio_s=1.0, row={"y": x * x})


@pytest.mark.parametrize("jobs", [1, 2])
def test_run_keeps_task_order_and_turns_errors_into_records(jobs):
    tasks = [Task(str(i), _square, (i,)) for i in range(6)]
    seen = []
    records = runner.run(tasks, jobs=jobs, on_record=seen.append)
    assert [r.key for r in records] == [str(i) for i in range(6)]
    assert len(seen) == 6
    assert [r.status for r in records] == ["ok", "ok", "ok", "failed", "failed", "ok"]
    assert records[2].row == {"y": 4}
    assert records[3].message == "item 3: refuses to be squared" and not records[3].detail
    assert records[4].message.startswith("4: internal error (ZeroDivisionError") and "Traceback" in records[4].detail


def test_discover_finds_audio_recursively_sorted_and_skips_hidden_and_temp(tmp_path):
    for rel in ["b.wav", "a/c.FLAC", "a/notes.txt", ".hidden.wav", "a/.x.wav.abc.part", "z/ü space.mp3"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert runner.discover(tmp_path, {".wav", ".flac", ".mp3"}) == ["a/c.FLAC", "b.wav", "z/ü space.mp3"]


def test_discover_survives_symlink_loops(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.wav").write_bytes(b"")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    os.symlink(tmp_path / "self.wav", tmp_path / "self.wav")
    found = runner.discover(tmp_path, {".wav"})
    assert "a/x.wav" in found and "self.wav" in found  # the looping file link is reported, not followed


@pytest.mark.parametrize("out", [".", "sub", "sub/deeper"])
def test_output_folder_inside_input_is_refused(tmp_path, out):
    with pytest.raises(MsarError, match="must not be the input folder"):
        runner.check_output_folder(tmp_path, tmp_path / out)


def test_sibling_output_folder_is_allowed(tmp_path):
    runner.check_output_folder(tmp_path / "in", tmp_path / "in-out")


def test_summary_line_counts_and_speed():
    records = [runner.Record("a", "ok", audio_s=3600.0), runner.Record("b", "skipped"),
               runner.Record("c", "failed"), runner.Record("d", "missing_output")]
    summary = runner.Summary.of(records, wall_s=36.0)
    assert (summary.ok, summary.skipped, summary.failed) == (1, 1, 2)
    assert summary.line("repair") == ("msar repair: 1 ok, 1 skipped, 2 failed; "
                                      "1.000 h audio in 36.0 s wall (100.0x real time)")


def test_stop_workers_ends_the_worker_pool_before_msar_prints_its_last_line():
    from joblib import Parallel, delayed
    from joblib.externals.loky import reusable_executor

    assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]
    workers = list(reusable_executor._executor._processes.values())
    assert workers
    runner.stop_workers()
    assert not any(p.is_alive() for p in workers)
    assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(2)) == [0, 1]  # a later pool still starts
    runner.stop_workers()
