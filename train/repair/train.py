"""Train a repair variant on the fly (see ``configs.py``); resumable, time-limited, CPU-friendly.

    python -m train.repair.train --variant multispeaker-repair --max-minutes 60 --resume
    python -m train.repair.train --variant multispeaker-repair --device cuda --workers 14 --max-minutes 8

On a GPU the pairs are still made on the CPU (``--workers`` processes, the damage code the
runtime's tests cover); only the network and the loss move to ``--device``.

Writes ``<out>/<variant>/``: ``last.pt`` (model, optimizer, step, minutes; every
``--ckpt-minutes``), ``best.pt`` (lowest validation loss so far) and ``log.jsonl`` (one JSON
line per log interval and per validation). ``--resume`` continues from ``last.pt``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from msar.dsp.errors import MsarError

from . import configs, data
from .losses import neg_si_sdr, total_loss
from .model import RepairNet, n_parameters
from .torch_stft import istft

log = logging.getLogger("train.repair")


def enhance_batch(model: RepairNet, feat: torch.Tensor, spec: torch.Tensor, length: int) -> torch.Tensor:
    """Waveforms ``[B, length]`` from features ``[B, T, F]`` and the damaged STFT ``[B, T, F, 2]``.
    A lookahead model's mask row ``t`` is frame ``t - L``'s gain, and its input carries ``L`` frames
    of trailing zeros (``data.make_pair``): rows ``L..`` gain frames ``..T - L``."""
    out = model(feat)
    mask = out[0] if isinstance(out, tuple) else out
    cfg = model.cfg
    spec = torch.view_as_complex(spec.contiguous())
    if cfg.lookahead_frames:
        spec, mask = spec[:, : -cfg.lookahead_frames], mask[:, cfg.lookahead_frames:]
    return istft(spec * mask, cfg.n_fft, cfg.hop, length)


def si_sdr_db(ref: torch.Tensor, out: torch.Tensor) -> float:
    """SI-SDR in dB of one ``[1, N]`` estimate, both signals made zero-mean (``msar.dsp.metrics.si_sdr``'s
    definition, in torch so that training imports nothing of the runtime's analysis stack)."""
    return -float(neg_si_sdr(out - out.mean(), ref - ref.mean()))


@torch.no_grad()
def validate(model: RepairNet, valid: list[dict], device: torch.device | str = "cpu") -> dict:
    """Mean loss and SI-SDR (enhanced and unprocessed) over the validation set."""
    model.eval()
    losses, sdr_out, sdr_in = [], [], []
    for ex in valid:
        n = len(ex["clean"])
        y = enhance_batch(model, torch.from_numpy(ex["feat"])[None].to(device),
                          torch.from_numpy(ex["spec"])[None].to(device), n)
        s = torch.from_numpy(ex["clean"])[None].to(device)
        losses.append(float(total_loss(y, s, model.cfg)[0]))
        sdr_out.append(si_sdr_db(s, y))
        sdr_in.append(si_sdr_db(s, torch.from_numpy(ex["noisy"])[None].to(device)))
    model.train()
    finite = lambda v: float(np.mean([a for a in v if np.isfinite(a)]))  # noqa: E731
    return {"valid_loss": float(np.mean(losses)), "valid_si_sdr": finite(sdr_out), "valid_si_sdr_in": finite(sdr_in)}


def _one_thread_per_worker(_worker_id: int) -> None:
    """Data workers make pairs with numpy and torch each on one thread: the cores go to more workers."""
    torch.set_num_threads(1)


def save(path: Path, state: dict) -> None:
    """Atomic torch.save: a crash mid-write never leaves a broken checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.repair.train", description=__doc__.split("\n")[0])
    ap.add_argument("--variant", default="multispeaker-repair", help=f"one of {', '.join(configs.VARIANTS)}")
    ap.add_argument("--corpus", type=Path, default=Path("cache/corpus"))
    ap.add_argument("--out", type=Path, default=Path("cache/checkpoints"))
    ap.add_argument("--resume", action="store_true", help="continue from <out>/<variant>/last.pt if present")
    ap.add_argument("--init-from", type=Path, default=None,
                    help="start (when there is nothing to resume) from this checkpoint's weights, even if "
                         "its config differs in data or loss settings (the network's shapes must match)")
    ap.add_argument("--max-minutes", type=float, default=60.0, help="stop after this many minutes (this run)")
    ap.add_argument("--max-steps", type=int, default=0, help="stop at this total step count (0: no limit)")
    ap.add_argument("--ckpt-minutes", type=float, default=3.0, help="checkpoint interval")
    ap.add_argument("--valid-every", type=int, default=250, help="validation interval in steps")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (we share the CPU)")
    ap.add_argument("--device", default="cpu", help="where the network trains: cpu, cuda, cuda:N")
    ap.add_argument("--workers", type=int, default=1, help="data-loading processes (0: in the main process)")
    ap.add_argument("--batch", type=int, default=0, help="override the variant's batch size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--next", action="store_true", help="train the variant's next version (configs.NEXT)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(args.threads)
    cfg = configs.get_next(args.variant) if args.next else configs.get(args.variant)
    batch = args.batch or cfg.batch
    out = args.out / cfg.name
    out.mkdir(parents=True, exist_ok=True)
    try:
        train_speech = data.load_speech(args.corpus, "train", cfg.speakers)
        valid_speech = data.load_speech(args.corpus, "valid", "all")
        if cfg.speakers == "one":  # a single-speaker variant validates on its own speaker's held-out files
            valid_speech = valid_speech or train_speech[::20]
        train_noise, valid_noise = data.load_noise(args.corpus, "train"), data.load_noise(args.corpus, "valid")
    except MsarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log.info("%s: %d train utterances (%.2f h, %d speakers), %d train noise files; %d valid utterances",
             cfg.name, len(train_speech), sum(u.duration_s for u in train_speech) / 3600,
             len({u.speaker for u in train_speech}), len(train_noise), len(valid_speech))

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    # On the device before the optimizer exists: loading its state then puts Adam's moments there too.
    model = RepairNet(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step, minutes, best = 0, 0.0, float("inf")
    last = out / "last.pt"
    if args.resume and last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        if ck["config"] != cfg.to_dict():
            print(f"error: {last} was trained with another config; move it away to start afresh", file=sys.stderr)
            return 1
        model.load_state_dict(ck["model"])
        if "optimizer" in ck:  # a GPU run's returned checkpoint has none (gpu_run.sh): Adam starts afresh
            opt.load_state_dict(ck["optimizer"])
        step, minutes, best = ck["step"], ck["minutes"], ck["best_valid_loss"]
        log.info("resumed from %s at step %d (%.1f min trained, best valid loss %.4f)", last, step, minutes, best)
    elif args.init_from:
        ck = torch.load(args.init_from, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        if "optimizer" in ck:  # Adam's moments carry over; the schedule sets the rate
            opt.load_state_dict(ck["optimizer"])
        step, minutes = ck["step"], ck["minutes"]  # the weights' history carries on (a new loss: new best)
        log.info("initialised from %s (step %d, %.1f min trained)", args.init_from, step, minutes)
    log.info("model: %d parameters (%.2f MB float32) on %s", n_parameters(model), n_parameters(model) * 4 / 1e6,
             device)

    valid = data.validation_set(cfg, valid_speech, valid_noise)
    # A new seed per resume, so a resumed run does not replay the first run's crops.
    stream = data.PairStream(cfg, train_speech, train_noise, seed=args.seed * 1_000_003 + step)
    loader = torch.utils.data.DataLoader(stream, batch_size=batch, num_workers=args.workers,
                                         persistent_workers=args.workers > 0, pin_memory=device.type == "cuda",
                                         worker_init_fn=_one_thread_per_worker if args.workers > 0 else None,
                                         prefetch_factor=4 if args.workers > 0 else None)

    def checkpoint(extra: dict | None = None):
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        state = {"config": cfg.to_dict(), "model": weights, "optimizer": opt.state_dict(),
                 "step": step, "minutes": minutes + (time.time() - t0) / 60, "best_valid_loss": best}
        state.update(extra or {})
        save(last, state)
        return state

    def write_log(row: dict):
        with open(out / "log.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    t0 = t_ckpt = time.time()
    model.train()
    running: dict[str, list] = {}
    stop = False
    for batch_data in loader:
        feat, spec, clean = (batch_data[k].to(device, non_blocking=True) for k in ("feat", "spec", "clean"))
        y = enhance_batch(model, feat, spec, clean.shape[1])
        loss, terms = total_loss(y, clean, cfg)
        for group in opt.param_groups:
            group["lr"] = cfg.learning_rate(step, (time.time() - t0) / 60 / args.max_minutes)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        step += 1
        for k, v in {"loss": float(loss.detach()), **terms}.items():
            running.setdefault(k, []).append(v)
        elapsed = (time.time() - t0) / 60
        if step % args.log_every == 0:
            row = {"step": step, "minutes": round(minutes + elapsed, 2), "lr": round(opt.param_groups[0]["lr"], 7),
                   **{k: round(float(np.mean(v)), 5) for k, v in running.items()}}
            log.info(json.dumps(row))
            write_log(row)
            running = {}
        stop = elapsed >= args.max_minutes or (args.max_steps and step >= args.max_steps)
        if step % args.valid_every == 0 or stop:
            v = validate(model, valid, device)
            row = {"step": step, "minutes": round(minutes + elapsed, 2), **{k: round(x, 5) for k, x in v.items()}}
            log.info("validation %s", json.dumps(row))
            write_log(row)
            if v["valid_loss"] < best:
                best = v["valid_loss"]
                save(out / "best.pt", checkpoint({"valid": v}))
        if stop or time.time() - t_ckpt >= args.ckpt_minutes * 60:
            checkpoint()
            t_ckpt = time.time()
        if stop:
            break
    log.info("stopped at step %d after %.1f min in total; best validation loss %.4f", step,
             minutes + (time.time() - t0) / 60, best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
