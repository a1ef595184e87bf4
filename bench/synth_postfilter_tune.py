"""Choose the synthesis post-filter strength (``msar synth``'s formant emphasis, ``beta`` of
``msar.dsp.world.sharpen_envelope``) by measurement, on sentences of its own.

    python bench/synth_postfilter_tune.py [--betas 0,0.1,...] [--settings BETA:GV[:GV_F0[:GATE_DB[:FADE_MS]]],...]
        [--out reports/synth-postfilter.md]

``--settings`` tunes the post-filter together with the global-variance compensation
(``msar synth --gv``, :func:`msar.dsp.world.restore_variance`), the pitch's (``--gv-f0``) and the
pause gate (``--pause-gate``, :mod:`msar.dsp.pause_gate`; its fade in ms): each is one row. Fields
left out are off (gate 0), except the fade (the runtime's default).

Every English voice of the shipped synthesis model speaks :data:`SENTENCES` (12 sentences written
for this tuning: none is in ``bench/data/synth-sentences.txt``, ``train.synth.wer``'s set or the
training prompts) at each beta. Scores per beta: DNSMOS P.835 OVRL and P.808 (``speechmos``'s
ONNX, one thread), DistillMOS (one thread) and the word error rate of faster-whisper tiny.en
(``train.synth.wer``'s recognizer, seeded). The benchmark's sentences stay unseen by the choice.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SENTENCES = [
    "The garden behind the old house was full of yellow roses.",
    "Could you turn the music down a little, please?",
    "Seven students finished the test before the bell rang.",
    "A cold wind blew across the harbor all afternoon.",
    "My brother fixed the bicycle with a piece of wire.",
    "Where did you leave the keys to the blue car?",
    "The baker opens his shop at six every morning.",
    "We walked along the river until the sun went down.",
    "Nobody expected the little team to win the final match.",
    "Put the heavy boxes on the bottom shelf, not the top.",
    "The doctor told him to drink more water and rest.",
    "Is there a quiet place where we can talk for a minute?",
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--betas", default="0,0.1,0.2,0.3,0.4,0.5")
    ap.add_argument("--settings", help="BETA:GV[:GV_F0[:GATE_DB[:FADE_MS]]] settings, comma-separated (instead of --betas)")
    ap.add_argument("--model", default="multispeaker-synth")
    ap.add_argument("--out", type=Path, default=ROOT / "reports/synth-postfilter.md")
    args = ap.parse_args(argv)
    from msar.onnx_models import synth as S

    fields = ("beta", "gv", "gv_f0", "gate", "fade_ms")
    defaults = (0.0, 0.0, 0.0, 0.0, S.PAUSE_FADE_MS)
    if args.settings:
        settings = [tuple(float(v) for v in pair.split(":")) for pair in args.settings.split(",")]
        settings = [s + defaults[len(s):] for s in settings]
    else:
        settings = [(float(b),) + defaults[1:] for b in args.betas.split(",")]
    # the table names every field up to the last one any setting moves from its default
    shown = 1 + max([i for i in range(len(fields)) for s in settings if s[i] != defaults[i]] + [0])
    head = " / ".join(fields[:shown])

    def label(*st):
        return " / ".join(f"{v:g}" for v in st[:shown])

    import dnsmos_one_thread
    import distillmos_one_thread
    from msar.dsp import audio
    from train.synth import wer as W

    voice = S.load_voice(args.model)
    names = [s.name for s in voice.speakers if "en" in s.language.split(",")]
    dnsmos, _ = dnsmos_one_thread.load()
    distill = distillmos_one_thread.load()
    asr = W.recognizer()
    rows = []
    start = time.perf_counter()
    for name in names:
        for st in settings:
            beta, gv, gv_f0, gate, fade_ms = st
            for i, text in enumerate(SENTENCES):
                y, sr = voice.synthesize(text, name, S.SynthOptions(postfilter=beta, gv=gv, gv_f0=gv_f0, pause_gate=gate,
                                                                    pause_fade_ms=fade_ms))
                y16 = audio.resample(y, sr, 16000) if sr != 16000 else y
                d = dnsmos(y16, 16000, False)
                e, n = W.wer(text, W.transcribe(asr, np.asarray(y16, np.float32)))
                rows.append({"voice": name, **dict(zip(fields, st)), "sentence": i, "dnsmos_ovrl": float(d["ovrl_mos"]),
                             "dnsmos_p808": float(d["p808_mos"]), "distillmos": distill(y16), "edits": e, "words": n})
        print(f"{name} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr)

    def agg(sel):
        return {"dnsmos_ovrl": np.mean([r["dnsmos_ovrl"] for r in sel]),
                "dnsmos_p808": np.mean([r["dnsmos_p808"] for r in sel]),
                "distillmos": np.mean([r["distillmos"] for r in sel]),
                "wer": sum(r["edits"] for r in sel) / max(sum(r["words"] for r in sel), 1)}

    L = ["# Synthesis post-filter: formant emphasis by measurement (`bench/synth_postfilter_tune.py`)", "",
         f"Model `{args.model}`; its English voices ({', '.join(names)}) each speak {len(SENTENCES)} sentences "
         "written for this tuning (none in the benchmark's or `train.synth.wer`'s sets). `beta` scales the coded "
         "envelope's cepstral coefficients from the second on by 1 + beta, frame power kept "
         "(`msar.dsp.world.sharpen_envelope`)."
         + (" `gv` restores the envelope's variance over the utterance towards the speaker's training variance "
            "(0: off, 1: all of it; `msar.dsp.world.restore_variance`)." if shown > 1 else "")
         + " DNSMOS P.835 OVRL and P.808 (speechmos), DistillMOS, and WER of "
         "faster-whisper tiny.en (seeded), each a mean over every utterance."
         + (" `gv_f0` does the same for log F0 over the voiced frames." if shown > 2 else "")
         + (" `gate` attenuates the predicted pauses by that many dB, faded in over `fade_ms` "
            "(`msar.dsp.pause_gate`)." if shown > 3 else ""),
         "", f"| {head} | DNSMOS OVRL | DNSMOS P.808 | DistillMOS | WER |", "|---:|---:|---:|---:|---:|"]
    for st in settings:
        a = agg([r for r in rows if tuple(r[k] for k in fields) == st])
        L.append(f"| {label(*st)} | {a['dnsmos_ovrl']:.3f} | {a['dnsmos_p808']:.3f} | {a['distillmos']:.3f} | {a['wer']:.3f} |")
    L += ["", "Per voice (DistillMOS / WER):", "",
          "| voice | " + " | ".join(f"{head} {label(*st)}" for st in settings) + " |",
          "|---|" + "---:|" * len(settings)]
    for name in names:
        cells = []
        for st in settings:
            a = agg([r for r in rows if tuple(r[k] for k in fields) == st and r["voice"] == name])
            cells.append(f"{a['distillmos']:.2f} / {a['wer']:.2f}")
        L.append(f"| {name} | " + " | ".join(cells) + " |")
    L += ["", f"{len(rows)} utterances in {time.perf_counter() - start:.0f} s wall on the shared machine.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(L))
    with open(args.out.with_suffix(".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())
