"""More English for the flite voices (train/synth/flite_texts.py): fortune cookies -> readable,
disjoint sentences per voice; prepare.py reads the rendered folders as the corpus' flite voices."""

from __future__ import annotations

from train.synth import flite_texts as T
from train.synth import prepare as P
from train.synth import wer as W

FILE = """Dreams are free, but there's a small charge for alterations.
%
The reward of a thing well done is to have done it.
		-- Emerson
%
#include <stdio.h> int main() { return 0; }
%
Keep cool.  But don't freeze.  Is this the ONLY WAY we know to
say it nicely, my friend?
%
"""


def test_cookies_split_on_percent_lines_and_drop_attributions():
    got = T.cookies(FILE)
    assert got[1] == "The reward of a thing well done is to have done it."
    assert len(got) == 4 and not any("Emerson" in c for c in got)


def test_sentences_keep_plain_readable_ones_only():
    got = [s for c in T.cookies(FILE) for s in T.sentences(c)]
    assert "Dreams are free, but there's a small charge for alterations." in got
    assert not any("include" in s for s in got)  # code
    assert not any("ONLY" in s for s in got)  # shouting: read letter by letter
    assert not any(s.startswith("Keep cool") for s in got)  # too short (3 words)


def test_select_gives_disjoint_voices_without_excluded_or_repeated_texts():
    texts = [f"Sentence number {w} is here." for w in ("one", "two", "three", "four", "five", "six", "seven")]
    texts += ["sentence number ONE is here!", W.SENTENCES[0]]
    per = T.select(texts, set(W.SENTENCES), n_voices=2, per_voice=3, seed=0)
    assert [len(p) for p in per] == [3, 3]
    flat = [s for p in per for s in p]
    assert len({" ".join(W.words(s)) for s in flat}) == 6
    assert W.SENTENCES[0] not in flat
    assert per == T.select(texts, set(W.SENTENCES), n_voices=2, per_voice=3, seed=0)  # reproducible


def test_prepare_reads_flite_folders_as_the_flite_voices(tmp_path):
    d = tmp_path / "flite-slt"
    d.mkdir()
    (d / "fortune_00000.wav").write_bytes(b"")
    (d / "fortune_00000.txt").write_text("Keep cool, but do not freeze.\n")
    other = tmp_path / "p225"
    other.mkdir()
    (other / "a.wav").write_bytes(b"")
    (other / "a.txt").write_text("Hello there.\n")
    items = {i["speaker"]: i for i in P.corpus_items([tmp_path], {"en"}, "en", 100, 6.0)}
    assert items["flite-slt"]["flite_voice"] == "slt" and items["flite-slt"]["sex"] == "F"
    assert items["flite-slt"]["id"] == "flite-slt_fortune_00000"
    assert items["p225"]["flite_voice"] == ""


def test_wordnet_examples_are_the_glosses_quoted_usage_written_as_sentences():
    data = "\n".join([
        "  1 This software and database is being provided to you, the LICENSEE, by Princeton",
        '00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived; "he drew his conclusions '
        'quickly"; "is it raining now?"; "a cat"',
        "00002137 03 n 01 abstraction 0 000 | a general concept formed by extracting common features",
        '00002452 03 v 01 run 0 000 | move fast; "The teenager wolfed down the pizza"; "ok; "x"',
    ])
    assert T.wordnet_examples(data) == ["He drew his conclusions quickly.", "Is it raining now?",
                                        "The teenager wolfed down the pizza."]
