"""What the pace calibration (``train.synth.calibrate_pace``) does to the English voices, measured
on the post-filter tuning sentences (``bench/synth_postfilter_tune.py``: 36, none in the
benchmark's sets).

    python bench/synth_pace_check.py [--model multispeaker-synth] [--out reports/synth-pace.md]

Each English voice speaks every sentence twice: at its calibrated pace (``rate`` 1) and as the
model predicts without the calibration (``rate`` = the voice's pace factor, which cancels it).
Scores: WER of faster-whisper tiny.en (``train.synth.wer``, seeded), DistillMOS and DNSMOS OVRL
(one thread each), and the audio's length.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="multispeaker-synth")
    ap.add_argument("--out", type=Path, default=ROOT / "reports/synth-pace.md")
    args = ap.parse_args(argv)

    import dnsmos_one_thread
    import distillmos_one_thread
    from synth_postfilter_tune import MORE_SENTENCES, SENTENCES, write_report

    from msar.dsp import audio
    from msar.onnx_models import synth as S
    from train.synth import wer as W

    sentences = SENTENCES + MORE_SENTENCES
    voice = S.load_voice(args.model)
    names = [s.name for s in voice.speakers if "en" in s.language.split(",")]
    dnsmos, _ = dnsmos_one_thread.load()
    distill = distillmos_one_thread.load()
    asr = W.recognizer()
    rows, start = [], time.perf_counter()
    for name in names:
        for label, rate in (("uncalibrated", voice.pace(name)), ("calibrated", 1.0)):
            for i, text in enumerate(sentences):
                y, sr = voice.synthesize(text, name, S.SynthOptions(rate=rate))
                y16 = audio.resample(y, sr, 16000) if sr != 16000 else y
                e, n = W.wer(text, W.transcribe(asr, np.asarray(y16, np.float32)))
                rows.append({"voice": name, "pace": label, "factor": voice.pace(name) if label == "calibrated" else 1.0,
                             "sentence": i, "audio_s": len(y) / sr, "edits": e, "words": n, "distillmos": distill(y16),
                             "dnsmos_ovrl": float(dnsmos(y16, 16000, False)["ovrl_mos"])})
        print(f"{name} done ({time.perf_counter() - start:.0f} s)", file=sys.stderr)

    def agg(sel):
        return (sum(r["edits"] for r in sel) / max(sum(r["words"] for r in sel), 1),
                np.mean([r["distillmos"] for r in sel]), np.mean([r["dnsmos_ovrl"] for r in sel]),
                sum(r["audio_s"] for r in sel))

    L = ["# Pace calibration of the synthesis voices (`bench/synth_pace_check.py`)", "",
         f"Model `{args.model}`. Each English voice speaks the {len(sentences)} post-filter tuning sentences "
         "(`bench/synth_postfilter_tune.py`; none in the benchmark's sets) with and without its pace calibration "
         "(`train.synth.calibrate_pace`: the median ratio of the speaker's recordings' length to the model's "
         "rendering of their transcripts). WER: faster-whisper tiny.en (seeded); DistillMOS and DNSMOS OVRL: "
         "means over the utterances.", "",
         "| voice | pace | WER uncal. | WER cal. | DistillMOS uncal. | DistillMOS cal. | DNSMOS OVRL uncal. | "
         "DNSMOS OVRL cal. | audio s uncal. | audio s cal. |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in names + ["all"]:
        sel = [r for r in rows if name in ("all", r["voice"])]
        u = agg([r for r in sel if r["pace"] == "uncalibrated"])
        c = agg([r for r in sel if r["pace"] == "calibrated"])
        pace = f"{voice.pace(name):.3f}" if name != "all" else ""
        L.append(f"| {name} | {pace} | {u[0]:.3f} | {c[0]:.3f} | {u[1]:.3f} | {c[1]:.3f} | {u[2]:.3f} | {c[2]:.3f} "
                 f"| {u[3]:.1f} | {c[3]:.1f} |")
    L += ["", f"{len(rows)} utterances in {time.perf_counter() - start:.0f} s wall.", ""]
    write_report(args.out, L, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
