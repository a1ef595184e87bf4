"""``--backend dask``: the same results as the local backend on a 2-worker loopback cluster, one
model load per worker, and a worker killed mid-batch loses no file and leaves no partial output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from msar.cli.main import cli

from conftest import harmonic_tone, write

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
TINY_MODEL = ROOT / "tests" / "data" / "tiny-repair.onnx"
RECIPE = "noise:snr=5,reverb:rt60=0.6,clip:fraction=0.02"


@pytest.fixture(scope="module")
def cluster():
    # Loopback only; one thread per worker, as recommended for msar's CPU-bound tasks.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0", silence_logs=40) as c:
        with distributed.Client(c, set_as_default=False) as client:
            yield c, client


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    rng = np.random.default_rng(7)
    for i in range(12):
        x = harmonic_tone(120 + 10 * i, 0.6) + 0.01 * rng.standard_normal(9600).astype(np.float32)
        write(root / ("sub" if i % 3 == 0 else "") / f"f{i:02d}.wav", x, subtype="PCM_16")
    return root


def _dask(cluster) -> list[str]:
    return ["--backend", "dask", "--scheduler", cluster[0].scheduler_address]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_degrade_and_score_on_dask_equal_the_local_backend(cluster, clean, tmp_path):
    runner = CliRunner()
    local = runner.invoke(cli, ["degrade", str(clean), str(tmp_path / "local"), "-r", RECIPE, "--seed", "3", "-q"])
    dask = runner.invoke(cli, ["degrade", str(clean), str(tmp_path / "dask"), "-r", RECIPE, "--seed", "3", "-q",
                               *_dask(cluster)])
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    assert len(_files(tmp_path / "local")) == 13  # 12 files + degrade.csv
    assert _files(tmp_path / "dask") == _files(tmp_path / "local")

    score_local = runner.invoke(cli, ["score", str(clean), str(tmp_path / "local"), "-q", "-j", "2"])
    score_dask = runner.invoke(cli, ["score", str(clean), str(tmp_path / "dask"), "-q", *_dask(cluster)])
    assert score_local.exit_code == 0 and score_dask.exit_code == 0, score_dask.output
    assert score_dask.stdout == score_local.stdout and score_local.stdout.count("\n") == 13


def test_failures_come_back_as_records(cluster, clean, tmp_path):
    ref = tmp_path / "ref"
    for p in clean.rglob("*.wav"):
        write(ref / p.relative_to(clean), harmonic_tone(150, 0.3))
    (ref / "bad.wav").write_text("not audio")
    (tmp_path / "out").mkdir()
    for p in ref.rglob("*.wav"):
        (tmp_path / "out" / p.relative_to(ref)).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "out" / p.relative_to(ref)).write_bytes(p.read_bytes())
    result = CliRunner().invoke(cli, ["score", str(ref), str(tmp_path / "out"), *_dask(cluster)])
    assert result.exit_code == 1
    assert "bad.wav: not readable audio" in result.stderr
    assert "12 ok, 0 skipped, 1 failed" in result.stderr


def test_workers_load_the_model_once_not_once_per_file(cluster, clean, tmp_path):
    assert TINY_MODEL.exists()
    _, client = cluster
    result = CliRunner().invoke(cli, ["repair", str(clean), str(tmp_path / "out"), "--stages", "denoise", "--force",
                                      "--model", str(TINY_MODEL), "-q", *_dask(cluster)])
    assert result.exit_code == 0, result.output

    def loads():
        from msar.onnx_models import registry

        info = registry._loaded.cache_info()
        return info.misses, info.hits

    per_worker = client.run(loads).values()
    assert sum(hits + misses for misses, hits in per_worker) >= 12  # every file asked for the model
    assert all(misses <= 1 for misses, _ in per_worker)  # ... and each worker loaded it once


def test_usage_errors_for_the_dask_backend(tmp_path, clean):
    runner = CliRunner()
    args = ["score", str(clean), str(clean)]
    no_scheduler = runner.invoke(cli, [*args, "--backend", "dask"])
    assert no_scheduler.exit_code == 2 and "--backend dask needs --scheduler" in no_scheduler.stderr
    stray = runner.invoke(cli, [*args, "--scheduler", "tcp://127.0.0.1:1"])
    assert stray.exit_code == 2 and "--scheduler needs --backend dask" in stray.stderr


def test_unreachable_scheduler_is_a_usage_error(monkeypatch, clean):
    from msar.cli import runner

    real = runner.connect_dask
    monkeypatch.setattr(runner, "connect_dask", lambda address: real(address, timeout_s=1.0))
    result = CliRunner().invoke(cli, ["score", str(clean), str(clean), "--backend", "dask",
                                      "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "tcp://127.0.0.1:9: cannot reach the Dask scheduler" in result.stderr


def test_missing_dask_package_is_a_usage_error(monkeypatch, clean):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    result = CliRunner().invoke(cli, ["score", str(clean), str(clean), "--backend", "dask",
                                      "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 2 and "pip install 'msar[dask]'" in result.stderr


def test_killed_worker_mid_batch_loses_no_file_and_leaves_no_partial_output(cluster, tmp_path):
    c, client = cluster
    src = tmp_path / "clean"
    n = 24
    for i in range(n):  # long enough files that the batch is still running when a worker dies
        write(src / f"f{i:02d}.wav", harmonic_tone(100 + 5 * i, 4.0, sr=48000), sr=48000, subtype="PCM_24")
    reference = tmp_path / "local"
    assert CliRunner().invoke(cli, ["degrade", str(src), str(reference), "-r", RECIPE, "--seed", "5", "-q",
                                    "-j", "2"]).exit_code == 0
    out = tmp_path / "dask"
    proc = subprocess.Popen([sys.executable, "-m", "msar.cli.main", "degrade", str(src), str(out), "-r", RECIPE,
                             "--seed", "5", "-q", *_dask(cluster)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    pids = client.run(os.getpid)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(client.processing().values()):
            time.sleep(0.02)
        busy = [w for w, keys in client.processing().items() if keys]
        assert busy, "the batch never started"
        os.kill(pids[busy[0]], signal.SIGKILL)
        done_at_kill = len(list(out.glob("*.wav"))) if out.exists() else 0
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert done_at_kill < n  # the kill really was mid-batch
    assert proc.returncode == 0, stderr
    rows = (out / "degrade.csv").read_text().splitlines()
    assert len(rows) == n + 1 and all(",ok," in row for row in rows[1:])
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    assert _files(out) == _files(reference)  # every output complete, identical to a local run
    client.wait_for_workers(2, timeout=30)  # the nanny restarted the killed worker


def test_repair_and_synth_on_dask_equal_the_local_backend(cluster, clean, tmp_path):
    runner = CliRunner()
    damaged = tmp_path / "damaged"
    assert runner.invoke(cli, ["degrade", str(clean), str(damaged), "-r", RECIPE, "--seed", "4", "-q"]).exit_code == 0
    for backend, extra in (("local", ["-j", "2"]), ("dask", _dask(cluster))):
        result = runner.invoke(cli, ["repair", str(damaged), str(tmp_path / f"rep-{backend}"), "--model",
                                     str(TINY_MODEL), "-q", *extra])
        assert result.exit_code == 0, result.output
    assert len(_files(tmp_path / "rep-local")) == 12
    assert _files(tmp_path / "rep-dask") == _files(tmp_path / "rep-local")

    text = tmp_path / "lines.txt"
    text.write_text("The first line.\nA second line, with 3 words more.\nIs this the third?\n")
    for backend, extra in (("local", ["-j", "2"]), ("dask", _dask(cluster))):
        result = runner.invoke(cli, ["synth", "--text", str(text), "--speaker", "asterisk-allison", "--out-dir",
                                     str(tmp_path / f"syn-{backend}"), "-q", *extra])
        assert result.exit_code == 0, result.output
    assert len(_files(tmp_path / "syn-local")) == 4  # three lines + synth.csv
    assert _files(tmp_path / "syn-dask") == _files(tmp_path / "syn-local")
