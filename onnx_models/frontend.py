"""Text front end for synthesis: normalization (numbers, dates, currency, abbreviations) and
grapheme-to-phoneme conversion with espeak-ng, shared by training (``train/synth``) and
``msar synth`` so the models never see phones the runtime cannot produce (RNNoise's rule).

G2P runs the espeak-ng library (``libespeak-ng.so.1``, the ``espeak-ng`` system package) through
ctypes with phoneme events in IPA: each event names one phone and the millisecond at which
espeak-ng's own rendering reaches it. Training uses those timings (``Espeak.render``) as the
reference for aligning real recordings (``train/synth/align.py``); the runtime uses only the
phone sequence. Lexical stress comes from ``espeak_TextToPhonemes`` on the same text and is moved
onto the event phones word by word.

An utterance is a list of :class:`Phone`: an IPA symbol (``sil`` at the start and end, ``pau``
for a clause pause), its stress (0 none, 1 primary, 2 secondary) and, when rendered, its
reference start/end in seconds. The voice's phone table (its sidecar) maps symbols to ids.
"""

from __future__ import annotations

import ctypes
import re
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np

from msar.dsp.errors import MsarError

SIL, PAU = "sil", "pau"

#: espeak-ng voice for each language code msar uses in manifests (ISO 639-1).
ESPEAK_VOICES = {"en": "en-us", "es": "es", "fr": "fr", "it": "it", "ru": "ru", "cs": "cs", "de": "de",
                 "pt": "pt", "nl": "nl", "ro": "ro", "bg": "bg", "el": "el", "da": "da", "uk": "uk", "be": "be"}

#: Languages num2words can spell (for the normalizer); others keep digits for espeak-ng.
_NUM2WORDS_LANGS = {"en", "es", "fr", "it", "ru", "cs", "de", "pt", "nl", "ro", "da", "uk"}


class FrontendError(MsarError):
    """Text the front end cannot turn into phones (the message says why)."""


@dataclass(frozen=True)
class Phone:
    symbol: str
    stress: int = 0
    start_s: float = 0.0
    end_s: float = 0.0


# ---- normalization ---------------------------------------------------------------------------

_ABBREVIATIONS = {
    "en": {"dr.": "doctor", "mr.": "mister", "mrs.": "missus", "ms.": "miss", "st.": "street",
           "jr.": "junior", "sr.": "senior", "prof.": "professor", "vs.": "versus", "etc.": "et cetera",
           "e.g.": "for example", "i.e.": "that is", "approx.": "approximately", "no.": "number",
           "mt.": "mount", "ave.": "avenue", "dept.": "department",
           # Months keep their capital, so that a following day is read as a date ("Jan. 2" -> "January second").
           "jan.": "January", "feb.": "February", "aug.": "August", "sept.": "September", "oct.": "October",
           "nov.": "November", "dec.": "December"},
}
_UNITS = {"en": {"km": "kilometers", "kg": "kilograms", "cm": "centimeters", "mm": "millimeters",
                 "mph": "miles per hour", "kb": "kilobytes", "mb": "megabytes", "gb": "gigabytes",
                 "hz": "hertz", "khz": "kilohertz"}}
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
             "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", "")}
_MONTHS_EN = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december"]
_WORDS = {"en": {"percent": "percent", "and": "and", "point": "point", "minus": "minus"}}


def _n2w(value, lang: str, to: str = "cardinal") -> str:
    from num2words import num2words

    try:
        words = num2words(value, lang=lang, to=to)
    except (NotImplementedError, OverflowError, ValueError, KeyError):
        words = num2words(value, lang=lang) if to != "cardinal" else str(value)
    # num2words writes "one thousand, two hundred": a comma the synthesizer would read as a pause.
    words = words.replace(",", "")
    # ... and the British "three hundred and seventy-two": the English front end is American (espeak-ng
    # en-us, US numeric dates) like every shipped English voice and flite, which all say "three
    # hundred seventy-two"; tiny.en writes the British reading "300 and 72".
    return words.replace(" and ", " ") if lang == "en" else words


