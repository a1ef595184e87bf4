"""Throughput of `msar degrade`, `msar repair` and `msar score` on a loopback Dask cluster with 1
and 2 workers (one thread each), next to the local backend with -j 1 and -j 2, over files cut
from the bundled real demo speech.

    python bench/dask_throughput.py --files 100 --out reports/bench-dask.md

Each configuration runs the full command (process start, planning, CSVs) in a subprocess; the
workers are started once per cluster size and warmed up with one run, so the table shows steady
state throughput. Best of ``--repeats`` timed runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

RECIPE = "noise:snr=10,reverb:model=exp,rt60_s=0.5,clip:fraction=0.01"


ROOT = Path(__file__).resolve().parent.parent


def make_files(folder: Path, n: int, duration_s: float, sr: int) -> float:
    """``n`` clips of ``duration_s`` cut at random offsets from the demo takes played back to back."""
    rng = np.random.default_rng(0)
    speech = np.concatenate([sf.read(str(p), dtype="float32")[0]
                             for p in sorted((ROOT / "demo" / "speech").glob("*.flac"))])
    need = int(duration_s * sr)
    speech = np.tile(speech, int(np.ceil(2 * need / len(speech))))
    for i in range(n):
        start = int(rng.integers(0, len(speech) - need))
        sf.write(str(folder / f"f{i:03d}.wav"), speech[start:start + need], sr, subtype="PCM_16")
    return n * duration_s


def timed(args: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(args)}\n{proc.stderr}")
        best = min(best, elapsed)
    return best


def commands(clean: Path, work: Path, backend: list[str]) -> dict[str, list[str]]:
    msar = [sys.executable, "-m", "msar.cli.main"]
    return {"degrade": [*msar, "degrade", str(clean), str(work / "out"), "-r", RECIPE, "--seed", "1",
                        "--overwrite", "-q", *backend],
            "repair": [*msar, "repair", str(work / "out"), str(work / "rep"), "--overwrite", "-q", *backend],
            "score": [*msar, "score", str(clean), str(work / "out"), "-q", "--per-file", str(work / "s.csv"),
                      *backend]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per file")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="reports/bench-dask.md")
    args = parser.parse_args()

    from distributed import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="msar-bench-dask-"))
    clean = work / "clean"
    clean.mkdir()
    audio_s = make_files(clean, args.files, args.duration, 16000)
    rows = []
    try:
        for label, jobs in (("local -j 1", 1), ("local -j 2", 2)):
            cmds = commands(clean, work, ["-j", str(jobs)])
            subprocess.run(cmds["degrade"], check=True, capture_output=True)  # outputs for score
            load = os.getloadavg()[0]
            rows.append((label, {name: timed(cmd, args.repeats) for name, cmd in cmds.items()}, load))
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=":0", silence_logs=40) as cluster:
                cmds = commands(clean, work, ["--backend", "dask", "--scheduler", cluster.scheduler_address])
                subprocess.run(cmds["degrade"], check=True, capture_output=True)  # warm-up
                load = os.getloadavg()[0]
                rows.append((f"dask, {workers} worker{'s' * (workers > 1)}",
                             {name: timed(cmd, args.repeats) for name, cmd in cmds.items()}, load))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    names = ("degrade", "repair", "score")
    lines = [f"# msar on Dask: {args.files} files of {args.duration:g} s (16 kHz mono real speech, "
             f"{audio_s / 60:.1f} min of audio)", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; best of "
             f"{args.repeats}. Wall time of the whole command (process start, planning, CSVs), in seconds, "
             "and x real time. The load average (1 min) when each configuration started says how much "
             "else was running: with other jobs on the two cores, a second worker has little to gain.", "",
             f"Recipe for degrade: `{RECIPE}`; repair: the default pipeline on the degraded files; "
             "score: the default metrics (mse, cos_pitch, cos_loudness, q).", "",
             "| backend | load | " + " | ".join(f"{n} s | {n} x RT" for n in names) + " |",
             "|---|---|" + "---|---|" * len(names)]
    for label, t, load in rows:
        lines.append(f"| {label} | {load:.1f} | " + " | ".join(f"{t[n]:.1f} | {audio_s / t[n]:.0f}" for n in names) + " |")
    by = {label: t for label, t, _ in rows}
    lines += ["", "Speed-up of two over one (time with 1 / time with 2):", ""]
    for one, two in (("local -j 1", "local -j 2"), ("dask, 1 worker", "dask, 2 workers")):
        lines.append(f"- {two.split(',')[0].split(' -')[0]}: " + ", ".join(f"{n} {by[one][n] / by[two][n]:.2f}x" for n in names))
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
