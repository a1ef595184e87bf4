"""Synthetic speakers: English sentences spoken by the flite voices (not real speakers).

The binaries and voices come from the ``flite`` and ``libflite1`` packages, unpacked into the cache
and run with ``LD_LIBRARY_PATH`` (nothing is installed). The sentences are the English Asterisk
prompts (``core-sounds-en.txt``) and the English first lines of the Tux Paint stamp descriptions.
Synthesis writes ``<cache>/synth/flite/VOICE/...wav`` once (existing files are kept); the files
then go through the same preparation as real speech, into the ``synthetic`` section.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

from joblib import Parallel, delayed

from msar.dsp.errors import MsarError

from .sources import _TUXPAINT, _USR, Item, Source, _pkg, asterisk_transcripts

log = logging.getLogger(__name__)

#: flite's 16 kHz voices (CMU ARCTIC clustergen slt/rms/awb, diphone kal16) and their sexes.
FLITE_VOICES = {"slt": "F", "rms": "M", "awb": "M", "kal16": "M"}
_LICENCE = "synthetic: flite voice (CMU, BSD-like); text {text_licence}"


def english_texts(cache: Path) -> list[tuple[str, str, str]]:
    """``(name, text, text licence)`` for every sentence to synthesize, deduplicated by text."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    prompts = asterisk_transcripts(_pkg(cache, "asterisk-core-sounds-en") / _USR / "doc"
                                   / "asterisk-core-sounds-en" / "core-sounds-en.txt.gz")
    for key, text in sorted(prompts.items()):
        text = re.sub(r"\[[^\]]*\]", "", text).strip()  # "[this is a beep]", "at [@]"
        if len(text) > 1 and text not in seen:
            seen.add(text)
            out.append((f"asterisk/{key}", text, "CC-BY-SA-3.0 (Asterisk prompts)"))
    root = _pkg(cache, "tuxpaint-stamps-default") / _TUXPAINT
    for txt in sorted(root.rglob("*.txt")):
        lines = txt.read_text(encoding="utf-8", errors="replace").splitlines()
        text = lines[0].strip() if lines else ""
        if len(text) > 1 and "=" not in text and text not in seen:
            seen.add(text)
            out.append((f"tuxpaint/{txt.relative_to(root).with_suffix('').as_posix()}", text,
                        "GPL-2 (Tux Paint stamp descriptions)"))
    return out


def _flite_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = str(_pkg(cache, "libflite1") / "usr/lib/x86_64-linux-gnu")
    return env


def _synthesize_one(cache: Path, voice: str, text: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    cmd = [str(_pkg(cache, "flite") / "usr/bin/flite"), "-voice", voice, "-t", text, "-o", str(tmp)]
    proc = subprocess.run(cmd, env=_flite_env(cache), capture_output=True, text=True)
    if proc.returncode != 0 or not tmp.exists():
        raise MsarError(f"flite -voice {voice} failed for {out.name}: {proc.stderr.strip()[:200]}")
    os.replace(tmp, out)


def flite(cache: Path, jobs: int = 2) -> list[Item]:
    """Synthesize what is missing, then list one item per (voice, sentence)."""
    texts = english_texts(cache)
    items, todo = [], []
    for voice, sex in FLITE_VOICES.items():
        for name, text, text_licence in texts:
            wav = cache / "synth" / "flite" / voice / f"{name}.wav"
            if not wav.exists():
                todo.append((voice, text, wav))
            items.append(Item(str(wav), "flite", _LICENCE.format(text_licence=text_licence), "synthetic",
                              f"flite/{voice}/{name}", speaker=f"flite-{voice}", sex=sex, language="en",
                              transcript=text))
    if todo:
        log.info("synthesizing %d sentences with flite", len(todo))
        Parallel(n_jobs=jobs)(delayed(_synthesize_one)(cache, v, t, w) for v, t, w in todo)
    return items


SYNTHETIC_SOURCES: tuple[Source, ...] = (
    Source("flite", "synthetic",
           {"flite": (), "libflite1": (), "asterisk-core-sounds-en": (),
            "tuxpaint-stamps-default": ("*.ogg", "*.txt", f"./{_USR}/doc/*")}, flite,
           big=frozenset({"tuxpaint-stamps-default"})),
)