def normalize(text: str, lang: str = "en") -> str:
    """Spoken form of ``text`` in ``lang``: unicode folded (NFKC, typographic quotes and dashes),
    abbreviations and units expanded, then currency, dates, times, ordinals, years, decimals and
    integers spelt out with num2words. Languages num2words lacks keep their digits for espeak-ng."""
    t = unicodedata.normalize("NFKC", text)
    t = t.translate({ord("’"): "'", ord("‘"): "'", ord("“"): '"', ord("”"): '"', ord("—"): ", ",
                     ord("–"): " to " if lang == "en" else "-", ord("…"): "...", ord("\u00a0"): " "})
    t = re.sub(r"\s+", " ", t).strip()
    if lang not in _NUM2WORDS_LANGS:
        return t
    if lang == "en":
        for abbr, full in _ABBREVIATIONS["en"].items():
            t = re.sub(r"(?<![\w.])" + re.escape(abbr) + r"(?=\s|$|,)", full, t, flags=re.IGNORECASE)
        t = re.sub(r"\b(\d+(?:\.\d+)?)\s?(%s)\b" % "|".join(_UNITS["en"]),
                   lambda m: f"{m.group(1)} {_UNITS['en'][m.group(2).lower()]}", t, flags=re.IGNORECASE)
        t = re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b", lambda m: _date_en(int(m.group(1)), int(m.group(2)), int(m.group(3))), t)
        months = "|".join(m.capitalize() for m in _MONTHS_EN)
        t = re.sub(r"\b(%s) (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})\b" % months,
                   lambda m: f"{m.group(1)} {_n2w(int(m.group(2)), 'en', 'ordinal')}, {_n2w(int(m.group(3)), 'en', 'year')}", t)
        t = re.sub(r"\b(%s) (\d{1,2})(?:st|nd|rd|th)?\b" % months,
                   lambda m: f"{m.group(1)} {_n2w(int(m.group(2)), 'en', 'ordinal')}", t)
        # US numeric dates (en-us): 12/25/2023.
        t = re.sub(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b",
                   lambda m: _date_en(int(m.group(3)), int(m.group(1)), int(m.group(2))), t)
        # Phone numbers are read digit by digit ("oh" for zero): 555-0199, 800-555-0199.
        t = re.sub(r"(?<![\d-])\d{3}-\d{3,4}(?:-\d{4})?(?![\d-])",
                   lambda m: ", ".join(" ".join("oh" if d == "0" else _n2w(int(d), "en") for d in part)
                                       for part in m.group(0).split("-")), t)
        # Amounts with a scale word: "€2.3 million" -> "two point three million euros".
        t = re.sub(r"([$€£¥])\s?(\d+(?:\.\d+)?) ?(thousand|million|billion|trillion)\b",
                   lambda m: f"{m.group(2)} {m.group(3)} {_CURRENCY[m.group(1)][1]}", t)
        # Ranges: "pages 10-20" -> "pages 10 to 20".
        t = re.sub(r"(?<=\d)-(?=\d)", " to ", t)
        # House numbers and the like: "221B" -> "221 B" (a letter, not a unit: units came first).
        t = re.sub(r"\b(\d+)([A-Z])\b", r"\1 \2", t)
        # Clock times with a.m./p.m.: "5pm", "5 p.m.", "5:00 PM" -> "five p m", "7:15am" -> "seven fifteen a m".
        t = re.sub(r"\b(\d{1,2})(?::(\d{2}))?\s?([ap])\.?\s?m\b(\.?)", _clock_en, t, flags=re.IGNORECASE)
    t = re.sub(r"([$€£¥])\s?(\d[\d,]*)(?:\.(\d{2}))?\b", lambda m: _money(m, lang), t)
    t = re.sub(r"\b(\d{1,2}):(\d{2})\b", lambda m: _time(int(m.group(1)), int(m.group(2)), lang), t)
    t = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _n2w(int(m.group(1)), lang, "ordinal"), t, flags=re.IGNORECASE)
    t = re.sub(r"(\d+(?:[.,]\d+)?)\s?%", lambda m: m.group(1) + (" percent" if lang == "en" else " %"), t)
    if lang == "en":
        # Decades: "the 1990s" -> "the nineteen nineties", "the '80s" or "80s" -> "the eighties".
        t = re.sub(r"(?<![\d.,])(1[1-9]\d0|20\d0)s\b", lambda m: _plural(_n2w(int(m.group(1)), "en", "year")), t)
        t = re.sub(r"(?<![\w.,'’])['’]?([2-9]0)s\b", lambda m: _plural(_n2w(int(m.group(1)), "en")), t)
        # A bare year, also at the end of a sentence ("since 1991."), but not 1991.5 or 1,991.
        t = re.sub(r"(?<![\d.,])(1[1-9]\d\d|20\d\d)(?!\d|[.,]\d|\s?(?:%|percent))",
                   lambda m: _n2w(int(m.group(1)), "en", "year"), t)
    t = re.sub(r"(?<![\d.])(\d{1,3}(?:,\d{3})+)(?![\d])", lambda m: m.group(1).replace(",", ""), t)
    t = re.sub(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])", lambda m: _decimal(m.group(1), m.group(2), lang), t)
    t = re.sub(r"(?<!\w)-(\d)", lambda m: "minus " + m.group(1), t) if lang == "en" else t
    t = re.sub(r"\d+", lambda m: _n2w(int(m.group(0)), lang), t)
    return re.sub(r"\s+", " ", t).strip()


