"""Join prepared synthesis folders (``prepare.py`` or ``hmm_align.py`` output) into one, so that a
new text source can be prepared and aligned on its own and then trained on beside data that was
aligned before, instead of preparing and aligning everything again (about 47 minutes for 20 000
utterances on two cores).

Each example keeps its own split (``prepare.py`` decides it from a hash of the example's path, so
it is the same whichever folder the example was prepared in) and its own durations (the HMMs of
the run that aligned it). An id found in two folders is an error: the two could disagree.
Examples are hard-linked (copied across file systems); ``index.json`` is written last, so a
folder without it is unfinished.

    python -m train.synth.merge_prep --data cache/synth-prep/a-hmm --data cache/synth-prep/b-hmm \\
        --out cache/synth-prep/ab-hmm
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path


def merge(folders: list[Path], out: Path) -> list[dict]:
    """Write the union of ``folders`` to ``out``; returns the joined index. Raises ValueError on a
    duplicate id or a missing example file."""
    index: list[dict] = []
    source: dict[str, Path] = {}
    for folder in folders:
        rows = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        for r in rows:
            if r["id"] in source:
                raise ValueError(f"{r['id']} is in both {source[r['id']]} and {folder}")
            if not (folder / "utts" / f"{r['id']}.npz").exists():
                raise ValueError(f"{folder}: index.json names {r['id']} but utts/{r['id']}.npz is missing")
            source[r["id"]] = folder
        index += rows
    (out / "utts").mkdir(parents=True, exist_ok=True)
    for r in index:
        src, dst = source[r["id"]] / "utts" / f"{r['id']}.npz", out / "utts" / f"{r['id']}.npz"
        if dst.exists():
            dst.unlink()
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    tmp = out / "index.json.tmp"
    tmp.write_text(json.dumps(index), encoding="utf-8")
    tmp.replace(out / "index.json")
    return index


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.merge_prep", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, action="append", required=True, help="a prepared folder (repeatable)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    missing = [str(d) for d in args.data if not (d / "index.json").exists()]
    if missing:
        print(f"error: no index.json in {', '.join(missing)} (not prepared, or unfinished)", file=sys.stderr)
        return 1
    try:
        index = merge(args.data, args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    speakers = sorted({r["speaker"] for r in index})
    print(f"{len(index)} examples, {len(speakers)} speakers, "
          f"{sum(r['duration_s'] for r in index) / 3600:.2f} h -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
