"""More English for the flite voices: sentences of the ``fortunes`` package read by flite.

Why: the corpus gives each flite voice the same ~1300 short telephony prompts and Tux Paint
captions, so the four voices share one small set of texts, and the held-out English sentences of
the benchmark (numbers, dates, questions, everyday words) are far from them. flite renders any
text with exact phone timings (``flite -psdur``: ``align.flite_phone_ends``), so varied, new
sentences cost only CPU. Each voice gets its own sentences (none shared between voices, none of
``train.synth.wer``'s or ``make bench-synth``'s test sentences, none of the corpus' own flite texts).

Layout: ``<out>/flite-<voice>/fortune_<n>.wav`` with ``fortune_<n>.txt`` beside it, which
``prepare.py`` reads as a ``SPEAKER/UTT`` folder (the ``flite-`` speakers join the corpus' flite
voices, with flite's timings snapped in). Licence of the text: BSD (fortune-mod; quotations of
their authors), recorded in ``<out>/LICENCE.txt``.

``--source wordnet`` reads the usage examples of WordNet 3.0's glosses instead (Debian
``wordnet-base``; "he drew his conclusions quickly": about 33 000 short everyday sentences and
phrases, three times the fortunes' supply) into ``wordnet_<n>`` files; give it its own ``--out``
so that a recipe without it is unchanged. Licence: the WordNet 3.0 licence (Princeton
University: use, copy, modify and distribute with the notice kept), recorded the same way.

    python -m train.synth.flite_texts --cache cache --out cache/synth-text --per-voice 1500
    python -m train.synth.flite_texts --source wordnet --out cache/synth-text-wordnet --per-voice 2500
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from train.data import debs
from train.data.synthetic import FLITE_VOICES, _synthesize_one, english_texts

from . import wer as W

PACKAGE = "fortunes"
#: Cookie files of plain prose (not ASCII art, code, or the files of offensive jokes).
FILES = ("art", "computers", "cookie", "definitions", "education", "food", "goedel", "humorists", "kids",
         "law", "love", "magic", "medicine", "miscellaneous", "news", "people", "pets", "platitudes",
         "politics", "pratchett", "science", "songs-poems", "sports", "startrek", "tao", "wisdom", "work")
MIN_WORDS, MAX_WORDS, MAX_CHARS = 4, 14, 90
_ALLOWED = re.compile(r"^[A-Z][A-Za-z0-9 ,.'?!;:$%-]*[.?!]$")
LICENCE = "BSD (fortune-mod, Debian package fortunes; quotations of their authors)"
WORDNET_PACKAGE = "wordnet-base"
WORDNET_LICENCE = ("WordNet 3.0 licence (Debian package wordnet-base): WordNet 3.0 Copyright 2006 by Princeton "
                   "University. All rights reserved. Permission to use, copy, modify and distribute for any purpose "
                   "and without fee, with this notice kept; provided AS IS, without warranty")


def cookies(text: str) -> list[str]:
    """The cookies of one fortune file (``%`` lines separate them), attributions (``-- Name``)
    dropped, lines joined."""
    out = []
    for block in re.split(r"^%\s*$", text, flags=re.M):
        lines = [ln.strip() for ln in block.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith(("--", "-- "))]
        if lines:
            out.append(" ".join(lines))
    return out


def sentences(cookie: str) -> list[str]:
    """The sentences of a cookie that a speaker could read as they are: one plain sentence of
    ``MIN_WORDS``-``MAX_WORDS`` words, letters, digits and ordinary punctuation only."""
    out = []
    for s in re.split(r"(?<=[.?!])\s+", re.sub(r"\s+", " ", cookie)):
        s = s.strip().replace("`", "'")
        n = len(s.split())
        if MIN_WORDS <= n <= MAX_WORDS and len(s) <= MAX_CHARS and _ALLOWED.match(s) and " - " not in s \
                and not re.search(r"[A-Z]{4,}", s):
            out.append(s)
    return out


def wordnet_examples(data: str) -> list[str]:
    """The quoted usage examples of the glosses of one WordNet ``data.*`` file, written as
    sentences: first letter capital, a full stop where the example has no final punctuation.
    Only those :func:`sentences` accepts as they are read."""
    out = []
    for line in data.splitlines():
        if line.startswith("  ") or "|" not in line:  # the licence header, or no gloss
            continue
        for ex in re.findall(r'"([^"]+)"', line.split("|", 1)[1]):
            ex = re.sub(r"\s+", " ", ex).strip().strip(";,").strip()
            if not ex:
                continue
            ex = ex[0].upper() + ex[1:]
            out += sentences(ex if ex[-1] in ".?!" else ex + ".")
    return out


def select(texts: list[str], exclude: set[str], n_voices: int, per_voice: int, seed: int) -> list[list[str]]:
    """``n_voices`` disjoint lists of ``per_voice`` sentences (fewer when the texts run out):
    deduplicated ignoring case and punctuation, ``exclude`` left out, in a seeded random order."""
    key = lambda s: " ".join(W.words(s))  # noqa: E731
    banned = {key(s) for s in exclude}
    seen: set[str] = set()
    uniq = []
    for s in texts:
        k = key(s)
        if k and k not in seen and k not in banned:
            seen.add(k)
            uniq.append(s)
    order = np.random.default_rng(seed).permutation(len(uniq))
    picked = [uniq[i] for i in order[: n_voices * per_voice]]
    return [picked[v::n_voices] for v in range(n_voices)]


#: the file names' prefix of each source's sentences (``<prefix>_<n>.wav``)
PREFIX = {"fortunes": "fortune", "wordnet": "wordnet"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.flite_texts", description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=Path("cache"))
    ap.add_argument("--out", type=Path, default=Path("cache/synth-text"))
    ap.add_argument("--per-voice", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--source", choices=("fortunes", "wordnet"), default="fortunes")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    texts = []
    if args.source == "fortunes":
        root = debs.unpack(args.cache, PACKAGE, ("./usr/share/games/fortunes/*", "./usr/share/doc/*"))
        for name in FILES:
            path = root / "usr/share/games/fortunes" / name
            if path.exists():
                for c in cookies(path.read_text(encoding="utf-8", errors="replace")):
                    texts += sentences(c)
        licence = LICENCE
    else:
        root = debs.unpack(args.cache, WORDNET_PACKAGE, ("./usr/share/wordnet/data.*", "./usr/share/doc/*"))
        for pos in ("noun", "verb", "adj", "adv"):
            texts += wordnet_examples((root / "usr/share/wordnet" / f"data.{pos}").read_text(encoding="latin-1"))
        licence = WORDNET_LICENCE
    prefix = PREFIX[args.source]
    bench = Path(__file__).resolve().parents[2] / "bench/data"  # make bench-synth's test texts (none was drawn so far)
    exclude = set(W.SENTENCES) | {t for _, t, _ in english_texts(args.cache)} | {
        ln.strip() for name in ("synth-sentences.txt", "synth-sentences-wer.txt")
        for ln in (bench / name).read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")}
    voices = sorted(FLITE_VOICES)
    per = select(texts, exclude, len(voices), args.per_voice, args.seed)
    todo = []
    for voice, lines in zip(voices, per):
        d = args.out / f"flite-{voice}"
        d.mkdir(parents=True, exist_ok=True)
        for n, text in enumerate(lines):
            wav = d / f"{prefix}_{n:05d}.wav"
            (d / f"{prefix}_{n:05d}.txt").write_text(text + "\n", encoding="utf-8")
            if not wav.exists():
                todo.append((voice, text, wav))
    (args.out / "LICENCE.txt").write_text(f"texts: {licence}\naudio: flite voices (CMU, BSD-like)\n", encoding="utf-8")
    Parallel(n_jobs=args.jobs)(delayed(_synthesize_one)(args.cache, v, t, w) for v, t, w in todo)
    print(f"{sum(map(len, per))} {args.source} sentences ({len(texts)} candidates) for {len(voices)} flite voices in {args.out}; "
          f"{len(todo)} rendered now", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