def _plural(words: str) -> str:
    """The plural of a number's last word ("nineteen ninety" -> "nineteen nineties")."""
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}" if head else last


def _date_en(year: int, month: int, day: int) -> str:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return f"{year} {month} {day}"
    return f"{_MONTHS_EN[month - 1].capitalize()} {_n2w(day, 'en', 'ordinal')}, {_n2w(year, 'en', 'year')}"


def _money(m: re.Match, lang: str) -> str:
    units = int(m.group(2).replace(",", ""))
    cents = int(m.group(3) or 0)
    if lang != "en":
        out = _n2w(units, lang)
        return out + (" " + _n2w(cents, lang) if cents else "") + " " + {"$": "dollars", "€": "euros",
                                                                           "£": "pounds", "¥": "yen"}[m.group(1)]
    one, many, sub_one, sub_many = _CURRENCY[m.group(1)]
    out = f"{_n2w(units, 'en')} {one if units == 1 else many}"
    if cents and sub_one:
        out += f" {_n2w(cents, 'en')} {sub_one if cents == 1 else sub_many}"
    return out


def _time(hours: int, minutes: int, lang: str) -> str:
    if lang != "en" or hours > 24 or minutes > 59:
        return f"{_n2w(hours, lang)} {_n2w(minutes, lang)}"
    if minutes == 0:
        return f"{_n2w(hours, 'en')} o'clock"
    mm = _n2w(minutes, "en") if minutes >= 10 else f"oh {_n2w(minutes, 'en')}"
    return f"{_n2w(hours, 'en')} {mm}"


def _clock_en(m: re.Match) -> str:
    hours, minutes = int(m.group(1)), int(m.group(2) or 0)
    if hours > 12 or minutes > 59:
        return m.group(0)
    spoken = _n2w(hours, "en") if minutes == 0 else _time(hours, minutes, "en")
    # "p.m." ends a sentence when nothing but a new sentence (or the end) follows: keep that stop.
    stop = "." if m.group(4) and re.match(r"\s*(?:$|[A-Z])", m.string[m.end():]) else ""
    return f"{spoken} {m.group(3).lower()} m{stop}"


def _decimal(whole: str, frac: str, lang: str) -> str:
    point = "point" if lang == "en" else {"fr": "virgule", "es": "coma", "it": "virgola", "de": "Komma",
                                          "ru": "целых", "cs": "celá"}.get(lang, ",")
    return f"{_n2w(int(whole), lang)} {point} " + " ".join(_n2w(int(d), lang) for d in frac)


