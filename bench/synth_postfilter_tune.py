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

#: 24 more, for per-voice choices (``--more``): one voice's 12 sentences are ~120 words, where
#: a setting's WER moves 0.008 a word.
MORE_SENTENCES = [
    "The fisherman mended his nets while the children played on the sand.",
    "Did anyone remember to water the plants on the balcony?",
    "Eleven horses galloped across the field after the storm.",
    "Her grandmother kept every letter in a wooden chest.",
    "The lamp in the hallway flickered and then went out.",
    "How long does it take to walk from here to the station?",
    "Thick fog rolled in from the sea just before dawn.",
    "The carpenter measured the door twice before he cut it.",
    "Our neighbors painted their fence a bright shade of green.",
    "Why is the kitchen window always open in the winter?",
    "A small boat drifted slowly toward the rocky shore.",
    "The choir sang three songs in the old stone church.",
    "Please wipe your muddy boots before you come inside.",
    "The pilot announced that we would land twenty minutes early.",
    "When will the new bridge across the valley be finished?",
    "He found a silver coin buried under the apple tree.",
    "The students argued about the meaning of the final chapter.",
    "Fresh bread and warm soup were waiting on the table.",
    "Which of these two roads leads to the village?",
    "The old clock on the tower struck midnight.",
    "She wrapped the fragile glasses in several layers of newspaper.",
    "Thunder rumbled in the distance as the farmers hurried home.",
    "Have you ever tasted honey straight from the hive?",
    "The museum guard asked the visitors not to touch the paintings.",
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--betas", default="0,0.1,0.2,0.3,0.4,0.5")
    ap.add_argument("--settings", help="BETA:GV[:GV_F0[:GATE_DB[:FADE_MS]]] settings, comma-separated (instead of --betas)")
    ap.add_argument("--model", default="multispeaker-synth")
    ap.add_argument("--out", type=Path, default=ROOT / "reports/synth-postfilter.md")
    ap.add_argument("--more", action="store_true", help="speak MORE_SENTENCES too (36 in all)")
    ap.add_argument("--write-voice-defaults", action="store_true",
                    help="choose each English voice's settings (choose_per_voice) and write them into the model's "
                         "sidecar as voice_defaults; the settings must include the module defaults")
    args = ap.parse_args(argv)
    sentences = SENTENCES + (MORE_SENTENCES if args.more else [])
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
            for i, text in enumerate(sentences):
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
         f"Model `{args.model}`; its English voices ({', '.join(names)}) each speak {len(sentences)} sentences "
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
    if args.write_voice_defaults:
        module = tuple(float(S.RENDER_SETTINGS[k]) for k in ("postfilter", "gv", "gv_f0", "pause_gate")) + (S.PAUSE_FADE_MS,)
        if module not in settings:
            raise SystemExit(f"--write-voice-defaults: the settings must include the module defaults {label(*module)}")
        chosen = {}
        L += ["", "Per voice, chosen (`choose_per_voice`: the highest DistillMOS + DNSMOS OVRL among settings "
              f"with no more word errors than the module defaults {label(*module)}, if {MIN_GAIN:g} higher):", ""]
        for name in names:
            per = {st: agg([r for r in rows if tuple(r[k] for k in fields) == st and r["voice"] == name]) for st in settings}
            best = choose_per_voice(per, module)
            a, b = per[module], per[best]
            L.append(f"- {name}: {label(*best)} (DistillMOS {a['distillmos']:.3f} -> {b['distillmos']:.3f}, "
                     f"DNSMOS OVRL {a['dnsmos_ovrl']:.3f} -> {b['dnsmos_ovrl']:.3f}, WER {a['wer']:.3f} -> {b['wer']:.3f})")
            own = {k: v for k, v, m in zip(("postfilter", "gv", "gv_f0", "pause_gate"), best, module) if v != m}
            if own:
                chosen[name] = own
        write_voice_defaults(voice, chosen, len(sentences))
        L.append(f"\nWritten into {voice.path.name}'s sidecar as voice_defaults (voices not named keep the module defaults).")
    L += ["", f"{len(rows)} utterances in {time.perf_counter() - start:.0f} s wall on the shared machine.", ""]
    write_report(args.out, L, rows)
    return 0


def write_report(out: Path, lines: list[str], rows: list[dict]) -> None:
    """The markdown ``lines`` to ``out`` and the per-utterance ``rows`` to the CSV beside it; the
    markdown to stdout too."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print("\n".join(lines))


#: A voice's own settings must beat the module defaults' DistillMOS + DNSMOS OVRL by this much on
#: the tuning sentences (about the spread of their means at 36 sentences) to be worth a default.
MIN_GAIN = 0.05


def choose_per_voice(per: dict[tuple, dict], module: tuple) -> tuple:
    """The setting for one voice, of ``per`` (setting -> its aggregate): the highest DistillMOS +
    DNSMOS OVRL among those that cost no word errors against ``module`` (the module defaults);
    ``module`` itself unless the best beats it by :data:`MIN_GAIN`. Intelligibility comes first."""
    base = per[module]
    score = lambda a: a["distillmos"] + a["dnsmos_ovrl"]  # noqa: E731
    eligible = [st for st, a in per.items() if a["wer"] <= base["wer"] + 1e-9]
    best = max(eligible, key=lambda st: score(per[st]))
    return best if score(per[best]) >= score(base) + MIN_GAIN else module


def write_voice_defaults(voice, chosen: dict[str, dict[str, float]], n_sentences: int) -> None:
    """Put ``chosen`` (speaker -> settings) into ``voice``'s acoustic sidecar as ``voice_defaults``,
    atomically, keeping everything else."""
    import datetime

    from msar.onnx_models import registry

    registry.update_sidecar(voice.path, "voice_defaults", {
        "chosen_by": "bench/synth_postfilter_tune.py --write-voice-defaults",
        "date": datetime.date.today().isoformat(), "sentences": n_sentences,
        "rule": "highest DistillMOS + DNSMOS OVRL with no more word errors than the module "
                f"defaults, if {MIN_GAIN:g} higher; English voices only (the WER is English)",
        "speakers": chosen})


if __name__ == "__main__":
    sys.exit(main())
