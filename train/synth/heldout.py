"""Several exported voices on the same held-out utterances: ``evaluate.py``'s metrics per speaker
for each model, and each model's paired differences from the first one.

    python -m train.synth.heldout onnx_models/multispeaker-synth.onnx cache/new/multispeaker-synth.onnx \\
        --data cache/synth-prep/more500 --exclude cache/synth-prep/multispeaker/index.json

The utterances are the held-out rows (``--split``, default ``valid``) of ``--data`` that every
model can speak, less those listed in any ``--exclude`` index (``prepare.py``'s ``index.json`` or
a JSON list of ids): e.g. the data of a model that trained or early-stopped on some of them.
``--unseen-text`` also leaves out the held-out rows whose sentence a training row of ``--data``
says (in any voice): ``prepare.py``'s split is by utterance, and many prompts are read by several
voices, so otherwise part of the held-out MCD is of text the model has seen.
Prints JSON (``--json`` also writes it) and, with ``--markdown``, the tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from msar.onnx_models import frontend
from msar.onnx_models import synth as S

from .evaluate import METRICS, per_utterance, summarize


def excluded_ids(paths: list[Path]) -> set[str]:
    """Ids in the given files: a ``prepare.py`` index (every row) or a JSON list of ids."""
    out = set()
    for p in paths:
        data = json.loads(Path(p).read_text(encoding="utf-8"))
        out |= {r["id"] if isinstance(r, dict) else str(r) for r in data}
    return out


def spoken_key(phones) -> str:
    """What an example says, as compared for :func:`seen_text_ids`: its phone symbols with the
    pauses left out (punctuation moves them; the words do not)."""
    return " ".join(str(p) for p in phones if str(p) not in (frontend.SIL, frontend.PAU))


def seen_text_ids(data: Path, split: str = "valid") -> set[str]:
    """Ids of ``data``'s ``split`` rows whose :func:`spoken_key` some ``train`` row of ``data`` has
    too: the same sentence, read by another voice or again by the same one."""
    index = json.loads((data / "index.json").read_text(encoding="utf-8"))
    keys = {r["id"]: spoken_key(np.load(data / "utts" / f"{r['id']}.npz")["phones"])
            for r in index if r["split"] in ("train", split)}
    trained = {keys[r["id"]] for r in index if r["split"] == "train"}
    return {r["id"] for r in index if r["split"] == split and keys[r["id"]] in trained}


def paired(a: dict[str, dict], b: dict[str, dict], metric: str, speaker: str | None = None) -> dict:
    """``b - a`` of ``metric`` over the utterances both scored (of ``speaker`` if given): mean,
    its standard error, in how many utterances ``b`` was lower, and ``n``."""
    ids = [i for i in a if i in b and metric in a[i] and metric in b[i] and speaker in (None, a[i]["speaker"])]
    d = np.array([b[i][metric] - a[i][metric] for i in ids], float)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"mean": round(float(d.mean()), 3) if len(d) else float("nan"), "se": round(se, 3),
            "b_lower": int((d < 0).sum()), "n": len(ids)}


def compare(models: list[str], data: Path, split: str = "valid", exclude: set[str] = frozenset()) -> dict:
    """``{"utterances": ids, "models": [{"model", "summary", "paired"}, ...]}`` in the order of
    ``models``: every model scored on the ids that all of them can speak, ``paired`` against
    ``models[0]`` per speaker and over ``"all"`` (empty for the first)."""
    per = [per_utterance(S.load_voice(m), data, split, exclude=set(exclude)) for m in models]
    common = set.intersection(*(set(p) for p in per))
    per = [{i: v for i, v in p.items() if i in common} for p in per]
    speakers = sorted({v["speaker"] for v in per[0].values()})
    return {"utterances": sorted(common),
            "models": [{"model": m, "summary": summarize(p),
                        "paired": {s: {k: paired(per[0], p, k, None if s == "all" else s) for k in METRICS}
                                   for s in speakers + ["all"]} if j else {}}
                       for j, (m, p) in enumerate(zip(models, per))]}


def markdown(result: dict, labels: list[str]) -> str:
    """Per-speaker means (``a / b / ...`` in the model order) and the paired MCD differences."""
    models = result["models"]
    sums = [m["summary"] for m in models]
    lines = ["| speaker | utts | " + " | ".join(f"{k} {' / '.join(labels)}" for k in METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    for spk in sums[0]:
        cells = [" / ".join(str(s[spk].get(k, "–")) for s in sums) for k in METRICS]
        lines.append(f"| {spk} | {sums[0][spk]['utterances']} | " + " | ".join(cells) + " |")
    for m, label in zip(models[1:], labels[1:]):
        lines += ["", f"Paired differences {label} − {labels[0]} (mean ± standard error; in how many utterances "
                  f"{label} was lower):", "", "| speaker | " + " | ".join(METRICS) + " |", "|---|" + "---|" * len(METRICS)]
        for spk, ds in m["paired"].items():
            lines.append(f"| {spk} | " + " | ".join(f"{d['mean']:+.3f} ± {d['se']:.3f} ({d['b_lower']}/{d['n']})"
                                                     for d in (ds[k] for k in METRICS)) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.heldout", description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="valid")
    ap.add_argument("--exclude", type=Path, action="append", default=[], help="an index.json or JSON list of ids")
    ap.add_argument("--unseen-text", action="store_true",
                    help="leave out held-out rows whose sentence a training row of --data says")
    ap.add_argument("--labels", default=None, help="comma-separated names of the models for the tables")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    exclude = excluded_ids(args.exclude)
    if args.unseen_text:
        seen = seen_text_ids(args.data, args.split)
        print(f"{len(seen)} held-out rows left out: a training row says the same sentence", file=sys.stderr)
        exclude |= seen
    result = compare(args.models, args.data, args.split, exclude)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    if args.markdown:
        labels = args.labels.split(",") if args.labels else [Path(m).stem for m in args.models]
        print(markdown(result, labels))
    else:
        print(json.dumps([{"model": m["model"], "summary": m["summary"]} for m in result["models"]], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