# ---- espeak-ng through ctypes -----------------------------------------------------------------

class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    # espeak_EVENT in speak_lib.h
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_EV_LIST_TERMINATED, _EV_PHONEME = 0, 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA = 0x0001, 0x0002
_CHARS_UTF8 = 1
_STRESS = {"ˈ": 1, "ˌ": 2}
#: A silent event at least this long is a pause (``pau``); shorter ones belong to the phone before.
MIN_PAUSE_S = 0.06
#: The script (unicode name prefix) of each language's letters; letters of another script are
#: reported instead of being read out letter by letter in a foreign voice.
_SCRIPTS = {"ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC", "be": "CYRILLIC", "el": "GREEK"}


class Espeak:
    """The espeak-ng library, initialised once per process (its state is global, so calls are
    serialised with a lock). :meth:`render` gives phones with espeak-ng's timings and its audio."""

    _lock = threading.Lock()
    _instance: "Espeak | None" = None

    def __init__(self):
        try:
            self.lib = ctypes.CDLL("libespeak-ng.so.1")
        except OSError:
            raise MsarError("espeak-ng is not installed (the synthesis front end needs libespeak-ng: "
                            "apt-get install espeak-ng)") from None
        self.sr = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                             _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA)
        if self.sr <= 0:
            raise MsarError("espeak-ng failed to initialise (is espeak-ng-data installed?)")
        self._events: list[tuple[str, int]] = []
        self._audio: list[np.ndarray] = []
        self._cb = _CALLBACK(self._callback)  # keep a reference: ctypes does not
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        self._voice = None

    @classmethod
    def get(cls) -> "Espeak":
        with cls._lock:
            if cls._instance is None:
                cls._instance = Espeak()
            return cls._instance

    def _callback(self, wav, n, events) -> int:
        if n > 0:
            self._audio.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != _EV_LIST_TERMINATED:
            e = events[i]
            if e.type == _EV_PHONEME:
                self._events.append((bytes(e.id.string).split(b"\0")[0].decode("utf-8", "replace"), e.audio_position))
            i += 1
        return 0

    def _set_voice(self, lang: str) -> None:
        voice = ESPEAK_VOICES.get(lang, lang)
        if voice != self._voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise FrontendError(f"espeak-ng has no voice for language '{lang}'")
            self._voice = voice

    def _stress_words(self, text: str) -> list[list[tuple[str, int]]]:
        """(phone, stress) per word from espeak_TextToPhonemes (IPA, '_' between phones)."""
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        ptr = ctypes.c_void_p(ctypes.addressof(buf))
        mode = 0x02 | (ord("_") << 8)
        words: list[list[tuple[str, int]]] = []
        while ptr.value:
            res = self.lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, mode)
            if res is None:
                break
            for word in res.decode("utf-8", "replace").split():
                phones, stress = [], 0
                for p in word.split("_"):
                    s = 0
                    while p and p[0] in _STRESS:
                        s = _STRESS[p[0]]
                        p = p[1:]
                    if p:
                        phones.append((p, s or stress))
                        stress = 0
                    else:
                        stress = s
                words.append(phones)
        return words

    def render(self, text: str, lang: str) -> tuple[list[Phone], np.ndarray]:
        """Phones of already-normalized ``text`` with espeak-ng's timings, and its audio (float32
        at ``self.sr``). Leading/trailing ``sil`` and clause ``pau`` are included."""
        with self._lock:
            self._set_voice(lang)
            self._events, self._audio = [], []
            data = text.encode("utf-8")
            self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            events, chunks = self._events, self._audio
            stress_words = self._stress_words(text)
        y = (np.concatenate(chunks).astype(np.float32) / 32768.0) if chunks else np.zeros(0, np.float32)
        end_s = len(y) / self.sr
        flat = [p for w in stress_words for p in w]
        symbols = [s for s, _ in events if s]
        stresses = [0] * len(symbols)
        if [p for p, _ in flat] == symbols:
            stresses = [s for _, s in flat]
        phones: list[Phone] = []
        k = 0
        for i, (sym, ms) in enumerate(events):
            start = ms / 1000.0
            stop = events[i + 1][1] / 1000.0 if i + 1 < len(events) else end_s
            if sym:
                phones.append(Phone(sym, stresses[k], start, stop))
                k += 1
            elif stop - start >= MIN_PAUSE_S and phones and phones[-1].symbol != PAU and i + 1 < len(events):
                phones.append(Phone(PAU, 0, start, stop))
            elif phones:  # a short silent event inside a word (e.g. Russian stops): the phone's closure
                last = phones[-1]
                phones[-1] = Phone(last.symbol, last.stress, last.start_s, stop)
        while phones and phones[-1].symbol == PAU:
            phones.pop()
        first = phones[0].start_s if phones else 0.0
        last = phones[-1].end_s if phones else 0.0
        phones = [Phone(SIL, 0, 0.0, first)] + phones + [Phone(SIL, 0, last, max(end_s, last))]
        return phones, y


