"""Train the duration and acoustic networks together on prepared examples (``prepare.py``).

    python -m train.synth.train --data cache/synth-prep/multispeaker --out cache/checkpoints \\
        --name multispeaker-synth --max-minutes 30 --resume

Checkpoints (``<out>/<name>/last.pt``; ``best.pt`` by validation loss) every ``--save-minutes``;
``--resume`` continues from ``last.pt`` with the same speaker and phone tables. ``--init-onnx`` starts a
new run from an exported model instead (``onnx_weights.py``: its weights, tables, normalization and
configuration; the optimizer starts afresh), so a model can be trained further on a machine without
its checkpoints.

Splits: rows of ``index.json`` with split ``train`` are trained on; any other split (``prepare.py``'s
``valid``: the held-out utterances that ``evaluate.py`` scores) is never seen, not even for early
stopping. The validation set (early stopping, ``best.pt``) is the index's ``dev`` rows when it has
any (``compare.py`` writes its own); otherwise :func:`validation_ids` takes ``--valid-per-speaker``
training utterances of every voice, the same ones on every run, and leaves them out of training.
Losses: MSE of
log(1 + frames) per phone; for frames, MSE on normalized lf0, envelope and aperiodicity, and
binary cross-entropy on the voicing logit; with ``--delta-loss W``, W times the MSE of the
frame-to-frame differences of the continuous features as well.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as Fn

from msar.dsp import world
from msar.onnx_models.synth import PAD, expand_durations

from ..schedules import cosine_lr
from .model import LF0_COL, AcousticNet, DurationNet, SynthConfig, n_parameters

SR = 16000
MAX_FRAMES = 600  # acoustic training window (3 s): longer utterances are cropped at random


def load_examples(data: Path) -> tuple[list[dict], list[dict]]:
    index = json.loads((data / "index.json").read_text(encoding="utf-8"))
    exs = []
    for r in index:
        d = np.load(data / "utts" / f"{r['id']}.npz")
        exs.append({**r, "phones": [str(p) for p in d["phones"]], "stress": d["stress"].astype(np.int64),
                    "durations": d["durations"].astype(np.int64), "feats": d["feats"]})
    return index, exs


def validation_ids(index: list[dict], per_speaker: int) -> set[str]:
    """Validation utterances for early stopping: of each speaker's ``train`` rows, the
    ``per_speaker`` first (at most a quarter of them, so that every voice keeps most of its
    training data) in the order of a stable hash (CRC-32 of ``"valid:" + id``, ties by id).
    Every voice with 4 or more training rows is represented, the choice does not depend on row
    order or on the machine, and the held-out rows (any split other than ``train``) are never
    picked."""
    per: dict[str, list[str]] = defaultdict(list)
    for r in index:
        if r["split"] == "train":
            per[r["speaker"]].append(r["id"])
    out = set()
    for ids in per.values():
        order = sorted(set(ids), key=lambda i: (zlib.crc32(f"valid:{i}".encode("utf-8")), i))
        out |= set(order[:min(per_speaker, len(order) // 4)])
    return out


def split_rows(exs: list[dict], per_speaker: int) -> tuple[list[dict], list[dict]]:
    """(training, validation) examples: validation is the ``dev`` rows if there are any, else
    :func:`validation_ids`; training is the remaining ``train`` rows. Held-out rows are in neither."""
    if any(e["split"] == "dev" for e in exs):
        valid_ids = {e["id"] for e in exs if e["split"] == "dev"}
    else:
        valid_ids = validation_ids(exs, per_speaker)
    return ([e for e in exs if e["split"] == "train" and e["id"] not in valid_ids],
            [e for e in exs if e["id"] in valid_ids])


def sampling_weights(exs: list[dict], balance: float) -> np.ndarray | None:
    """Probability of drawing each training example when a voice's share of the batches goes as
    its utterance count to the power ``balance``: 1 draws utterances uniformly (each voice in
    proportion to its data; returns None, the plain draw), 0 draws voices uniformly, 0.5 between.
    Below 1 the voices with little data (the real recordings: a tenth of the audio beside the
    flite voices' thousands of read sentences) are drawn more often than their size alone gives."""
    if balance == 1.0:
        return None
    counts = defaultdict(int)
    for e in exs:
        counts[e["speaker"]] += 1
    w = np.array([counts[e["speaker"]] ** (balance - 1.0) for e in exs], dtype=np.float64)
    return w / w.sum()


def build_tables(index: list[dict], exs: list[dict], phones: list[str] | None = None,
                 exclude: set[str] = frozenset()) -> tuple[list[dict], list[str]]:
    """Speakers (id, name, sex, language, hours) and phones (id 0 is padding) of the data;
    ``phones`` (without padding) fixes the inventory instead, so that models trained on different
    subsets of one corpus can be evaluated on the same utterances. ``hours`` counts the ``train``
    rows not in ``exclude`` (the validation utterances): the audio each voice was trained on."""
    spk: dict[str, dict] = {}
    for r in index:
        s = spk.setdefault(r["speaker"], {"name": r["speaker"], "sex": r["sex"], "languages": set(), "hours": 0.0})
        s["languages"].add(r["language"])
        if r["split"] == "train" and r["id"] not in exclude:
            s["hours"] += r["duration_s"] / 3600
    speakers = [{"id": i, "name": s["name"], "sex": s["sex"], "language": ",".join(sorted(s["languages"])),
                 "hours": round(s["hours"], 3)} for i, s in enumerate(sorted(spk.values(), key=lambda s: s["name"]))]
    phones = [PAD] + sorted(set(phones) if phones is not None else {p for e in exs for p in e["phones"]})
    return speakers, phones


def feature_stats(exs: list[dict], vuv_col: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std of the features of ``exs`` (the training examples)."""
    f = np.concatenate([e["feats"] for e in exs])
    mean, std = f.mean(0), f.std(0) + 1e-5
    mean[vuv_col], std[vuv_col] = 0.0, 1.0  # voicing stays 0/1: its output is a logit
    return mean.astype(np.float32), std.astype(np.float32)


def speaker_lf0_affine(exs: list[dict], spk_ids: dict, mean, std) -> tuple[np.ndarray, np.ndarray]:
    """Per speaker id, the affine (scale, shift) from that speaker's log-F0 z-score to the model's
    normalization (``AcousticNet.set_speaker_lf0``), from the log F0 of every frame of its
    examples in ``exs`` (the training examples; the same frames :func:`feature_stats` uses). A
    speaker with no example keeps the identity (1, 0)."""
    scale, shift = np.ones(len(spk_ids), np.float32), np.zeros(len(spk_ids), np.float32)
    per: dict[str, list[np.ndarray]] = defaultdict(list)
    for e in exs:
        per[e["speaker"]].append(e["feats"][:, LF0_COL].astype(np.float64))
    for name, parts in per.items():
        if name in spk_ids:
            lf0 = np.concatenate(parts)
            scale[spk_ids[name]] = (lf0.std() + 1e-5) / std[LF0_COL]
            shift[spk_ids[name]] = (lf0.mean() - mean[LF0_COL]) / std[LF0_COL]
    return scale, shift


def make_batch(exs: list[dict], phone_ids: dict, spk_ids: dict, mean, std, rng) -> dict:
    B = len(exs)
    N = max(len(e["phones"]) for e in exs)
    T = min(MAX_FRAMES, max(int(e["durations"].sum()) for e in exs))
    b = {"phones": np.zeros((B, N), np.int64), "stress": np.zeros((B, N), np.int64),
         "speaker": np.array([spk_ids[e["speaker"]] for e in exs]), "log_dur": np.zeros((B, N), np.float32),
         "n_mask": np.zeros((B, N), np.float32), "frame_phone": np.zeros((B, T), np.int64),
         "frame_pos": np.zeros((B, T, 2), np.float32), "feats": np.zeros((B, T, len(mean)), np.float32),
         "t_mask": np.zeros((B, T), np.float32)}
    for i, e in enumerate(exs):
        n = len(e["phones"])
        b["phones"][i, :n] = [phone_ids[p] for p in e["phones"]]
        b["stress"][i, :n] = np.clip(e["stress"], 0, 2)
        b["log_dur"][i, :n] = np.log1p(e["durations"])
        b["n_mask"][i, :n] = 1
        fp, pos = expand_durations(e["durations"])
        t_all = min(len(fp), len(e["feats"]))
        start = int(rng.integers(0, t_all - T + 1)) if t_all > T else 0
        t = min(T, t_all)
        b["frame_phone"][i, :t] = fp[start:start + t]
        b["frame_pos"][i, :t] = pos[start:start + t]
        b["feats"][i, :t] = (e["feats"][start:start + t] - mean) / std
        b["t_mask"][i, :t] = 1
    return {k: torch.from_numpy(v) for k, v in b.items()}


def losses(dur_net, ac_net, b, lay, delta: float = 0.0) -> dict:
    pred_dur = dur_net(b["phones"], b["stress"], b["speaker"])
    l_dur = ((pred_dur - b["log_dur"]) ** 2 * b["n_mask"]).sum() / b["n_mask"].sum()
    y = ac_net(b["phones"], b["stress"], b["speaker"], b["frame_phone"], b["frame_pos"])
    m = b["t_mask"][..., None]
    cont = [c for c in range(y.shape[-1]) if c != lay["vuv"][0]]
    l_feat = (((y[..., cont] - b["feats"][..., cont]) ** 2) * m).sum() / (m.sum() * len(cont))
    v = lay["vuv"][0]
    l_vuv = (Fn.binary_cross_entropy_with_logits(y[..., v], b["feats"][..., v], reduction="none") * b["t_mask"]).sum() / b["t_mask"].sum()
    out = {"dur": l_dur, "feat": l_feat, "vuv": l_vuv, "total": l_dur + l_feat + 0.5 * l_vuv}
    if delta > 0:  # frame-to-frame changes, where an MSE-trained network smooths most (phone changes)
        dy, dt = y[:, 1:, cont] - y[:, :-1, cont], b["feats"][:, 1:, cont] - b["feats"][:, :-1, cont]
        m2 = (b["t_mask"][:, 1:] * b["t_mask"][:, :-1])[..., None]
        out["delta"] = (((dy - dt) ** 2) * m2).sum() / (m2.sum() * len(cont)).clamp(min=1)
        out["total"] = out["total"] + delta * out["delta"]
    return out


def mcd_db(pred_sp: np.ndarray, true_sp: np.ndarray) -> float:
    """Mel-cepstral distortion (dB) between coded envelopes, c0 excluded (Kubichek 1993:
    10/ln10 * sqrt(2 * sum_d (c_d - c'_d)^2), averaged over frames)."""
    d = pred_sp[:, 1:] - true_sp[:, 1:]
    return float(np.mean(np.sqrt(2 * np.sum(d ** 2, axis=1))) * 10 / np.log(10))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.train", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("cache/checkpoints"))
    ap.add_argument("--name", default="multispeaker-synth")
    ap.add_argument("--max-minutes", type=float, default=30)
    ap.add_argument("--max-steps", type=int, default=10 ** 9)
    ap.add_argument("--save-minutes", type=float, default=3)
    ap.add_argument("--eval-steps", type=int, default=0, help="validate and checkpoint every N steps instead of "
                    "every --save-minutes (so early stopping does not depend on the machine's speed)")
    ap.add_argument("--phones", type=Path, default=None, help="JSON list of the phone inventory (default: the data's)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--tiny", action="store_true", help="a very small model (tests)")
    ap.add_argument("--size", default="", help="model size overrides for a new run, e.g. "
                    "'phone_dim=96,speaker_dim=32,enc_hidden=96,dec_hidden=160,dropout=0.1' (SynthConfig fields)")
    ap.add_argument("--cosine-steps", type=int, default=0, help="cosine learning-rate decay from --lr to 5 %% of "
                    "it over this many steps, then held (0: constant --lr)")
    ap.add_argument("--speaker-f0-norm", action="store_true", help="a new run predicts each voice's log F0 in its "
                    "own units, anchored by the voice's training statistics (model.py; resume keeps the checkpoint's)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-onnx", type=Path, default=None, help="a new run starts from this exported acoustic "
                    "model (and its duration model and sidecar) instead of random weights; --size and --phones "
                    "do not apply")
    ap.add_argument("--reset-best", action="store_true", help="on resume, forget the best validation loss "
                    "(after the validation split changed)")
    ap.add_argument("--valid-per-speaker", type=int, default=8, help="validation utterances taken from each "
                    "voice's training rows (by a stable hash) when the index has no dev rows")
    ap.add_argument("--speaker-balance", type=float, default=1.0, help="each voice's share of the batches goes "
                    "as its utterance count to this power (1: utterances drawn uniformly; 0: voices drawn "
                    "uniformly); --resume refuses another value than the checkpoint's")
    ap.add_argument("--postnet", type=int, default=0, help="give a new run, or one from --init-onnx without one, "
                    "a residual convolutional post-net of this many layers (model.py; its last layer starts at "
                    "zero, so a run from --init-onnx starts as the model it was given); a resume, or a model that has one, "
                    "keeps its size and refuses another")
    ap.add_argument("--delta-loss", type=float, default=0.0, help="weight of an added MSE on the frame-to-frame "
                    "differences of the continuous features (0: none); --resume refuses another value than the "
                    "checkpoint's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: leave the other cores to data "
                    "preparation or a second run)")
    args = ap.parse_args(argv)
    if args.postnet < 0 or args.delta_loss < 0:
        print("error: --postnet and --delta-loss must not be negative", file=sys.stderr)
        return 1
    if not 0.0 <= args.speaker_balance <= 1.0:
        print(f"error: --speaker-balance {args.speaker_balance}: must be between 0 and 1", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    index, exs = load_examples(args.data)
    ck_dir = args.out / args.name
    ck_dir.mkdir(parents=True, exist_ok=True)
    last = ck_dir / "last.pt"
    lay = world.feature_layout(SR)
    assert lay["lf0"][0] == LF0_COL, "model.LF0_COL must be the features' log-F0 column"
    train, valid = split_rows(exs, args.valid_per_speaker)
    valid_ids = {e["id"] for e in valid}
    ck = torch.load(last, map_location="cpu", weights_only=False) if args.resume and last.exists() else None
    # a resume with another draw or loss would change the run under its checkpoint (older
    # checkpoints lack the keys: they were trained with the defaults)
    for key, default in (("speaker_balance", 1.0), ("delta_loss", 0.0)):
        if ck and ck.get(key, default) != getattr(args, key):
            print(f"error: {last} was trained with --{key.replace('_', '-')} {ck.get(key, default):g}, not "
                  f"{getattr(args, key):g}; pass the same value to resume", file=sys.stderr)
            return 1
    init = None
    if not ck and args.init_onnx:
        from .onnx_weights import RecoveryError, checkpoint_from_onnx
        try:
            init = checkpoint_from_onnx(args.init_onnx)
        except (RecoveryError, OSError, KeyError, ValueError) as exc:
            print(f"error: --init-onnx {args.init_onnx}: {exc}", file=sys.stderr)
            return 1
        print(f"starting from {args.init_onnx} (ONNX vs recovered PyTorch: {init['parity']})", flush=True)
    if ck or init:
        src = ck or init
        speakers, phones = src["speakers"], src["phones"]
        fresh, _ = build_tables(index, exs, exclude=valid_ids)
        if [s["name"] for s in fresh] == [s["name"] for s in speakers]:
            speakers = fresh  # same voices; hours follow the current split
        mean, std = np.array(src["mean"], np.float32), np.array(src["std"], np.float32)
        cfg = SynthConfig(**src["config"])
        # a post-net is added by a new run or one from --init-onnx without one, never resized
        if args.postnet and cfg.postnet_layers != args.postnet and (ck or cfg.postnet_layers):
            where = last if ck else args.init_onnx
            print(f"error: --postnet {args.postnet}: {where} has {cfg.postnet_layers or 'no'} post-net layers "
                  f"(it keeps its size)", file=sys.stderr)
            return 1
        if init and args.postnet:
            cfg = dataclasses.replace(cfg, postnet_layers=args.postnet)
    else:
        inventory = json.loads(args.phones.read_text(encoding="utf-8")) if args.phones else None
        speakers, phones = build_tables(index, exs, inventory, exclude=valid_ids)
        mean, std = feature_stats(train, lay["vuv"][0])
        extra = dict(phone_dim=16, speaker_dim=8, enc_hidden=16, dec_hidden=16, dec_layers=1) if args.tiny else {}
        for kv in filter(None, args.size.split(",")):
            k, v = kv.split("=")
            extra[k.strip()] = float(v) if k.strip() == "dropout" else int(v)
        if args.postnet:
            extra["postnet_layers"] = args.postnet
        cfg = SynthConfig(n_phones=len(phones), n_speakers=len(speakers), n_feats=len(mean),
                          speaker_f0_norm=args.speaker_f0_norm, **extra)
    phone_ids = {p: i for i, p in enumerate(phones)}
    spk_ids = {s["name"]: s["id"] for s in speakers}
    usable = lambda e: e["speaker"] in spk_ids and all(p in phone_ids for p in e["phones"])  # noqa: E731
    train, valid = [e for e in train if usable(e)], [e for e in valid if usable(e)]
    if not train or not valid:
        print(f"error: {len(train)} training and {len(valid)} validation utterances in {args.data}", file=sys.stderr)
        return 1
    dur_net, ac_net = DurationNet(cfg), AcousticNet(cfg)
    params = list(dur_net.parameters()) + list(ac_net.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    step, minutes, best = 0, 0.0, math.inf
    with torch.no_grad():  # start the duration model at the data's mean log(1 + frames)
        dur_net.out.bias.fill_(float(np.mean(np.concatenate([np.log1p(e["durations"]) for e in train]))))
    if cfg.speaker_f0_norm and not (ck or init):  # otherwise the affine comes with the state dict
        ac_net.set_speaker_lf0(*speaker_lf0_affine(train, spk_ids, mean, std))
    init_from = (ck or init or {}).get("init_from")  # kept through resumes of an --init-onnx run
    if init:
        dur_net.load_state_dict(init["duration"])
        missing, unexpected = ac_net.load_state_dict(init["acoustic"], strict=False)
        if unexpected or any(not k.startswith("postnet.") for k in missing):
            raise RuntimeError(f"--init-onnx: weights that do not fit: missing {missing}, unexpected {unexpected}")
    if ck:
        dur_net.load_state_dict(ck["duration"])
        ac_net.load_state_dict(ck["acoustic"])
        opt.load_state_dict(ck["opt"])
        step, minutes, best = ck["step"], ck["minutes"], math.inf if args.reset_best else ck.get("best", math.inf)
    draw_p = sampling_weights(train, args.speaker_balance)
    print(f"{len(train)} train / {len(valid)} valid utterances, {len(speakers)} speakers, {len(phones)} phones, "
          f"{n_parameters(dur_net)} + {n_parameters(ac_net)} parameters, from step {step}", flush=True)

    def evaluate() -> dict:
        dur_net.eval(), ac_net.eval()
        tot = defaultdict(float)
        with torch.no_grad():
            for i in range(0, len(valid), args.batch):
                b = make_batch(valid[i:i + args.batch], phone_ids, spk_ids, mean, std, np.random.default_rng(0))
                for k, v in losses(dur_net, ac_net, b, lay, args.delta_loss).items():
                    tot[k] += float(v) * len(valid[i:i + args.batch]) / len(valid)
        dur_net.train(), ac_net.train()
        return dict(tot)

    def save(path: Path, valid_losses: dict) -> None:
        torch.save({"duration": dur_net.state_dict(), "acoustic": ac_net.state_dict(), "opt": opt.state_dict(),
                    "step": step, "minutes": minutes, "best": best, "config": cfg.to_dict(), "speakers": speakers,
                    "phones": phones, "mean": mean.tolist(), "std": std.tolist(), "valid": valid_losses,
                    "valid_ids": sorted(e["id"] for e in valid), "init_from": init_from,
                    "speaker_balance": args.speaker_balance, "delta_loss": args.delta_loss,
                    "sample_rate": SR}, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)

    start = time.monotonic()
    last_save = start
    session_minutes0 = minutes
    while step < args.max_steps:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(args.lr, step, args.cosine_steps) if args.cosine_steps else args.lr
        size = min(args.batch, len(train))
        picks = rng.integers(0, len(train), size=size) if draw_p is None else rng.choice(len(train), size=size, p=draw_p)
        batch = [train[i] for i in picks]
        b = make_batch(batch, phone_ids, spk_ids, mean, std, rng)
        ls = losses(dur_net, ac_net, b, lay, args.delta_loss)
        opt.zero_grad()
        ls["total"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        now = time.monotonic()
        minutes = session_minutes0 + (now - start) / 60
        done = (now - start) / 60 >= args.max_minutes or step >= args.max_steps
        if step % 50 == 0:
            print(f"step {step} {minutes:.1f} min " + " ".join(f"{k}={float(v.detach()):.4f}" for k, v in ls.items()), flush=True)
        due = step % args.eval_steps == 0 if args.eval_steps else (now - last_save) / 60 >= args.save_minutes
        if done or due:
            v = evaluate()
            if v["total"] < best:
                best = v["total"]
                save(ck_dir / "best.pt", v)
            save(last, v)
            last_save = now
            print(f"checkpoint step {step}: valid " + " ".join(f"{k}={x:.4f}" for k, x in v.items()), flush=True)
        if done:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
