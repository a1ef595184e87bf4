"""Speech sources: which Debian package holds which voices, and how to list its files.

Each source is a :class:`Source`: the packages to unpack (with the members worth keeping) and a
function that walks the unpacked tree and returns :class:`Item` records (one per audio file, with
speaker, sex, language, transcript and licence). Nothing here decodes audio. Speaker identities,
sexes and verdicts come from ``shared/DATA-SOURCES.md``; ``section`` is ``"clean"`` for sets
measured clean (they still pass the quality gate file by file) and ``"damaged"`` for real damaged
speech that may serve as repair input but never as a target.
"""

from __future__ import annotations

import gzip
import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

_USR = "usr/share"


@dataclass(frozen=True)
class Item:
    """One source file to prepare."""

    src: str              #: absolute path of the source file
    source: str           #: Debian package the audio comes from
    licence: str
    section: str          #: "clean" | "damaged" | "noise"
    out_name: str         #: output path below ``<corpus>/<section>/<rate>/``, without extension
    decoder: str = "sndfile"
    speaker: str = ""
    sex: str = ""         #: "F", "M" or "" (unknown)
    language: str = ""
    transcript: str = ""
    category: str = ""    #: noise only: "ambience" | "sfx" | "music"


@dataclass(frozen=True)
class Source:
    """A set of files from one or more packages. ``packages`` maps package -> tar patterns (empty:
    unpack everything); ``big`` packages have their ``.deb`` deleted after unpacking."""

    name: str
    section: str
    packages: dict[str, tuple[str, ...]]
    list_items: Callable[[Path], list[Item]]
    big: frozenset[str] = field(default_factory=frozenset)


def _pkg(cache: Path, package: str) -> Path:
    return cache / "pkgs" / package


# ---------------------------------------------------------------- Asterisk core sounds (G.722)

#: language -> (voice folder, speaker id, sex, licence). Allison Smith recorded en and es.
ASTERISK_VOICES = {
    "en": ("en_US_f_Allison", "asterisk-allison", "F", "CC-BY-SA-3.0"),
    "es": ("es_MX_f_Allison", "asterisk-allison", "F", "CC-BY-SA-3.0"),
    "fr": ("fr_CA_f_June", "asterisk-june", "F", "CC-BY-SA-3.0"),
    "it": ("it_IT_m_Carlo", "asterisk-carlo", "M", "CC-BY-3.0"),
    "ru": ("ru_RU_f_IvrvoiceRU", "asterisk-ivrvoiceru", "F", "CC-BY-3.0"),
}


def asterisk_transcripts(path: Path) -> dict[str, str]:
    """``core-sounds-LANG.txt.gz``: lines ``name: text`` (``name`` may hold a subfolder)."""
    out: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(";") or ":" not in line:
                continue
            key, text = line.split(":", 1)
            out[key.strip()] = text.strip()
    return out


def _is_non_speech(transcript: str) -> bool:
    """Transcripts like ``[this is a simple beep tone]`` describe tones, not words."""
    t = transcript.strip()
    return t.startswith("[") and t.endswith("]")


def _asterisk(cache: Path, kind: str) -> list[Item]:
    items = []
    ext, decoder, suffix = {"g722": (".g722", "g722", "g722"), "wav": (".wav", "sndfile", "wav")}[kind]
    for lang, (voice, speaker, sex, licence) in ASTERISK_VOICES.items():
        package = f"asterisk-core-sounds-{lang}-{suffix}"
        root = _pkg(cache, package) / _USR / "asterisk/sounds" / voice
        texts = asterisk_transcripts(_pkg(cache, f"asterisk-core-sounds-{lang}") / _USR / "doc"
                                     / f"asterisk-core-sounds-{lang}" / f"core-sounds-{lang}.txt.gz")
        for f in sorted(root.rglob(f"*{ext}")):
            key = f.relative_to(root).with_suffix("").as_posix()
            if key.startswith("silence/"):
                continue
            text = texts.get(key, "")
            if _is_non_speech(text):
                continue
            items.append(Item(str(f), package, licence, "clean" if kind == "g722" else "damaged",
                              f"asterisk/{lang}/{key}", decoder, speaker, sex, lang, text))
    return items


def asterisk_g722(cache: Path) -> list[Item]:
    return _asterisk(cache, "g722")


def asterisk_wav(cache: Path) -> list[Item]:
    """The 8 kHz PCM twins of the G.722 set: the same recordings, narrowband (pairs)."""
    return _asterisk(cache, "wav")


