"""Held-out quality of an exported voice (onnxruntime only): mel-cepstral distortion (dB) and F0
RMSE (Hz, frames voiced in both) of the acoustic model driven by the aligned durations, and the
duration model's RMSE in log(1 + frames), per speaker.

    python -m train.synth.evaluate onnx_models/multispeaker-synth.onnx --data cache/synth-prep/multispeaker
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from msar.onnx_models import synth as S

from .train import mcd_db


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="valid")
    args = ap.parse_args(argv)
    voice = S.load_voice(args.model)
    lay = voice.layout
    index = [r for r in json.loads((args.data / "index.json").read_text()) if r["split"] == args.split]
    per = defaultdict(lambda: defaultdict(list))
    for r in index:
        d = np.load(args.data / "utts" / f"{r['id']}.npz")
        if r["speaker"] not in {s.name for s in voice.speakers} or any(str(p) not in voice.phone_table for p in d["phones"]):
            continue
        spk = voice.speaker(r["speaker"]).id
        ids = np.array([voice.phone_table[str(p)] for p in d["phones"]], np.int64)
        stress = np.clip(d["stress"], 0, 2).astype(np.int64)
        dur = d["durations"].astype(np.int64)
        f = voice.features(ids, stress, spk, dur, 1.0)
        t = d["feats"][: len(f)]
        f = f[: len(t)]
        sp = slice(*lay["sp"])
        per[r["speaker"]]["mcd_db"].append(mcd_db(f[:, sp], t[:, sp]))
        v = (f[:, 1] > 0.5) & (t[:, 1] > 0.5)
        if v.any():
            per[r["speaker"]]["f0_rmse_hz"].append(float(np.sqrt(np.mean((np.exp(f[v, 0]) - np.exp(t[v, 0])) ** 2))))
        per[r["speaker"]]["vuv_error"].append(float(np.mean((f[:, 1] > 0.5) != (t[:, 1] > 0.5))))
        log_dur = voice.dsession.run(["log_dur"], {"phones": ids[None], "stress": stress[None],
                                                   "speaker": np.array([spk], np.int64)})[0][0]
        per[r["speaker"]]["dur_rmse_log"].append(float(np.sqrt(np.mean((log_dur - np.log1p(dur)) ** 2))))
    out = {spk: {k: round(float(np.mean(v)), 3) for k, v in m.items()} | {"utterances": len(m["mcd_db"])}
           for spk, m in sorted(per.items())}
    allm = defaultdict(list)
    for m in per.values():
        for k, v in m.items():
            allm[k] += v
    out["all"] = {k: round(float(np.mean(v)), 3) for k, v in allm.items()}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
