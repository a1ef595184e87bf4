"""The resynthesis path measured (``reports/resynth.md``; not part of ``make test``).

Material: clean utterances of the corpus **test** split (speakers never trained), one per file up
to ``--files``, taken in turn from each test speaker, 1.5-6 s long, at 16 kHz; each damaged once
per damage type with ``msar.dsp.degrade`` seeded by ``file_rng(--seed, "<damage>/<file>")``.

Systems, each through the whole ``msar repair`` command (analysis, DSP stages, guard):
``input`` (the damaged file itself), ``mask`` (``--mode mask``), ``auto`` (``--mode auto``: the
hybrid fill above the measured band edge for band-limited input), plus ``resynth-pure``
(``onnx_models.resynth.resynthesize``: the resynthesis alone, no input kept).

Metrics against the clean reference: PESQ-wb (P.862.2), log-spectral distance over the whole band
and above 4 kHz (``msar.dsp.metrics.lsd``), cos_pitch; and x real time of the command per core.

    python bench/resynth_eval.py [--files 10] [--jobs 1] [--out reports/resynth.md]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from msar.dsp import audio, metrics  # noqa: E402
from msar.dsp.degrade import degrade, file_rng  # noqa: E402
from msar.dsp.scoring import make_pair  # noqa: E402

SR = 16000
DAMAGES = {"telephone": "telephone", "lowpass4k": "lowpass:cutoff_hz=4000",
           "lowpass3k+noise": "lowpass:cutoff_hz=3000,noise:kind=pink,snr_db=25", "clean": None}
MSAR = str(Path(sys.executable).parent / "msar")
#: Real narrowband/wideband pairs: the Asterisk prompts' 8 kHz recordings against their 16 kHz
#: G.722 twins (``damaged.csv`` ``pair``), utterances the resynthesis model never trained on
#: (its speakers are training speakers, so this row is not speaker-disjoint).
REAL = "real-8k-pairs"


def real_pairs(corpus: Path, prep: Path, n: int) -> dict:
    import json

    used = {r["id"] for r in json.loads((prep / "index.json").read_text())} if (prep / "index.json").exists() else set()
    rows = [r for r in csv.DictReader(open(corpus / "damaged.csv", encoding="utf-8"))
            if r["speaker"].startswith("asterisk-") and r["pair"] and 1.5 <= float(r["duration_s"]) <= 6.0
            and Path(r["pair"]).with_suffix("").as_posix().replace("/", "_") not in used]
    rows = sorted(rows, key=lambda r: r["path"])
    by_spk: dict[str, list] = {}
    for r in rows:
        by_spk.setdefault(r["speaker"], []).append(r)
    picked = [lst[i * max(1, len(lst) // n)] for i in range(n) for lst in by_spk.values() if i * max(1, len(lst) // n) < len(lst)][:n]
    out = {}
    for r in picked:
        x, info = audio.read(corpus / r["path"])
        ref, rinfo = audio.read(corpus / r["pair"])
        out[f"{r['speaker']}_{Path(r['path']).stem}.wav"] = (
            audio.resample(audio.to_mono(ref), rinfo.sr, SR).astype(np.float32),
            audio.resample(audio.to_mono(x), info.sr, SR).astype(np.float32))
    return out


def pick_files(corpus: Path, n: int) -> list[dict]:
    rows = [r for r in csv.DictReader(open(corpus / "manifest.csv", encoding="utf-8"))
            if r["split"] == "test" and 1.5 <= float(r["duration_s"]) <= 6.0]
    by_spk: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: r["path"]):
        by_spk.setdefault(r["speaker"], []).append(r)
    for spk, lst in by_spk.items():  # spread over each speaker's material
        by_spk[spk] = lst[:: max(1, len(lst) // 4)]
    out, i = [], 0
    while len(out) < n and any(by_spk.values()):
        spk = sorted(by_spk)[i % len(by_spk)]
        if by_spk[spk]:
            out.append(by_spk[spk].pop(0))
        i += 1
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "cache" / "corpus")
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--model", default="multispeaker-resynth", help="resynthesis model name or path")
    ap.add_argument("--real-pairs", type=int, default=8, help="real 8 kHz / 16 kHz pairs to add (0: none)")
    ap.add_argument("--prep", type=Path, default=ROOT / "cache" / "resynth-prep")
    ap.add_argument("--work", type=Path, default=ROOT / "cache" / "resynth-eval")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "resynth.md")
    args = ap.parse_args(argv)
    from msar.onnx_models import resynth as RS

    model = RS.load_model(args.model)
    files = pick_files(args.corpus, args.files)
    work = args.work
    refs = {}
    for r in files:
        name = Path(r["path"]).stem + ".wav"
        x, info = audio.read(args.corpus / r["path"])
        refs[name] = audio.resample(audio.to_mono(x), info.sr, SR).astype(np.float32)
    # material[damage] = {file name: (clean reference, damaged input)}
    material = {}
    for dname, recipe in DAMAGES.items():
        material[dname] = {name: (x, x if recipe is None else degrade(x, SR, recipe, file_rng(args.seed, f"{dname}/{name}"))[0])
                           for name, x in refs.items()}
    if args.real_pairs:
        material[REAL] = real_pairs(args.corpus, args.prep, args.real_pairs)
    rows = []
    timing = {}
    for dname, items in material.items():
        din = work / "in" / dname
        din.mkdir(parents=True, exist_ok=True)
        for name, (_, y) in items.items():
            audio.write(din / name, np.clip(y, -1, 1), SR)
        for mode in ("mask", "auto"):
            dout = work / "out" / dname / mode
            report = work / "out" / dname / f"{mode}.csv"
            subprocess.run([MSAR, "repair", str(din), str(dout), "--mode", mode, "--resynth-model", args.model,
                            "--overwrite", "-q", "-j", str(args.jobs), "--report", str(report)], check=True)
            # each file's own wall time in its worker (the report's x_realtime), without process start-up
            rep = list(csv.DictReader(open(report)))
            timing[(dname, mode)] = sum(float(r["duration_s"]) / float(r["x_realtime"]) for r in rep)
        dpure = work / "out" / dname / "resynth-pure"
        dpure.mkdir(parents=True, exist_ok=True)
        t0 = time.process_time()
        for name in items:
            y, _ = audio.read(din / name)
            audio.write(dpure / name, np.clip(RS.resynthesize(audio.to_mono(y), SR, model), -1, 1), SR)
        timing[(dname, "resynth-pure")] = time.process_time() - t0
        modes = {r["path"]: r.get("mode", "") for r in csv.DictReader(open(work / "out" / dname / "auto.csv"))}
        for name, (ref, _) in items.items():
            for system, path in (("input", din / name), ("mask", work / "out" / dname / "mask" / name),
                                 ("auto", work / "out" / dname / "auto" / name), ("resynth-pure", dpure / name)):
                y, info = audio.read(path)
                # the real pairs are separate recordings of one take: aligned first (msar score --align)
                p = make_pair(ref, SR, y, info.sr, align=dname == REAL)
                rows.append({"damage": dname, "system": system, "file": name, "auto_path": modes.get(name, ""),
                             "pesq_wb": metrics.optional_metric("pesq_wb", p.ref, p.out, SR),
                             "lsd_db": metrics.lsd(p.ref, p.out, SR),
                             "lsd_above_4k_db": metrics.lsd(p.ref, p.out, SR, min_hz=4000.0),
                             "cos_pitch": metrics.cos_pitch(p.ref, p.out, SR)})
        print(f"{dname}: done", file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out.with_suffix(".csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    seconds = {d: sum(len(v[1]) for v in items.values()) / SR for d, items in material.items()}
    audio_s = seconds[next(iter(DAMAGES))]
    lines = [f"Files: {len(refs)} test-split utterances ({audio_s:.1f} s; speakers "
             f"{', '.join(sorted({r['speaker'] for r in files}))}), seed {args.seed}. Mean over files "
             "(PESQ-wb: higher is better; LSD in dB: lower is better).", "",
             "| damage | system | PESQ-wb | LSD | LSD > 4 kHz | cos_pitch | x real time (one worker) |",
             "|---|---|---|---|---|---|---|"]
    for dname in material:
        for system in ("input", "mask", "auto", "resynth-pure"):
            sel = [r for r in rows if r["damage"] == dname and r["system"] == system]
            m = lambda k: np.nanmean([r[k] for r in sel])  # noqa: E731
            rt = "" if system == "input" else f"{seconds[dname] / timing[(dname, system)]:.1f}"
            lines.append(f"| {dname} | {system} | {m('pesq_wb'):.3f} | {m('lsd_db'):.2f} | {m('lsd_above_4k_db'):.2f} "
                         f"| {m('cos_pitch'):.3f} | {rt} |")
        paths = [r["auto_path"] for r in rows if r["damage"] == dname and r["system"] == "auto"]
        lines.append(f"| {dname} | (auto chose) | {', '.join(f'{p} {paths.count(p)}' for p in sorted(set(paths)))} | | | | |")
    table = "\n".join(lines)
    print(table)
    (args.out.parent / "resynth-table.md").write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
