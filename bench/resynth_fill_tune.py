"""Filling lost samples from the resynthesis (``onnx_models.resynth.fill_missing``) against the DSP
concealment alone, on dropouts and clipping (issue 9: "fill only what is missing ... inside gaps,
at clipped peaks ... with phase-consistent cross-fades"). Not part of ``make test``.

Material: ``bench/repair_peers.py``'s clips of the chosen ``--split`` (``valid`` to decide, the
default; ``test`` only to report a decision already made), damaged by its dropouts and clipping
recipes (same seeding). Each file goes through the DSP stages of ``msar repair`` (``--skip
denoise``: the analysis, then declip / dropout concealment as the pipeline runs them), then the
variants fill the samples the analysis marked lost (``analysis.dropout_mask`` /
``analysis.clip_mask`` of the damaged input) from the resynthesis of that output.

Metrics against the clean clip: PESQ-wb and Q over the whole file; inside the lost samples the SNR
(clean power over error power, dB) and the LSD of the lost stretches (each padded by 16 ms,
concatenated; ``metrics.lsd``).

    python bench/resynth_fill_tune.py [--split valid] [--files 8] [--out reports/resynth-fill-valid.csv]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import repair_peers as rp  # noqa: E402

from msar.dsp import analysis, audio, metrics  # noqa: E402
from msar.dsp.repair.pipeline import PipelineParams, repair, select_stages  # noqa: E402
from msar.dsp.scoring import ScoreParams, make_pair, score_pair  # noqa: E402
from msar.onnx_models import resynth as RS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR = rp.SR
DAMAGES = {d: rp.DAMAGES[d] for d in ("dropouts", "clipping")}
#: Variants per damage: name -> FillParams (None: the DSP concealment alone).
VARIANTS = {
    "dropouts": {"dsp": None, "fill fade 5 ms": RS.FillParams(fade_ms=5.0), "fill fade 10 ms": RS.FillParams(),
                 "fill fade 20 ms": RS.FillParams(fade_ms=20.0),
                 "fill fade 10 ms, no lag": RS.FillParams(max_lag_ms=0.0),
                 "fill fade 40 ms": RS.FillParams(fade_ms=40.0),
                 "fill fade 20 ms, mix 0.5": RS.FillParams(fade_ms=20.0, mix=0.5),
                 "fill fade 60 ms": RS.FillParams(fade_ms=60.0),
                 "fill fade 40 ms, mix 0.75": RS.FillParams(fade_ms=40.0, mix=0.75)},
    "clipping": {"dsp": None, "fill fade 0.5 ms": RS.FillParams(fade_ms=0.5),
                 "fill fade 0.5 ms, no lag": RS.FillParams(fade_ms=0.5, max_lag_ms=0.0)},
}


def lost_mask(x: np.ndarray, damage: str) -> np.ndarray:
    """The samples the pipeline treats as lost in damaged mono ``x``."""
    if damage == "dropouts":
        return analysis.dropout_mask(x[:, None], SR).reshape(-1)
    return analysis.clip_mask(x)[0]


def keep_clip_bound(y: np.ndarray, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A clipped sample's value is a bound: at least the clip level, with its sign (as declip)."""
    y = y.copy()
    bound = x[mask]
    y[mask] = np.where(bound > 0, np.maximum(y[mask], bound), np.minimum(y[mask], bound))
    return y


def gap_metrics(ref: np.ndarray, y: np.ndarray, mask: np.ndarray) -> dict:
    err = float(np.sum((ref[mask] - y[mask]) ** 2))
    snr = 10 * np.log10(float(np.sum(ref[mask] ** 2)) / err) if err > 0 else np.inf
    pad = int(0.016 * SR)
    idx = np.zeros(len(ref), bool)
    for s in np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8)])) == 1):
        e = s + int(np.argmin(mask[s:])) if not mask[s:].all() else len(mask)
        idx[max(0, s - pad):min(len(ref), e + pad)] = True
    return {"gap_snr_db": snr, "gap_lsd": metrics.lsd(ref[idx], y[idx], SR) if idx.sum() > 64 else np.nan,
            "lost_ms": 1000 * mask.sum() / SR}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="valid", choices=("valid", "test"))
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path, default=ROOT / "cache" / "corpus")
    ap.add_argument("--damages", default="dropouts,clipping", help="comma list (dropouts, clipping)")
    ap.add_argument("--variants", default="", help="comma list of variant names to run (default: all; dsp always)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    damages = {d: DAMAGES[d] for d in args.damages.split(",")}
    if args.variants:
        keep = {"dsp", *(v.strip() for v in args.variants.split(","))}
        for d in VARIANTS:
            VARIANTS[d] = {k: v for k, v in VARIANTS[d].items() if k in keep}
    out = args.out or ROOT / "reports" / f"resynth-fill-{args.split}.csv"
    model = RS.load_model()
    params = replace(PipelineParams(stages=select_stages("all", "denoise")))
    clips, speech = rp.build_clips(args.corpus, args.files, args.seconds, split=args.split)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        items, _ = rp.make_material(Path(tmp), args.corpus, clips, speech, args.seed, split=args.split, damages=damages)
        for it in items:
            x = audio.to_mono(audio.read(it["src"])[0])
            mask = lost_mask(x, it["damage"])
            dsp = audio.to_mono(repair(x[:, None], SR, params).y)
            for name, fp in VARIANTS[it["damage"]].items():
                y = dsp if fp is None else RS.fill_missing(dsp, SR, mask, fp, model)
                if it["damage"] == "clipping" and fp is not None:
                    y = keep_clip_bound(y, x, mask)
                p = make_pair(it["ref"], SR, y, SR)
                row = {"damage": it["damage"], "clip": it["clip"], "variant": name,
                       **score_pair(p, ScoreParams(extra_metrics=("pesq_wb",))),
                       **gap_metrics(p.ref, p.out, mask[:len(p.ref)])}
                rows.append(row)
            print(it["damage"], it["clip"], f"{mask.sum()} lost samples", file=sys.stderr, flush=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    print(f"{args.split} split, {len(clips)} clips; mean over files (gap SNR: mean of per-file dB)")
    print("| damage | variant | PESQ-wb | Q | SNR in lost samples dB | LSD around them dB |")
    print("|---|---|---:|---:|---:|---:|")
    for d in damages:
        for v in VARIANTS[d]:
            sel = [r for r in rows if r["damage"] == d and r["variant"] == v]
            m = lambda k: np.nanmean([r[k] for r in sel if np.isfinite(r[k])])  # noqa: E731
            print(f"| {d} | {v} | {m('pesq_wb'):.3f} | {m('q'):.4f} | {m('gap_snr_db'):.2f} | {m('gap_lsd'):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
