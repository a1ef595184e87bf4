"""Where a voice loses intelligibility: word error rate (faster-whisper tiny.en, as
``train.synth.wer``) of held-out utterances of each English voice read five ways:

1. ``original``: the recording itself;
2. ``copy-synthesis``: its own WORLD features (``prepare.py``'s, coded envelope) through the
   vocoder, the ceiling of anything the acoustic model can predict;
3. ``true durations``: the acoustic model driven by the aligned phone durations (rendered as the
   runtime renders, ``Voice.render``: variance compensation, post-filter, pause gate; so is 4);
4. ``predicted durations``: the same phones timed by the duration model;
5. ``from text``: the whole runtime (front end, both models, vocoder) on the transcript.

Held-out: the prepared index's ``valid`` rows (never trained or early-stopped on).

``--mos`` also scores every reading with DistillMOS (``bench/distillmos_one_thread.py``; needs
``make .venv/.bench-synth``) and adds a sixth, ``copy-synthesis + post-filter`` (the vocoder
ceiling as the runtime shapes it): where naturalness is lost, as the WER says for intelligibility.

    python -m train.synth.diagnose onnx_models/multispeaker-synth.onnx [MORE.onnx] \\
        --data cache/synth-prep/multispeaker-synth [--per-speaker 6] [--mos]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from msar.dsp import audio, world
from msar.onnx_models import synth as S

from . import wer as W
from .prepare import manifest_items

STAGES = ("original", "copy-synthesis", "true durations", "predicted durations", "from text")
POSTFILTERED_COPY = "copy-synthesis + post-filter"


def read_stages(voice: S.Voice, speaker: str, text: str, wav: np.ndarray, d: dict,
                postfiltered_copy: bool = False) -> dict[str, np.ndarray]:
    """The five readings of one prepared utterance ``d`` (float32 each): ``wav``, the recording at
    16 kHz, as given; the four syntheses at the voice's rate, resampled to 16 kHz. With
    ``postfiltered_copy``, a sixth: copy-synthesis with the runtime's post-filter."""
    c = voice.card
    ids = np.array([voice.phone_table[str(p)] for p in d["phones"]], np.int64)
    stress = np.clip(d["stress"], 0, 2).astype(np.int64)
    spk = voice.speaker(speaker).id

    def synth(durations):  # as the runtime renders: gv, post-filter, pause gate
        feats = voice.features(ids, stress, spk, durations, 1.0)
        return voice.render(feats, speaker, silent=voice.silent_frames(d["phones"], durations))

    made = {"copy-synthesis": world.world_synthesize(d["feats"], c.sample_rate, c.n_sp, c.frame_period_ms),
            "true durations": synth(d["durations"].astype(np.int64)),
            "predicted durations": synth(voice.durations(ids, stress, spk, 1.0)),
            "from text": voice.synthesize(text, speaker)[0]}
    if postfiltered_copy:
        made[POSTFILTERED_COPY] = world.world_synthesize(d["feats"], c.sample_rate, c.n_sp, c.frame_period_ms,
                                                         postfilter_beta=voice.setting("postfilter", speaker))
    to16k = lambda v: np.asarray(audio.resample(v, c.sample_rate, 16000) if c.sample_rate != 16000 else v,  # noqa: E731
                                 np.float32)
    return {"original": np.asarray(wav, np.float32)} | {k: to16k(v) for k, v in made.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.diagnose", description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="+")
    ap.add_argument("--data", type=Path, default=Path("cache/synth-prep/multispeaker-synth"))
    ap.add_argument("--corpus", type=Path, default=Path("cache/corpus"))
    ap.add_argument("--per-speaker", type=int, default=6)
    ap.add_argument("--min-words", type=int, default=4)
    ap.add_argument("--mos", action="store_true", help="DistillMOS of every reading too (see above)")
    args = ap.parse_args(argv)
    stages = STAGES + ((POSTFILTERED_COPY,) if args.mos else ())
    mos_of = None
    if args.mos:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
        import distillmos_one_thread
        mos_of = distillmos_one_thread.load()
    items = {i["id"]: i for i in manifest_items(args.corpus, {"en"}, 10 ** 9, 1e9)}
    index = json.loads((args.data / "index.json").read_text(encoding="utf-8"))
    asr = W.recognizer()
    wavs: dict[str, np.ndarray] = {}
    results: dict[str, dict] = {}
    mos: dict[str, dict] = {}
    for model in args.model:
        voice = S.load_voice(model)
        english = [s.name for s in voice.speakers if "en" in s.language.split(",")]
        per: dict[str, dict[str, list[int]]] = {}
        per_mos: dict[str, dict[str, list[float]]] = {}
        for spk in english:
            rows = [r for r in index if r["speaker"] == spk and r["split"] == "valid" and r["id"] in items
                    and len(items[r["id"]]["text"].split()) >= args.min_words][: args.per_speaker]
            for r in rows:
                it = items[r["id"]]
                if r["id"] not in wavs:
                    x, info = audio.read(it["audio"])
                    wavs[r["id"]] = audio.resample(audio.to_mono(x), info.sr, 16000).astype(np.float32)
                d = dict(np.load(args.data / "utts" / f"{r['id']}.npz"))
                readings = read_stages(voice, spk, it["text"], wavs[r["id"]], d, postfiltered_copy=args.mos)
                for stage, y in readings.items():
                    e, n = W.wer(it["text"], W.transcribe(asr, y))
                    acc = per.setdefault(spk, {}).setdefault(stage, [0, 0])
                    acc[0], acc[1] = acc[0] + e, acc[1] + n
                    if mos_of is not None:
                        per_mos.setdefault(spk, {}).setdefault(stage, []).append(mos_of(y))
            print(f"{model} {spk}: done", file=sys.stderr, flush=True)
        results[model] = {spk: {st: round(v[0] / v[1], 3) for st, v in s.items()} for spk, s in per.items()}
        if mos_of is not None:
            mos[model] = {spk: {st: round(float(np.mean(v)), 3) for st, v in s.items()} for spk, s in per_mos.items()}
    print(json.dumps({"wer": results} | ({"distillmos": mos} if mos else {}), indent=1))
    for title, table in [("WER", results), ("DistillMOS", mos)]:
        for model, per in table.items():
            print(f"\n{title}, {model}\n\n| voice | " + " | ".join(stages) + " |\n|---|" + "---:|" * len(stages))
            for spk, s in per.items():
                print(f"| {spk} | " + " | ".join(f"{s.get(st, float('nan')):.3f}" for st in stages) + " |")
            print("| mean | " + " | ".join(f"{np.mean([s[st] for s in per.values()]):.3f}" for st in stages) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
