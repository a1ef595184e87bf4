"""Does rendering long unvoiced runs with fewer noise segments (``synth.UNVOICED_PULSE_HZ``,
:func:`msar.dsp.world.sparse_unvoiced`) change what listeners' proxies hear?

Every English voice speaks the 36 post-filter tuning sentences (``bench/synth_postfilter_tune.py``;
none in ``make bench-synth``'s sets) with WORLD's own 500 Hz and with each rate given; per setting:
WER (faster-whisper tiny.en, seeded), DistillMOS, DNSMOS OVRL, the CPU time of ``pyworld.synthesize``
alone and of the whole synthesis, and the log-mel distance to WORLD's own rendering, beside that of
WORLD's rendering with its noise drawn afresh (the same features after two prepended unvoiced
frames, 10 ms: five 500 Hz pulse periods, so the pulses fall where they did and only the random
draw moves).

    python bench/synth_unvoiced_check.py [--rates 200,100] [--out reports/synth-unvoiced.md]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def log_mel(y: np.ndarray, sr: int) -> np.ndarray:
    """40 log-spaced bands, 60 Hz to Nyquist, 25 ms windows every 10 ms (dB)."""
    f, _, z = scipy.signal.stft(y, sr, nperseg=int(0.025 * sr), noverlap=int(0.015 * sr), nfft=1024)
    p = np.abs(z) ** 2
    edges = np.geomspace(60, sr / 2, 41)
    return 10 * np.log10(np.stack([p[(f >= a) & (f < b)].sum(0) for a, b in zip(edges[:-1], edges[1:])]) + 1e-10)


def distance(a: np.ndarray, b: np.ndarray, sr: int) -> float:
    """Mean absolute log-mel difference (dB) over the frames within 50 dB of ``a``'s loudest."""
    la, lb = log_mel(a, sr), log_mel(b, sr)
    keep = la.max(0) > la.max() - 50
    return float(np.mean(np.abs(la - lb)[:, keep]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/synth_unvoiced_check.py", description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="multispeaker-synth")
    ap.add_argument("--rates", default="200,100")
    ap.add_argument("--out", type=Path, default=ROOT / "reports/synth-unvoiced.md")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import distillmos_one_thread
    import dnsmos_one_thread
    import pyworld
    from synth_postfilter_tune import MORE_SENTENCES, SENTENCES

    from msar.dsp import audio
    from msar.onnx_models import synth as S
    from train.synth import wer as W

    voice = S.load_voice(args.model)
    names = [s.name for s in voice.speakers if "en" in s.language.split(",")]
    sentences = SENTENCES + MORE_SENTENCES
    settings = [None] + [float(r) for r in args.rates.split(",")]
    dnsmos, _ = dnsmos_one_thread.load()
    distill = distillmos_one_thread.load()
    asr = W.recognizer()
    world_synth = pyworld.synthesize
    clock = {"world": 0.0}

    def timed(*a, **k):
        t = time.process_time()
        y = world_synth(*a, **k)
        clock["world"] += time.process_time() - t
        return y

    pyworld.synthesize = timed
    rows = []
    for name in names:
        for i, text in enumerate(sentences):
            ref = None
            for hz in settings:
                S.UNVOICED_PULSE_HZ = hz
                clock["world"] = 0.0
                t = time.process_time()
                y, sr = voice.synthesize(text, name)
                cpu = time.process_time() - t
                row = {"voice": name, "pulse_hz": hz or 500, "sentence": i, "audio_s": len(y) / sr, "cpu_s": cpu,
                       "world_cpu_s": clock["world"]}
                if hz is None:
                    ref = y
                    again = _fresh_noise(voice, text, name, pyworld, world_synth)
                    row["dist_db_fresh_noise"] = distance(ref, again[:len(ref)], sr)
                else:
                    row["dist_db"] = distance(ref, y, sr)
                y16 = audio.resample(y, sr, 16000) if sr != 16000 else y
                d = dnsmos(y16, 16000, False)
                e, n = W.wer(text, W.transcribe(asr, np.asarray(y16, np.float32)))
                row |= {"dnsmos_ovrl": float(d["ovrl_mos"]), "distillmos": distill(y16), "edits": e, "words": n}
                rows.append(row)
        print(f"{name} done", file=sys.stderr, flush=True)
    pyworld.synthesize = world_synth
    write(args.out, rows, settings, names, len(sentences))
    return 0


def _fresh_noise(voice, text, name, pyworld, world_synth):
    """WORLD's own rendering of ``text`` with another draw of its noise (see the module docstring)."""
    def shifted(f0, sp, ap, fs, frame_period=5.0):
        pad = lambda a: np.ascontiguousarray(np.concatenate([a[:2], a]))  # noqa: E731
        f0p = np.concatenate([[0.0, 0.0], f0])
        return world_synth(f0p, pad(sp), pad(ap), fs, frame_period=frame_period)[int(2 * frame_period * fs / 1000):]

    saved, pyworld.synthesize = pyworld.synthesize, shifted
    try:
        return voice.synthesize(text, name)[0]
    finally:
        pyworld.synthesize = saved


def write(out: Path, rows: list[dict], settings, names, n_sent: int) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    cols = ["voice", "pulse_hz", "sentence", "audio_s", "cpu_s", "world_cpu_s", "dist_db", "dist_db_fresh_noise",
            "dnsmos_ovrl", "distillmos", "edits", "words"]
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        w.writerows(rows)
    L = ["# Sparse unvoiced excitation in WORLD synthesis (`bench/synth_unvoiced_check.py`)", "",
         f"{len(names)} English voices x {n_sent} post-filter tuning sentences, each rendered with WORLD's 500 noise "
         "segments a second in unvoiced frames and with the rates below (`synth.UNVOICED_PULSE_HZ`; "
         "`msar.dsp.world.sparse_unvoiced`). Speed: audio seconds per CPU second, this process, one thread "
         "(the machine's other core busy with other jobs). Log-mel distance: to the 500 Hz rendering; "
         "for 500 Hz itself, of a fresh noise draw (the module docstring).", "",
         "| unvoiced segments / s | x real time, `pyworld.synthesize` | x real time, whole synthesis | log-mel distance dB | "
         "DistillMOS | DNSMOS OVRL | WER |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for hz in settings:
        rs = [r for r in rows if r["pulse_hz"] == (hz or 500)]
        a = sum(r["audio_s"] for r in rs)
        dist = np.mean([r["dist_db" if hz else "dist_db_fresh_noise"] for r in rs])
        L.append(f"| {hz or 500:g}{' (WORLD)' if hz is None else ''} | {a / sum(r['world_cpu_s'] for r in rs):.1f} | "
                 f"{a / sum(r['cpu_s'] for r in rs):.1f} | {dist:.3f}{' (fresh noise)' if hz is None else ''} | "
                 f"{np.mean([r['distillmos'] for r in rs]):.3f} | {np.mean([r['dnsmos_ovrl'] for r in rs]):.3f} | "
                 f"{sum(r['edits'] for r in rs) / sum(r['words'] for r in rs):.3f} |")
    L += ["", "Per voice, DistillMOS / WER:", "",
          "| voice | " + " | ".join(f"{hz or 500:g}" for hz in settings) + " |", "|---|" + "---:|" * len(settings)]
    for name in names:
        cells = []
        for hz in settings:
            rs = [r for r in rows if r["pulse_hz"] == (hz or 500) and r["voice"] == name]
            cells.append(f"{np.mean([r['distillmos'] for r in rs]):.2f} / "
                         f"{sum(r['edits'] for r in rs) / sum(r['words'] for r in rs):.3f}")
        L.append(f"| {name} | " + " | ".join(cells) + " |")
    out.write_text("\n".join(L) + "\n", encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
