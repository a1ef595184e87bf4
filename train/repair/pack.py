"""Pack the repair model's training corpus small enough to travel, and unpack it where it trains.

A GPU machine lent for a training run takes the working tree and at most 64 MiB with it, and
reaches no package mirror, so it cannot rebuild ``make data``'s 1.7 GB corpus. ``pack`` writes
what training reads (the train split's speech and non-music noise, and the utterances and noise
:func:`train.repair.data.validation_set` draws on) as Ogg Opus, with each speaker capped at
``--speaker-hours`` so that speakers stay balanced while the total shrinks (a second run with the
same ``--out`` reuses what is encoded there and removes what is no longer selected); ``unpack`` decodes it
back to 16 kHz WAV with the same manifests, so ``train.repair.train --corpus`` reads it unchanged.

    python -m train.repair.pack pack --corpus cache/corpus --out .devdata/corpus
    tar -cf - -C .devdata corpus | gzip -1 > .devdata/corpus.tar.gz   # one file, without tar's padding
    python -m train.repair.pack unpack --packed /tmp/packed/corpus --out /tmp/corpus   # there, after tar -x

Opus at ``--level 0.95`` (libsndfile's compression level; about 19 kb/s on this speech, 21 kb/s
with the noise) scores PESQ-wb 4.3 against the original; the defaults pack 2.9 h of speech and
0.6 h of noise into about 29 MiB of ``corpus.tar.gz``; both sides of a training pair come from the same decoded
signal, so the codec only changes which clean speech the network sees, not its targets' fidelity
to its inputs.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf

from ..data import manifest
from .data import evenly_spaced

#: Valid-split noise recordings kept. ``validation_set`` draws on all of them; a packed corpus has
#: these 24, so its validation figures (the input's SI-SDR too) differ from a full-corpus run's.
VALID_NOISE_FILES = 24
#: Valid-split utterances kept: those ``validation_set`` picks at its default ``n``.
VALID_UTTERANCES = 48


def _select_speech(rows: list[dict], speaker_hours: float) -> list[dict]:
    """Train rows with each speaker capped at ``speaker_hours`` (files in manifest order), plus the
    valid rows that ``validation_set`` picks."""
    kept, hours = [], {}
    for r in rows:
        if r["split"] != "train":
            continue
        h = hours.get(r["speaker"], 0.0)
        if h >= speaker_hours:
            continue
        hours[r["speaker"]] = h + r["duration_s"] / 3600
        kept.append(r)
    valid = sorted((r for r in rows if r["split"] == "valid"), key=lambda r: r["path"])
    return kept + evenly_spaced(valid, VALID_UTTERANCES)


def _select_noise(rows: list[dict]) -> list[dict]:
    train = [r for r in rows if r["split"] == "train" and r["category"] != "music"]
    valid = sorted((r for r in rows if r["split"] == "valid" and r["category"] != "music"), key=lambda r: r["path"])
    return train + evenly_spaced(valid, VALID_NOISE_FILES)


def _encode(job: tuple[str, str, float]) -> int:
    """Encode one file; one already there from an earlier (interrupted) run at the same level is kept."""
    src, dst, level = job
    if os.path.exists(dst):
        return os.path.getsize(dst)
    x, sr = sf.read(src, dtype="float32", always_2d=True)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, x, sr, format="OGG", subtype="OPUS", compression_level=level)
    return os.path.getsize(dst)


def _decode(job: tuple[str, str]) -> None:
    src, dst = job
    x, sr = sf.read(src, dtype="float32", always_2d=True)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, x, sr, subtype="PCM_16")


def _write_rows(path: Path, rows: list[dict], suffix: str) -> None:
    fields = list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({**r, "path": str(Path(r["path"]).with_suffix(suffix))})


def _read_raw(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def pack(corpus: Path, out: Path, speaker_hours: float, level: float, jobs: int) -> dict:
    """Write the packed corpus to ``out``; returns its hours and bytes."""
    speech = _select_speech(manifest.read(corpus / "manifest.csv"), speaker_hours)
    noise = _select_noise(manifest.read(corpus / "noise.csv"))
    keep_speech = {r["path"] for r in speech}
    keep_noise = {r["path"] for r in noise}
    # The raw rows (strings as written) go back out, so unpacking yields the same manifests.
    raw_speech = [r for r in _read_raw(corpus / "manifest.csv") if r["path"] in keep_speech]
    raw_noise = [r for r in _read_raw(corpus / "noise.csv") if r["path"] in keep_noise]
    out.mkdir(parents=True, exist_ok=True)
    jobs_list = [(str(corpus / r["path"]), str(out / Path(r["path"]).with_suffix(".opus")), level)
                 for r in raw_speech + raw_noise]
    with ProcessPoolExecutor(jobs) as ex:
        sizes = list(ex.map(_encode, jobs_list, chunksize=32))
    wanted = {Path(dst) for _, dst, _ in jobs_list}
    for stale in out.rglob("*.opus"):  # left by an earlier run with a larger selection
        if stale not in wanted:
            stale.unlink()
    _write_rows(out / "manifest.csv", raw_speech, ".opus")
    _write_rows(out / "noise.csv", raw_noise, ".opus")
    return {"speech_hours": sum(r["duration_s"] for r in speech) / 3600,
            "noise_hours": sum(r["duration_s"] for r in noise) / 3600,
            "files": len(jobs_list), "mib": sum(sizes) / 2 ** 20}


def unpack(packed: Path, out: Path, jobs: int) -> int:
    """Decode ``packed`` into ``out`` as WAV with the manifests rewritten; returns the file count."""
    out.mkdir(parents=True, exist_ok=True)
    jobs_list = []
    for name in ("manifest.csv", "noise.csv"):
        rows = _read_raw(packed / name)
        jobs_list += [(str(packed / r["path"]), str(out / Path(r["path"]).with_suffix(".wav"))) for r in rows]
        _write_rows(out / name, rows, ".wav")
    with ProcessPoolExecutor(jobs) as ex:
        list(ex.map(_decode, jobs_list, chunksize=32))
    return len(jobs_list)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.repair.pack", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--corpus", type=Path, default=Path("cache/corpus"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--speaker-hours", type=float, default=0.3, help="at most this much train speech per speaker")
    p.add_argument("--level", type=float, default=0.95, help="libsndfile Opus compression level (0 best .. 1 smallest)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    u = sub.add_parser("unpack")
    u.add_argument("--packed", type=Path, required=True)
    u.add_argument("--out", type=Path, required=True)
    u.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        info = pack(args.corpus, args.out, args.speaker_hours, args.level, args.jobs)
        print(f"{args.out}: {info['files']} files, {info['speech_hours']:.2f} h speech, "
              f"{info['noise_hours']:.2f} h noise, {info['mib']:.1f} MiB")
    else:
        n = unpack(args.packed, args.out, args.jobs)
        print(f"{args.out}: {n} files decoded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