# ---------------------------------------------------------------- festvox-ru (msu_ru_nsh)

_FESTVOX_RU = f"./{_USR}/festival/voices/russian/msu_ru_nsh_clunits"


def festival_prompts(path: Path) -> dict[str, str]:
    """``etc/txt.done.data``: lines ``( utt_id "text" )``."""
    out = {}
    for m in re.finditer(r'\(\s*(\S+)\s+"((?:[^"\\]|\\.)*)"\s*\)', path.read_text(encoding="utf-8")):
        out[m.group(1)] = m.group(2)
    return out


def festvox_ru(cache: Path) -> list[Item]:
    root = _pkg(cache, "festvox-ru") / _FESTVOX_RU
    texts = festival_prompts(root / "etc/txt.done.data")
    return [Item(str(f), "festvox-ru", "BSD-like (Nickolay V. Shmyrev)", "clean", f"festvox-ru/{f.stem}",
                 speaker="festvox-msu-ru-nsh", sex="M", language="ru", transcript=texts.get(f.stem, ""))
            for f in sorted((root / "wav").glob("*.wav"))]


# ---------------------------------------------------------------- Fish Fillets NG (Czech)

_FILLETS = f"{_USR}/games/fillets-ng"


def fillets_dialogs(script_root: Path, lang: str) -> dict[str, str]:
    """Map dialog id -> text from every ``script/LEVEL/dialogs_LANG.lua``:
    ``dialogId("ID", "font", "English")`` followed by ``dialogStr("translation")``."""
    pattern = re.compile(r'dialogId\("([^"]+)"[^\n]*\n\s*dialogStr\("((?:[^"\\]|\\.)*)"\)')
    out = {}
    for lua in sorted(script_root.rglob(f"dialogs_{lang}.lua")):
        for m in pattern.finditer(lua.read_text(encoding="utf-8", errors="replace")):
            out.setdefault(m.group(1), m.group(2).replace('\\"', '"'))
    return out


#: Speaker codes of the two fish: m = the small fish, v = the big fish (credits.png).
FILLETS_FISH = {
    "cs": {"m": ("fillets-cs-m", "F"), "v": ("fillets-cs-v", "M")},   # Gabriela Pyšná, Vít Musil
    "nl": {"m": ("fillets-nl-m", "F"), "v": ("fillets-nl-v", "M")},   # median F0 221 / 138 Hz
}


def fillets_speaker(stem: str, lang: str) -> tuple[str, str]:
    """(speaker id, sex) from a file name: ``lod-v-silenost0`` or ``v-xxx`` -> the big fish.

    Other characters (gods, parrot, ...) were voiced by up to 7 minor actors whom the file names
    don't separate; they share one pooled id ``fillets-LANG-npc`` (so they stay in one split)."""
    parts = stem.split("-")
    code = parts[0] if len(parts) == 2 else (parts[1] if len(parts) > 2 else "")
    return FILLETS_FISH[lang].get(code, (f"fillets-{lang}-npc", ""))


def _fillets(cache: Path, lang: str, section: str) -> list[Item]:
    package = f"fillets-ng-data-{lang}"
    texts = fillets_dialogs(_pkg(cache, "fillets-ng-data") / _FILLETS / "script", lang)
    items = []
    for f in sorted((_pkg(cache, package) / _FILLETS / "sound").glob(f"*/{lang}/*.ogg")) + \
            sorted((_pkg(cache, package) / _FILLETS / "sound").glob(f"*/*/{lang}/*.ogg")):
        level = f.parent.parent.relative_to(_pkg(cache, package) / _FILLETS / "sound").as_posix()
        speaker, sex = fillets_speaker(f.stem, lang)
        items.append(Item(str(f), package, "GPL-2", section, f"fillets-{lang}/{level}/{f.stem}",
                          speaker=speaker, sex=sex, language=lang, transcript=texts.get(f.stem, "")))
    return items


def fillets_cs(cache: Path) -> list[Item]:
    return _fillets(cache, "cs", "clean")


def fillets_nl(cache: Path) -> list[Item]:
    """Dutch dub: muffled (-45 dB at 4 kHz), so damaged input only."""
    return _fillets(cache, "nl", "damaged")


# ---------------------------------------------------------------- Tux Paint stamp descriptions

