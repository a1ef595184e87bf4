"""Bad input, odd formats, faults and interruptions, through `msar repair`, `msar score` and
`msar degrade`: every case ends with one clear line naming the file and the right exit code, the
rest of the batch done, no partial output (no ``*.part`` left, every output complete) and the
inputs unchanged (hashed before and after)."""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from msar.cli.main import cli

from conftest import harmonic_tone, write

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_MODEL = ROOT / "onnx_models" / "multispeaker-repair.onnx"
SR = 16000
TONE = harmonic_tone(200, 0.5)

#: file name -> (expected status, text the failure line must hold); built by ``bad_folder``.
CASES: dict[str, tuple[str, str]] = {
    "ok.wav": ("ok", ""),
    "corrupt_header.wav": ("failed", "not readable audio"),
    "truncated.wav": ("ok", ""),  # libsndfile decodes the samples that are there
    "zero_length.wav": ("failed", "empty file (0 bytes)"),
    "text.wav": ("failed", "not readable audio"),
    "nan.wav": ("failed", "NaN or infinite samples (first at sample 100)"),
    "inf.wav": ("failed", "NaN or infinite samples (first at sample 200)"),
    "silence.wav": ("ok", ""),
    "dc.wav": ("ok", ""),
    "one_sample.wav": ("ok", ""),
    "ten_ms.wav": ("ok", ""),
    "pcm_u8.wav": ("ok", ""),
    "pcm_24.wav": ("ok", ""),
    "float32.wav": ("ok", ""),
    **{f"rate_{sr}.wav": ("ok", "") for sr in (8000, 22050, 44100, 48000, 96000)},
    "stereo.wav": ("ok", ""),
    "six_channels.wav": ("ok", ""),
    "ünïcødé 名前.wav": ("ok", ""),
    "with space.flac": ("ok", ""),
    "symlink.wav": ("ok", ""),
    "symlink_loop.wav": ("failed", "symlink loop"),
    "dangling_symlink.wav": ("failed", "broken symlink"),
    "fifo.wav": ("failed", "not a regular file"),
}


def _build(root: Path) -> Path:
    write(root / "ok.wav", TONE)
    good = (root / "ok.wav").read_bytes()
    (root / "corrupt_header.wav").write_bytes(b"RIFX" + good[4:12] + b"garbage!" + good[20:])
    (root / "truncated.wav").write_bytes(good[: len(good) // 2 + 1])
    (root / "zero_length.wav").write_bytes(b"")
    (root / "text.wav").write_text("this is not audio\n")
    x = TONE.copy()
    x[100] = np.nan
    write(root / "nan.wav", x, subtype="FLOAT")
    x = TONE.copy()
    x[200] = -np.inf
    write(root / "inf.wav", x, subtype="FLOAT")
    write(root / "silence.wav", np.zeros(8000, np.float32))
    write(root / "dc.wav", np.full(8000, 0.5, np.float32))
    write(root / "one_sample.wav", np.array([0.1], np.float32))
    write(root / "ten_ms.wav", TONE[:160])
    write(root / "pcm_u8.wav", TONE, subtype="PCM_U8")
    write(root / "pcm_24.wav", TONE, subtype="PCM_24")
    write(root / "float32.wav", TONE, subtype="FLOAT")
    for sr in (8000, 22050, 44100, 48000, 96000):
        write(root / f"rate_{sr}.wav", harmonic_tone(200, 0.5, sr=sr), sr=sr)
    write(root / "stereo.wav", np.stack([TONE, 0.5 * TONE], axis=1))
    write(root / "six_channels.wav", np.stack([TONE * (k + 1) / 6 for k in range(6)], axis=1))
    write(root / "ünïcødé 名前.wav", TONE)
    write(root / "with space.flac", TONE)
    os.symlink("ok.wav", root / "symlink.wav")
    os.symlink("symlink_loop.wav", root / "symlink_loop.wav")
    os.symlink("nowhere.wav", root / "dangling_symlink.wav")
    os.mkfifo(root / "fifo.wav")  # reading it would block forever
    (root / "folder.wav").mkdir()  # a folder with an audio name: walked, not opened
    assert {p.name for p in root.iterdir()} == set(CASES) | {"folder.wav"}
    return root


def _hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``root`` (links and FIFOs by their target name)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p)] = "-> " + os.readlink(p)
        elif p.is_file() and not p.is_fifo():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p)] = "dir" if p.is_dir() else "fifo"
    return out


def _no_partials(root: Path) -> None:
    assert not [p for p in root.rglob("*") if p.name.endswith(".part")]


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {row["path"]: row for row in csv.DictReader(f)}


def _failure_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("msar: failed: ")]


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("bad") / "in")


