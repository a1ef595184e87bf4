"""Tune ``msar repair --mode auto``'s path rule (``dsp.repair.mode.ModeParams``) on the **valid**
split (never on test). Not part of ``make test``.

Question: which files should ``auto`` send to the hybrid (input kept below its band edge,
resynthesis above) instead of the mask? The rule before this tuning was "measured bandwidth below
6000 Hz", which also takes clean recordings that are narrow at the source (about 5.9 kHz).

Material: ``bench/repair_peers.py``'s clips built from the valid split (``build_clips``, speakers in
turn), damaged by every damage type of ``make bench-repair`` plus, for tuning only, mildly noisy
speech (white, pink or recorded noise at 10-30 dB SNR) and a 5-5.5 kHz low-pass (what 11.025 kHz
sources such as the game dialogue read), seeded per file, written as 16 kHz PCM-16 and read back.

Each file goes through the CLI's own per-file code (``msar_cli/repair.py`` ``_repair_task``) twice
under ``--mode auto``: with ``band_limited_hz = 0`` (every file takes the mask path, gaps are still
filled from the resynthesis, as ``auto`` does) and with ``band_limited_hz`` at the analysis' cap
(every file from 1.5 kHz up to 0.85 x Nyquist takes the hybrid). Both outputs are scored against
the clean clip (PESQ-wb, Q, LSD above 4 kHz); ``--mode mask`` is scored too, as the issue's
reference. A rule is then evaluated without rerunning anything: per file it picks one of the two
outputs from the measurements (bandwidth, the band edge's steepness, SNR).

    python bench/tune_mode.py [--files 16] [--out reports/mode-tuning.csv]

Prints the tables (markdown) and writes the per-file CSV.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import repair_peers as rp  # noqa: E402

from msar.dsp import analysis, audio, metrics  # noqa: E402
from msar.dsp.repair.mode import ModeParams  # noqa: E402
from msar.dsp.scoring import ScoreParams, make_pair, score_pair  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR = rp.SR
DAMAGES = dict(rp.DAMAGES)
DAMAGES.update({
    "noise-mild": ("noise:kind=white|pink|file,snr_db=10..30", "white, pink or recorded noise, 10-30 dB SNR"),
    "lowpass-5k": ("lowpass:cutoff_hz=5000..5500", "low-pass at 5-5.5 kHz (an 11.025 kHz source)"),
})
#: The issue's "clean or mildly noisy speech", which auto must never make worse than mask.
GENTLE = ("clean", "noise-mild")
#: The band-limited damage the resynthesis path is for.
BAND = ("telephone", "lowpass-4k", "codec", "lowpass-5k")


def edge_features(x: np.ndarray, sr: int, bw: float, params=analysis.AnalysisParams()) -> dict:
    """Candidate measures of how steep the band edge at ``bw`` is: the long-term spectrum (smoothed
    as :func:`analysis.estimate_bandwidth` smooths it) ``d`` Hz below the edge over its level at the
    edge, dB (the edge sits ``bandwidth_drop_db`` below the 0.1-4 kHz maximum)."""
    mono = x - x.mean()
    power, freqs = analysis._stft_power(mono, sr, params.stft_ms)
    ltas = power.mean(axis=0).astype(np.float64)
    width = max(1, int(round(150.0 / (freqs[1] - freqs[0]))))
    ltas = np.convolve(ltas, np.ones(width) / width, mode="same")
    level = lambda f: 10 * math.log10(max(float(np.interp(f, freqs, ltas)), 1e-30))  # noqa: E731
    out = {}
    for d in (250, 500, 1000):
        out[f"edge{d}_db"] = level(bw - d) - level(bw) if bw - d > 0 else math.nan
    return out


def run_one(task, src: str, dst: str, mp: ModeParams, ref: np.ndarray, mode: str = "auto") -> dict:
    done = task(src, dst, mp, mode)
    y, info = audio.read(dst)
    p = make_pair(ref, SR, y, info.sr)
    s = score_pair(p, ScoreParams(extra_metrics=("pesq_wb",)))
    return {"path": done.row.get("mode", "mask"), "pesq_wb": s["pesq_wb"], "q": s["q"],
            "lsd_4k": metrics.lsd(p.ref, p.out, SR, min_hz=4000.0)}


def measure(args) -> list[dict]:
    from msar.cli.repair import _repair_task
    from msar.dsp.repair.loudness import LoudnessParams
    from msar.dsp.repair.pipeline import PipelineParams, select_stages
    from msar.onnx_models import registry

    params = PipelineParams(stages=select_stages("all", ""), force=False,
                            loudness=replace(LoudnessParams(), target_lufs=None))
    model = str(registry.resolve("multispeaker-repair", task="repair"))
    resynth_model = str(registry.resolve("multispeaker-resynth", task="resynth"))

    def task(src, dst, mp, mode):
        return _repair_task(src, dst, params, model, None, mode, None, resynth_model, None, mode_params=mp)

    never = ModeParams(band_limited_hz=0.0)
    always = ModeParams(band_limited_hz=0.85 * SR / 2)
    damages = {d: DAMAGES[d] for d in args.damages.split(",")} if args.damages else DAMAGES
    clips, speech = rp.build_clips(args.corpus, args.files, args.seconds, split="valid")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        items, skipped = rp.make_material(Path(tmp), args.corpus, clips, speech, args.seed, split="valid",
                                          damages=damages)
        if skipped:
            print(f"not made: {skipped}", file=sys.stderr)
        for it in items:
            x = audio.to_mono(audio.read(it["src"])[0])
            a = analysis.analyze(x, SR)
            row = {"damage": it["damage"], "clip": it["clip"], "speaker": it["speaker"],
                   "bandwidth_hz": a.bandwidth_hz, "snr_db": a.snr_db, "voiced_fraction": a.voiced_fraction,
                   **edge_features(x, SR, a.bandwidth_hz)}
            for name, mp, mode in (("mask", never, "mask"), ("masked", never, "auto"), ("hybrid", always, "auto")):
                r = run_one(task, it["src"], str(Path(tmp) / f"{name}.wav"), mp, it["ref"], mode)
                row.update({f"{name}_{k}": v for k, v in r.items()})
            rows.append(row)
            print(f"{it['damage']:>16} {it['clip']:<24} bw {a.bandwidth_hz:5.0f} edge500 {row['edge500_db']:5.1f} "
                  f"snr {a.snr_db:5.1f}  mask {row['mask_pesq_wb']:.3f} masked {row['masked_pesq_wb']:.3f} "
                  f"hybrid {row['hybrid_pesq_wb']:.3f} ({row['hybrid_path']})", file=sys.stderr, flush=True)
    return rows


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in r.items():
            if k not in ("damage", "clip", "speaker") and not k.endswith("_path"):
                r[k] = float(v) if v not in ("", None) else math.nan
    return rows


# ----------------------------------------------------------------------------- rules


def takes_hybrid(r: dict, bw_below: float, edge_min: float | None = None, edge_key: str = "edge500_db") -> bool:
    """Whether a rule sends file ``r`` to the hybrid: bandwidth below ``bw_below`` (and from the
    pure-resynthesis floor up) and, if ``edge_min`` is given, a band edge at least that steep."""
    if r["hybrid_path"] != "hybrid":  # mask (no voice, too wide) or pure resynthesis: the same either way
        return False
    if not r["bandwidth_hz"] < bw_below:
        return False
    return edge_min is None or (np.isfinite(r[edge_key]) and r[edge_key] >= edge_min)


def outcome(rows, rule) -> dict:
    """Per damage type: mean PESQ-wb, Q, LSD > 4 kHz of the outputs ``rule`` picks, files sent to the
    hybrid, and files of the gentle types made worse than ``--mode mask`` on PESQ-wb."""
    out = {}
    for d in dict.fromkeys(r["damage"] for r in rows):
        sel = [r for r in rows if r["damage"] == d]
        pick = ["hybrid" if rule(r) else "masked" for r in sel]
        m = lambda k: float(np.mean([r[f"{p}_{k}"] for r, p in zip(sel, pick)]))  # noqa: E731
        worse = sum(r[f"{p}_pesq_wb"] < r["mask_pesq_wb"] - 1e-6 for r, p in zip(sel, pick))
        out[d] = {"pesq_wb": m("pesq_wb"), "q": m("q"), "lsd_4k": m("lsd_4k"), "hybrid": pick.count("hybrid"),
                  "n": len(sel), "worse": worse}
    return out


def summarize(rows, rules: dict) -> list[str]:
    damages = list(dict.fromkeys(r["damage"] for r in rows))
    band = [d for d in BAND if d in damages]
    gentle = [d for d in GENTLE if d in damages]
    L = ["| rule | hybrid files (band-limited types / gentle types / other) | PESQ-wb band-limited types "
         "| PESQ-wb clean / mildly noisy (mask: " + " / ".join(
             f"{np.mean([r['mask_pesq_wb'] for r in rows if r['damage'] == d]):.3f}" for d in gentle)
         + ") | gentle files worse than mask | PESQ-wb all types | Q all types | LSD > 4 kHz band-limited |",
         "|---|---|---:|---|---:|---:|---:|---:|"]
    for name, rule in rules.items():
        o = outcome(rows, rule)
        h = lambda ds: sum(o[d]["hybrid"] for d in ds)  # noqa: E731
        other = [d for d in damages if d not in band and d not in gentle]
        L.append(f"| {name} | {h(band)} / {h(gentle)} / {h(other)} | "
                 f"{np.mean([o[d]['pesq_wb'] for d in band]):.3f} | "
                 + " / ".join(f"{o[d]['pesq_wb']:.3f}" for d in gentle)
                 + f" | {sum(o[d]['worse'] for d in gentle)} | {np.mean([o[d]['pesq_wb'] for d in damages]):.4f} | "
                 f"{np.mean([o[d]['q'] for d in damages]):.5f} | {np.mean([o[d]['lsd_4k'] for d in band]):.2f} |")
    return L


def per_type(rows, rules: dict) -> list[str]:
    damages = list(dict.fromkeys(r["damage"] for r in rows))
    L = ["| damage | files | mask (`--mode mask`) | " + " | ".join(rules) + " |", "|---|---:|---:|" + "---:|" * len(rules)]
    outs = {n: outcome(rows, rule) for n, rule in rules.items()}
    for d in damages:
        mask = np.mean([r["mask_pesq_wb"] for r in rows if r["damage"] == d])
        L.append(f"| {d} | {outs[next(iter(outs))][d]['n']} | {mask:.3f} | "
                 + " | ".join(f"{o[d]['pesq_wb']:.3f} ({o[d]['hybrid']} hybrid)" for o in outs.values()) + " |")
    return L


def features_table(rows) -> list[str]:
    """Where the measurements of each damage type lie: bandwidth and band-edge steepness."""
    L = ["| damage | bandwidth Hz min / median / max | edge 500 Hz dB min / median / max (files < 6.8 kHz) "
         "| hybrid better than mask-side on PESQ-wb |", "|---|---|---|---:|"]
    for d in dict.fromkeys(r["damage"] for r in rows):
        sel = [r for r in rows if r["damage"] == d]
        bw = np.array([r["bandwidth_hz"] for r in sel])
        e = np.array([r["edge500_db"] for r in sel if r["hybrid_path"] == "hybrid"])
        e = e[np.isfinite(e)]
        es = f"{e.min():.1f} / {np.median(e):.1f} / {e.max():.1f} ({len(e)})" if len(e) else "— (0)"
        better = sum(r["hybrid_pesq_wb"] > r["masked_pesq_wb"] + 1e-6 for r in sel if r["hybrid_path"] == "hybrid")
        L.append(f"| {d} | {bw.min():.0f} / {np.median(bw):.0f} / {bw.max():.0f} | {es} | "
                 f"{better} of {sum(r['hybrid_path'] == 'hybrid' for r in sel)} |")
    return L


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path, default=ROOT / "cache" / "corpus")
    ap.add_argument("--damages", default="", help="comma list (default: all)")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "mode-tuning.csv")
    ap.add_argument("--from-csv", action="store_true", help="evaluate the rules on --out's rows, run nothing")
    args = ap.parse_args(argv)
    if args.from_csv:
        rows = read_rows(args.out)
    else:
        rows = measure(args)
        with open(args.out, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
        rows = read_rows(args.out)
    rules = {"mask always": lambda r: False}
    for t in (4500, 5000, 5250, 5500, 5600, 5700, 5800, 6000, 6400, 6800):
        rules[f"bw < {t}"] = (lambda t: lambda r: takes_hybrid(r, t))(t)
    for t in (6000, 6800):
        for e in (6, 10, 15, 20):
            rules[f"bw < {t}, edge500 >= {e} dB"] = (lambda t, e: lambda r: takes_hybrid(r, t, e))(t, e)
    print(f"valid split, {len({r['clip'] for r in rows})} clips x {len({r['damage'] for r in rows})} damage types\n")
    print("\n".join(features_table(rows)) + "\n")
    print("\n".join(summarize(rows, rules)) + "\n")
    print("\n".join(per_type(rows, {k: v for k, v in rules.items() if k in (
        "bw < 5500", "bw < 6000", "bw < 6800", "bw < 6000, edge500 >= 10 dB")})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
