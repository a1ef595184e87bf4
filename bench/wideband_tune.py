"""Choose how ``dsp.world.world_synthesize_at`` continues the 16 kHz resynthesis' envelope above 8 kHz,
on the corpus' **valid** split (never on test). Not part of ``make test``.

Material: the valid split's fullband clean speech (the 48 kHz copies, ``path_48k``, of 44.1 kHz and
higher sources), one clip of about ``--seconds`` per speaker and clip (``--clips`` per speaker),
utterances concatenated in path order.

Per clip, WORLD at 48 kHz (dio + stonemask at 16 kHz, CheapTrick and D4C at 48 kHz on the same frames)
is the truth above 8 kHz. Two 16 kHz envelopes are extended with each candidate rule and compared with it:

- ``oracle``: the clip's own 16 kHz analysis, coded to 40 dimensions and decoded (what a perfect model
  would give);
- ``model``: the shipped resynthesis model's envelope for the clip low-passed at 4 kHz (the hybrid's case).

Error: per speech frame (48 kHz envelope power within 40 dB of the clip's loudest frame) the RMS over
8 kHz .. 20 kHz of the difference in dB, after removing the frame's mean difference over 1-3.5 kHz
(the hybrid matches the resynthesis' level to the input's below the crossover, so only the shape
above it counts); mean over frames and clips. Also the real aperiodicity above 8 kHz.

    PYTHONPATH=. python bench/wideband_tune.py [--clips 2] [--seconds 4]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from msar.dsp import audio, world  # noqa: E402
from msar.dsp.degrade.recipe import parse_recipe  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR16 = 16000

#: (slope_min, slope_max) dB/octave; equal bounds are a fixed slope.
CANDIDATES = [(s, s) for s in (0.0, -3.0, -6.0, -9.0, -12.0, -15.0, -18.0)] + [
    (-24.0, 0.0), (-18.0, -3.0), (-15.0, -3.0), (-12.0, -3.0), (-15.0, -6.0), (-12.0, -6.0), (-18.0, -6.0)]


def fullband_clips(corpus: Path, split: str, clips_per_speaker: int, seconds: float) -> list[tuple[str, np.ndarray, int]]:
    """``(name, x, sr)``: per speaker of ``split`` with 48 kHz copies, up to ``clips_per_speaker`` clips of
    about ``seconds`` (utterances in path order, concatenated)."""
    rows = [r for r in csv.DictReader(open(corpus / "manifest.csv"))
            if r["split"] == split and r["section"] == "clean" and r["path_48k"]]
    by: dict[str, list[str]] = {}
    for r in sorted(rows, key=lambda r: r["path"]):
        by.setdefault(r["speaker"], []).append(str(corpus / r["path_48k"]))
    out = []
    for s in sorted(by):
        files = by[s]
        k = 0
        for c in range(clips_per_speaker):
            parts, n, sr = [], 0, None
            while k < len(files) and (sr is None or n < seconds * sr):
                x, info = audio.read(files[k])
                k += 1
                sr = info.sr
                parts.append(audio.to_mono(x))
                n += len(parts[-1])
            if sr is None or n < 0.5 * seconds * sr:
                break
            out.append((f"{s}-{c}", np.concatenate(parts)[: int(2 * seconds * sr)].astype(np.float64), sr))
    return out


def shape_error(est: np.ndarray, ref: np.ndarray, f: np.ndarray, frames: np.ndarray) -> float:
    db = lambda s: 10 * np.log10(np.maximum(s, 1e-30))  # noqa: E731
    d = db(est[frames]) - db(ref[frames])
    anchor = (f >= 1000) & (f <= 3500)
    band = (f >= 8000) & (f <= 20000)
    d = d - d[:, anchor].mean(axis=1, keepdims=True)
    return float(np.mean(np.sqrt(np.mean(d[:, band] ** 2, axis=1)))), float(np.mean(d[:, band]))


def shape_error_band(est, ref, f, frames, lo, hi) -> float:
    """Mean difference in dB (estimate minus truth) over ``lo .. hi`` Hz, anchored as :func:`shape_error`."""
    db = lambda s: 10 * np.log10(np.maximum(s, 1e-30))  # noqa: E731
    d = db(est[frames]) - db(ref[frames])
    d = d - d[:, (f >= 1000) & (f <= 3500)].mean(axis=1, keepdims=True)
    return float(np.mean(d[:, (f >= lo) & (f <= hi)]))


def main(argv=None) -> int:
    import pyworld
    from msar.onnx_models import resynth

    ap_ = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap_.add_argument("--corpus", type=Path, default=ROOT / "cache" / "corpus")
    ap_.add_argument("--split", default="valid")
    ap_.add_argument("--clips", type=int, default=2)
    ap_.add_argument("--seconds", type=float, default=4.0)
    args = ap_.parse_args(argv)
    model = resynth.load_model()
    lay = model.layout
    lowpass = parse_recipe("lowpass:cutoff_hz=4000")
    from msar.dsp.degrade.recipe import degrade
    errs = {k: {c: [] for c in CANDIDATES} for k in ("oracle", "model")}
    top_err = {"oracle": [], "model": []}
    ap_voiced, ap_unvoiced, slopes_true, slopes_fit = [], [], [], []
    clips = fullband_clips(args.corpus, args.split, args.clips, args.seconds)
    for name, x, sr in clips:
        x16 = np.ascontiguousarray(audio.resample(x, sr, SR16), np.float64)
        f0, t = pyworld.dio(x16, SR16, f0_floor=world.F0_FLOOR_HZ, f0_ceil=world.F0_CEIL_HZ, frame_period=5.0)
        f0 = pyworld.stonemask(x16, f0, t, SR16)
        fft48 = pyworld.get_cheaptrick_fft_size(sr)
        sp48 = pyworld.cheaptrick(x, f0, t, sr)
        ap48 = pyworld.d4c(x, f0, t, sr)
        fft16 = pyworld.get_cheaptrick_fft_size(SR16)
        sp16 = pyworld.cheaptrick(x16, f0, t, SR16)
        oracle = pyworld.decode_spectral_envelope(pyworld.code_spectral_envelope(sp16, SR16, 40), SR16, fft16)
        y, _ = degrade(x16.astype(np.float32), SR16, lowpass, np.random.default_rng(0))
        y = np.asarray(y, np.float64).reshape(-1)
        feats = resynth.restore_features(y, model)
        msp = pyworld.decode_spectral_envelope(np.ascontiguousarray(feats[:, slice(*lay["sp"])], np.float64), SR16, fft16)
        n = min(len(sp48), len(oracle), len(msp))
        f = np.arange(fft48 // 2 + 1) * sr / fft48
        e = 10 * np.log10(sp48[:n].sum(axis=1))
        frames = e > e.max() - 40
        hi = f > 8000
        v = f0[:n] > 0
        a = 20 * np.log10(np.clip(ap48[:n][:, hi], 1e-6, 1.0))
        ap_voiced.append(np.median(a[v & frames]))
        ap_unvoiced.append(np.median(a[~v & frames]))
        # the true slope of the 48 kHz envelope over 8-16 kHz vs the top-octave fit of the 16 kHz one
        band = (f >= 8000) & (f <= 16000)
        u = np.log2(f[band] / 8000)
        tdb = 10 * np.log10(sp48[:n][frames][:, band])
        slopes_true.append(np.polyfit(u, tdb.T, 1)[0])
        f16 = np.arange(fft16 // 2 + 1) * SR16 / fft16
        b16 = (f16 >= 4000) & (f16 <= 8000)
        slopes_fit.append(np.polyfit(np.log2(f16[b16] / 8000), 10 * np.log10(oracle[:n][frames][:, b16]).T, 1)[0])
        for c in CANDIDATES:
            for k, src in (("oracle", oracle), ("model", msp)):
                ext = world.extend_envelope(src[:n], SR16, sr, fft48, *c)
                errs[k][c].append(shape_error(ext, sp48[:n], f, frames))
        # the level the 16 kHz envelope gives at 7-8 kHz against the true one (same anchor)
        for k, src in (("oracle", oracle), ("model", msp)):
            ext = world.extend_envelope(src[:n], SR16, sr, fft48, -12.0, -12.0)
            top_err[k].append(shape_error_band(ext, sp48[:n], f, frames, 7000, 8000))
        print(f"{name}: {n} frames, {frames.sum()} speech", flush=True)
    st, sf_ = np.concatenate(slopes_true), np.concatenate(slopes_fit)
    print(f"\n{len(clips)} clips ({args.split} split), speakers {sorted({c[0].rsplit('-', 1)[0] for c in clips})}")
    print(f"true slope of the 48 kHz envelope over 8-16 kHz, dB/octave: median {np.median(st):.1f}, "
          f"quartiles {np.percentile(st, 25):.1f} .. {np.percentile(st, 75):.1f}")
    print(f"fit slope of the coded 16 kHz envelope over 4-8 kHz: median {np.median(sf_):.1f}, "
          f"quartiles {np.percentile(sf_, 25):.1f} .. {np.percentile(sf_, 75):.1f}; correlation with the true one "
          f"{np.corrcoef(st, sf_)[0, 1]:.2f}")
    print(f"aperiodicity above 8 kHz (dB, median per clip): voiced {np.round(ap_voiced, 1).tolist()}, "
          f"unvoiced {np.round(ap_unvoiced, 1).tolist()}")
    print(f"level error at 7-8 kHz (dB, mean over clips, anchored at 1-3.5 kHz): oracle {np.mean(top_err['oracle']):+.1f}, "
          f"model {np.mean(top_err['model']):+.1f}")
    print("\n| slope rule (dB/octave) | oracle envelope: shape error > 8 kHz (dB) | bias (dB) | model envelope, 4 kHz low-pass input: shape error (dB) | bias (dB) |")
    print("|---|---:|---:|---:|---:|")
    for c in CANDIDATES:
        rule = f"fixed {c[0]:g}" if c[0] == c[1] else f"top-octave fit, limited to [{c[0]:g}, {c[1]:g}]"
        o, m = np.array(errs["oracle"][c]), np.array(errs["model"][c])
        print(f"| {rule} | {o[:, 0].mean():.2f} | {o[:, 1].mean():+.1f} | {m[:, 0].mean():.2f} | {m[:, 1].mean():+.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