def phonemize(text: str, lang: str = "en", line: int | None = None) -> list[Phone]:
    """Phones (with stress and pauses) of one utterance of raw text in ``lang``: normalized, then
    espeak-ng. Raises :class:`FrontendError` (naming ``line`` when given) for text with nothing
    pronounceable."""
    where = f"line {line}: " if line is not None else ""
    norm = normalize(text, lang)
    if not re.search(r"\w", norm):
        raise FrontendError(f"{where}nothing pronounceable in {text.strip()[:60]!r}")
    script = _SCRIPTS.get(lang, "LATIN")
    foreign = sorted({c for c in norm if c.isalpha() and not unicodedata.name(c, "").startswith(script)})
    if foreign:
        raise FrontendError(f"{where}letters {''.join(foreign[:10])!r} are not {script.lower()} script "
                            f"(language '{lang}'): cannot pronounce {text.strip()[:60]!r}")
    phones, _ = Espeak.get().render(norm, lang)
    if len([p for p in phones if p.symbol not in (SIL, PAU)]) == 0:
        raise FrontendError(f"{where}espeak-ng found no phones in {text.strip()[:60]!r}")
    return phones


def _decompose(symbol: str, table: dict[str, int]) -> list[str] | None:
    """``symbol`` as a sequence of table phones: itself, else the longest known prefix and the
    rest recursively (espeak-ng's rhotic vowels such as ``ɪɹ`` are ``ɪ`` + ``ɹ``), else without the
    length mark ``ː``; None when impossible."""
    if symbol in table:
        return [symbol]
    for cut in range(len(symbol) - 1, 0, -1):
        head = symbol[:cut]
        if head in table:
            rest = _decompose(symbol[cut:], table)
            if rest is not None:
                return [head] + rest
    if "ː" in symbol:
        return _decompose(symbol.replace("ː", ""), table)
    return None


def fit_phones(phones: list[Phone], table: dict[str, int]) -> list[Phone]:
    """``phones`` with each symbol the voice lacks replaced by known parts (:func:`_decompose`);
    symbols that cannot be decomposed are kept (``phone_ids`` reports them)."""
    out = []
    for p in phones:
        parts = _decompose(p.symbol, table) or [p.symbol]
        out += [Phone(sym, p.stress, p.start_s, p.end_s) for sym in parts]
    return out


def phone_ids(phones: list[Phone], table: dict[str, int], line: int | None = None) -> np.ndarray:
    """Ids ``[N]`` int64 of ``phones`` in a voice's phone table; a phone the voice never saw in
    training is a FrontendError listing it (text in another language or script). Apply
    :func:`fit_phones` first to decompose compound symbols."""
    missing = sorted({p.symbol for p in phones if p.symbol not in table})
    if missing:
        where = f"line {line}: " if line is not None else ""
        raise FrontendError(f"{where}the voice cannot pronounce phone(s) {' '.join(missing)} "
                            "(text in a language or script the model was not trained on)")
    return np.array([table[p.symbol] for p in phones], dtype=np.int64)
