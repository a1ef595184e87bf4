"""How the hybrid joins the input's own band and the fill (``ResynthParams.merge``, ``edge_margin_hz``),
measured on the corpus' **valid** split (never on test) through the CLI's per-file code, against
``--mode mask`` on the same files: PESQ-wb, Q and its terms, LSD above 4 kHz, per damage type.

    python bench/hybrid_merge_tune.py [--files 16] [--seed 11] [--out reports/hybrid-merge.csv]

Material: ``bench/repair_peers.py``'s clips and damages (``build_clips``/``make_material``) from the
valid split, the types on which ``--mode auto`` takes the hybrid (telephone, lowpass-4k, codec) and
dropouts (its gaps are filled from the resynthesis under auto). Each variant is ``msar repair
--mode auto`` with ``ResynthParams``' defaults replaced (the CLI builds its params from the class).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import repair_peers as rp  # noqa: E402
import resynth_bench as rb  # noqa: E402

HYBRID_TYPES = ("telephone", "lowpass-4k", "codec")
DAMAGES = (*HYBRID_TYPES, "dropouts")
VARIANTS = {
    "crossover (margin 200)": {"merge": "crossover"},
    "add (margin 200)": {"merge": "add"},
    "add (margin 0)": {"merge": "add", "edge_margin_hz": 0.0},
}
METRICS = ("pesq_wb", "q", "mse", "cos_pitch", "cos_loudness", "lsd_4k")


def run_variant(items, work: Path, mode: str, overrides: dict) -> list[dict]:
    """Every item through ``msar repair --mode MODE`` with ``ResynthParams`` defaults overridden
    (outputs under ``work/out/<mode>[-key-value...]/``)."""
    from msar.onnx_models import resynth as RS

    original = RS.ResynthParams
    RS.ResynthParams = dataclasses.make_dataclass(
        "TunedResynthParams", [(k, type(v), dataclasses.field(default=v)) for k, v in overrides.items()],
        bases=(original,), frozen=True) if overrides else original
    tag = "-".join([mode, *(f"{k}-{v}" for k, v in sorted(overrides.items()))])
    try:
        run = rb.msar_mode_setup(mode)()
        rows = []
        for it in items:
            dst = work / "out" / tag / it["damage"] / f"{it['clip']}.wav"
            dst.parent.mkdir(parents=True, exist_ok=True)
            info = run(it["src"], str(dst))
            row = {"damage": it["damage"], "clip": it["clip"], "path": info["path"]}
            row.update(rb.score_output(it["ref"], str(dst), mos=False))
            rows.append(row)
        return rows
    finally:
        RS.ResynthParams = original


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "cache" / "corpus")
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--work", type=Path, default=ROOT / "cache" / "hybrid-merge")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "hybrid-merge.csv")
    args = ap.parse_args(argv)
    clips, speech = rp.build_clips(args.corpus, args.files, args.seconds, split="valid")
    items, skipped = rp.make_material(args.work, args.corpus, clips, speech, args.seed, split="valid",
                                      damages={d: rp.DAMAGES[d] for d in DAMAGES})
    results = {"mask": run_variant(items, args.work, "mask", {})}
    for name, overrides in VARIANTS.items():
        results[name] = run_variant(items, args.work, "auto", overrides)
    rows = [{"system": s, **r} for s, rs in results.items() for r in rs]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["system", "damage", "clip", "path", *METRICS], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    print(f"valid split, {len(clips)} clips x {', '.join(DAMAGES)} (seed {args.seed})")
    print("| system | damage | " + " | ".join(METRICS) + " |")
    for s, rs in results.items():
        for d in (*DAMAGES, "all"):
            sel = [r for r in rs if d == "all" or r["damage"] == d]
            print(f"| {s} | {d} | " + " | ".join(f"{np.nanmean([r[m] for r in sel]):.5f}" for m in METRICS) + " |")
    # Each variant against mask file by file (resynth_bench's paired statistics): on the types
    # that take the hybrid, then on dropouts (filled from the resynthesis, whatever the merge).
    for s in VARIANTS:
        def ok(d, system, s=s):
            return [r for r in results[s if system == "auto" else "mask"] if r["damage"] == d]

        for label, types in (("hybrid types", HYBRID_TYPES), ("dropouts", ("dropouts",))):
            for m in ("pesq_wb", "q"):
                r = rb.paired(types, ok, m)
                if r["n"] < 2:
                    continue
                print(f"{s}, {label}: {m} - mask {r['mean']:+.5f} (95 % CI {r['low']:+.5f} .. {r['high']:+.5f}; "
                      f"better {r['better']}, equal {r['equal']}, worse {r['worse']}, n {r['n']}); "
                      f"LSD > 4 kHz {np.mean([x['lsd_4k'] for t in types for x in ok(t, 'auto')]):.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
