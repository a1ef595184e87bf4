"""How `train.synth.wer` scores a transcript: the writings of a number that the recognizer picks
freely are not errors, misheard numbers are."""

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
    ("It costs $27.50 each.", "It costs $2750 each.", 4),  # nor is money
    ("Call extension 4071.", "Call extension 40.71.", 2),  # hours past 24 are not a time
])
def test_misheard_numbers_still_count(ref, hyp, edits):
    assert W.wer(ref, hyp)[0] == edits


def test_only_clock_times_become_clock_times():
    assert W.digit_forms("at 1030, at 10300, at 1075, by 915 and 2026") == "at 10:30, at 10300, at 1075, by 9:15 and 2026"
    assert W.digit_forms("pay $27.50 or 2.50% by 9.40, 1,284 of them") == "pay $27.50 or 2.50% by 9:40, 1284 of them"


def test_a_clock_time_counts_as_its_spoken_words():
    assert W.words("Leave at 9.40.") == ["leave", "at", "nine", "forty"]
    assert W.words("He was born in 1968 at 1030.") == ["he", "was", "born", "in", "nineteen", "sixty", "eight",
                                                        "at", "ten", "thirty"]


@pytest.mark.parametrize("ref, hyp", [
    ("It fits in a shoebox.", "It fits in a shoe box."),
    ("It fits in a shoe box.", "It fits in a shoebox."),
    ("He paid with a fifty dollar note.", "He paid with a $50 note."),
    ("It cost £3.", "It cost 3 pound."),
])
def test_spellings_of_the_same_words_are_not_errors(ref, hyp):
    assert W.wer(ref, hyp)[0] == 0


@pytest.mark.parametrize("ref, hyp, edits", [
    ("It fits in a shoebox.", "It fits in a show box.", 2),     # misheard, not respelt
    ("The shoe box is in a box.", "The shoebox is in a box.", 0),
    # where the reference has both spellings, the transcript's two words are read as its two words
    ("A shoebox is not a shoe box.", "A shoe box is not a shoe box.", 2),
    ("He paid fifteen pounds.", "He paid fifteen.", 1),         # a dropped unit still counts
])
def test_respelling_hides_no_real_error(ref, hyp, edits):
    assert W.wer(ref, hyp)[0] == edits


def test_the_reference_length_does_not_depend_on_the_transcript():
    assert W.wer("It fits in a shoe box.", "It fits in a shoebox.") == (0, 6)
    assert W.wer("It fits in a shoe box.", "It fits in a crate.")[1] == 6
