"""Choose between repair models on the **valid** split: the network alone, per damage type.

The benchmark (``bench/repair_peers.py``) is the held-out measurement on test-split speech; this
is where a candidate model is compared with the shipped one before it ships. Clips are built
exactly as the benchmark builds them (``build_clips`` / ``make_material``), from valid-split
speakers and noise recordings, and each model repairs them through the shipped code path
(``msar.onnx_models.runtime.enhance``) at ``--strength`` (default 1: the network's own output,
no strength limit), so the comparison is of the networks, not of the DSP stages around them.

    python bench/repair_model_compare.py onnx_models/multispeaker-repair.onnx /tmp/v4/v4.onnx \\
        [--labels v3,v4] [--files 12] [--damages noise-synthetic,noise-real,babble,reverb,clean]

Prints a markdown table: PESQ-wb (and STOI, SI-SDR) means per damage type for the input and every
model, and each later model's paired PESQ-wb difference against the first (mean ± standard
error, files where it is higher).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import repair_peers as rp  # noqa: E402

from msar.dsp import audio, metrics  # noqa: E402
from msar.onnx_models import runtime  # noqa: E402

METRICS = ("pesq_wb", "stoi", "si_sdr")
DEFAULT_DAMAGES = "noise-synthetic,noise-real,babble,reverb,mix,clean"


def score(ref: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {"pesq_wb": metrics.optional_metric("pesq_wb", ref, y, rp.SR),
            "stoi": metrics.optional_metric("stoi", ref, y, rp.SR),
            "si_sdr": metrics.si_sdr(ref, y)}


def compare(models: list[str], corpus: Path, files: int, seconds: float, seed: int,
            damages: list[str], strength: float) -> dict[str, dict[str, list[dict]]]:
    """``{damage: {"input" | model: [scores per file]}}``, files in the same order for every column."""
    loaded = {m: runtime.load_model(m) for m in models}
    out: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory(prefix="repair-compare-") as tmp:
        clips, speech = rp.build_clips(corpus, files, seconds, split="valid")
        items, skipped = rp.make_material(Path(tmp), corpus, clips, speech, seed, split="valid",
                                          damages={d: rp.DAMAGES[d] for d in damages})
        if skipped:
            print(f"damage types not made: {skipped}", file=sys.stderr)
        for it in items:
            x, _ = audio.read(it["src"])
            x = audio.to_mono(x)
            cols = out.setdefault(it["damage"], {})
            cols.setdefault("input", []).append(score(it["ref"], x))
            for m, model in loaded.items():
                y = runtime.enhance(x, rp.SR, strength=strength, model=model)
                cols.setdefault(m, []).append(score(it["ref"], rp.fit_length(y, len(x))))
    return out


def table(results: dict[str, dict[str, list[dict]]], models: list[str], labels: list[str]) -> str:
    heads = ["input"] + labels
    lines = [f"| damage | files | PESQ-wb {' / '.join(heads)} | STOI {' / '.join(heads)} | "
             f"SI-SDR dB {' / '.join(heads)} |" + "".join(f" PESQ {lab} − {labels[0]} |" for lab in labels[1:]),
             "|---|---:|---|---|---|" + "---|" * (len(labels) - 1)]
    for damage, cols in results.items():
        cells = []
        for metric, digits in (("pesq_wb", 3), ("stoi", 3), ("si_sdr", 2)):
            cells.append(" / ".join(f"{np.nanmean([r[metric] for r in cols[c]]):.{digits}f}"
                                    for c in ["input"] + models))
        base = np.array([r["pesq_wb"] for r in cols[models[0]]])
        for m in models[1:]:
            d = np.array([r["pesq_wb"] for r in cols[m]]) - base
            d = d[np.isfinite(d)]
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            cells.append(f"{d.mean():+.3f} ± {se:.3f} ({int((d > 0).sum())}/{len(d)})")
        lines.append(f"| {damage} | {len(cols['input'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="model names or .onnx paths; the first is the reference")
    ap.add_argument("--labels", default=None, help="comma-separated names for the table")
    ap.add_argument("--corpus", type=Path, default=rp.ROOT / "cache" / "corpus")
    ap.add_argument("--files", type=int, default=12, help="clips per damage type (default 12)")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--damages", default=DEFAULT_DAMAGES, help=f"comma list of bench damage types ({DEFAULT_DAMAGES})")
    ap.add_argument("--strength", type=float, default=1.0)
    args = ap.parse_args(argv)
    damages = [d for d in args.damages.split(",") if d]
    unknown = [d for d in damages if d not in rp.DAMAGES]
    if unknown:
        ap.error(f"unknown damage types {unknown}; known: {', '.join(rp.DAMAGES)}")
    labels = args.labels.split(",") if args.labels else [Path(m).stem for m in args.models]
    if len(labels) != len(args.models):
        ap.error("--labels needs one name per model")
    results = compare(args.models, args.corpus, args.files, args.seconds, args.seed, damages, args.strength)
    print(f"Network alone at strength {args.strength:g}, {args.files} valid-split clips per type "
          f"(seed {args.seed}):\n")
    print(table(results, args.models, labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
