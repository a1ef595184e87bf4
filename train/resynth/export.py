"""Export a trained restoration checkpoint to ``<name>.onnx`` + sidecar + golden tensors,
checking itself as ``train/export.py`` does for the mask model; any failure writes nothing:

1. ``onnx.checker`` (full check);
2. onnxruntime against PyTorch on every output (random non-zero state): max abs <= ``TOLERANCE``;
3. ONNX streamed in blocks of 1, 7 and 50 frames with carried state against one-shot PyTorch,
   with the speaker table and with the running estimate.

    python -m train.resynth.export --checkpoint cache/checkpoints/multispeaker-resynth/best.pt [--out onnx_models]
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
from msar.onnx_models.resynth import FORMAT_VERSION

from ..export import OPSET, ExportError, git_commit, sha256_of, write_json
from .model import ResynthConfig, ResynthNet, n_parameters

TOLERANCE = 1e-4
INPUTS = ("feat", "speaker_vec", "use_table", "h_in", "spk_sum_in", "spk_w_in")
OUTPUTS = ("feats", "h_out", "spk_sum_out", "spk_w_out")
STATE = {"h_in": "h_out", "spk_sum_in": "spk_sum_out", "spk_w_in": "spk_w_out"}


def example(cfg: ResynthConfig, n_frames: int, seed: int, use_table: float, zero_state: bool = False) -> dict:
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    st = {"h_in": f(cfg.layers, 1, cfg.hidden) * 0.5, "spk_sum_in": f(1, cfg.speaker_dim),
          "spk_w_in": np.abs(f(1, 1)) + 0.5}
    if zero_state:
        st = {k: np.zeros_like(v) for k, v in st.items()}
    return {"feat": f(1, n_frames, cfg.n_in), "speaker_vec": f(1, cfg.speaker_dim),
            "use_table": np.array([[use_table]], np.float32), **st}


def _torch(model, feeds) -> list[np.ndarray]:
    with torch.no_grad():
        return [t.numpy() for t in model(*(torch.from_numpy(feeds[k]) for k in INPUTS))]


def check(model: ResynthNet, path: Path) -> dict:
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path}: onnx.checker: {exc}") from None
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    cfg = model.cfg
    worst = 0.0
    for n, seed, u in ((40, 0, 1.0), (3, 1, 0.0), (120, 2, 0.3)):
        feeds = example(cfg, n, seed, u)
        for got, ref in zip(sess.run(list(OUTPUTS), feeds), _torch(model, feeds)):
            if got.shape != ref.shape:
                raise ExportError(f"{path}: onnxruntime output shape {got.shape}, PyTorch {ref.shape}")
            worst = max(worst, float(np.max(np.abs(got - ref))))
    if not worst <= TOLERANCE:
        raise ExportError(f"{path}: onnxruntime differs from PyTorch by {worst:.3g} (tolerance {TOLERANCE})")
    stream_worst = 0.0
    for block in (1, 7, 50):
        for u in (1.0, 0.0):
            feeds = example(cfg, 113, 3, u, zero_state=True)
            ref = _torch(model, feeds)[0]
            state = {k: feeds[k] for k in STATE}
            outs = []
            for i in range(0, 113, block):
                o = sess.run(list(OUTPUTS), {**feeds, "feat": feeds["feat"][:, i:i + block], **state})
                outs.append(o[0])
                state = dict(zip(STATE, o[1:]))
            stream_worst = max(stream_worst, float(np.max(np.abs(np.concatenate(outs, axis=1) - ref))))
    if not stream_worst <= TOLERANCE:
        raise ExportError(f"{path}: streamed ONNX differs from one-shot PyTorch by {stream_worst:.3g}")
    return {"onnx_vs_torch_max_abs": worst, "streamed_vs_oneshot_max_abs": stream_worst}


def export(ck: dict, name: str, out_dir: Path, note: str = "") -> dict:
    """Write ``<name>.onnx``, its sidecar and ``<name>.golden.npz``; returns the sidecar."""
    torch.manual_seed(0)
    cfg = ResynthConfig(**ck["config"])
    model = ResynthNet(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    fc = ck["features"]
    sr = int(fc["sample_rate"])
    lay = world.feature_layout(sr)
    out_dir.mkdir(parents=True, exist_ok=True)
    shapes_in = {"feat": [1, "T", cfg.n_in], "speaker_vec": [1, cfg.speaker_dim], "use_table": [1, 1],
                 "h_in": [cfg.layers, 1, cfg.hidden], "spk_sum_in": [1, cfg.speaker_dim], "spk_w_in": [1, 1]}
    shapes_out = {"feats": [1, "T", cfg.n_out], "h_out": [cfg.layers, 1, cfg.hidden],
                  "spk_sum_out": [1, cfg.speaker_dim], "spk_w_out": [1, 1]}
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        path = Path(tmp) / f"{name}.onnx"
        feeds = example(cfg, 16, 0, 0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, tuple(torch.from_numpy(feeds[k]) for k in INPUTS), str(path),
                              input_names=list(INPUTS), output_names=list(OUTPUTS),
                              dynamic_axes={"feat": {1: "T"}, "feats": {1: "T"}}, opset_version=OPSET,
                              do_constant_folding=True, dynamo=False)
        metrics = check(model, path)
        gold = {**feeds, **dict(zip(OUTPUTS, _torch(model, feeds)))}
        side = {"name": name, "task": "resynth", "format_version": FORMAT_VERSION, "model_version": "0.1.0",
                "opset": OPSET, "sha256": sha256_of(path), "sample_rate": sr,
                "frame_period_ms": fc["frame_period_ms"], "n_fft": fc["n_fft"],
                "hop": int(round(sr * fc["frame_period_ms"] / 1000)), "n_mels": fc["n_mels"],
                "lookahead_frames": fc["lookahead_frames"],
                "f0_input": bool(fc.get("f0_input", False)), "n_sp": lay["sp"][1] - lay["sp"][0],
                "feature_layout": lay, "vuv": "logit",
                "input_mean": ck["mean_in"], "input_std": ck["std_in"],
                "feature_mean": ck["mean_out"], "feature_std": ck["std_out"],
                "speakers": ck["speakers"], "speaker_vectors": ck["speaker_vectors"],
                "inputs": {k: {"shape": v, "dtype": "float32"} for k, v in shapes_in.items()},
                "outputs": {k: {"shape": v, "dtype": "float32"} for k, v in shapes_out.items()},
                "state": STATE, "parameters": n_parameters(model),
                "training": {"data": "msar corpus train split (make data), clean WORLD targets "
                                     "(train.resynth.prepare), damaged on the fly",
                             "recipe": ck["recipe"], "steps": ck["step"], "minutes": round(ck["minutes"], 1),
                             "valid": ck.get("valid", {}), "git_commit": git_commit(), "config": cfg.to_dict(),
                             **({"note": note} if note else {})},
                "metrics": metrics}
        np.savez_compressed(Path(tmp) / f"{name}.golden.npz", **gold)
        for f in (path, Path(tmp) / f"{name}.golden.npz"):
            os.replace(f, out_dir / f.name)
        write_json(out_dir / f"{name}.onnx.json", side)
    return side


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.resynth.export", description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--name", default="multispeaker-resynth")
    ap.add_argument("--out", type=Path, default=Path("onnx_models"))
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    try:
        side = export(ck, args.name, args.out, args.note)
    except ExportError as exc:
        print(f"error: export check failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: side[k] for k in ("name", "parameters", "metrics")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
