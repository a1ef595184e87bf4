"""Clean targets for the restoration model: for a capped, duration-balanced selection of the
corpus' clean utterances (``manifest.csv``, ``make data``), the audio at the model's rate and its
WORLD features (``msar.dsp.world.world_features``), one ``.npz`` each, plus ``index.json``.

The targets depend only on the clean audio, so they are computed once here; the damaged inputs
are made on the fly during training (``data.py``), where a random gain shifts the target's
energy term analytically (:data:`data.C0_PER_LOG_GAIN`).

    python -m train.resynth.prepare --corpus cache/corpus --out cache/resynth-prep -j 2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from msar.dsp import audio, world

from ..data import manifest

SR = 16000


def select(corpus: Path, splits: tuple[str, ...], max_s_per_speaker: float, min_s: float, max_s: float) -> list[dict]:
    """Manifest rows of ``splits`` between ``min_s`` and ``max_s`` long, at most
    ``max_s_per_speaker`` of audio per speaker (every k-th file, so each speaker's whole range of
    material is sampled, not its first prompts)."""
    rows = [r for r in manifest.read(corpus / "manifest.csv")
            if r["split"] in splits and min_s <= r["duration_s"] <= max_s]
    out = []
    for spk in sorted({r["speaker"] for r in rows}):
        mine = sorted((r for r in rows if r["speaker"] == spk), key=lambda r: r["path"])
        total = sum(r["duration_s"] for r in mine)
        step = max(1, int(np.ceil(total / max_s_per_speaker)))
        kept, s = [], 0.0
        for r in mine[::step]:
            if s >= max_s_per_speaker:
                break
            kept.append(r)
            s += r["duration_s"]
        out += kept
    return out


def prepare_one(corpus: Path, row: dict, out_dir: Path) -> dict:
    uid = Path(row["path"]).with_suffix("").as_posix().replace("/", "_")
    path = out_dir / f"{uid}.npz"
    if not path.exists():
        x, info = audio.read(corpus / row["path"])
        x = audio.resample(audio.to_mono(x), info.sr, SR).astype(np.float32)
        feats = world.world_features(x, SR)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, audio=np.round(np.clip(x, -1, 1) * 32767).astype(np.int16), feats=feats)
        tmp.replace(path)
    return {"id": uid, "speaker": row["speaker"], "sex": row["sex"], "language": row["language"],
            "split": row["split"], "duration_s": row["duration_s"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.resynth.prepare", description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("cache/corpus"))
    ap.add_argument("--out", type=Path, default=Path("cache/resynth-prep"))
    ap.add_argument("--max-minutes-per-speaker", type=float, default=7.0)
    ap.add_argument("--min-s", type=float, default=0.8)
    ap.add_argument("--max-s", type=float, default=12.0)
    ap.add_argument("-j", "--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    rows = select(args.corpus, ("train", "valid"), args.max_minutes_per_speaker * 60, args.min_s, args.max_s)
    (args.out / "utts").mkdir(parents=True, exist_ok=True)
    from joblib import Parallel, delayed

    index = Parallel(n_jobs=args.jobs)(delayed(prepare_one)(args.corpus, r, args.out / "utts") for r in rows)
    with open(args.out / "index.json", "w", encoding="utf-8") as f:
        json.dump(index, f)
    for split in ("train", "valid"):
        mine = [r for r in index if r["split"] == split]
        print(f"{split}: {len(mine)} utterances, {sum(r['duration_s'] for r in mine) / 3600:.2f} h, "
              f"{len({r['speaker'] for r in mine})} speakers", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
