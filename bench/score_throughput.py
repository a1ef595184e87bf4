"""Scoring throughput of `msar score`, in x real time per core, with the standard metrics
(PESQ, STOI) measured in the same run as peers.

Pairs are built from the bundled real demo speech: each reference is the three demo utterances
tiled to ~30 s, and its output is the same with white noise at 10 dB SNR. Per-core figures use
process CPU time of a single process; the CLI figure is wall time with all cores.

    python bench/score_throughput.py --out reports/bench-score.md
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from msar.dsp import audio, metrics
from msar.dsp.loudness import loudness_contour
from msar.dsp.scoring import ScoreParams, score_files
from msar.dsp.world import f0_contour

ROOT = Path(__file__).resolve().parent.parent


def make_pairs(folder: Path, n_pairs: int, seconds: float) -> tuple[list[tuple[str, str]], float]:
    speech = [audio.to_mono(audio.read(p)[0]) for p in sorted((ROOT / "demo" / "speech").glob("*.flac"))]
    sr = 16000
    rng = np.random.default_rng(0)
    pairs, total = [], 0.0
    for i in range(n_pairs):
        parts, n = [], 0
        while n < seconds * sr:
            part = speech[(i + len(parts)) % len(speech)]
            parts.append(part)
            n += len(part)
        x = np.concatenate(parts)
        noise = rng.standard_normal(len(x)).astype(np.float32)
        noise *= np.sqrt(np.mean(x**2) / 10 / np.mean(noise**2))
        (folder / "ref").mkdir(exist_ok=True)
        (folder / "out").mkdir(exist_ok=True)
        ref, out = folder / "ref" / f"{i:03d}.wav", folder / "out" / f"{i:03d}.wav"
        sf.write(ref, x, sr)
        sf.write(out, x + noise, sr)
        pairs.append((str(ref), str(out)))
        total += len(x) / sr
    return pairs, total


def cpu_rate(fn, audio_s: float, repeat: int = 3) -> float:
    """x real time per core of ``fn``: audio seconds per CPU second of this process, from the
    fastest of ``repeat`` timed calls after one untimed warm-up call (on a shared 2-core machine
    single timings varied by up to 1.7x)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return audio_s / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="reports/bench-score.md")
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pairs, total_s = make_pairs(tmp, args.pairs, args.seconds)
        x = audio.to_mono(audio.read(pairs[0][0])[0])
        y = audio.to_mono(audio.read(pairs[0][1])[0])
        one_s = len(x) / 16000
        per_pair = []
        for name, params, subset in [("msar score, default (dio)", ScoreParams(), pairs),
                                     ("msar score --f0 harvest (first pair only: slow)",
                                      ScoreParams(f0_method="harvest"), pairs[:1])]:
            seconds = total_s * len(subset) / len(pairs)
            per_pair.append((name, cpu_rate(lambda: [score_files(r, o, params) for r, o in subset], seconds,
                                            repeat=1 if params.f0_method == "harvest" else 3)))
        rows = []

        def per_signal(name, fn):
            rows.append((name, "per signal", cpu_rate(fn, one_s)))

        per_signal("F0 dio+stonemask (msar default, 8 kHz analysis)", lambda: f0_contour(x, 16000, "dio"))
        import pyworld

        x64 = x.astype(np.float64)
        per_signal("F0 dio+stonemask at the full 16 kHz (pyworld as is)",
                   lambda: pyworld.stonemask(x64, *pyworld.dio(x64, 16000, frame_period=5.0), 16000))
        per_signal("F0 harvest (--f0 harvest, 8 kHz analysis)", lambda: f0_contour(x, 16000, "harvest"))
        per_signal("loudness contour (K-weighted RMS)", lambda: loudness_contour(x, 16000))
        peers = []
        for name in ("pesq_wb", "stoi", "si_sdr", "lsd"):
            peers.append((name, cpu_rate(lambda: metrics.optional_metric(name, x, y, 16000), one_s)))

        cli = []
        for jobs in (1, os.cpu_count() or 1):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "msar.cli.main", "score", str(tmp / "ref"), str(tmp / "out"),
                            "-q", "-j", str(jobs), "--per-file", str(tmp / "p.csv")], check=True)
            cli.append((jobs, total_s / (time.perf_counter() - start)))

    lines = [
        "# `msar score` throughput",
        "",
        f"Measured by `make bench` (`bench/score_throughput.py`) on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}.",
        f"Load average (1 min) when the report was written: {os.getloadavg()[0]:.1f}; on this 2-vCPU machine a "
        "busy sibling slowed the same call up to 1.7x, so best-of-3 per-signal figures (short calls) can land "
        "in quiet moments while the long per-pair loop averages over the load.",
        f"Input: {args.pairs} pairs of {args.seconds:.0f} s real 16 kHz speech (the demo utterances tiled), "
        "output = reference + white noise at 10 dB SNR.",
        "",
        "## Per core (process CPU time)",
        "",
        "| stage | unit | x real time per core |",
        "|---|---|---:|",
    ]
    lines += [f"| {n} | {u} | {r:.0f} |" for n, u, r in rows]
    lines += [f"| {n} | per pair (two signals) | {r:.0f} |" for n, r in per_pair]
    lines += ["", "## Peers in the same run: standard metrics, per pair", "",
              "| metric | x real time per core | msar default score is ... times faster |", "|---|---:|---:|"]
    lines += [f"| {n} | {r:.0f} | {per_pair[0][1] / r:.2f} |" for n, r in peers]
    lines += ["", "## Whole command (wall clock, including start-up)", "", "| -j | x real time |", "|---:|---:|"]
    lines += [f"| {j} | {r:.0f} |" for j, r in cli]
    lines += ["", "The issue's target is >= 200x real time per core with `--f0 dio` on 16 kHz speech. WORLD's F0 "
              "analysis bounds it: msar analyses F0 at 8 kHz (same contour, 2.5x faster than at 16 kHz), "
              "but a pair needs two F0 contours, so the per-pair figure is about half the per-signal one.", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
