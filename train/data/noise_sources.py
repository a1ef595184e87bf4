"""Real noise recordings: game and music packages, sorted into ambience / sfx / music.

Only files without speech are taken: unit voices (megaglest ``units/``, ``commondata``), cockpit
call-outs (flightgear ``tcas``, ``mk-viii``, c172p checklists), announcements and screams
(supertuxkart) and openarena announcer/player voices are left out. Music is kept, but under its own
category so that training can choose to use it or not. Files are deduplicated by content (md5) in
:func:`dedup`.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

from .sources import Item, Source, _pkg

_AUDIO = re.compile(r"\.(ogg|wav|flac|mp3)$", re.I)


def _items(package: str, licence: str, root: Path, files: list[tuple[Path, str]], tag: str) -> list[Item]:
    return [Item(str(f), package, licence, "noise", f"{tag}/{f.relative_to(root).with_suffix('').as_posix()}",
                 category=cat) for f, cat in files]


def megaglest(cache: Path) -> list[Item]:
    """Tileset ambience (day, night, rain, wind, animals), water sounds, and faction/menu music."""
    root = _pkg(cache, "megaglest-data") / "usr/share/games/megaglest"
    files = [(f, "ambience") for f in sorted(root.glob("tilesets/*/sounds/*")) if _AUDIO.search(f.name)]
    files += [(f, "ambience") for f in sorted(root.glob("data/core/water_sounds/*.wav"))]
    files += [(f, "music") for f in sorted(root.glob("techs/*/factions/*/music/*")) if _AUDIO.search(f.name)]
    files += [(f, "music") for f in sorted(root.glob("data/core/menu/music/*")) if _AUDIO.search(f.name)]
    return _items("megaglest-data", "CC-BY-SA-3.0", root, files, "megaglest")


def lincity(cache: Path) -> list[Item]:
    """City and industry loops (mostly 11 kHz) and the three music tracks (no extension, Ogg)."""
    root = _pkg(cache, "lincity-ng-data") / "usr/share/games/lincity-ng"
    files = [(f, "sfx" if f.stem in {"Click", "WindowOpen", "WindowClose"} else "ambience")
             for f in sorted(root.glob("sounds/*.wav"))]
    files += [(f, "music") for f in sorted(root.glob("music/default/*")) if not f.name.endswith(".xml")]
    return _items("lincity-ng-data", "GPL-2+", root, files, "lincity")


#: supertuxkart files with voices, left out.
_STK_VOICE = {"WilhelmScream", "ugh", "wee", "sara_airport_pa", "nolok_speech"}
#: supertuxkart jingles and the long music tracks that sit beside the tracks' sounds.
_STK_MUSIC = {"race_finish", "race_finish_victory", "last_lap_fanfare", "gp_end", "track_intro", "gnu_flute",
              "pre_start_race", "start_race", "goal_scored", "Battle_Theme_1", "beneath_the_rabbit_hole", "intro2",
              "Gran_Paradiso_Unused_-_TuxKart_5a_Gowns_Bow_Remix"}
_STK_AMBIENCE = {"rain", "river_loop", "waterfall_loop_2", "exotic-birds", "exotic-birds_2", "static-radio",
                 "lenautile_restaurant", "fireworks_show", "engine_large", "engine_small", "steamLocomotive",
                 "spaceship", "spaceship_engine", "airplane_jetEngine", "machine_sound", "cow", "sheep", "dark",
                 "tractor_beam"}


def supertuxkart(cache: Path) -> list[Item]:
    root = _pkg(cache, "supertuxkart-data") / "usr/share/games/supertuxkart/data"
    files = []
    for f in sorted(p for p in root.rglob("*") if _AUDIO.search(p.name)):
        if f.stem in _STK_VOICE:
            continue
        if f.parent.name == "music" or f.stem in _STK_MUSIC:
            cat = "music"
        elif f.stem in _STK_AMBIENCE:
            cat = "ambience"
        else:
            cat = "sfx"
        files.append((f, cat))
    return _items("supertuxkart-data", "GPL-3+ (Debian copyright; assets credited CC-BY-SA/CC0 upstream)", root,
                  files, "supertuxkart")


_FG_VOICE = re.compile(r"(/tcas/|/mk-viii/|checklist)")
_FG_AMBIENCE = re.compile(r"(engine|prop|rain|wind|rotor|turbine|turbojet|exhaust|rumble|helicopter|jet|fan|"
                          r"water|tires-rolling|avionics|radionoise|wave|whine|gyro|R-1535|p51d_rpm|thunder)", re.I)


def flightgear(cache: Path) -> list[Item]:
    """Engines, wind, rain and cockpit mechanics (voices are left out)."""
    root = _pkg(cache, "flightgear-data-base") / "usr/share/games/flightgear"
    files = [(f, "ambience" if _FG_AMBIENCE.search(f.name) else "sfx")
             for f in sorted(p for p in root.rglob("*") if _AUDIO.search(p.name))
             if not _FG_VOICE.search(f.as_posix())]
    return _items("flightgear-data-base", "GPL-2+", root, files, "flightgear")


#: Player grunts and announcer/bot voices (``player/``, ``voices/``), hit beeps, and a silence file.
_OA_SKIP = re.compile(r"^sound/(player|voices|feedback)/|/silence\.", re.I)


def openarena_unzip(cache: Path) -> Path:
    """Extract ``sound/*`` from ``pak0.pk3`` (a zip) once; returns the extraction folder."""
    pkg = _pkg(cache, "openarena-data")
    dest = pkg / "pk3-sound"
    stamp = dest / ".unzipped"
    if stamp.exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    for pk3 in sorted(pkg.rglob("*.pk3")):
        with zipfile.ZipFile(pk3) as z:
            for name in z.namelist():
                if name.startswith("sound/") and _AUDIO.search(name):
                    z.extract(name, dest / pk3.stem)
    stamp.write_text("done\n")
    return dest


def openarena(cache: Path) -> list[Item]:
    """World ambience (``sound/world``) and weapon/item SFX; player and announcer voices left out."""
    root = openarena_unzip(cache)
    files = []
    for f in sorted(p for p in root.rglob("*") if _AUDIO.search(p.name)):
        rel = Path(*f.relative_to(root).parts[1:]).as_posix()  # "sound/...", below the pk3's folder
        if _OA_SKIP.search(rel):
            continue
        files.append((f, "ambience" if rel.startswith("sound/world") else "sfx"))
    return _items("openarena-data", "GPL-2+", root, files, "openarena")


def dep5_licences(copyright_file: Path) -> dict[str, str]:
    """``Files:`` pattern -> ``License:`` name from a machine-readable Debian copyright file
    (single-line ``Files:`` fields only, which is how per-sample licences are listed)."""
    out: dict[str, str] = {}
    files = None
    for line in copyright_file.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Files:"):
            files = line.split(":", 1)[1].strip()
        elif line.startswith("License:") and files:
            out.setdefault(files, line.split(":", 1)[1].strip())
            files = None
    return out


def sonic_pi(cache: Path) -> list[Item]:
    """``ambi_*``/``vinyl_*`` ambience, ``misc_*``/``perc_*`` sfx; drums, loops and instruments as music.

    Licences per sample from the copyright file (most are CC0; the rest fall under ``Files: *``)."""
    pkg = _pkg(cache, "sonic-pi-samples")
    root = pkg / "usr/share/sonic-pi/samples"
    licences = dep5_licences(pkg / "usr/share/doc/sonic-pi-samples/copyright")
    items = []
    for f in sorted(root.glob("*.flac")):
        prefix = f.stem.split("_", 1)[0]
        cat = {"ambi": "ambience", "vinyl": "ambience", "misc": "sfx", "perc": "sfx"}.get(prefix, "music")
        licence = licences.get(f"etc/samples/{f.name}") or f"{licences.get('*', '?')} (Files: *)"
        items += _items("sonic-pi-samples", licence, root, [(f, cat)], "sonic-pi")
    return items


def bucklespring(cache: Path) -> list[Item]:
    """Key clicks of an IBM Model M keyboard."""
    root = _pkg(cache, "bucklespring-data") / "usr/share/buckle"
    return _items("bucklespring-data", "GPL-2+", root, [(f, "sfx") for f in sorted(root.glob("wav/*.wav"))],
                  "bucklespring")


def file_md5(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dedup(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """Split ``items`` into (first of each distinct content, duplicates), by md5 of the file bytes."""
    seen: set[str] = set()
    keep, dupes = [], []
    for it in items:
        digest = file_md5(it.src)
        (dupes if digest in seen else keep).append(it)
        seen.add(digest)
    return keep, dupes


_STK = "./usr/share/games/supertuxkart/data"
NOISE_SOURCES: tuple[Source, ...] = (
    Source("megaglest", "noise", {"megaglest-data": ("*/tilesets/*/sounds/*", "*/data/core/water_sounds/*",
                                                     "*/factions/*/music/*", "*/menu/music/*", "./usr/share/doc/*")},
           megaglest, big=frozenset({"megaglest-data"})),
    Source("lincity", "noise", {"lincity-ng-data": ("*/lincity-ng/sounds/*", "*/lincity-ng/music/*",
                                                    "./usr/share/doc/*")}, lincity),
    Source("supertuxkart", "noise", {"supertuxkart-data": ("*.ogg", "*.wav", "./usr/share/doc/*")}, supertuxkart,
           big=frozenset({"supertuxkart-data"})),
    Source("flightgear", "noise", {"flightgear-data-base": ("*.wav", "*.ogg", "./usr/share/doc/*")}, flightgear,
           big=frozenset({"flightgear-data-base"})),
    Source("openarena", "noise", {"openarena-data": ()}, openarena),
    Source("sonic-pi", "noise", {"sonic-pi-samples": ()}, sonic_pi),
    Source("bucklespring", "noise", {"bucklespring-data": ()}, bucklespring),
)
