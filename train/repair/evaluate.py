"""Measure an exported repair model on held-out damaged speech against doing nothing.

    python -m train.repair.evaluate onnx_models/multispeaker-repair.onnx [--n 24] [--update-sidecar]

Takes ``--n`` utterances of the corpus **test** split (speakers never seen in training; at
least ``--min-s`` long, evenly spaced through the sorted list), damages each one with every
recipe of ``--recipes`` (seeded per file by ``msar.dsp.degrade.file_rng``; noise recordings from
the noise manifest's test split), repairs it with ``msar.onnx_models.runtime.enhance`` (the
shipped code path, no torch) and scores unprocessed and repaired against the clean file:
PESQ (wide band), STOI and SI-SDR. Prints a JSON summary (means per recipe) and, with
``--update-sidecar``, stores it under ``metrics.test`` in the model's sidecar (the ``.onnx``,
and so its hash, is unchanged).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from msar.dsp import audio, metrics
from msar.dsp.degrade import Sources, degrade, file_rng, parse_recipe
from msar.onnx_models import registry, runtime

from . import data

#: Default recipes: real test-split noise at 0-20 dB SNR (what a mask can fix), and the full
#: training mix (which also holds damages a mask cannot undo: clipping, band limits, dropouts).
RECIPES = {"noise": "noise:kind=file,snr_db=0..20", "mix": "mix"}
METRICS = ("pesq_wb", "stoi", "si_sdr")


def score(clean: np.ndarray, x: np.ndarray, sr: int) -> dict[str, float]:
    return {"pesq_wb": metrics.optional_metric("pesq_wb", clean, x, sr),
            "stoi": metrics.optional_metric("stoi", clean, x, sr),
            "si_sdr": metrics.si_sdr(clean, x)}


def evaluate(model_path: Path, corpus: Path, n: int, min_s: float, seed: int, recipes: dict[str, str],
             strength: float | None = None, split: str = "test") -> dict:
    model = runtime.load_model(model_path)
    sr = model.card.sample_rate
    speech = sorted((u for u in data.load_speech(corpus, split) if u.duration_s >= min_s), key=lambda u: u.path)
    if len(speech) > n:
        speech = speech[:: len(speech) // n][:n]
    noise = sorted(data.load_noise(corpus, split))
    sources = Sources(noise_files=tuple(noise), speech_files=tuple(u.path for u in speech))
    out: dict = {"utterances": len(speech), "speakers": len({u.speaker for u in speech}), "split": split,
                 "seed": seed, "strength": model.card.strength if strength is None else strength}
    rtf_audio = rtf_wall = 0.0
    for tag, text in recipes.items():
        recipe = parse_recipe(text, sources)
        rows = []
        for utt in speech:
            x, file_sr = sf.read(utt.path, dtype="float32", always_2d=True)
            clean = audio.resample(audio.to_mono(x), file_sr, sr)
            damaged, _ = degrade(clean, sr, recipe, file_rng(seed, Path(utt.path).name))
            t0 = time.perf_counter()
            repaired = runtime.enhance(damaged, sr, strength=strength, model=model)
            rtf_wall += time.perf_counter() - t0
            rtf_audio += len(clean) / sr
            rows.append({"in": score(clean, damaged, sr), "out": score(clean, repaired, sr)})
        summary = {"recipe": text}
        for m in METRICS:
            before = np.array([r["in"][m] for r in rows])
            after = np.array([r["out"][m] for r in rows])
            ok = np.isfinite(before) & np.isfinite(after)
            summary[m] = {"unprocessed": round(float(before[ok].mean()), 3),
                          "repaired": round(float(after[ok].mean()), 3),
                          "improved_files": int(np.sum(after[ok] > before[ok])), "files": int(ok.sum())}
        out[tag] = summary
    out["x_real_time_one_thread"] = round(rtf_audio / max(rtf_wall, 1e-9), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.repair.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("model", help="model name or .onnx path")
    ap.add_argument("--corpus", type=Path, default=Path("cache/corpus"))
    ap.add_argument("--n", type=int, default=24, help="test utterances (default 24)")
    ap.add_argument("--min-s", type=float, default=1.5, help="shortest utterance used, seconds (PESQ needs speech)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--strength", type=float, default=None)
    ap.add_argument("--split", default="test", choices=("test", "valid"),
                    help="corpus split (tune on valid, report test)")
    ap.add_argument("--update-sidecar", action="store_true")
    args = ap.parse_args(argv)
    path = registry.resolve(args.model)
    result = evaluate(path, args.corpus, args.n, args.min_s, args.seed, RECIPES, args.strength, args.split)
    print(json.dumps(result, indent=1))
    if args.update_sidecar:
        side = registry.sidecar_path(path)
        card = json.loads(side.read_text(encoding="utf-8"))
        card.setdefault("metrics", {})["test"] = result
        side.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
