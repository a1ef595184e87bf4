"""msar.cli.transform: IN/OUT argument rules shared by audio-to-audio commands."""

from __future__ import annotations

import click
import numpy as np
import pytest

from msar.cli import transform
from msar.dsp import audio

from conftest import SR, write


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / "in"
    for rel in ["a.wav", "sub/b.flac", "sub/notes.txt"]:
        path = src / rel
        if rel.endswith(".txt"):
            path.write_text("x")
        else:
            write(path, np.zeros(100, np.float32))
    return src


def test_folder_is_mirrored_and_existing_outputs_skipped(tree, tmp_path):
    out = tmp_path / "out"
    write(out / "sub" / "b.flac", np.zeros(10, np.float32))
    jobs, skipped = transform.plan(str(tree), str(out), overwrite=False)
    assert [(j.key, j.dst) for j in jobs] == [("a.wav", str(out / "a.wav"))]
    assert [(r.key, r.status) for r in skipped] == [("sub/b.flac", "skipped")]
    jobs, skipped = transform.plan(str(tree), str(out), overwrite=True)
    assert len(jobs) == 2 and not skipped


def test_suffix_changes_the_output_extension(tree, tmp_path):
    jobs, _ = transform.plan(str(tree), str(tmp_path / "out"), False, suffix=".wav")
    assert [j.dst for j in jobs] == [str(tmp_path / "out" / "a.wav"), str(tmp_path / "out" / "sub" / "b.wav")]


@pytest.mark.parametrize("out", ["in", "in/sub/x"])
def test_output_inside_input_is_a_usage_error(tree, tmp_path, out):
    with pytest.raises(click.UsageError, match="must not be the input folder"):
        transform.plan(str(tree), str(tmp_path / out), False)


def test_file_into_existing_folder_and_onto_itself(tree, tmp_path):
    (tmp_path / "o").mkdir()
    jobs, _ = transform.plan(str(tree / "a.wav"), str(tmp_path / "o"), False)
    assert jobs[0].dst == str(tmp_path / "o" / "a.wav")
    with pytest.raises(click.UsageError, match="input file itself"):
        transform.plan(str(tree / "a.wav"), str(tree / "a.wav"), True)


def test_folder_to_stdout_is_refused(tree):
    with pytest.raises(click.UsageError, match="OUT must be a folder"):
        transform.plan(str(tree), "-", False)


def test_write_like_keeps_format_and_subtype(tmp_path):
    src = write(tmp_path / "x.flac", np.zeros((50, 2), np.float32), 44100, subtype="PCM_24")
    _, info = audio.read(src)
    audio.write_like(tmp_path / "y.flac", np.zeros((50, 2), np.float32), 44100, info)
    audio.write_like(tmp_path / "y.wav", np.zeros((50, 2), np.float32), 44100, info)
    assert audio.info(tmp_path / "y.flac").subtype == "PCM_24"
    assert audio.info(tmp_path / "y.wav").subtype == "PCM_16"  # another format: its default
