"""Throughput of the neural repair stage (onnxruntime, one thread), in x real time per core.

Uses process CPU time (so other jobs on the machine do not count against it) on 60 s of the
bundled demo speech with white noise at 10 dB SNR, for whole-file processing and streaming
blocks of 1 and 8 hops.

    python bench/repair_throughput.py [--model multispeaker-repair] [--out reports/bench-repair.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from msar.dsp import audio
from msar.onnx_models import runtime

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="multispeaker-repair")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    den = runtime.Denoiser(args.model)
    sr, hop = den.sr, den.model.card.hop
    speech = np.concatenate([audio.resample(audio.to_mono(audio.read(p)[0]), audio.info(p).sr, sr)
                             for p in sorted((ROOT / "demo" / "speech").glob("*.flac"))])
    x = np.resize(speech, int(args.seconds * sr)).astype(np.float32)
    x += (np.sqrt(np.mean(x**2) / 10) * np.random.default_rng(0).standard_normal(len(x))).astype(np.float32)
    rows = []
    for label, block in (("whole file", len(x)), ("blocks of 8 hops", 8 * hop), ("blocks of 1 hop", hop)):
        t0 = time.process_time()
        for i in range(0, len(x), block):
            den.process(x[i:i + block])
        den.flush()
        cpu = time.process_time() - t0
        rows.append((label, args.seconds / cpu))
    card = den.model.card
    lines = [f"# Repair model throughput: {card.name} ({card.raw.get('parameters', '?')} parameters)", "",
             f"{args.seconds:.0f} s of speech at {sr} Hz, onnxruntime with one intra-op thread, "
             f"process CPU time; {platform.processor() or platform.machine()}.", "",
             "| processing | x real time per core |", "| --- | ---: |"]
    lines += [f"| {label} | {rt:.0f} |" for label, rt in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
