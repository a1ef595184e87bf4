"""Deterministic train / valid / test splits: disjoint by speaker for speech, by file for noise.

No random state: the same input always gives the same split, on any machine.
"""

from __future__ import annotations

import hashlib

#: Split names and their target shares of the audio (hours for speech, files for noise).
SPLITS: tuple[tuple[str, float], ...] = (("train", 0.8), ("valid", 0.1), ("test", 0.1))


def speaker_splits(hours: dict[str, float], fractions: tuple[tuple[str, float], ...] = SPLITS,
                   fixed: dict[str, str] | None = None) -> dict[str, str]:
    """Assign every speaker to one split so each split's hours approach its target share.

    ``hours`` maps speaker id -> hours of audio. ``fixed`` pins speakers already assigned elsewhere
    (e.g. the clean split of a speaker who also has damaged recordings); pinned speakers count
    toward their split's hours. The rest go largest first, each to the split furthest below its
    target (ties: the earlier split in ``fractions``; equal hours: speaker id order). Returns
    speaker id -> split name for every speaker in ``hours``.
    """
    total = sum(hours.values())
    assigned = {name: 0.0 for name, _ in fractions}
    out: dict[str, str] = {}
    for spk, split in (fixed or {}).items():
        if spk in hours:
            out[spk] = split
            assigned[split] += hours[spk]
    for spk in sorted((s for s in hours if s not in out), key=lambda s: (-hours[s], s)):
        deficits = [(frac * total - assigned[name], -i, name) for i, (name, frac) in enumerate(fractions)]
        name = max(deficits)[2]
        out[spk] = name
        assigned[name] += hours[spk]
    return out


def file_split(key: str, fractions: tuple[tuple[str, float], ...] = SPLITS) -> str:
    """The split of one file, from a hash of ``key`` (e.g. its relative path): stable and uniform."""
    u = int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") / 2.0**64
    edge = 0.0
    for name, frac in fractions:
        edge += frac
        if u < edge:
            return name
    return fractions[-1][0]
