"""How `train.synth.wer` scores a transcript (digit forms the recognizer picks freely are not
errors; misheard numbers are) and how `make bench-synth` judges msar's WER against flite's
(bench/synth_peers.py: wer_gap, targets)."""

import importlib
import os
import sys
from pathlib import Path

import pytest

from train.synth import wer as W


@pytest.mark.parametrize("ref, hyp", [
    ("The meeting is at 10:30 in room 12.", "The meeting is at 1030 in room 12."),
    ("The meeting is at 10:30 in room 12.", "The meeting is at 10.30 in Room 12."),
    ("It departs at 7:15 and arrives at 9:40.", "It departs at 715 and arrives at 9.40."),
    ("We counted 1,284 birds.", "We counted 1284 birds."),
    ("Send it before 5 p.m. tomorrow?", "Send it before 5pm tomorrow?"),
    ("Back on Jan. 2 then.", "Back on January 2nd then."),
])
def test_writings_of_the_same_number_are_not_errors(ref, hyp):
    assert W.wer(ref, hyp)[0] == 0


@pytest.mark.parametrize("ref, hyp, edits", [
    ("The meeting is at 10:30.", "The meeting is at 10:50.", 1),
    ("It rose by 3.5%.", "It rose by 35%.", 2),           # a decimal is not a clock time
    ("It costs $27.50 each.", "It costs $2750 each.", 5),  # nor is money
    ("Call extension 4071.", "Call extension 40.71.", 3),  # hours past 24 are not a time
])
def test_misheard_numbers_still_count(ref, hyp, edits):
    assert W.wer(ref, hyp)[0] == edits


def test_a_clock_time_counts_as_its_spoken_words():
    assert W.words("Leave at 9.40.") == ["leave", "at", "nine", "forty"]
    assert W.words("He was born in 1968 at 1030.") == ["he", "was", "born", "in", "nineteen", "sixty", "eight",
                                                        "at", "ten", "thirty"]


@pytest.fixture(scope="module")
def peers():
    saved = dict(os.environ)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        yield importlib.import_module("synth_peers")
    finally:
        os.environ.clear()
        os.environ.update(saved)  # the module pins BLAS threads for its own process only
        sys.path.pop(0)


def _utts(peers, edits: dict[str, list[int]], words: int = 10, set_="wer"):
    return [peers.Utt(name, set_, i, "", 1.0, 0.1, {"edits": e, "words": words})
            for name, es in edits.items() for i, e in enumerate(es)]


def test_wer_gap_is_the_difference_of_the_pooled_rates_with_an_interval(peers):
    utts = _utts(peers, {"msar a": [1, 0, 2, 1] * 10, "msar b": [1, 1, 0, 1] * 10, "flite x": [0, 0, 1, 0] * 10})
    g = peers.wer_gap(utts, ["msar a", "msar b"], ["flite x"])
    assert g["sentences"] == 40 and g["words"] == 400
    assert g["gap"] == pytest.approx((70 / 2 - 10) / 400)
    assert 0 < g["lo"] < g["gap"] < g["hi"]


def test_wer_gap_uses_only_sentences_every_system_read(peers):
    utts = _utts(peers, {"msar a": [3, 0], "flite x": [0, 0]}) + _utts(peers, {"msar a": [5]}, set_="fixed")
    assert peers.wer_gap(utts, ["msar a"], ["flite x"])["sentences"] == 2


def _systems(peers, wers: dict[str, tuple[float, float]]):
    systems = [peers.System(n, "msar" if n.startswith("msar") else "peer", "en", lambda t: None) for n in wers]
    return systems, {n: {"wer_fixed": f, "wer": p} for n, (f, p) in wers.items()}


def test_the_target_is_judged_on_the_pooled_sets_and_a_tie_is_called_one(peers):
    systems, summary = _systems(peers, {"msar a": (0.05, 0.07), "flite x": (0.08, 0.06)})
    line = peers.targets(systems, summary, None)[0]
    assert "together: not met." in line and "pooled: msar 0.070" in line
    tie = {"gap": 0.01, "lo": -0.002, "hi": 0.02, "sentences": 80, "words": 900}
    line = peers.targets(systems, summary, None, gap=tie)[0]
    assert "together: a tie (not met on the means, within the noise)." in line and "[-0.002, +0.020]" in line
    clear = dict(tie, lo=0.004)
    assert "together: not met." in peers.targets(systems, summary, None, gap=clear)[0]
