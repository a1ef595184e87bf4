"""``msar repair`` and ``msar models`` through Click (DSP stages; the neural stage has its own tests)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from msar.cli.main import cli
from msar.dsp import audio
from msar.dsp.degrade import degrade, file_rng, parse_recipe

from conftest import DEMO


@pytest.fixture
def damaged(tmp_path):
    """Demo speech with DC, hum and clipping, as 44.1 kHz stereo PCM_24 WAV (and one clean file)."""
    src = tmp_path / "in"
    x, info = audio.read(DEMO / "speech" / "en_allison_weasels.flac")
    stereo = audio.resample(np.repeat(x, 2, axis=1) * [1.0, 0.8], info.sr, 44100).astype(np.float32)
    y, _ = degrade(stereo, 44100, parse_recipe("dc:offset=0.03,hum:level_db=-15,clip:fraction=0.02"), file_rng(0, "x"))
    (src / "sub").mkdir(parents=True)
    sf.write(src / "sub" / "damaged.wav", np.clip(y, -1, 1), 44100, subtype="PCM_24")
    sf.write(src / "clean.flac", x, info.sr)
    return src, stereo


def report_rows(path) -> dict:
    return {r["path"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}


def test_repair_fixes_what_it_finds_and_leaves_clean_speech_alone(damaged, tmp_path):
    src, original = damaged
    out, report = tmp_path / "out", tmp_path / "report.csv"
    result = CliRunner().invoke(cli, ["repair", str(src), str(out), "--skip", "denoise", "--report", str(report)])
    assert result.exit_code == 0, result.output
    rows = report_rows(report)
    assert set(rows["sub/damaged.wav"]["stages_applied"].split()) == {"dc", "hum", "declip"}
    assert rows["clean.flac"]["stages_applied"] == ""
    # Format, rate, channels and subtype kept.
    info = audio.info(out / "sub" / "damaged.wav")
    assert (info.sr, info.channels, info.subtype) == (44100, 2, "PCM_24")
    # Clean input comes back unchanged (FLAC 16-bit round trip is lossless).
    np.testing.assert_array_equal(audio.read(out / "clean.flac")[0], audio.read(src / "clean.flac")[0])
    # The repaired file is closer to the undamaged original than the damaged input was.
    before = np.mean((audio.read(src / "sub" / "damaged.wav")[0] - original) ** 2)
    after = np.mean((audio.read(out / "sub" / "damaged.wav")[0] - original) ** 2)
    assert after < before / 3


def test_rerun_skips_existing_outputs(damaged, tmp_path):
    src, _ = damaged
    out = tmp_path / "out"
    args = ["repair", str(src), str(out), "--skip", "denoise"]
    CliRunner().invoke(cli, args)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "0 ok, 2 skipped, 0 failed" in result.stderr


def test_bad_file_does_not_stop_the_batch(damaged, tmp_path):
    src, _ = damaged
    (src / "broken.wav").write_text("not audio")
    result = CliRunner().invoke(cli, ["repair", str(src), str(tmp_path / "out"), "--skip", "denoise"])
    assert result.exit_code == 1
    assert "msar: failed: " in result.stderr and "broken.wav: not readable audio" in result.stderr
    assert (tmp_path / "out" / "clean.flac").exists() and not (tmp_path / "out" / "broken.wav").exists()


@pytest.mark.parametrize("args,needle", [
    (["--stages", "dc,bogus"], "unknown stage 'bogus'"),
    (["--loudness", "loud"], "give 'keep' or a LUFS target"),
    (["--strength", "1.5"], "1.5 is not in the range"),
    (["--model", "no-such-model"], "unknown model 'no-such-model'"),
])
def test_usage_errors_exit_2(damaged, tmp_path, args, needle):
    src, _ = damaged
    result = CliRunner().invoke(cli, ["repair", str(src), str(tmp_path / "o"), *args])
    assert result.exit_code == 2 and needle in result.stderr


def test_output_inside_input_is_refused(damaged):
    src, _ = damaged
    result = CliRunner().invoke(cli, ["repair", str(src), str(src / "out"), "--skip", "denoise"])
    assert result.exit_code == 2 and "must not be the input folder" in result.stderr


def test_stdin_to_stdout(tmp_path):
    data = (DEMO / "telephone" / "it_carlo_onlyperson.wav").read_bytes()
    result = CliRunner().invoke(cli, ["repair", "-", "-", "--skip", "denoise", "-q"], input=data)
    assert result.exit_code == 0
    y, sr = sf.read(io.BytesIO(result.stdout_bytes))
    assert sr == 8000 and len(y) == sf.info(str(DEMO / "telephone" / "it_carlo_onlyperson.wav")).frames


def test_models_lists_csv():
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0 and result.stdout.startswith("name,task,version,sample_rate")
