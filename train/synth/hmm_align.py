"""Phone durations by forced alignment with monophone HMMs trained on the corpus itself (Viterbi
training), refining ``align.py``'s DTW durations.

Why: the DTW against an espeak-ng rendering misplaces boundaries by tens of ms, and worst at the
edges (leading silence absorbed into the first phone, a final phone stretched over the trailing
pause), and the acoustic model learns those blurred phone-to-frame maps.

Method:

1. Observations per 5 ms frame, from the prepared WORLD features alone (no audio needed): the coded
   spectral envelope (a mel-cepstrum, 40 dims) with per-utterance mean and variance normalization,
   its first differences, and voicing.
2. One left-to-right HMM per phone symbol (``STATES`` states, each a diagonal Gaussian; ``sil`` one
   state), shared by every speaker and language: the utterance's phone sequence is a chain of states,
   each visited for at least one frame, self-loop and advance equally likely.
3. Viterbi training: the Gaussians start from the existing durations (each phone's frames split
   evenly over its states), then alternate Viterbi alignment of every utterance and re-estimation,
   ``--iterations`` times. The durations are the frames each phone's states hold.

``--eval`` measures the boundary error on flite voices, whose exact timings ``flite -psdur`` gives,
with models trained only on the other (real) speakers, so nothing of the truth reaches the aligner:
the same metric as ``python -m train.synth.align --eval`` (each true boundary against the nearest
aligned one, since espeak-ng's and flite's phone sets differ).

    python -m train.synth.hmm_align --data cache/synth-prep/multispeaker-synth --eval
    python -m train.synth.hmm_align --data cache/synth-prep/multispeaker-synth --out cache/synth-prep/hmm
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from msar.dsp import world

STATES = 3
SIL = "sil"
VAR_FLOOR = 1e-2  # observations are normalized per utterance: unit scale
LOG_HALF = float(np.log(0.5))


def observations(feats: np.ndarray) -> np.ndarray:
    """Per-frame observation vectors ``(T, 2 * n_sp + 1)`` of prepared WORLD features."""
    lay = world.feature_layout(16000)
    sp = np.asarray(feats[:, slice(*lay["sp"])], dtype=np.float64)
    sp = (sp - sp.mean(0)) / (sp.std(0) + 1e-3)
    delta = np.gradient(sp, axis=0) if len(sp) > 1 else np.zeros_like(sp)
    return np.concatenate([sp, delta, feats[:, lay["vuv"][0]:lay["vuv"][0] + 1]], axis=1)


def state_chain(phones: list[str], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Model-state ids of an utterance's chain and the phone each chain position belongs to."""
    ids, owner = [], []
    for i, p in enumerate(phones):
        n = 1 if p == SIL else STATES
        ids += [index[p] * STATES + k for k in range(n)]
        owner += [i] * n
    return np.array(ids, np.int64), np.array(owner, np.int64)


def viterbi(loglik: np.ndarray) -> np.ndarray | None:
    """Chain position per frame of the best left-to-right path through ``loglik`` ``(T, S)`` that
    starts in position 0, ends in S - 1 and visits every position (None if T < S)."""
    T, S = loglik.shape
    if T < S:
        return None
    delta = np.full(S, -np.inf)
    delta[0] = loglik[0, 0]
    back = np.zeros((T, S), dtype=bool)  # True: came from the previous position (advanced)
    for t in range(1, T):
        stay = delta + LOG_HALF
        move = np.concatenate([[-np.inf], delta[:-1] + LOG_HALF])
        back[t] = move > stay
        delta = np.maximum(stay, move) + loglik[t]
    pos = np.empty(T, np.int64)
    s = S - 1
    for t in range(T - 1, -1, -1):
        pos[t] = s
        if back[t, s]:
            s -= 1
    return pos if s == 0 else None


class Monophones:
    """Diagonal Gaussians of every phone state, estimated from aligned frames."""

    def __init__(self, phones: list[str], dim: int):
        self.index = {p: i for i, p in enumerate(sorted(set(phones) | {SIL}))}
        n = len(self.index) * STATES
        self.mean, self.var = np.zeros((n, dim)), np.ones((n, dim))

    def fit(self, utts: list[dict], positions: list[np.ndarray]) -> None:
        n, dim = self.mean.shape
        s0, s1, s2 = np.zeros(n), np.zeros((n, dim)), np.zeros((n, dim))
        for u, pos in zip(utts, positions):
            st = u["chain"][pos]
            s0 += np.bincount(st, minlength=n)
            for d in range(dim):  # np.add.at is slow; bincount per dimension is not
                s1[:, d] += np.bincount(st, weights=u["obs"][:, d], minlength=n)
                s2[:, d] += np.bincount(st, weights=u["obs"][:, d] ** 2, minlength=n)
        seen = s0 > 0
        self.mean[seen] = s1[seen] / s0[seen, None]
        self.var[seen] = np.maximum(s2[seen] / s0[seen, None] - self.mean[seen] ** 2, VAR_FLOOR)

    def loglik(self, obs: np.ndarray, chain: np.ndarray) -> np.ndarray:
        m, iv = self.mean[chain], 1.0 / self.var[chain]
        # sum_d (o - m)^2 / v expanded into matrix products: no (T, S, dim) array
        quad = (obs ** 2) @ iv.T - 2.0 * obs @ (m * iv).T + np.sum(m * m * iv, axis=1)[None, :]
        return -0.5 * (quad + np.sum(np.log(self.var[chain]), axis=1)[None, :])


