"""``msar score`` end to end through Click: pairing, CSVs, exit codes, errors, stdin."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from msar.cli.main import cli

from conftest import DEMO, SR, harmonic_tone, write


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def folders(tmp_path, rng):
    ref, out = tmp_path / "ref", tmp_path / "out"
    x = harmonic_tone(180, 1.0)
    write(ref / "same.wav", x)
    write(out / "same.flac", x)  # paired ignoring the extension
    write(ref / "sub" / "noisy.wav", x)
    write(out / "sub" / "noisy.wav", x + 0.01 * rng.standard_normal(len(x)).astype(np.float32))
    write(ref / "only_ref.wav", x)
    write(out / "only_out.wav", x)
    (ref / "broken.wav").write_text("not audio")
    write(out / "broken.wav", x)
    return ref, out


def test_folders_are_paired_and_missing_partners_listed(folders, tmp_path):
    ref, out = folders
    agg = tmp_path / "agg.csv"
    result = CliRunner().invoke(cli, ["score", str(ref), str(out), "-j", "2", "--aggregate", str(agg)])
    assert result.exit_code == 1, result.output
    table = {r["path"]: r for r in rows(result.stdout)}
    assert table["same.wav"]["status"] == "ok" and float(table["same.wav"]["q"]) == pytest.approx(0.0, abs=1e-8)
    assert table["sub/noisy.wav"]["status"] == "ok"
    assert float(table["sub/noisy.wav"]["mse"]) == pytest.approx(1e-4, rel=0.05)
    assert table["only_ref.wav"]["status"] == "missing_output"
    assert table["only_out.wav"]["status"] == "missing_reference"
    assert table["broken.wav"]["status"] == "failed" and "not readable audio" in table["broken.wav"]["message"]
    stats = {r["metric"]: r for r in rows(agg.read_text())}
    assert stats["q"]["n"] == "2" and set(stats) == {"mse", "cos_pitch", "cos_loudness", "q"}
    assert "msar score: 2 ok, 0 skipped, 3 failed" in result.stderr


def test_single_pair_all_ok_exits_zero_with_stdout_only_csv(tmp_path):
    x = harmonic_tone(200, 1.0)
    a, b = write(tmp_path / "a.wav", x), write(tmp_path / "b.wav", 0.5 * x)
    result = CliRunner().invoke(cli, ["score", str(a), str(b), "-q"])
    assert result.exit_code == 0 and result.stderr == ""
    (row,) = rows(result.stdout)
    assert float(row["cos_loudness"]) == pytest.approx(1.0)
    assert float(row["mse"]) == pytest.approx(0.25 * np.mean(x.astype(float) ** 2), rel=1e-3)


def test_weights_and_resampling_and_alignment(tmp_path):
    x = harmonic_tone(150, 1.5)
    ref = write(tmp_path / "ref.wav", x)
    delayed = np.concatenate([np.zeros(800, np.float32), x])  # 50 ms late
    import soxr

    out = write(tmp_path / "out.wav", soxr.resample(delayed, SR, 48000), 48000)
    result = CliRunner().invoke(cli, ["score", str(ref), str(out), "--align", "--alpha", "1", "--beta", "0",
                                      "--gamma", "0", "-q"])
    (row,) = rows(result.stdout)
    assert float(row["lag_s"]) == pytest.approx(0.05, abs=1e-4)
    assert row["sample_rate"] == "16000"
    assert float(row["q"]) == pytest.approx(float(row["mse"]))
    assert float(row["mse"]) < 1e-4


def test_stdin_as_output(tmp_path):
    x = harmonic_tone(200, 1.0)
    ref = write(tmp_path / "ref.wav", x)
    data = (tmp_path / "ref.wav").read_bytes()
    result = CliRunner().invoke(cli, ["score", str(ref), "-", "-q"], input=data)
    assert result.exit_code == 0, result.output
    assert float(rows(result.stdout)[0]["q"]) == 0.0


def test_optional_metrics_and_plots(tmp_path):
    agg, bars, contours = tmp_path / "agg.csv", tmp_path / "bars.png", tmp_path / "c.png"
    result = CliRunner().invoke(cli, ["score", str(DEMO / "speech"), str(DEMO / "telephone"), "--align",
                                      "--metrics", "pesq_wb,si_sdr", "--aggregate", str(agg), "--plot", str(bars)])
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert len(table) == 3 and all(1.0 < float(r["pesq_wb"]) < 4.7 for r in table)
    assert bars.read_bytes()[:4] == b"\x89PNG"
    result = CliRunner().invoke(cli, ["score", str(DEMO / "speech" / "it_carlo_onlyperson.flac"),
                                      str(DEMO / "telephone" / "it_carlo_onlyperson.wav"), "--plot", str(contours), "-q"])
    assert result.exit_code == 0 and contours.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args,needle", [
    (["--metrics", "bogus"], "unknown metric 'bogus'"),
    (["--f0", "yin"], "'yin' is not one of"),
    (["--jobs", "0"], "0 is not in the range"),
])
def test_usage_errors_exit_2(tmp_path, args, needle):
    a = write(tmp_path / "a.wav", harmonic_tone(200, 0.2))
    result = CliRunner().invoke(cli, ["score", str(a), str(a), *args])
    assert result.exit_code == 2 and needle in result.stderr


def test_file_against_folder_is_a_usage_error(tmp_path):
    a = write(tmp_path / "a.wav", harmonic_tone(200, 0.2))
    result = CliRunner().invoke(cli, ["score", str(a), str(tmp_path)])
    assert result.exit_code == 2 and "both be files or both be folders" in result.stderr


def test_bad_single_file_is_one_line_exit_1(tmp_path):
    a = write(tmp_path / "a.wav", harmonic_tone(200, 0.2))
    bad = tmp_path / "b.wav"
    bad.write_text("nope")
    result = CliRunner().invoke(cli, ["score", str(a), str(bad)])
    assert result.exit_code == 1
    assert f"msar: failed: {bad}: not readable audio" in result.stderr
    assert "Traceback" not in result.output


def test_version_help_and_lazy_commands():
    runner = CliRunner()
    assert runner.invoke(cli, ["--version"]).output.startswith("msar, version ")
    help_text = runner.invoke(cli, ["--help"]).output
    assert "score" in help_text


def test_runtime_never_imports_torch():
    code = ("import sys, msar.cli.main, msar.cli.score, msar.dsp.metrics, msar.dsp.scoring, msar.onnx_models; "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
