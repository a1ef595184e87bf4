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

METRICS = ("mcd_db", "f0_rmse_hz", "f0_rmse_cents", "f0_level_cents", "vuv_error", "dur_rmse_log")


def utterance_metrics(voice: S.Voice, d: dict) -> dict[str, float] | None:
    """``mcd_db``, the F0 errors (absent when no frame is voiced in both), ``vuv_error`` and
    ``dur_rmse_log`` of one prepared utterance ``d`` (``prepare.py``'s arrays) spoken by its
    speaker ``d["speaker"]``; None when the voice lacks the speaker or one of the phones."""
    if d["speaker"] not in {s.name for s in voice.speakers} or any(str(p) not in voice.phone_table for p in d["phones"]):
        return None
    lay = voice.layout
    spk = voice.speaker(d["speaker"]).id
    ids = np.array([voice.phone_table[str(p)] for p in d["phones"]], np.int64)
    stress = np.clip(d["stress"], 0, 2).astype(np.int64)
    dur = d["durations"].astype(np.int64)
    f = voice.features(ids, stress, spk, dur, 1.0)
    t = d["feats"][: len(f)]
    f = f[: len(t)]
    sp = slice(*lay["sp"])
    m = {"mcd_db": mcd_db(f[:, sp], t[:, sp])}
    v = (f[:, 1] > 0.5) & (t[:, 1] > 0.5)
    if v.any():
        m["f0_rmse_hz"] = float(np.sqrt(np.mean((np.exp(f[v, 0]) - np.exp(t[v, 0])) ** 2)))
        # the same in cents (an octave error weighs 1200 whatever the voice's pitch), and how far
        # the utterance's mean log F0 is off (its level, whatever the intonation)
        cents = (f[v, 0] - t[v, 0]) * 1200 / np.log(2)
        m["f0_rmse_cents"] = float(np.sqrt(np.mean(cents ** 2)))
        m["f0_level_cents"] = float(abs(np.mean(cents)))
    m["vuv_error"] = float(np.mean((f[:, 1] > 0.5) != (t[:, 1] > 0.5)))
    log_dur = voice.dsession.run(["log_dur"], {"phones": ids[None], "stress": stress[None],
                                               "speaker": np.array([spk], np.int64)})[0][0]
    m["dur_rmse_log"] = float(np.sqrt(np.mean((log_dur - np.log1p(dur)) ** 2)))
    return m


def per_utterance(voice: S.Voice, data: Path, split: str = "valid", speakers: set[str] | None = None,
                  exclude: set[str] = frozenset()) -> dict[str, dict]:
    """:func:`utterance_metrics` of every row of ``split`` in ``data`` (``prepare.py`` layout),
    optionally only those of ``speakers`` and not in ``exclude`` (ids), by utterance id (with its
    ``speaker``); skipped rows are left out."""
    out = {}
    for r in json.loads((data / "index.json").read_text()):
        if r["split"] != split or (speakers is not None and r["speaker"] not in speakers) or r["id"] in exclude:
            continue
        m = utterance_metrics(voice, dict(np.load(data / "utts" / f"{r['id']}.npz")) | {"speaker": r["speaker"]})
        if m is not None:
            out[r["id"]] = m | {"speaker": r["speaker"]}
    return out


def summarize(per_utt: dict[str, dict]) -> dict[str, dict]:
    """Means of :func:`per_utterance`'s metrics per speaker and over ``"all"`` utterances, with
    the number of ``utterances``."""
    groups = defaultdict(list)
    for m in per_utt.values():
        groups[m["speaker"]].append(m)
    groups = dict(sorted(groups.items())) | {"all": list(per_utt.values())}
    return {spk: {k: round(float(np.mean([m[k] for m in ms if k in m])), 3) for k in METRICS if any(k in m for m in ms)}
            | {"utterances": len(ms)} for spk, ms in groups.items() if ms}


def evaluate(voice: S.Voice, data: Path, split: str = "valid", speakers: set[str] | None = None) -> dict[str, dict]:
    """:func:`summarize` of :func:`per_utterance`."""
    return summarize(per_utterance(voice, data, split, speakers))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--split", default="valid")
    args = ap.parse_args(argv)
    print(json.dumps(evaluate(S.load_voice(args.model), args.data, args.split), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
