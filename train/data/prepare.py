"""`make data`: build the corpus under ``<cache>/corpus`` from Debian packages.

    python -m train.data.prepare [--cache DIR] [--jobs N] [--sections clean,damaged,noise]

Stages, each skipped when already done (so a second run costs seconds):
1. download and unpack the packages into ``<cache>/debs`` and ``<cache>/pkgs`` (stamp per package;
   the big ``.deb`` files are deleted once the needed members are unpacked);
2. list the source files of every source (and drop byte-identical noise files);
3. prepare every file not prepared yet with the current parameters (joblib workers; results are
   appended to ``<corpus>/records.jsonl`` batch by batch, so an interrupted run resumes);
4. assign splits, write ``manifest.csv``, ``damaged.csv``, ``noise.csv``, ``synthetic.csv``,
   ``rejected.csv`` and ``summary.txt``, and print the summary.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from joblib import Parallel, delayed

from msar.dsp.errors import MsarError

from . import debs, manifest, quality, splits, summary
from .noise_sources import NOISE_SOURCES, dedup
from .process import PrepParams, params_key, prepare_item
from .sources import SPEECH_SOURCES, Item, Source
from .synthetic import SYNTHETIC_SOURCES

log = logging.getLogger("train.data.prepare")

SECTIONS = ("clean", "damaged", "noise", "synthetic")
#: Files per joblib batch: progress is saved after each one.
BATCH = 256


def default_cache() -> Path:
    return Path(os.environ.get("MSAR_CACHE") or "cache")


def unpack_sources(cache: Path, sources: list[Source]) -> None:
    """Stage 1. A package shared by two sources is unpacked once (with the same patterns)."""
    done: set[str] = set()
    for src in sources:
        for package, patterns in src.packages.items():
            if package in done:
                continue
            debs.unpack(cache, package, patterns, delete_deb=package in src.big)
            done.add(package)


def list_items(cache: Path, sources: list[Source]) -> tuple[list[Item], int]:
    """Stage 2: every item of ``sources``; noise deduplicated by content. Returns (items, n_duplicates)."""
    items: list[Item] = []
    noise: list[Item] = []
    for src in sources:
        found = src.list_items(cache)
        log.info("%-18s %6d files", src.name, len(found))
        (noise if src.section == "noise" else items).extend(found)
    kept, dupes = dedup(noise)
    return items + kept, len(dupes)


def _key(item: Item) -> str:
    return f"{item.section}/{item.out_name}"


def load_records(path: Path, pkey: str) -> dict[str, dict]:
    """The records of earlier runs made with the same parameters, by item key."""
    out: dict[str, dict] = {}
    if not path.exists():
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut by an interruption
                continue
            if rec.get("params") == pkey:
                out[rec["key"]] = rec
    return out


def run_items(items: list[Item], corpus: Path, records_path: Path, prep: PrepParams,
              gate: quality.QualityParams, jobs: int) -> dict[str, dict]:
    """Stage 3: prepare what is missing; return the records of all ``items``."""
    pkey = params_key(prep, gate)
    records = load_records(records_path, pkey)

    def done(it: Item) -> bool:
        rec = records.get(_key(it))
        if rec is None or rec["src"] != it.src:
            return False
        # Rejections and decoding failures are properties of the source file: final.
        return rec["status"] != "ok" or (corpus / rec["path"]).exists()

    todo = [it for it in items if not done(it)]
    log.info("%d files to prepare (%d already done)", len(todo), len(items) - len(todo))
    if todo:
        _prepare_batches(todo, corpus, records_path, prep, gate, jobs, pkey, records)
    # Metadata (speaker, transcript, licence, ...) comes from the current listing, so fixing it
    # needs no re-decoding; the records contribute the measurements and output paths.
    return {_key(it): {**records[_key(it)], **asdict(it)} for it in items}


def _prepare_batches(todo: list[Item], corpus: Path, records_path: Path, prep: PrepParams,
                     gate: quality.QualityParams, jobs: int, pkey: str, records: dict[str, dict]) -> None:
    """Prepare ``todo`` in joblib batches, appending each batch's records to ``records_path``
    (and to ``records``) as soon as it is done."""
    t0 = time.perf_counter()
    audio_s = 0.0
    with Parallel(n_jobs=jobs) as parallel, open(records_path, "a", encoding="utf-8") as out:
        for i in range(0, len(todo), BATCH):
            batch = todo[i:i + BATCH]
            recs = parallel(delayed(prepare_item)(it, corpus, prep, gate) for it in batch)
            for it, rec in zip(batch, recs):
                rec.update(key=_key(it), params=pkey)
                records[rec["key"]] = rec
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                audio_s += rec["source_duration_s"]
            out.flush()
            wall = time.perf_counter() - t0
            log.info("prepared %d/%d files, %.2f h of audio, %.0f s, %.0fx real time",
                     min(i + BATCH, len(todo)), len(todo), audio_s / 3600, wall, audio_s / max(wall, 1e-9))


def _source_file(rec: dict, cache: Path) -> str:
    try:
        return Path(rec["src"]).resolve().relative_to((cache / "pkgs").resolve()).as_posix()
    except ValueError:
        return rec["src"]


def build_manifests(records: list[dict], corpus: Path, cache: Path) -> list[str]:
    """Stage 4: splits, CSV files and the summary lines."""
    for rec in records:
        rec["source_file"] = _source_file(rec, cache)
    ok = [r for r in records if r["status"] == "ok"]
    clean = [r for r in ok if r["section"] == "clean"]
    damaged = [r for r in ok if r["section"] == "damaged"]
    noise = [r for r in ok if r["section"] == "noise"]
    synthetic = [r for r in ok if r["section"] == "synthetic"]
    bad = [r for r in records if r["status"] != "ok"]

    def hours(rows):
        out: dict[str, float] = {}
        for r in rows:
            out[r["speaker"]] = out.get(r["speaker"], 0.0) + r["duration_s"] / 3600
        return out

    clean_split = splits.speaker_splits(hours(clean))
    damaged_split = splits.speaker_splits(hours(damaged), fixed=clean_split)
    for r in clean:
        r["split"] = clean_split[r["speaker"]]
    clean_by_name = {r["out_name"]: r["path"] for r in clean}
    for r in damaged:
        r["split"] = damaged_split[r["speaker"]]
        # The Asterisk 8 kHz twins are the same recordings as the G.722 set: name the clean file.
        r["pair"] = clean_by_name.get(r["out_name"], "")
    for r in noise:
        r["split"] = splits.file_split(r["path"])
    synthetic_split = splits.speaker_splits(hours(synthetic))
    for r in synthetic:
        r["split"] = synthetic_split[r["speaker"]]
    order = lambda r: r["path"]  # noqa: E731
    manifest.write(corpus / "manifest.csv", sorted(clean, key=order), manifest.SPEECH_COLUMNS)
    manifest.write(corpus / "damaged.csv", sorted(damaged, key=order), manifest.DAMAGED_COLUMNS)
    manifest.write(corpus / "noise.csv", sorted(noise, key=order), manifest.NOISE_COLUMNS)
    if synthetic:
        manifest.write(corpus / "synthetic.csv", sorted(synthetic, key=order), manifest.SPEECH_COLUMNS)
    manifest.write(corpus / "rejected.csv", sorted(bad, key=lambda r: r["source_file"]), manifest.REJECTED_COLUMNS)
    lines = summary.speech_summary("clean speech (manifest.csv)", clean) + [""]
    lines += summary.speech_summary("damaged speech (damaged.csv)", damaged) + [""] if damaged else []
    lines += summary.noise_summary(noise) + [""] if noise else []
    lines += summary.speech_summary("synthetic speech (synthetic.csv)", synthetic) + [""] if synthetic else []
    lines += summary.rejection_summary(bad)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.data.prepare", description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=None,
                    help="cache folder (default: $MSAR_CACHE or ./cache); the corpus goes to CACHE/corpus")
    ap.add_argument("--jobs", type=int, default=2, help="parallel decoding jobs (default 2)")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    ap.add_argument("-q", "--quiet", action="store_true", help="only warnings on stderr")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    cache = (args.cache or default_cache()).resolve()
    corpus = cache / "corpus"
    wanted = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    t0 = time.perf_counter()
    try:
        if shutil.which("ffmpeg") is None:
            raise MsarError("ffmpeg not found (needed for raw G.722): apt-get install ffmpeg")
        sources = [s for s in SPEECH_SOURCES + NOISE_SOURCES + SYNTHETIC_SOURCES if s.section in wanted]
        unpack_sources(cache, sources)
        items, n_dupes = list_items(cache, sources)
        log.info("%d files listed (%d duplicate noise files dropped)", len(items), n_dupes)
        corpus.mkdir(parents=True, exist_ok=True)
        prep, gate = PrepParams(), quality.QualityParams()
        (corpus / "params.json").write_text(json.dumps({"prep": asdict(prep), "gate": asdict(gate)}, indent=1) + "\n")
        records = run_items(items, corpus, corpus / "records.jsonl", prep, gate, args.jobs)
        lines = build_manifests(list(records.values()), corpus, cache)
    except MsarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    lines.append(f"duplicate noise files dropped: {n_dupes}")
    lines.append(f"corpus: {corpus}  (wall time of this run: {time.perf_counter() - t0:.0f} s)")
    text = "\n".join(lines) + "\n"
    (corpus / "summary.txt").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
