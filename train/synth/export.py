"""Export a trained synthesis checkpoint to ``<name>.onnx`` (acoustic) and ``<name>-duration.onnx``
with sidecars and golden tensors, checking itself as ``train/export.py`` does for repair:
``onnx.checker`` (full), then onnxruntime against PyTorch on every output (max abs difference
<= ``TOLERANCE``); any failure writes nothing.

    python -m train.synth.export --checkpoint cache/checkpoints/multispeaker-synth/best.pt [--out onnx_models] \\
        [--data cache/synth-prep/multispeaker-synth-hmm]

``--data`` (the prepared folder it was trained on) adds each speaker's global variance of the coded
envelope and of log F0 to the sidecar (:func:`speaker_variances`), which the runtime's variance
compensation (``msar synth --gv``, ``--gv-f0``) needs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from msar.dsp import world
from msar.onnx_models.synth import FORMAT_VERSION, expand_durations

from ..export import OPSET, ExportError, git_commit, sha256_of, write_json
from .model import AcousticNet, DurationNet, SynthConfig, n_parameters

TOLERANCE = 1e-4

DUR_IN = {"phones": ([1, "N"], "int64"), "stress": ([1, "N"], "int64"), "speaker": ([1], "int64")}
DUR_OUT = {"log_dur": ([1, "N"], "float32")}
AC_IN = {**DUR_IN, "frame_phone": ([1, "T"], "int64"), "frame_pos": ([1, "T", 2], "float32")}


def example_inputs(cfg: SynthConfig, n: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    dur = rng.integers(1, 12, size=n)
    fp, pos = expand_durations(dur)
    return {"phones": rng.integers(1, cfg.n_phones, size=(1, n)).astype(np.int64),
            "stress": rng.integers(0, 3, size=(1, n)).astype(np.int64),
            "speaker": np.array([cfg.n_speakers - 1], np.int64), "frame_phone": fp[None], "frame_pos": pos[None]}


def _export(model, names_in, names_out, dynamic, path: Path, feeds) -> None:
    model.eval()
    args = tuple(torch.from_numpy(feeds[k]) for k in names_in)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), input_names=list(names_in), output_names=list(names_out),
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True, dynamo=False)


def export_duration(model, path: Path, feeds) -> None:
    """The duration network to ``path`` (dynamic phone count)."""
    _export(model, DUR_IN, DUR_OUT, {"phones": {1: "N"}, "stress": {1: "N"}, "log_dur": {1: "N"}}, path, feeds)


def export_acoustic(model, path: Path, feeds) -> None:
    """The acoustic network to ``path`` (dynamic phone and frame counts)."""
    _export(model, AC_IN, ["feats"], {"phones": {1: "N"}, "stress": {1: "N"}, "frame_phone": {1: "T"},
                                      "frame_pos": {1: "T"}, "feats": {1: "T"}}, path, feeds)


def _parity(model, path: Path, names_in, out_name: str, feeds_list) -> float:
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path}: onnx.checker: {exc}") from None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for feeds in feeds_list:
        got = sess.run([out_name], {k: feeds[k] for k in names_in})[0]
        with torch.no_grad():
            ref = model(*(torch.from_numpy(feeds[k]) for k in names_in)).numpy()
        if got.shape != ref.shape:
            raise ExportError(f"{path}: onnxruntime output shape {got.shape}, PyTorch {ref.shape}")
        worst = max(worst, float(np.max(np.abs(got - ref))))
    if not worst <= TOLERANCE:
        raise ExportError(f"{path}: onnxruntime differs from PyTorch by {worst:.3g} (tolerance {TOLERANCE})")
    return worst


def _specs(d: dict) -> dict:
    return {k: {"shape": s, "dtype": t} for k, (s, t) in d.items()}


def speaker_variances(data: Path, speakers: list[str], sr: int) -> dict:
    """The sidecar's ``global_variance``: per speaker, each coded-envelope dimension's variance over
    an utterance (``sp``) and that of log F0 over its voiced frames (``lf0``), averaged over the
    speaker's ``train`` rows of ``data``'s index (what the model learnt from; the held-out rows stay
    unseen)."""
    lay = world.feature_layout(sr)
    sp, lf0, vuv = slice(*lay["sp"]), lay["lf0"][0], lay["vuv"][0]
    index = json.loads((data / "index.json").read_text(encoding="utf-8"))
    sums: dict[str, np.ndarray] = {}
    f0_sums: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for r in index:
        if r["split"] != "train" or r["speaker"] not in speakers:
            continue
        with np.load(data / "utts" / f"{r['id']}.npz") as z:
            feats = z["feats"].astype(np.float64)
        sums[r["speaker"]] = sums.get(r["speaker"], 0.0) + np.var(feats[:, sp], axis=0)
        counts[r["speaker"]] = counts.get(r["speaker"], 0) + 1
        voiced = feats[:, vuv] > 0.5
        if voiced.sum() >= 2:
            f0_sums.setdefault(r["speaker"], []).append(float(np.var(feats[voiced, lf0])))
    if not sums:
        raise ExportError(f"{data}: no training utterances of the checkpoint's speakers")
    return {"sp": {k: [round(float(x), 6) for x in sums[k] / counts[k]] for k in sums},
            "lf0": {k: round(float(np.mean(v)), 6) for k, v in f0_sums.items()},
            "utterances": counts, "data": str(data)}


def export(ck: dict, name: str, out_dir: Path, training: dict | None = None, data: Path | None = None) -> dict:
    """Write both models, sidecars and ``<name>.golden.npz``; returns the acoustic sidecar. With
    ``data``, the acoustic sidecar carries :func:`speaker_variances`."""
    torch.manual_seed(0)
    cfg = SynthConfig(**ck["config"])
    dur_net, ac_net = DurationNet(cfg), AcousticNet(cfg)
    dur_net.load_state_dict(ck["duration"])
    ac_net.load_state_dict(ck["acoustic"])
    dur_net.eval(), ac_net.eval()
    sr = int(ck["sample_rate"])
    n_sp = world.feature_layout(sr)["sp"][1] - world.feature_layout(sr)["sp"][0]
    feeds = [example_inputs(cfg, n, seed) for n, seed in ((12, 0), (3, 1), (40, 2))]
    names = [s["name"] for s in ck["speakers"]]
    gv = {"global_variance": speaker_variances(data, names, sr)} if data is not None else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    dname = f"{name}-duration"
    common = {"format_version": FORMAT_VERSION, "model_version": "0.1.0", "opset": OPSET, "sample_rate": sr,
              "frame_period_ms": world.FRAME_PERIOD_MS, "n_sp": n_sp, "feature_layout": world.feature_layout(sr, n_sp),
              "vuv": "logit", "speakers": ck["speakers"], "phones": ck["phones"], "feature_mean": ck["mean"],
              "feature_std": ck["std"], "duration_model": f"{dname}.onnx", "frontend": "espeak-ng (ctypes, IPA phoneme events)",
              "training": {**(training or {}), "steps": ck["step"], "minutes": round(ck["minutes"], 1),
                           "valid_losses": ck.get("valid", {}), "git_commit": git_commit(), "config": cfg.to_dict(),
                           # trained further from an exported model (train.py --init-onnx): steps and minutes are this run's
                           **({"init_from": ck["init_from"]} if ck.get("init_from") else {}),
                           **({"speaker_balance": ck["speaker_balance"]} if ck.get("speaker_balance", 1.0) != 1.0 else {}),
                           **({"delta_loss": ck["delta_loss"]} if ck.get("delta_loss", 0.0) else {})}}
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        dpath, apath = Path(tmp) / f"{dname}.onnx", Path(tmp) / f"{name}.onnx"
        export_duration(dur_net, dpath, feeds[0])
        export_acoustic(ac_net, apath, feeds[0])
        d_err = _parity(dur_net, dpath, DUR_IN, "log_dur", feeds)
        a_err = _parity(ac_net, apath, AC_IN, "feats", feeds)
        with torch.no_grad():
            gold = {**feeds[0], "log_dur": dur_net(*(torch.from_numpy(feeds[0][k]) for k in DUR_IN)).numpy(),
                    "feats": ac_net(*(torch.from_numpy(feeds[0][k]) for k in AC_IN)).numpy()}
        dside = {"name": dname, "task": "duration", "sha256": sha256_of(dpath), **common,
                 "inputs": _specs(DUR_IN), "outputs": _specs(DUR_OUT), "parameters": n_parameters(dur_net),
                 "metrics": {"onnx_vs_torch_max_abs": d_err}}
        aside = {"name": name, "task": "acoustic", "sha256": sha256_of(apath), **common,
                 "inputs": _specs(AC_IN), "outputs": _specs({"feats": ([1, "T", cfg.n_feats], "float32")}),
                 "parameters": n_parameters(ac_net), "metrics": {"onnx_vs_torch_max_abs": a_err}, **gv}
        np.savez_compressed(Path(tmp) / f"{name}.golden.npz", **gold)
        for f in (dpath, apath, Path(tmp) / f"{name}.golden.npz"):
            os.replace(f, out_dir / f.name)
        write_json(out_dir / f"{dname}.onnx.json", dside)
        write_json(out_dir / f"{name}.onnx.json", aside)
    return aside


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.synth.export", description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--name", default="multispeaker-synth")
    ap.add_argument("--out", type=Path, default=Path("onnx_models"))
    ap.add_argument("--note", default="")
    ap.add_argument("--data", type=Path, help="the prepared folder it was trained on: adds the speakers' "
                    "global variance (see above)")
    ap.add_argument("--voice-defaults-from", type=Path, help="carry this sidecar's per-voice rendering defaults "
                    "(voice_defaults, chosen by bench/synth_postfilter_tune.py) over, for the voices the new model has; "
                    "read before the export, so it may be the sidecar being replaced")
    args = ap.parse_args(argv)
    carried = None
    if args.voice_defaults_from is not None:
        try:
            carried = json.loads(args.voice_defaults_from.read_text(encoding="utf-8")).get("voice_defaults")
        except (OSError, ValueError) as exc:
            print(f"error: --voice-defaults-from {args.voice_defaults_from}: {exc}", file=sys.stderr)
            return 1
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    try:
        side = export(ck, args.name, args.out, {"checkpoint": str(args.checkpoint), **({"note": args.note} if args.note else {})},
                      data=args.data)
    except ExportError as exc:
        print(f"error: export check failed: {exc}", file=sys.stderr)
        return 1
    if carried:
        from msar.onnx_models import registry

        names = {s["name"] for s in side["speakers"]}
        kept = {spk: v for spk, v in carried.get("speakers", {}).items() if spk in names}
        registry.update_sidecar(args.out / f"{args.name}.onnx", "voice_defaults",
                                {**carried, "speakers": kept, "carried_from": str(args.voice_defaults_from)})
        print(f"voice_defaults of {', '.join(sorted(kept)) or 'no voice'} carried over from {args.voice_defaults_from} "
              f"(chosen for that model: rerun bench/synth_postfilter_tune.py --write-voice-defaults to choose afresh)")
    print(json.dumps({k: side[k] for k in ("name", "parameters", "metrics")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