#: One reader per language (changelog; unimodal F0). Clean sets and their sexes.
TUXPAINT_CLEAN = {"be": "F", "bg": "M", "el": "F", "ro": "F", "ru": "M", "da": "M"}
#: Measured damaged: fr hissy (SNR 23 dB), es clipped in every file, ca low-passed.
TUXPAINT_DAMAGED = {"fr": "", "es": "", "ca": ""}
_TUXPAINT = f"{_USR}/tuxpaint/stamps"


def tuxpaint_text(txt: Path, lang: str) -> str:
    """The ``LANG.utf8=`` line of a stamp's description file, or ``''``."""
    if not txt.exists():
        return ""
    for line in txt.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(f"{lang}.utf8="):
            return line.split("=", 1)[1].strip()
    return ""


def _tuxpaint(cache: Path, langs: dict[str, str], section: str) -> list[Item]:
    root = _pkg(cache, "tuxpaint-stamps-default") / _TUXPAINT
    items = []
    for lang, sex in langs.items():
        for f in sorted(root.rglob(f"*_desc_{lang}.ogg")):
            stamp = f.name[: -len(f"_desc_{lang}.ogg")]
            rel = f.parent.relative_to(root).as_posix()
            items.append(Item(str(f), "tuxpaint-stamps-default", "GPL-2", section,
                              f"tuxpaint/{lang}/{rel}/{stamp}", speaker=f"tuxpaint-{lang}", sex=sex,
                              language=lang, transcript=tuxpaint_text(f.parent / f"{stamp}.txt", lang)))
    return items


def tuxpaint_clean(cache: Path) -> list[Item]:
    return _tuxpaint(cache, TUXPAINT_CLEAN, "clean")


def tuxpaint_damaged(cache: Path) -> list[Item]:
    return _tuxpaint(cache, TUXPAINT_DAMAGED, "damaged")


# ---------------------------------------------------------------- KLettres letters and syllables

#: Language folders measured clean; one reader per folder is assumed (not verified).
KLETTRES_CLEAN = ("ar", "cs", "da", "de", "en", "en_GB", "es", "fr", "he", "it", "lt", "nds", "nl",
                  "pt_BR", "ru", "uk")
#: ml, nb and tn clip; hu is noisy.
KLETTRES_DAMAGED = ("ml", "nb", "tn", "hu")


def klettres_names(sounds_xml: Path) -> dict[str, str]:
    """``LANG/sounds.xml``: ``<sound name="Ч" file="ru/alpha/ch.ogg" />`` -> {file: name}."""
    if not sounds_xml.exists():
        return {}
    text = sounds_xml.read_text(encoding="utf-8", errors="replace")
    return {m.group(2): html.unescape(m.group(1))
            for m in re.finditer(r'<sound\s+name="([^"]*)"\s+file="([^"]*)"', text)}


def _klettres(cache: Path, langs: tuple[str, ...], section: str) -> list[Item]:
    root = _pkg(cache, "klettres-data") / _USR / "klettres"
    items = []
    for lang in langs:
        names = klettres_names(root / lang / "sounds.xml")
        for f in sorted((root / lang).glob("*/*.ogg")):
            # The spoken letter or syllable: its name in sounds.xml, else the file name.
            text = names.get(f.relative_to(root).as_posix(), f.stem)
            items.append(Item(str(f), "klettres-data", "GPL-2+", section,
                              f"klettres/{lang}/{f.parent.name}/{f.stem}", speaker=f"klettres-{lang}",
                              language=lang.split("_")[0], transcript=unicodedata.normalize("NFC", text)))
    return items


def klettres_clean(cache: Path) -> list[Item]:
    return _klettres(cache, KLETTRES_CLEAN, "clean")


def klettres_damaged(cache: Path) -> list[Item]:
    return _klettres(cache, KLETTRES_DAMAGED, "damaged")


# ---------------------------------------------------------------- gcin-voice (Mandarin syllables)

def _gcin(cache: Path, voice: str, section: str) -> list[Item]:
    """``ogg/<Zhuyin syllable + tone>/<voice>.ogg``; voice 5 (Chu Lo, F) is clean, 3 (M) noisy."""
    root = _pkg(cache, "gcin-voice") / _USR / "gcin-voice/ogg"
    sex, licence = {"5": ("F", "CC-BY-3.0"), "3": ("M", "GPL-3 or LGPL-3")}[voice]
    return [Item(str(f), "gcin-voice", licence, section, f"gcin/{voice}/{f.parent.name}",
                 speaker=f"gcin-{voice}", sex=sex, language="zh", transcript=f.parent.name)
            for f in sorted(root.glob(f"*/{voice}.ogg"))]


