"""How natural can speech through msar's synthesis features be? The ceiling of the issue's
pipeline (an acoustic model predicting WORLD features, rendered by pyworld), measured on the
peers' own speech.

    python bench/synth_vocoder_ceiling.py [--sentences 36] [--out reports/synth-vocoder-ceiling.md]

Every peer of ``make bench-synth`` that speaks English (flite's four voices, festival, piper joe)
reads the post-filter tuning sentences (``bench/synth_postfilter_tune.py``: written for tuning,
none in the benchmark's sets). Each rendering is scored four ways, all at 16 kHz, the rate of
msar's synthesis model:

1. ``original``: the peer's audio, resampled;
2. ``WORLD``: its own WORLD analysis (dio + stonemask, CheapTrick, D4C) straight back through
   ``pyworld.synthesize``: what the vocoder alone costs;
3. ``WORLD coded``: through msar's feature space (:func:`msar.dsp.world.world_features`: log F0,
   V/UV, 40 coded envelope dimensions, coded aperiodicity) and
   :func:`msar.dsp.world.world_synthesize`: the best any acoustic model of this shape can do,
   whatever it is trained on;
4. ``WORLD coded + post-filter``: the same with the runtime's default formant emphasis.

msar's English voices read the same sentences (their defaults) for scale. Scores as in
``make bench-synth`` (``bench/synth_peers.py``'s ``Scorers``: -23 LUFS, DistillMOS, DNSMOS,
faster-whisper tiny.en WER). A peer above msar's copy-synthesis ceiling cannot be reached by
training on more or better data alone: the vocoder and the feature coding would have to change.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import synth_peers as P  # noqa: E402
from synth_postfilter_tune import MORE_SENTENCES, SENTENCES  # noqa: E402

from msar.dsp import audio, world  # noqa: E402
from msar.onnx_models import synth as S  # noqa: E402

SR = 16000
READINGS = ("original", "WORLD", "WORLD coded", "WORLD coded + post-filter")
METRICS = ("distillmos", "dnsmos_ovrl", "dnsmos_p808")


def readings(y: np.ndarray, sr: int, postfilter: float) -> dict[str, np.ndarray]:
    """The four readings of one peer rendering ``y`` at ``sr``, each at 16 kHz."""
    x = np.asarray(audio.resample(y, sr, SR) if sr != SR else y, np.float64)
    pw = world.pyworld
    mono = world.as_world_input(x)
    f0, t = pw.dio(mono, SR, f0_floor=world.F0_FLOOR_HZ, f0_ceil=world.F0_CEIL_HZ, frame_period=world.FRAME_PERIOD_MS)
    f0 = pw.stonemask(mono, f0, t, SR)
    plain = pw.synthesize(f0, pw.cheaptrick(mono, f0, t, SR), pw.d4c(mono, f0, t, SR), SR, frame_period=world.FRAME_PERIOD_MS)
    feats = world.world_features(x, SR)
    return {"original": x.astype(np.float32), "WORLD": plain.astype(np.float32),
            "WORLD coded": world.world_synthesize(feats, SR),
            "WORLD coded + post-filter": world.world_synthesize(feats, SR, postfilter_beta=postfilter)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sentences", type=int, default=36, help="how many of the 36 tuning sentences")
    ap.add_argument("--model", default="multispeaker-synth")
    ap.add_argument("--out", type=Path, default=ROOT / "reports/synth-vocoder-ceiling.md")
    args = ap.parse_args(argv)
    texts = (SENTENCES + MORE_SENTENCES)[: args.sentences]
    voice = S.load_voice(args.model)
    beta = float(S.RENDER_SETTINGS["postfilter"])
    scorers = P.Scorers(pocketsphinx=False)
    scorers.embed = lambda y: None  # speaker identity is not asked here
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        peers = [s for s in P.peer_systems(Path(tmp), P.FLITE_VOICES) if s.language == "en" and s.name != "espeak-ng"]
        for sysm in peers:
            if sysm.error:
                print(f"{sysm.name}: not run ({sysm.error})", file=sys.stderr)
                continue
            for i, text in enumerate(texts):
                y, sr = sysm.synth(text)
                for reading, z in readings(y, sr, beta).items():
                    rows.append(score_row(scorers, sysm.name, reading, i, text, z))
            print(f"{sysm.name} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    for s in voice.speakers:
        if "en" not in s.language.split(","):
            continue
        for i, text in enumerate(texts):
            y, sr = voice.synthesize(text, s.name)
            rows.append(score_row(scorers, f"msar {s.name}", "from text", i, text,
                                  np.asarray(audio.resample(y, sr, SR) if sr != SR else y, np.float32)))
        print(f"msar {s.name} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    write(args.out, rows, len(texts), time.perf_counter() - start)
    return 0


def score_row(scorers, system: str, reading: str, i: int, text: str, y: np.ndarray) -> dict:
    r = scorers.score(scorers.prepare(y, SR), text, False)
    return {"system": system, "reading": reading, "sentence": i, **{k: r[k] for k in METRICS if k in r},
            "edits": r["edits"], "words": r["words"]}


def aggregate(rows: list[dict]) -> dict:
    out = {k: float(np.mean([r[k] for r in rows])) for k in METRICS if all(k in r for r in rows)}
    d = np.array([r["distillmos"] for r in rows if "distillmos" in r])
    out["distillmos_ci"] = float(1.96 * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    out["wer"] = sum(r["edits"] for r in rows) / max(sum(r["words"] for r in rows), 1)
    return out


def write(out: Path, rows: list[dict], n_texts: int, wall_s: float) -> None:
    systems = list(dict.fromkeys(r["system"] for r in rows))
    L = ["# How natural can WORLD features sound? (`bench/synth_vocoder_ceiling.py`)", "",
         f"{n_texts} sentences (the post-filter tuning set), each peer's rendering scored as it is and after "
         "WORLD analysis/synthesis at 16 kHz: plain, through msar's coded features (the ceiling of any acoustic "
         "model of msar's shape), and with the runtime's post-filter. msar's English voices from text for scale. "
         "DistillMOS (± 95 % CI), DNSMOS OVRL / P.808 and tiny.en WER as in `make bench-synth`. Method: the "
         "script's docstring. Rows: the CSV beside this file.", "",
         "| system | reading | DistillMOS | DNSMOS OVRL | DNSMOS P.808 | WER |", "|---|---|---:|---:|---:|---:|"]
    for s in systems:
        for reading in dict.fromkeys(r["reading"] for r in rows if r["system"] == s):
            a = aggregate([r for r in rows if r["system"] == s and r["reading"] == reading])
            L.append(f"| {s} | {reading} | {a['distillmos']:.2f} ± {a['distillmos_ci']:.2f} | {a['dnsmos_ovrl']:.2f} "
                     f"| {a['dnsmos_p808']:.2f} | {a['wer']:.3f} |")
    L += ["", f"{len(rows)} scored readings in {wall_s:.0f} s wall.", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(L), encoding="utf-8")
    with open(out.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["system", "reading", "sentence", *METRICS, "edits", "words"])
        w.writeheader()
        w.writerows(rows)
    print("\n".join(L))


if __name__ == "__main__":
    sys.exit(main())
