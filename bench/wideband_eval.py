"""``msar repair --mode auto`` on band-limited fullband speech, before and after the resynthesis was
synthesized at the file's rate (``ResynthParams.wideband``): is the band above 8 kHz filled, and does
nothing below 8 kHz get worse? Not part of ``make test``.

Material: the corpus' fullband clean speech of one split (``bench/wideband_tune.py``'s
``fullband_clips``: the 48 kHz copies, one or more clips of about ``--seconds`` per speaker), every
other clip resampled to 44.1 kHz, so both rates are measured. Each clip is damaged three ways at its
own rate: a 4 kHz low-pass, the telephone preset (300-3400 Hz, G.711 mu-law), and an 8 kHz round trip
(resampled to 8 kHz and back: nothing above 4 kHz), written as PCM-16 WAV at that rate.

Each file goes through the CLI's per-file code (``msar_cli/repair.py`` ``_repair_task``, ``--mode auto``,
every other option at its default) twice: ``before`` with ``ResynthParams(wideband=False)`` (the
resynthesis at 16 kHz, resampled: the fill stops at 8 kHz) and ``after`` (the default). Scored against
the clean clip at the file's rate: LSD above 8 kHz and over the whole band (``metrics.lsd``), and PESQ-wb
(both resampled to 16 kHz). Cost: CPU seconds of this process per file (one thread, file read and
write included, model loading excluded by a warm-up file), as x real time per core, on the 48 kHz
files that took the hybrid.

    PYTHONPATH=. python bench/wideband_eval.py --split valid [--clips 2] [--csv reports/wideband-valid.csv]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wideband_tune import fullband_clips  # noqa: E402

from msar.dsp import audio, metrics  # noqa: E402
from msar.dsp.degrade.recipe import degrade, fit_full_scale, parse_recipe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DAMAGES = ("lowpass-4k", "telephone", "8k-roundtrip")


def damage(x: np.ndarray, sr: int, kind: str) -> np.ndarray:
    if kind == "8k-roundtrip":
        return audio.resample(audio.resample(x, sr, 8000), 8000, sr)[: len(x)]
    recipe = {"lowpass-4k": "lowpass:cutoff_hz=4000", "telephone": "telephone"}[kind]
    y, _ = degrade(x, sr, parse_recipe(recipe), np.random.default_rng(1))
    return np.asarray(y, np.float32).reshape(-1)


def scores(ref: np.ndarray, out: np.ndarray, sr: int) -> dict:
    n = min(len(ref), len(out))
    ref, out = ref[:n], out[:n]
    r16, o16 = audio.resample(ref, sr, 16000), audio.resample(out, sr, 16000)
    return {"lsd_8k": metrics.lsd(ref, out, sr, min_hz=8000.0), "lsd": metrics.lsd(ref, out, sr),
            "pesq_wb": metrics.optional_metric("pesq_wb", r16, o16, 16000)}


def main(argv=None) -> int:
    from msar.cli.repair import _repair_task
    from msar.dsp.repair.loudness import LoudnessParams
    from msar.dsp.repair.pipeline import PipelineParams, select_stages
    from msar.onnx_models import registry, resynth

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "cache" / "corpus")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--clips", type=int, default=2, help="clips per speaker")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--csv", type=Path)
    ap.add_argument("--from-csv", type=Path, help="print the tables of an earlier run's --csv without running")
    ap.add_argument("--wide-gains", default="", help="comma list of ResynthParams.wide_fill_gain_db to compare "
                    "(default: the shipped value only)")
    ap.add_argument("--fft-sizes", default="", help="comma list of ResynthParams.wide_fft_size to compare "
                    "(after the default system)")
    args = ap.parse_args(argv)

    params = PipelineParams(stages=select_stages("all", ""), force=False,
                            loudness=replace(LoudnessParams(), target_lufs=None))
    model = str(registry.resolve("multispeaker-repair", task="repair"))
    resynth_model = str(registry.resolve("multispeaker-resynth", task="resynth"))
    plain = resynth.ResynthParams

    systems = [("before", {"wideband": False})]
    if args.wide_gains:
        systems += [(f"after{float(g):+g}", {"wideband": True, "wide_fill_gain_db": float(g)})
                    for g in args.wide_gains.split(",")]
    else:
        systems += [("after", {"wideband": True})]
    for n in filter(None, args.fft_sizes.split(",")):
        systems += [(f"after-fft{int(n)}", {"wideband": True, "wide_fft_size": int(n)})]
    tags = [t for t, _ in systems]
    last = tags[-1]

    def run(src, dst, kw: dict):
        # _choose_neural builds its ResynthParams from this module attribute
        resynth.ResynthParams = partial(plain, **kw)
        try:
            t = time.process_time()
            done = _repair_task(src, dst, params, model, None, "auto", None, resynth_model, None)
            return done, time.process_time() - t
        finally:
            resynth.ResynthParams = plain

    if args.from_csv:
        return summarize(read_rows(args.from_csv), tags, args.split)
    clips = fullband_clips(args.corpus, args.split, args.clips, args.seconds)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i, (name, x48, sr48) in enumerate(clips):
            sr = 44100 if i % 2 else sr48
            x = audio.resample(x48, sr48, sr).astype(np.float32) if sr != sr48 else x48.astype(np.float32)
            for kind in DAMAGES:
                y, gain_db = fit_full_scale(damage(x, sr, kind)[:, None])
                ref = x * np.float32(10 ** (gain_db / 20))
                src = tmp / f"{name}-{kind}.wav"
                audio.write(src, y, sr, subtype="PCM_16")
                if not rows:  # warm-up: models loaded before anything is timed
                    run(str(src), str(tmp / "warm.wav"), {})
                row = {"clip": name, "damage": kind, "sr": sr, "duration_s": len(x) / sr}
                yin = audio.to_mono(audio.read(src)[0])
                row.update({f"input_{k}": v for k, v in scores(ref, yin, sr).items()})
                for tag, kw in systems:
                    dst = tmp / f"{tag}.wav"
                    done, cpu = run(str(src), str(dst), kw)
                    out = audio.to_mono(audio.read(dst)[0])
                    row.update({f"{tag}_{k}": v for k, v in scores(ref, out, sr).items()})
                    row[f"{tag}_path"] = done.row.get("mode", "")
                    row[f"{tag}_cpu_s"] = cpu
                    dst.unlink()
                rows.append(row)
                print(f"{name:<20} {sr} {kind:<13} {row[last + '_path']:<7} LSD>8k "
                      + " ".join(f"{t} {row[t + '_lsd_8k']:5.2f}" for t in ["input"] + tags) + "  PESQ-wb "
                      + " ".join(f"{t} {row[t + '_pesq_wb']:.3f}" for t in ["input"] + tags), file=sys.stderr, flush=True)
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return summarize(rows, tags, args.split)


def read_rows(path: Path) -> list[dict]:
    rows = []
    for r in csv.DictReader(open(path)):
        rows.append({k: (v if k == "clip" or k == "damage" or k.endswith("_path") else float(v)) for k, v in r.items()})
    return rows


def summarize(rows: list[dict], tags: list[str], split: str) -> int:
    last = tags[-1]
    clips = sorted({r["clip"] for r in rows})
    print(f"\n{split} split: {len(clips)} clips ({sum(r['sr'] == 48000 for r in rows) // len(DAMAGES)} at 48 kHz, "
          f"{sum(r['sr'] == 44100 for r in rows) // len(DAMAGES)} at 44.1 kHz), "
          f"{sum(r['duration_s'] for r in rows) / len(DAMAGES):.1f} s each damage; auto took: "
          + ", ".join(f"{p} {sum(r[last + '_path'] == p for r in rows)}" for p in sorted({r[last + '_path'] for r in rows})))
    print("\n| damage | system | LSD > 8 kHz (dB) | LSD whole band (dB) | PESQ-wb |")
    print("|---|---|---:|---:|---:|")
    for kind in DAMAGES + ("all",):
        rs = [r for r in rows if kind in ("all", r["damage"])]
        for tag in ["input"] + tags:
            m = lambda k: np.nanmean([r[f"{tag}_{k}"] for r in rs])  # noqa: E731
            print(f"| {kind} | {tag} | {m('lsd_8k'):.2f} | {m('lsd'):.2f} | {m('pesq_wb'):.3f} |")
    print()
    for tag in tags[1:]:
        d = np.array([r[f"{tag}_pesq_wb"] - r["before_pesq_wb"] for r in rows])
        print(f"PESQ-wb {tag} - before: mean {d.mean():+.4f}, min {d.min():+.4f}, max {d.max():+.4f}; LSD > 8 kHz "
              f"lower on {sum(r[tag + '_lsd_8k'] < r['before_lsd_8k'] for r in rows)} of {len(rows)} files, whole-band "
              f"LSD lower on {sum(r[tag + '_lsd'] < r['before_lsd'] for r in rows)}")
    for rate in (48000, 44100):
        hy = [r for r in rows if r["sr"] == rate and all(r[t + "_path"] == "hybrid" for t in tags)]
        if hy:
            dur = sum(r["duration_s"] for r in hy)
            print(f"x real time per core, hybrid files at {rate} Hz ({len(hy)} files, {dur:.1f} s): "
                  + ", ".join(f"{t} {dur / sum(r[t + '_cpu_s'] for r in hy):.1f}" for t in tags))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
