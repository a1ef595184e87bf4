"""Train the restoration model on the fly; resumable, time-limited, one torch thread.

    python -m train.resynth.train --prep cache/resynth-prep --corpus cache/corpus \\
        --out cache/checkpoints --max-minutes 45 --resume

Writes ``<out>/<name>/last.pt`` (every ``--ckpt-minutes``), ``best.pt`` (lowest validation loss
on unseen speakers, with the speaker estimated from the input) and ``log.jsonl``.

Losses on normalized WORLD features: MSE of lf0 (voiced frames weighted 1, unvoiced 0.1: their
lf0 is only an interpolation), envelope and aperiodicity; binary cross-entropy of the voicing
logit; plus an auxiliary MSE pulling the running speaker estimate towards the true speaker's
(detached) table row. Half of the crops are conditioned on the table row, half on the estimate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as Fn

from msar.dsp import world
from msar.dsp.degrade import Sources

from ..repair.data import load_noise
from ..synth.train import build_tables, feature_stats, mcd_db
from . import data as D
from .model import ResynthConfig, ResynthNet, n_parameters

NAME = "multispeaker-resynth"


def losses(model: ResynthNet, b: dict, mean_in, std_in, mean_out, std_out, lay: dict, use_table: torch.Tensor) -> dict:
    feat = (b["feat"] - mean_in) / std_in
    tgt = (b["target"] - mean_out) / std_out
    B = feat.shape[0]
    h, s, w = model.initial_state(B)
    vec = model.table(b["speaker"])
    y, _, _, _ = model(feat, vec, use_table, h, s, w)
    m = b["mask"]
    msum = m.sum().clamp(min=1)
    v, l0 = lay["vuv"][0], lay["lf0"][0]
    voiced = b["target"][..., v]
    w_lf0 = m * (0.1 + 0.9 * voiced)
    l_lf0 = ((y[..., l0] - tgt[..., l0]) ** 2 * w_lf0).sum() / w_lf0.sum().clamp(min=1)
    rest = list(range(lay["sp"][0], lay["ap"][1]))
    l_sp = (((y[..., rest] - tgt[..., rest]) ** 2) * m[..., None]).sum() / (msum * len(rest))
    l_vuv = (Fn.binary_cross_entropy_with_logits(y[..., v], voiced, reduction="none") * m).sum() / msum
    est, _, _ = model.estimate(feat, s, w)
    l_spk = ((est - vec.detach()[:, None, :]) ** 2).mean()
    return {"lf0": l_lf0, "env": l_sp, "vuv": l_vuv, "spk": l_spk,
            "total": 2.0 * l_lf0 + l_sp + 0.5 * l_vuv + 0.1 * l_spk, "y": y}


def collate(exs: list[dict]) -> dict:
    return {k: torch.from_numpy(np.stack([e[k] for e in exs])) for k in exs[0]}


def save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.resynth.train", description=__doc__.split("\n")[0])
    ap.add_argument("--prep", type=Path, default=Path("cache/resynth-prep"))
    ap.add_argument("--corpus", type=Path, default=Path("cache/corpus"))
    ap.add_argument("--out", type=Path, default=Path("cache/checkpoints"))
    ap.add_argument("--name", default=NAME)
    ap.add_argument("--max-minutes", type=float, default=45)
    ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--valid-every", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=400, help="input frames per crop (5 ms each)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-half-life", type=int, default=3000, help="steps")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--tiny", action="store_true", help="a very small model (tests)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", type=Path, default=None,
                    help="when there is nothing to resume: start from this checkpoint's weights; input columns "
                         "it lacks (appended features) start at zero weight, so it begins where it stood")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    fc = D.FeatureConfig()
    lay = world.feature_layout(fc.sample_rate)
    train = D.load_prepared(args.prep, "train")
    valid_utts = D.load_prepared(args.prep, "valid")
    out = args.out / args.name
    out.mkdir(parents=True, exist_ok=True)
    last = out / "last.pt"
    ck = torch.load(last, map_location="cpu", weights_only=False) if args.resume and last.exists() else None
    sources = Sources(noise_files=tuple(load_noise(args.corpus, "train")))
    valid_sources = Sources(noise_files=tuple(sorted(load_noise(args.corpus, "valid"))))
    if ck:
        speakers, cfg = ck["speakers"], ResynthConfig(**ck["config"])
        mean_out, std_out = np.array(ck["mean_out"], np.float32), np.array(ck["std_out"], np.float32)
        mean_in, std_in = np.array(ck["mean_in"], np.float32), np.array(ck["std_in"], np.float32)
    else:
        speakers, _ = build_tables(train, [])
        mean_out, std_out = feature_stats(train, lay["vuv"][0])
        probe = D.PairStream(train, {}, fc, sources, args.frames, seed=987)
        it = iter(probe)
        f = np.concatenate([next(it)["feat"] for _ in range(64)])
        mean_in, std_in = f.mean(0).astype(np.float32), (f.std(0) + 1e-3).astype(np.float32)
        extra = dict(hidden=24, layers=1, enc_hidden=16, speaker_dim=4) if args.tiny else {}
        cfg = ResynthConfig(n_in=fc.n_in, n_out=len(mean_out), n_speakers=len(speakers), **extra)
    init = torch.load(args.init_from, map_location="cpu", weights_only=False) if args.init_from and not ck else None
    if init:
        speakers = init["speakers"]
        mean_out, std_out = np.array(init["mean_out"], np.float32), np.array(init["std_out"], np.float32)
        k = len(init["mean_in"])  # its input columns come first: keep their normalization
        mean_in[:k], std_in[:k] = init["mean_in"], init["std_in"]
        cfg = ResynthConfig(**{**init["config"], "n_in": fc.n_in})
    spk_ids = {s["name"]: s["id"] for s in speakers}
    model = ResynthNet(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, minutes, best = 0, 0.0, math.inf
    if init:
        state = model.state_dict()
        for name, w in init["model"].items():
            if w.shape == state[name].shape:
                state[name] = w
            else:  # a wider input layer: the old columns, zeros for the new ones
                state[name] = torch.zeros_like(state[name])
                state[name][:, :w.shape[1]] = w
        model.load_state_dict(state)
        step, minutes = init["step"], init["minutes"]
        print(f"initialised from {args.init_from} (step {step}, {minutes:.1f} min)", flush=True)
    if ck:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, minutes, best = ck["step"], ck["minutes"], ck["best"]
    T = lambda a: torch.from_numpy(np.asarray(a, np.float32))  # noqa: E731
    mi, si, mo, so = T(mean_in), T(std_in), T(mean_out), T(std_out)
    valid = D.validation_set(valid_utts, fc, valid_sources, n_frames=args.frames)
    print(f"{len(train)} train utterances ({sum(u['duration_s'] for u in train) / 3600:.2f} h, {len(speakers)} speakers), "
          f"{len(valid)} valid crops of unseen speakers; {n_parameters(model)} parameters "
          f"({n_parameters(model) * 4 / 1e6:.2f} MB); from step {step}", flush=True)

    def evaluate() -> dict:
        model.eval()
        tot: dict[str, float] = {}
        mcds = []
        with torch.no_grad():
            for i in range(0, len(valid), 8):
                b = collate([{**e, "speaker": np.int64(0)} for e in valid[i:i + 8]])
                ls = losses(model, b, mi, si, mo, so, lay, torch.zeros(len(valid[i:i + 8]), 1))
                for k, v in ls.items():
                    if k != "y":
                        tot[k] = tot.get(k, 0.0) + float(v) * len(valid[i:i + 8]) / len(valid)
                y = ls["y"].numpy() * std_out + mean_out
                for j, e in enumerate(valid[i:i + 8]):
                    keep = e["mask"] > 0
                    sp = slice(*lay["sp"])
                    mcds.append(mcd_db(y[j][keep][:, sp], e["target"][keep][:, sp]))
        model.train()
        # Unseen speakers have no table row: their speaker term is meaningless, and left out.
        tot["total"] -= 0.1 * tot.pop("spk")
        return {**tot, "mcd_db": float(np.mean(mcds))}

    def checkpoint(path: Path, extra: dict | None = None) -> None:
        save(path, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "minutes": minutes,
                    "best": best, "config": cfg.to_dict(), "features": fc.to_dict(), "speakers": speakers,
                    "speaker_vectors": model.table.weight.detach().numpy().tolist(),
                    "mean_in": mean_in.tolist(), "std_in": std_in.tolist(), "mean_out": mean_out.tolist(),
                    "std_out": std_out.tolist(), "recipe": D.RECIPE, **(extra or {})})

    stream = D.PairStream(train, spk_ids, fc, sources, args.frames, seed=args.seed * 1_000_003 + step)
    loader = torch.utils.data.DataLoader(stream, batch_size=args.batch, num_workers=args.workers,
                                         collate_fn=collate, persistent_workers=args.workers > 0)
    t0 = t_ck = time.time()
    minutes0 = minutes
    running: dict[str, list] = {}
    rng = np.random.default_rng(args.seed + step)
    for b in loader:
        use = torch.from_numpy((rng.random((b["feat"].shape[0], 1)) < 0.5).astype(np.float32))
        for g in opt.param_groups:
            g["lr"] = args.lr * 0.5 ** (step / args.lr_half_life)
        ls = losses(model, b, mi, si, mo, so, lay, use)
        opt.zero_grad()
        ls["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        for k, v in ls.items():
            if k != "y":
                running.setdefault(k, []).append(float(v.detach()))
        elapsed = (time.time() - t0) / 60
        minutes = minutes0 + elapsed
        stop = elapsed >= args.max_minutes or (args.max_steps and step >= args.max_steps)
        if step % 25 == 0:
            row = {"step": step, "minutes": round(minutes, 2), **{k: round(float(np.mean(v)), 4) for k, v in running.items()}}
            print(json.dumps(row), flush=True)
            running = {}
        if step % args.valid_every == 0 or stop:
            v = evaluate()
            row = {"step": step, "minutes": round(minutes, 2), **{f"valid_{k}": round(x, 4) for k, x in v.items()}}
            print("validation " + json.dumps(row), flush=True)
            with open(out / "log.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            if v["total"] < best:
                best = v["total"]
                checkpoint(out / "best.pt", {"valid": v})
        if stop or time.time() - t_ck >= args.ckpt_minutes * 60:
            checkpoint(last)
            t_ck = time.time()
        if stop:
            break
    print(f"stopped at step {step} after {minutes:.1f} min; best valid loss {best:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
