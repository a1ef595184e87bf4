"""Tune the hybrid's filled-band gain (``ResynthParams.fill_gain_db``) on the corpus' **valid** split
(never on test): for band-limited copies of valid-split utterances (telephone preset, 4 kHz
low-pass, 8 kHz narrowband), the mean PESQ-wb and LSD above 4 kHz of the hybrid at each gain.

    python bench/resynth_tune.py [--files 12] [--gains 0,-3,-6,-9,-12]
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from msar.dsp import audio, metrics  # noqa: E402
from msar.dsp import resynth as R  # noqa: E402
from msar.dsp.degrade import degrade, file_rng  # noqa: E402

SR = 16000


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "cache" / "corpus")
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--gains", default="0,-3,-6,-9,-12")
    ap.add_argument("--model", default="multispeaker-resynth")
    args = ap.parse_args(argv)
    from msar.onnx_models import resynth as RS

    model = RS.load_model(args.model)
    rows = [r for r in csv.DictReader(open(args.corpus / "manifest.csv", encoding="utf-8"))
            if r["split"] == "valid" and 1.5 <= float(r["duration_s"]) <= 6.0]
    rows = sorted(rows, key=lambda r: r["path"])
    rows = rows[:: max(1, len(rows) // args.files)][: args.files]
    gains = [float(g) for g in args.gains.split(",")]
    res = {g: {"pesq_wb": [], "lsd_above_4k": []} for g in gains}
    res["input"] = {"pesq_wb": [], "lsd_above_4k": []}
    for r in rows:
        x, info = audio.read(args.corpus / r["path"])
        x = audio.resample(audio.to_mono(x), info.sr, SR).astype(np.float32)
        for dname in ("telephone", "lowpass4k", "narrowband8k"):
            if dname == "narrowband8k":
                d = audio.resample(audio.resample(x, SR, 8000), 8000, SR)[: len(x)]
            else:
                recipe = "telephone" if dname == "telephone" else "lowpass:cutoff_hz=4000"
                d = degrade(x, SR, recipe, file_rng(7, f"{dname}/{r['path']}"))[0]
            bw = R.measure_bandwidth(d, SR)
            res["input"]["pesq_wb"].append(metrics.optional_metric("pesq_wb", x, d, SR))
            res["input"]["lsd_above_4k"].append(metrics.lsd(x, d, SR, 4000.0))
            for g in gains:
                y = RS.repair(d, SR, bw, replace(RS.ResynthParams(), fill_gain_db=g), model=model)
                res[g]["pesq_wb"].append(metrics.optional_metric("pesq_wb", x, y, SR))
                res[g]["lsd_above_4k"].append(metrics.lsd(x, y, SR, 4000.0))
    print(f"{len(rows)} valid-split files x 3 band limits")
    print("| fill gain dB | PESQ-wb | LSD > 4 kHz |\n|---|---|---|")
    for k, v in res.items():
        print(f"| {k} | {np.nanmean(v['pesq_wb']):.3f} | {np.mean(v['lsd_above_4k']):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
