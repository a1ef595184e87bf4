"""Text front end: normalization of tricky text and espeak-ng G2P (phones, stress, pauses)."""

import shutil

import pytest

from msar.onnx_models import frontend as F

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


@pytest.mark.parametrize("text, spoken", [
    ("Dr. Smith paid $12.50.", "doctor Smith paid twelve dollars fifty cents."),
    ("It costs €1.", "It costs one euro."),
    ("On 2024-03-05 at 5:30", "On March fifth, twenty twenty-four at five thirty"),
    ("Born March 3, 1999.", "Born March third, nineteen ninety-nine."),
    ("The 21st item of 1,234", "The twenty-first item of one thousand two hundred thirty-four"),
    ("50% off, e.g. 3.14 km", "fifty percent off, for example three point one four kilometers"),
    ("It’s 7:05 — “late”", "It's seven oh five , \"late\""),
    ("It raised €2.3 million since 1991.", "It raised two point three million euros since nineteen ninety-one."),
    ("Call 555-0199 now.", "Call five five five, oh one nine nine now."),
    ("He lives at 221B Baker Road.", "He lives at two hundred twenty-one B Baker Road."),
    ("Due 12/25/2023, pages 10-20.", "Due December twenty-fifth, twenty twenty-three, pages ten to twenty."),
    ("It was -5 in 1991.5", "It was minus five in one thousand nine hundred ninety-one point five"),
    ("In the 1990s, the 2000s and the '80s or 60s.", "In the nineteen nineties, the two thousands and the eighties or sixties."),
    ("Before 5pm, at 7:15am or 9 A.M. today", "Before five p m, at seven fifteen a m or nine a m today"),
    ("Meet at 5:00 p.m. Then go; at 6 p.m. sharp.", "Meet at five p m. Then go; at six p m sharp."),
    ("13 pm, 5 amps", "thirteen pm, five amps"),
    ("On Jan. 2 and Sept. 5th, 2024", "On January second and September fifth, twenty twenty-four"),
])
def test_normalize_english(text, spoken):
    assert F.normalize(text, "en") == spoken


def test_normalize_other_languages_spell_numbers():
    assert F.normalize("21 euros", "fr") == "vingt et un euros"
    assert F.normalize("3 amigos", "es") == "tres amigos"


@needs_espeak
def test_phonemize_gives_phones_stress_and_pauses():
    phones = F.phonemize("Hello, world.", "en")
    syms = [p.symbol for p in phones]
    assert syms[0] == syms[-1] == F.SIL
    assert F.PAU in syms  # the comma
    assert syms[1:4] == ["h", "ə", "l"]
    assert any(p.stress == 1 for p in phones)
    assert all(p.end_s >= p.start_s for p in phones)


@needs_espeak
@pytest.mark.parametrize("text", ["☃☃☃", "   ...  ", "Привет"])
def test_unpronounceable_text_names_the_line(text):
    with pytest.raises(F.FrontendError, match="line 7"):
        F.phonemize(text, "en", line=7)


@needs_espeak
def test_cyrillic_is_fine_in_russian():
    syms = [p.symbol for p in F.phonemize("Привет, мир.", "ru")]
    assert "p" in syms and F.PAU in syms


def test_phone_ids_reports_unknown_phones():
    phones = [F.Phone(F.SIL), F.Phone("x"), F.Phone(F.SIL)]
    with pytest.raises(F.FrontendError, match="line 2: .*phone\\(s\\) x"):
        F.phone_ids(phones, {F.SIL: 1}, line=2)
    assert F.phone_ids(phones[:1], {F.SIL: 1}).tolist() == [1]


def test_fit_phones_decomposes_compound_symbols():
    table = {F.SIL: 1, "ɪ": 2, "ɹ": 3, "i": 4}
    fitted = F.fit_phones([F.Phone("ɪɹ", 1), F.Phone("iː"), F.Phone("x")], table)
    assert [(p.symbol, p.stress) for p in fitted] == [("ɪ", 1), ("ɹ", 1), ("i", 0), ("x", 0)]