def gcin_clean(cache: Path) -> list[Item]:
    return _gcin(cache, "5", "clean")


def gcin_damaged(cache: Path) -> list[Item]:
    return _gcin(cache, "3", "damaged")


# ---------------------------------------------------------------- Drascula (8-bit 11 kHz dialogue)

_DRASCULA_CODE = re.compile(r"^([A-Z]*)\d+$")


def drascula_speaker(stem: str, lang: str) -> tuple[str, str] | None:
    """(speaker id, sex) of a talk file ``PREFIXnn.ALS`` (ScummVM talk.cpp): no prefix = the hero
    John Hacker (M), ``BJ`` = B.J. (F), ``D`` = Drascula (and the blind man), the other letters
    minor characters of unknown sex. ``S`` files are sound effects: None."""
    m = _DRASCULA_CODE.match(stem.upper())
    if not m or m.group(1) == "S":
        return None
    code = m.group(1)
    sex = {"": "M", "BJ": "F", "D": "M"}.get(code, "")
    return f"drascula-{lang}-{code.lower() or 'hero'}", sex


def drascula(cache: Path) -> list[Item]:
    """English (``drascula``) and Spanish (``drascula-spanish``) speech: raw unsigned 8-bit PCM at
    11025 Hz, 60 % of the Spanish files clip. Damaged input only."""
    items = []
    for package, lang in (("drascula", "en"), ("drascula-spanish", "es")):
        root = _pkg(cache, package) / _USR / "scummvm/drascula" / lang
        for f in sorted(root.glob("*.ALS")):
            who = drascula_speaker(f.stem, lang)
            # drascula-spanish links a few files to the English recordings: not Spanish speech.
            if who is None or f.is_symlink():
                continue
            items.append(Item(str(f), package, "Drascula licence (free redistribution, BSD-like)", "damaged",
                              f"drascula/{lang}/{f.stem}", "u8_11025", who[0], who[1], lang))
    return items


# ---------------------------------------------------------------- the registry

_AST_TXT = {f"asterisk-core-sounds-{lang}": () for lang in ASTERISK_VOICES}

SPEECH_SOURCES: tuple[Source, ...] = (
    Source("asterisk-g722", "clean",
           {**{f"asterisk-core-sounds-{lang}-g722": () for lang in ASTERISK_VOICES}, **_AST_TXT}, asterisk_g722),
    Source("festvox-ru", "clean",
           {"festvox-ru": (f"{_FESTVOX_RU}/wav/*", f"{_FESTVOX_RU}/etc/*", f"./{_USR}/doc/*")}, festvox_ru,
           big=frozenset({"festvox-ru"})),
    Source("fillets-cs", "clean",
           {"fillets-ng-data-cs": (), "fillets-ng-data": ("*/dialogs_*.lua", f"./{_USR}/doc/*")}, fillets_cs,
           big=frozenset({"fillets-ng-data"})),
    Source("tuxpaint", "clean", {"tuxpaint-stamps-default": ("*.ogg", "*.txt", f"./{_USR}/doc/*")},
           tuxpaint_clean, big=frozenset({"tuxpaint-stamps-default"})),
    Source("klettres", "clean", {"klettres-data": ()}, klettres_clean),
    Source("gcin", "clean", {"gcin-voice": ()}, gcin_clean),
    # Damaged real speech (repair input, never a target).
    Source("asterisk-wav", "damaged",
           {**{f"asterisk-core-sounds-{lang}-wav": () for lang in ASTERISK_VOICES}, **_AST_TXT}, asterisk_wav),
    Source("fillets-nl", "damaged",
           {"fillets-ng-data-nl": (), "fillets-ng-data": ("*/dialogs_*.lua", f"./{_USR}/doc/*")}, fillets_nl,
           big=frozenset({"fillets-ng-data"})),
    Source("tuxpaint-damaged", "damaged",
           {"tuxpaint-stamps-default": ("*.ogg", "*.txt", f"./{_USR}/doc/*")}, tuxpaint_damaged,
           big=frozenset({"tuxpaint-stamps-default"})),
    Source("klettres-damaged", "damaged", {"klettres-data": ()}, klettres_damaged),
    Source("gcin-damaged", "damaged", {"gcin-voice": ()}, gcin_damaged),
    Source("drascula", "damaged", {"drascula": ("*.ALS", f"./{_USR}/doc/*"),
                                   "drascula-spanish": ("*.ALS", f"./{_USR}/doc/*")}, drascula),
)
