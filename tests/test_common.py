"""Shared CLI conventions: progress only on a terminal, -v lines, -q silence, exit codes."""

from __future__ import annotations

import sys

from click.testing import CliRunner

from msar.cli.common import BatchOptions, exit_code
from msar.cli.main import cli
from msar.cli.runner import Record

from conftest import harmonic_tone, write


def test_progress_bar_only_on_a_terminal_and_not_with_quiet(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert BatchOptions(1, quiet=False, verbose=False).progress
    assert not BatchOptions(1, quiet=True, verbose=False).progress
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert not BatchOptions(1, quiet=False, verbose=False).progress


def test_verbose_prints_a_line_per_file_with_its_speed(tmp_path):
    for name in ("a", "b"):
        write(tmp_path / "ref" / f"{name}.wav", harmonic_tone(200, 0.5))
        write(tmp_path / "out" / f"{name}.wav", harmonic_tone(200, 0.5))
    result = CliRunner().invoke(cli, ["score", str(tmp_path / "ref"), str(tmp_path / "out"), "-v", "-j", "1"])
    lines = [l for l in result.stderr.splitlines() if l.startswith("msar: ok: ")]
    assert len(lines) == 2 and all("x real time" in l for l in lines)


def test_exit_code_is_zero_only_when_every_file_is_ok_or_skipped():
    assert exit_code([Record("a", "ok"), Record("b", "skipped")]) == 0
    assert exit_code([Record("a", "ok"), Record("b", "missing_output")]) == 1