def initial_positions(u: dict) -> np.ndarray:
    """Chain position per frame from the utterance's existing durations, each phone's frames split
    evenly over its states (phones with fewer frames than states borrow none: clipped)."""
    pos = np.empty(int(u["durations"].sum()), np.int64)
    t = 0
    for i, d in enumerate(u["durations"]):
        where = np.flatnonzero(u["owner"] == i)
        if d:
            pos[t:t + d] = where[np.minimum(np.arange(d) * len(where) // d, len(where) - 1)]
        t += d
    return pos


def load(data: Path, ids: list[str] | None = None) -> list[dict]:
    index = json.loads((data / "index.json").read_text(encoding="utf-8"))
    out = []
    for r in index:
        if ids is not None and r["id"] not in ids:
            continue
        d = np.load(data / "utts" / f"{r['id']}.npz")
        out.append({**r, "phones": [str(p) for p in d["phones"]], "durations": d["durations"].astype(np.int64),
                    "obs": observations(d["feats"])})
    return out


def train(utts: list[dict], iterations: int) -> Monophones:
    model = Monophones([p for u in utts for p in u["phones"]], utts[0]["obs"].shape[1])
    for u in utts:
        u["chain"], u["owner"] = state_chain(u["phones"], model.index)
    positions = [initial_positions(u) for u in utts]
    for it in range(iterations):
        model.fit(utts, positions)
        new = [align_one(model, u) for u in utts]
        moved = [np.mean(a != b) for a, b in zip(new, positions) if a is not None and len(a) == len(b)]
        positions = [p if n is None else n for n, p in zip(new, positions)]
        print(f"iteration {it + 1}: {np.mean(moved):.3f} of frames changed state", file=sys.stderr, flush=True)
    model.fit(utts, positions)
    return model


def align_one(model: Monophones, u: dict) -> np.ndarray | None:
    if "chain" not in u:
        u["chain"], u["owner"] = state_chain(u["phones"], model.index)
    return viterbi(model.loglik(u["obs"], u["chain"]))


def durations_of(u: dict, pos: np.ndarray) -> np.ndarray:
    return np.bincount(u["owner"][pos], minlength=len(u["phones"])).astype(np.int64)


def evaluate(data: Path, corpus: Path, iterations: int) -> dict:
    """Boundary error (ms) on the flite voices' held-out and training utterances, models trained on
    the real speakers only; the DTW durations before snapping are not stored, so the DTW row is
    ``align.py``'s own evaluation on the same voices (``python -m train.synth.align --eval``)."""
    from .align import _nearest_error_ms, flite_phone_ends
    from .prepare import manifest_items

    items = {i["id"]: i for i in manifest_items(corpus, {"en"}, 10 ** 9, 1e9)}
    utts = load(data)
    real = [u for u in utts if not u["speaker"].startswith("flite-")]
    model = train(real, iterations)
    rng = np.random.default_rng(0)
    flite = [u for u in utts if u["speaker"].startswith("flite-") and u["id"] in items]
    flite = [flite[i] for i in rng.choice(len(flite), size=min(80, len(flite)), replace=False)]
    errs = []
    for u in flite:
        if any(p not in model.index for p in u["phones"]):
            continue
        pos = align_one(model, u)
        if pos is None:
            continue
        ends = np.cumsum(durations_of(u, pos))[:-1] * 0.005
        truth = flite_phone_ends(items[u["id"]]["text"], u["speaker"].split("-", 1)[1])
        errs.append(_nearest_error_ms(np.array([t for _, t in truth[:-1]]), ends))
    e = np.concatenate(errs)
    return {"utterances": len(errs), "boundaries": int(len(e)), "mean_ms": round(float(e.mean()), 1),
            "median_ms": round(float(np.median(e)), 1), "within_20ms": round(float((e <= 20).mean()), 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.hmm_align", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="prepare.py's output folder")
    ap.add_argument("--corpus", type=Path, action="append", help="the corpora prepare.py read (repeatable; "
                    "default cache/corpus): the flite voices' texts, for snapping onto flite's timings")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--eval", action="store_true", help="boundary error on the flite voices (see above)")
    ap.add_argument("--out", type=Path, help="write a copy of --data with the realigned durations here")
    args = ap.parse_args(argv)
    args.corpus = args.corpus or [Path("cache/corpus")]
    if args.eval:
        print(json.dumps(evaluate(args.data, args.corpus[0], args.iterations)))
    if args.out:
        utts = load(args.data)
        model = train(utts, args.iterations)
        (args.out / "utts").mkdir(parents=True, exist_ok=True)
        from .align import flite_phone_ends, snap_durations
        from .prepare import corpus_items

        texts = {i["id"]: i["text"] for i in corpus_items(args.corpus, {"en"}, "en", 10 ** 9, 1e9)}
        kept = 0
        for u in utts:
            d = dict(np.load(args.data / "utts" / f"{u['id']}.npz"))
            pos = align_one(model, u)
            if pos is not None:
                d["durations"], kept = durations_of(u, pos), kept + 1
                # flite voices: boundaries within 30 ms of flite's exact ones move onto them, as prepare.py does
                if u["speaker"].startswith("flite-") and u["id"] in texts:
                    true = [t for _, t in flite_phone_ends(texts[u["id"]], u["speaker"].split("-", 1)[1])[:-1]]
                    d["durations"] = snap_durations(d["durations"], np.array(true))
            d["aligned"] = np.array("hmm")
            tmp = args.out / "utts" / f"{u['id']}.tmp.npz"
            np.savez(tmp, **d)
            tmp.replace(args.out / "utts" / f"{u['id']}.npz")
        # last: `make train-synth` takes an index.json here as a finished alignment
        shutil.copy(args.data / "index.json", args.out / "index.json.tmp")
        (args.out / "index.json.tmp").replace(args.out / "index.json")
        print(f"{kept} of {len(utts)} utterances realigned into {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