def _check_batch(result, rows: dict[str, dict], out: Path | None, src: Path) -> None:
    """Statuses and messages as CASES says; outputs complete and in the input's format."""
    assert result.exit_code == 1, result.output
    assert set(rows) == set(CASES)
    failures = _failure_lines(result.stderr)
    assert len(failures) == sum(status == "failed" for status, _ in CASES.values())
    for name, (status, needle) in CASES.items():
        assert rows[name]["status"] == status, (name, rows[name])
        if status == "failed":
            [line] = [f for f in failures if f"{name}:" in f]
            assert needle in line and "internal error" not in line, line
        if out is not None:
            target = out / name
            if status == "failed":
                assert not target.exists()
            else:
                got, want = sf.info(str(target)), sf.info(str(src / name))
                assert (got.samplerate, got.channels, got.subtype) == (want.samplerate, want.channels, want.subtype)
                assert got.frames == sf.read(str(src / name))[0].shape[0]  # complete, not cut


REPAIR_VARIANTS = [["--skip", "denoise"]] + ([[]] if SHIPPED_MODEL.exists() else [])


@pytest.mark.parametrize("extra", REPAIR_VARIANTS, ids=lambda a: " ".join(a) or "default")
def test_repair_batch_of_bad_and_odd_files(bad_folder, tmp_path, extra):
    before = _hashes(bad_folder)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["repair", str(bad_folder), str(out), *extra, "--report",
                                      str(tmp_path / "report.csv"), "-j", "2"])
    _check_batch(result, _rows(tmp_path / "report.csv"), out, bad_folder)
    assert _hashes(bad_folder) == before
    _no_partials(out)


def test_degrade_batch_of_bad_and_odd_files(bad_folder, tmp_path):
    before = _hashes(bad_folder)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["degrade", str(bad_folder), str(out), "-r",
                                      "noise:snr=10,hum:level_db=-30,clip:fraction=0.01", "-j", "2"])
    _check_batch(result, _rows(out / "degrade.csv"), out, bad_folder)
    assert _hashes(bad_folder) == before
    _no_partials(out)


def test_score_batch_of_bad_and_odd_files(bad_folder, tmp_path):
    before = _hashes(bad_folder)
    per_file = tmp_path / "scores.csv"
    result = CliRunner().invoke(cli, ["score", str(bad_folder), str(bad_folder), "--per-file", str(per_file),
                                      "-j", "2"])
    rows = _rows(per_file)
    _check_batch(result, rows, None, bad_folder)
    for name, (status, _) in CASES.items():
        if status == "ok":  # a file against itself scores ideally, whatever its format
            assert float(rows[name]["q"]) == pytest.approx(0.0, abs=1e-9), name
    assert _hashes(bad_folder) == before


@pytest.mark.parametrize("name", ["zero_length.wav", "text.wav", "symlink_loop.wav", "fifo.wav"])
@pytest.mark.parametrize("command", ["repair", "degrade", "score"])
def test_single_bad_file_is_one_line_and_exit_1(bad_folder, tmp_path, name, command):
    src = str(bad_folder / name)
    args = {"repair": ["repair", src, str(tmp_path / "o.wav"), "--skip", "denoise"],
            "degrade": ["degrade", src, str(tmp_path / "o.wav"), "-r", "noise:snr=10", "--log",
                        str(tmp_path / "log.csv")],
            "score": ["score", str(bad_folder / "ok.wav"), src, "--per-file", str(tmp_path / "s.csv")]}[command]
    result = CliRunner().invoke(cli, [*args, "-q"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and CASES[name][1] in lines[0]
    assert not (tmp_path / "o.wav").exists()


def test_a_folder_named_like_audio_is_not_a_file(bad_folder, tmp_path):
    result = CliRunner().invoke(cli, ["degrade", str(bad_folder / "folder.wav"), str(tmp_path / "o"), "-r", "gain"])
    assert result.exit_code == 2 and "no audio files found" in result.stderr


@pytest.mark.parametrize("command", ["repair", "degrade"])
def test_output_folder_inside_the_input_folder_is_refused(tmp_path, command):
    write(tmp_path / "in" / "a.wav", TONE)
    before = _hashes(tmp_path / "in")
    extra = ["--skip", "denoise"] if command == "repair" else ["-r", "noise:snr=10"]
    result = CliRunner().invoke(cli, [command, str(tmp_path / "in"), str(tmp_path / "in" / "out"), *extra])
    assert result.exit_code == 2 and "must not be the input folder or inside it" in result.stderr
    assert _hashes(tmp_path / "in") == before


# ----------------------------------------------------------------------------- simulated faults

@pytest.fixture
def two_files(tmp_path) -> Path:
    write(tmp_path / "in" / "a" / "x.wav", TONE)
    write(tmp_path / "in" / "b" / "y.wav", TONE)
    return tmp_path / "in"


COMMANDS = {"repair": ["--skip", "denoise"], "degrade": ["-r", "noise:snr=10"]}


@pytest.mark.parametrize("command", COMMANDS)
def test_unreadable_input_fails_alone(two_files, tmp_path, monkeypatch, command):
    # chmod 000 does not stop root: simulate the permission check failing for one file.
    from msar.dsp import audio

    real = os.access
    monkeypatch.setattr(audio.os, "access", lambda p, mode: "y.wav" not in str(p) and real(p, mode))
    result = CliRunner().invoke(cli, [command, str(two_files), str(tmp_path / "out"), *COMMANDS[command], "-j", "1"])
    assert result.exit_code == 1
    assert _failure_lines(result.stderr) == [f"msar: failed: {two_files / 'b' / 'y.wav'}: not readable (permission denied)"]
    assert (tmp_path / "out" / "a" / "x.wav").exists() and not (tmp_path / "out" / "b" / "y.wav").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_unwritable_output_folder_fails_alone(two_files, tmp_path, monkeypatch, command):
    from msar.dsp import audio

    real = audio.tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if str(dir).endswith(os.sep + "b"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(audio.tempfile, "mkstemp", mkstemp)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, [command, str(two_files), str(out), *COMMANDS[command], "-j", "1"])
    assert result.exit_code == 1
    assert _failure_lines(result.stderr) == [f"msar: failed: {out / 'b' / 'y.wav'}: cannot write (Permission denied)"]
    assert (out / "a" / "x.wav").exists() and not (out / "b" / "y.wav").exists()
    _no_partials(out)


def _limit_file_size(n_bytes: int):
    # A full disk, simulated for real: writes past n_bytes fail with EFBIG (Python ignores SIGXFSZ).
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))


