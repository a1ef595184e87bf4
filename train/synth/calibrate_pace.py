"""Measure each voice's pace against its own recordings and write it into the voice's sidecar.

    python -m train.synth.calibrate_pace --model onnx_models/multispeaker-synth.onnx --corpus cache/corpus [--write]

The duration model is trained with an L2 loss on log(1 + frames), so it predicts a speaker's mean
log duration, whose exponential is shorter than the mean duration (Jensen's inequality; by about
exp(var/2) for a log-duration variance ``var``): every voice speaks faster than the speaker it
learned from. This script measures by how much, per speaker, on that speaker's own transcribed
recordings, read as the recipe reads them (the corpus manifests that ``make data`` writes, where
the flite voices' recordings are flite's renderings, or a ``SPEAKER/UTT`` folder such as VCTK):
the median over utterances of the recording's active span (first to last 10 ms
frame within :data:`SPAN_DB` dB of the loudest, so leading and trailing silence do not count)
over the synthesized transcript's. The factor (``pace`` in the acoustic sidecar) multiplies the
predicted durations at run time (``msar.onnx_models.synth.Voice.durations``), so ``--rate 1`` is
the speaker's own pace. It is measured with the current calibration applied and multiplied into
it, so a rerun refines rather than compounds it. Speakers with fewer than :data:`MIN_UTTS` usable
utterances keep what they had (1 if never calibrated).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from msar.dsp.errors import MsarError
from msar.onnx_models import registry
from msar.onnx_models import synth as S

#: A frame counts as active within this many dB of the utterance's loudest 10 ms frame.
SPAN_DB = 35.0
#: Utterances per speaker (a random sample, seeded) and the fewest that make a measurement.
UTTS = 120
MIN_UTTS = 10
#: Transcripts shorter than this many words are skipped: on one-word prompts the measurement is
#: mostly the edges.
MIN_WORDS = 3


def active_span_s(y: np.ndarray, sr: int, span_db: float = SPAN_DB) -> float:
    """Seconds from the first to the last 10 ms frame within ``span_db`` dB of the loudest (0 for
    silence or audio shorter than a frame)."""
    y = np.asarray(y, np.float64)
    if y.ndim > 1:
        y = y.mean(axis=1)
    hop = max(sr // 100, 1)
    n = len(y) // hop
    if n == 0:
        return 0.0
    power = np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1)
    if not power.max() > 0.0:
        return 0.0
    db = 10.0 * np.log10(power + 1e-20)
    active = np.flatnonzero(db > db.max() - span_db)
    return (active[-1] - active[0] + 1) * hop / sr


def recordings(corpus: Path, speaker: str, languages: set[str], n: int = UTTS, min_words: int = MIN_WORDS,
               seed: int = 0) -> list[dict]:
    """Up to ``n`` utterances of ``speaker`` (``audio`` path and ``text``) in one of ``languages``
    with a transcript of ``min_words`` words or more, a seeded random sample. ``corpus`` is laid out
    as the synthesis recipe reads it (``train.synth.prepare.corpus_items``): an msar corpus folder
    (its manifests) or ``SPEAKER/UTT`` audio with transcripts, VCTK's layout included."""
    from train.synth.prepare import corpus_items

    folder_language = sorted(languages)[0] if languages else "en"
    items = [it for it in corpus_items([corpus], languages, folder_language, 10**9, float("inf"))
             if it["speaker"] == speaker and len(it["text"].split()) >= min_words]
    items.sort(key=lambda it: it["audio"])
    np.random.default_rng(seed).shuffle(items)
    return items[:n]


def measure(voice: S.Voice, corpus: Path, speaker: str, n: int = UTTS) -> dict:
    """``speaker``'s recordings against the voice's rendering of their transcripts: per-utterance
    ratios of active spans (recording / synthesis, at the voice's current pace) and how many
    transcripts the front end could not speak."""
    ratios, skipped = [], 0
    languages = {x for x in voice.speaker(speaker).language.split(",") if x} or {"en"}
    for it in recordings(corpus, speaker, languages, n):
        try:
            y, sr = sf.read(it["audio"], dtype="float32", always_2d=False)
            z, zsr = voice.synthesize(it["text"], speaker, S.SynthOptions(language=it.get("language")))
        except (MsarError, sf.LibsndfileError, OSError):  # unspeakable text or unreadable audio
            skipped += 1
            continue
        real, synth = active_span_s(y, sr), active_span_s(z, zsr)
        if real > 0.0 and synth > 0.0:
            ratios.append(real / synth)
    return {"ratios": np.array(ratios), "skipped": skipped}


def calibrate(voice: S.Voice, corpus: Path, n: int = UTTS) -> dict:
    """The ``pace`` sidecar entry for ``voice``: per speaker, the current pace times the median
    ratio (where fewer than :data:`MIN_UTTS` utterances could be measured: the earlier
    calibration, if any, else none, i.e. 1), with the counts and quartiles it rests on."""
    speakers, counts, quartiles = {}, {}, {}
    for spk in voice.speakers:
        m = measure(voice, corpus, spk.name, n)
        r = m["ratios"]
        counts[spk.name] = int(len(r))
        old = voice.pace(spk.name)
        if len(r) < MIN_UTTS:
            if spk.name in voice.card.pace:  # an earlier measurement stands
                speakers[spk.name] = old
            print(f"{spk.name}: {len(r)} usable utterances (< {MIN_UTTS}): pace left at {old:g}", file=sys.stderr)
            continue
        lo, med, hi = (float(q) for q in np.quantile(r, [0.25, 0.5, 0.75]))
        pace = float(np.clip(old * med, *S.PACE_RANGE))
        speakers[spk.name] = round(pace, 3)
        quartiles[spk.name] = [round(old * lo, 3), round(old * hi, 3)]
        print(f"{spk.name:24s} {len(r):3d} utts  pace {old:.3f} -> {pace:.3f}  (quartiles {old * lo:.3f}-{old * hi:.3f};"
              f" {m['skipped']} skipped)", file=sys.stderr)
    return {"measured_by": "python -m train.synth.calibrate_pace", "date": datetime.date.today().isoformat(),
            "method": f"median over up to {n} transcribed recordings per speaker (>= {MIN_WORDS} words) of the "
                      f"recording's active span over the synthesized transcript's (frames within {SPAN_DB:g} dB of "
                      "the loudest)", "utterances": counts, "quartiles": quartiles, "speakers": speakers}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=S.DEFAULT_MODEL, help="acoustic model name or .onnx path")
    ap.add_argument("--corpus", type=Path, required=True,
                    help="what the model was trained on: the corpus `make data` prepared (cache/corpus) or a "
                         "SPEAKER/UTT folder with transcripts (VCTK's layout included)")
    ap.add_argument("--utterances", type=int, default=UTTS, help="per speaker")
    ap.add_argument("--write", action="store_true", help="write the result into the model's sidecar as `pace`")
    args = ap.parse_args(argv)
    if not args.corpus.is_dir():
        raise SystemExit(f"{args.corpus}: no such corpus folder")
    voice = S.load_voice(args.model)
    entry = calibrate(voice, args.corpus, args.utterances)
    if args.write and not entry["speakers"]:
        raise SystemExit(f"no speaker of {voice.card.name} has {MIN_UTTS} usable recordings in {args.corpus}: nothing written")
    if args.write:
        registry.update_sidecar(voice.path, "pace", entry)
        print(f"pace written into {registry.sidecar_path(voice.path)}", file=sys.stderr)
    else:
        print("(not written: --write)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
