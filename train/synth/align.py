"""Phone durations for recordings with a transcript: DTW between the recording and espeak-ng's
rendering of the same text, whose phone timings are known (``Espeak.render``).

Method (documented in ``train/synth/README.md``):

1. Features of both signals at 16 kHz: 13 MFCCs (25 ms Hann window, 5 ms hop, 40 mel bands
   to 8 kHz, log energy kept as c0) with per-utterance mean and variance normalization, so the
   different voices' loudness and channel matter less than the phonetic content.
2. Dynamic time warping with steps (1,0), (0,1), (1,1) and Euclidean frame cost, computed a row at
   a time in O(M) numpy with the cumulative-minimum form of the horizontal step.
3. Each reference phone boundary (a reference frame) maps to the mean recording frame on the path
   at that reference frame; boundaries are made non-decreasing, and frame counts per phone follow
   from the rounded boundaries, so they sum to the recording's frame count exactly.

:func:`flite_phone_ends` gives flite's exact phone end times (``-psdur``), against which
``python -m train.synth.align --eval`` measures this method's boundary error.
"""

from __future__ import annotations

import subprocess

import numpy as np
from scipy.fft import dct
from scipy.spatial.distance import cdist

from msar.dsp.audio import resample

FRAME_S = 0.005


def mfcc(x: np.ndarray, sr: int, n_mfcc: int = 13, n_mels: int = 40, frame_s: float = FRAME_S) -> np.ndarray:
    """MFCCs ``(n_frames, n_mfcc)``, mean/variance normalized, one frame per ``frame_s`` centred
    at ``k * frame_s`` (the WORLD frame grid)."""
    hop = int(round(sr * frame_s))
    win = int(round(sr * 0.025))
    n_fft = 1 << (win - 1).bit_length()
    pad = np.pad(np.asarray(x, dtype=np.float64), (win // 2, win))
    n_frames = int(len(x) / hop) + 1
    idx = np.arange(win)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = pad[idx] * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2
    mel = _mel_bank(sr, n_fft, n_mels)
    logmel = np.log(power @ mel.T + 1e-8)
    c = dct(logmel, type=2, norm="ortho", axis=1)[:, :n_mfcc]
    return (c - c.mean(0)) / (c.std(0) + 1e-8)


def _mel_bank(sr: int, n_fft: int, n_mels: int) -> np.ndarray:
    def hz2mel(f):
        return 2595 * np.log10(1 + f / 700)

    edges = 700 * (10 ** (np.linspace(hz2mel(60), hz2mel(sr / 2), n_mels + 2) / 2595) - 1)
    bins = np.fft.rfftfreq(n_fft, 1 / sr)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The minimum-cost warping path ``(K, 2)`` of frame indices (i into ``a``, j into ``b``)
    from (0, 0) to (len(a)-1, len(b)-1)."""
    cost = cdist(a, b)
    n, m = cost.shape
    acc = np.empty((n, m))
    acc[0] = np.cumsum(cost[0])
    for i in range(1, n):
        diag = np.concatenate([[np.inf], acc[i - 1, :-1]])
        best = cost[i] + np.minimum(diag, acc[i - 1])
        # horizontal steps: acc[i, j] = min_k<=j best[k] + sum(cost[i, k+1..j])
        cum = np.cumsum(cost[i])
        acc[i] = cum + np.minimum.accumulate(best - cum)
    i, j = n - 1, m - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            k = int(np.argmin([acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]]))
            i, j = (i - 1, j - 1) if k == 0 else (i - 1, j) if k == 1 else (i, j - 1)
        path.append((i, j))
    return np.array(path[::-1])


def map_boundaries(path: np.ndarray, ref_times_s: np.ndarray, n_ref: int, frame_s: float = FRAME_S) -> np.ndarray:
    """Recording times (s) of reference times ``ref_times_s`` through a DTW ``path``
    (i: recording frame, j: reference frame)."""
    sums = np.bincount(path[:, 1], weights=path[:, 0], minlength=n_ref)
    counts = np.bincount(path[:, 1], minlength=n_ref)
    mean_i = sums / np.maximum(counts, 1)
    j = np.clip(np.round(np.asarray(ref_times_s) / frame_s).astype(int), 0, n_ref - 1)
    return np.maximum.accumulate(mean_i[j] * frame_s)


def align(x: np.ndarray, sr: int, ref: np.ndarray, ref_sr: int, ref_ends_s: np.ndarray,
          n_frames: int) -> np.ndarray:
    """Frames per phone ``[N]`` int64 in recording ``x`` (summing to ``n_frames``), given the
    reference rendering ``ref`` whose phones end at ``ref_ends_s`` (the last is its end)."""
    if ref_sr != sr:
        ref = resample(ref, ref_sr, sr)
    a, b = mfcc(x, sr), mfcc(ref, sr)
    path = dtw_path(a, b)
    ends = map_boundaries(path, np.asarray(ref_ends_s)[:-1], len(b))
    return durations_from_ends(ends, n_frames)


def durations_from_ends(inner_ends_s: np.ndarray, n_frames: int, frame_s: float = FRAME_S) -> np.ndarray:
    """Frames per phone from the end times of all phones but the last (the last takes the rest)."""
    edges = np.clip(np.round(np.asarray(inner_ends_s) / frame_s).astype(np.int64), 0, n_frames)
    edges = np.maximum.accumulate(np.concatenate([[0], edges, [n_frames]]))
    return np.diff(edges)


def snap_durations(durations: np.ndarray, true_ends_s: np.ndarray, max_s: float = 0.03,
                   frame_s: float = FRAME_S) -> np.ndarray:
    """Frames per phone with each inner boundary moved onto the nearest exact boundary
    ``true_ends_s`` when one lies within ``max_s`` (flite voices: the DTW boundaries, in espeak-ng's
    phone set, are corrected with flite's exact timings where the two phone sets share a boundary)."""
    d = np.asarray(durations, dtype=np.int64)
    n_frames = int(d.sum())
    ends = np.cumsum(d)[:-1] * frame_s
    true = np.sort(np.asarray(true_ends_s, dtype=np.float64))
    if len(true) and len(ends):
        k = np.clip(np.searchsorted(true, ends), 1, max(len(true) - 1, 1))
        cand = np.stack([true[np.minimum(k - 1, len(true) - 1)], true[np.minimum(k, len(true) - 1)]])
        best = cand[np.argmin(np.abs(cand - ends), axis=0), np.arange(len(ends))]
        snapped = np.where(np.abs(best - ends) <= max_s, best, ends)
        # two boundaries snapped onto one exact boundary would leave a phone no frames: the later
        # one keeps its own position then (a phone that had frames keeps at least one)
        prev = 0
        for i in range(len(ends)):
            f_snap, f_own = int(round(snapped[i] / frame_s)), int(round(ends[i] / frame_s))
            if f_snap <= prev < f_own:
                snapped[i] = ends[i]
            prev = max(prev, int(round(snapped[i] / frame_s)))
        ends = snapped
    return durations_from_ends(ends, n_frames, frame_s)


def flite_phone_ends(text: str, voice: str) -> list[tuple[str, float]]:
    """(phone, end time in s) of flite's own rendering of ``text`` with ``voice`` (``-psdur``):
    the exact timings of the synthetic voices."""
    out = subprocess.run(["flite", "-voice", voice, "-t", text, "-psdur", "-o", "/dev/null"],
                         capture_output=True, text=True, check=True).stdout
    pairs = []
    for tok in out.split():
        if ":" in tok:
            p, t = tok.rsplit(":", 1)
            pairs.append((p, float(t)))
    return pairs


def _nearest_error_ms(true_s: np.ndarray, pred_s: np.ndarray) -> np.ndarray:
    pred_s = np.sort(pred_s)
    k = np.clip(np.searchsorted(pred_s, true_s), 1, len(pred_s) - 1)
    return 1000 * np.minimum(np.abs(true_s - pred_s[k - 1]), np.abs(true_s - pred_s[k]))


def evaluate(rows: list[dict], n: int = 40, seed: int = 0) -> dict:
    """Boundary errors (ms) on flite voices, whose true phone timings are known:

    - ``espeak_dtw``: this method (espeak-ng reference), each true flite boundary against the
      nearest aligned boundary (the phone sets differ, so boundaries are matched by time);
    - ``espeak_linear``: the same metric for espeak-ng's timings stretched linearly to the
      recording's length (the baseline DTW must beat);
    - ``flite_dtw``: the same DTW with flite's kal16 voice as the reference: identical phone
      sequences, so each boundary has its exact counterpart (absolute error, the method's own
      accuracy with a matching phone set).
    """
    import soundfile as sf

    from msar.onnx_models import frontend as F

    rng = np.random.default_rng(seed)
    rows = [rows[i] for i in rng.choice(len(rows), size=min(n, len(rows)), replace=False)]
    errs = {"espeak_dtw": [], "espeak_linear": [], "flite_dtw": []}
    for r in rows:
        voice = r["speaker"].split("-", 1)[1]
        x, sr = sf.read(r["source_file"], dtype="float64")
        truth = flite_phone_ends(r["transcript"], voice)
        true_inner = np.array([t for _, t in truth[:-1]])
        phones, ref = F.Espeak.get().render(F.normalize(r["transcript"], "en"), "en")
        ref_ends = np.array([p.end_s for p in phones])
        a, b = mfcc(x, sr), mfcc(resample(ref, F.Espeak.get().sr, sr), sr)
        pred = map_boundaries(dtw_path(a, b), ref_ends[:-1], len(b))
        errs["espeak_dtw"].append(_nearest_error_ms(true_inner, pred))
        lin = ref_ends[:-1] * (len(x) / sr) / ref_ends[-1]
        errs["espeak_linear"].append(_nearest_error_ms(true_inner, lin))
        if voice != "kal16":
            kal = flite_phone_ends(r["transcript"], "kal16")
            if [p for p, _ in kal] == [p for p, _ in truth]:
                subprocess.run(["flite", "-voice", "kal16", "-t", r["transcript"], "-o", "/tmp/_msar_kal.wav"], check=True)
                y, ysr = sf.read("/tmp/_msar_kal.wav", dtype="float64")
                b2 = mfcc(resample(y, ysr, sr), sr)
                pred2 = map_boundaries(dtw_path(a, b2), np.array([t for _, t in kal[:-1]]), len(b2))
                errs["flite_dtw"].append(1000 * np.abs(pred2 - true_inner))
    out = {}
    for k, v in errs.items():
        if v:
            e = np.concatenate(v)
            out[k] = {"boundaries": int(len(e)), "mean_ms": round(float(e.mean()), 1),
                      "median_ms": round(float(np.median(e)), 1),
                      "within_20ms": round(float((e <= 20).mean()), 3)}
    return out


if __name__ == "__main__":
    import argparse
    import csv
    import json

    ap = argparse.ArgumentParser(description="measure the alignment error on the flite voices")
    ap.add_argument("--corpus", default="cache/corpus")
    ap.add_argument("-n", type=int, default=40)
    args = ap.parse_args()
    rows = [r for r in csv.DictReader(open(f"{args.corpus}/synthetic.csv")) if r["transcript"]]
    print(json.dumps(evaluate(rows, args.n), indent=1))