@pytest.mark.parametrize("command", COMMANDS)
def test_full_output_disk_fails_the_big_file_alone(tmp_path, command):
    write(tmp_path / "in" / "small.wav", TONE[:1000])
    write(tmp_path / "in" / "big.wav", harmonic_tone(200, 2.0))
    before = _hashes(tmp_path / "in")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "msar.cli.main", command, str(tmp_path / "in"), str(out),
                           *COMMANDS[command], "-j", "1", "-q"], capture_output=True, text=True,
                          preexec_fn=_limit_file_size(20_000))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"msar: failed: {out / 'big.wav'}: cannot write (System error: disk full, over quota or over the file size limit?)"]
    assert (out / "small.wav").exists() and not (out / "big.wav").exists()
    _no_partials(out)
    assert _hashes(tmp_path / "in") == before


def test_full_disk_for_the_csv_is_one_line_not_a_traceback(tmp_path):
    write(tmp_path / "ref.wav", TONE)
    proc = subprocess.run([sys.executable, "-m", "msar.cli.main", "score", str(tmp_path / "ref.wav"),
                           str(tmp_path / "ref.wav"), "--per-file", str(tmp_path / "s.csv"), "-q"],
                          capture_output=True, text=True, preexec_fn=_limit_file_size(50))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"Error: {tmp_path / 's.csv'}: cannot write (File too large)"]
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "s.csv").exists()


# ----------------------------------------------------------------------------- interruptions

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_mid_batch_leaves_no_partial_file_and_a_rerun_finishes(tmp_path, sig):
    src = tmp_path / "in"
    n = 30
    for i in range(n):
        write(src / f"f{i:02d}.wav", harmonic_tone(100 + i, 3.0, sr=48000), sr=48000, subtype="PCM_24")
    before = _hashes(src)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "msar.cli.main", "degrade", str(src), str(out), "-r",
            "noise:snr=5,reverb:rt60=0.5", "--seed", "2", "-j", "2"]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("*.wav")) if out.exists() else []) < 2:
        time.sleep(0.01)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the whole process group
    else:
        os.kill(proc.pid, sig)  # e.g. a job scheduler stopping the main process
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr.strip().splitlines()[-1]
    finished = sorted(out.glob("*.wav"))
    assert 2 <= len(finished) < n  # really interrupted mid-batch
    _no_partials(out)
    for p in finished:  # every output there is complete
        assert sf.info(str(p)).frames == 3 * 48000

    rerun = subprocess.run(args + ["-q"], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    rows = _rows(out / "degrade.csv")
    assert sum(r["status"] == "skipped" for r in rows.values()) == len(finished)
    assert sum(r["status"] == "ok" for r in rows.values()) == n - len(finished)
    assert len(list(out.glob("*.wav"))) == n
    _no_partials(out)
    assert _hashes(src) == before


def test_interrupting_a_long_file_mid_stream_leaves_nothing_and_a_rerun_finishes(tmp_path):
    # The block-wise path writes a scratch file and then the output's temp file; both must go.
    src = tmp_path / "in"
    rng = np.random.default_rng(3)
    tone = np.tile(harmonic_tone(140.0, 1.0), 40)
    write(src / "long.wav", (tone + 0.05 * rng.standard_normal(len(tone)) + 0.03).astype(np.float32))
    before = _hashes(src)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "msar.cli.main", "repair", str(src), str(out), "--block-seconds", "1"]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.exists() and list(out.glob(".*.part"))):
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert not (out / "long.wav").exists()
    _no_partials(out)
    rerun = subprocess.run(args + ["-q"], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert sf.info(str(out / "long.wav")).frames == len(tone)
    _no_partials(out)
    assert _hashes(src) == before
