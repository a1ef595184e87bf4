"""Export a trained repair model to ONNX with its sidecar and golden tensors, checking itself
(DeepFilterNet's ``export_impl``, but a mismatch fails instead of warning).

    python -m train.export --variant multispeaker-repair \\
        [--checkpoint cache/checkpoints/multispeaker-repair/best.pt] [--out onnx_models]

Writes ``<out>/<name>.onnx`` (opset 17; inputs ``feat [1, T, F]`` and, for recurrent variants,
``h_in [layers, 1, hidden]`` and, with lookahead, ``z_in [1, L, hidden]``; outputs ``mask [1, T, F]``,
``h_out`` and ``z_out``; dynamic ``T``),
``<name>.onnx.json`` (the sidecar ``msar.onnx_models.runtime`` reads) and ``<name>.golden.npz``
(input, state, outputs) for replay without torch. Checks, each fatal:

1. ``onnx.checker`` (full check);
2. onnxruntime against PyTorch on every output (random non-zero state, features of a test
   signal): max abs difference <= ``TOLERANCE``;
3. ONNX streamed in blocks of 1 and 7 frames with carried state against one-shot PyTorch.

The measured differences go into the sidecar's ``metrics``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from msar.dsp import stft as S

from .repair import configs
from .repair.model import RepairNet, n_parameters

OPSET = 17
FORMAT_VERSION = 1  # must equal msar.onnx_models.runtime.FORMAT_VERSION
#: Largest allowed |onnxruntime - PyTorch| on any output element.
TOLERANCE = 1e-4
SEED = 0


class ExportError(RuntimeError):
    """An export check failed: nothing usable was written."""


def state_specs(model: RepairNet) -> list[tuple[str, str, tuple[int, ...]]]:
    """(input name, output name, shape at batch 1) of each state the graph carries across calls:
    the GRU's ``h``, and a lookahead model's skip history ``z``."""
    specs = []
    if model.stateful:
        specs.append(("h_in", "h_out", tuple(model.state_shape(1))))
        if model.lookahead:
            specs.append(("z_in", "z_out", tuple(model.skip_state_shape(1))))
    return specs


def io_names(model: RepairNet) -> tuple[list[str], list[str], dict[str, str]]:
    """(input names, output names, state map input -> output) of the exported graph."""
    specs = state_specs(model)
    return (["feat"] + [i for i, _, _ in specs], ["mask"] + [o for _, o, _ in specs],
            {i: o for i, o, _ in specs})


def zero_state(model: RepairNet) -> dict[str, np.ndarray]:
    return {i: np.zeros(shape, dtype=np.float32) for i, _, shape in state_specs(model)}


def random_state(model: RepairNet, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A non-zero state (every state input), for checks that must not pass on zeros alone."""
    return {i: (0.5 * rng.standard_normal(shape)).astype(np.float32) for i, _, shape in state_specs(model)}


def export_onnx(model: RepairNet, path: Path) -> None:
    """Trace ``model`` (eval mode) to ONNX at ``path`` with named I/O and a dynamic time axis."""
    model.eval()
    inputs, outputs, _ = io_names(model)
    feat = torch.zeros(1, 8, model.cfg.n_bins)
    args = (feat, *(torch.from_numpy(v) for v in zero_state(model).values()))
    with warnings.catch_warnings():
        # The TorchScript exporter is the one that emits ONNX's own GRU op (opset 17); its
        # deprecation notice and the batch-size note (we export batch 1 with explicit state) are noise.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes={"feat": {1: "T"}, "mask": {1: "T"}}, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False)


def test_features(cfg: configs.RepairConfig, n_frames: int, seed: int = SEED) -> np.ndarray:
    """Features ``[1, n_frames, F]`` of a deterministic speech-like test signal: a gliding
    harmonic tone in pink-ish noise, through ``msar.dsp.stft`` as at run time."""
    rng = np.random.default_rng(seed)
    n = n_frames * cfg.hop
    t = np.arange(n) / cfg.sample_rate
    f0 = 120 + 60 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / cfg.sample_rate
    x = 0.1 * sum(np.sin(k * phase) / k for k in range(1, 12)) * (np.sin(2 * np.pi * 2 * t) > -0.3)
    x = x + 0.02 * np.cumsum(rng.standard_normal(n)) / np.sqrt(np.arange(1, n + 1))
    spec = S.stft(x, cfg.n_fft, cfg.hop)[:n_frames]
    return S.FEATURES[cfg.features](spec)[None].astype(np.float32)


def _torch_run(model: RepairNet, feat: np.ndarray, state: dict[str, np.ndarray] | None) -> list[np.ndarray]:
    """PyTorch's outputs, in the graph's output order, for ``feat`` from ``state`` (every state
    input by name; None for a stateless model)."""
    with torch.no_grad():
        if not model.stateful:
            return [model(torch.from_numpy(feat)).numpy()]
        out = model(torch.from_numpy(feat), *(torch.from_numpy(state[i]) for i, _, _ in state_specs(model)))
        return [t.numpy() for t in out]


def check(model: RepairNet, path: Path) -> dict:
    """Run checks 1-3 of the module docstring on the exported ``path``; returns the measured
    errors. Raises ExportError on any failure."""
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path}: onnx.checker: {exc}") from None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    inputs, outputs, state = io_names(model)
    if [i.name for i in sess.get_inputs()] != inputs or [o.name for o in sess.get_outputs()] != outputs:
        raise ExportError(f"{path}: I/O names {[i.name for i in sess.get_inputs()]} -> "
                          f"{[o.name for o in sess.get_outputs()]}, expected {inputs} -> {outputs}")

    rng = np.random.default_rng(SEED)
    feat = test_features(model.cfg, 200)
    state0 = random_state(model, rng)
    ort_out = sess.run(outputs, {"feat": feat, **state0})
    ref = _torch_run(model, feat, state0 if model.stateful else None)
    per_output = {name: float(np.max(np.abs(a - b))) for name, a, b in zip(outputs, ort_out, ref)}
    worst = max(per_output.values())
    if not worst <= TOLERANCE:
        raise ExportError(f"{path}: onnxruntime differs from PyTorch by {per_output} (tolerance {TOLERANCE})")

    # Streamed ONNX (blocks of frames, state carried) against one-shot PyTorch from zero state.
    zero = zero_state(model)
    ref = _torch_run(model, feat, zero if model.stateful else None)
    stream_err = 0.0
    for block in (1, 7):
        masks, st = [], zero
        for i in range(0, feat.shape[1], block):
            out = sess.run(outputs, {"feat": feat[:, i:i + block], **st})
            masks.append(out[0])
            st = dict(zip(st, out[1:]))
        stream_err = max(stream_err, float(np.max(np.abs(np.concatenate(masks, axis=1) - ref[0]))))
        for got, want in zip(st.values(), ref[1:]):
            stream_err = max(stream_err, float(np.max(np.abs(got - want))))
    if not stream_err <= TOLERANCE:
        raise ExportError(f"{path}: ONNX streamed in blocks differs from one-shot PyTorch by {stream_err:.3g}")
    return {"onnx_vs_torch_max_abs": worst, "onnx_vs_torch_per_output": per_output,
            "streamed_vs_oneshot_max_abs": stream_err}


def golden(model: RepairNet, n_frames: int = 16) -> dict[str, np.ndarray]:
    """Golden tensors: features, a non-zero state (after 8 frames of the test signal) and the
    PyTorch outputs, keyed by the ONNX I/O names."""
    feat = test_features(model.cfg, 8 + n_frames, seed=SEED + 1)
    inputs, outputs, _ = io_names(model)
    if model.stateful:
        state = dict(zip(inputs[1:], _torch_run(model, feat[:, :8], zero_state(model))[1:]))
        out = _torch_run(model, feat[:, 8:], state)
        return {"feat": feat[:, 8:], **state, **dict(zip(outputs, out))}
    return {"feat": feat[:, 8:], "mask": _torch_run(model, feat[:, 8:], None)[0]}


def tensor_specs(model: RepairNet) -> tuple[dict, dict]:
    f = model.cfg.n_bins
    inputs = {"feat": {"shape": [1, "T", f], "dtype": "float32"}}
    outputs = {"mask": {"shape": [1, "T", f], "dtype": "float32"}}
    for i, o, shape in state_specs(model):
        inputs[i] = {"shape": list(shape), "dtype": "float32"}
        outputs[o] = {"shape": list(shape), "dtype": "float32"}
    return inputs, outputs


def corpus_summary(corpus: Path, cfg: configs.RepairConfig) -> dict:
    """Hours, speakers and licences of the training split the variant used (from the manifests)."""
    from .data import manifest

    path = corpus / "manifest.csv"
    if not path.exists():
        return {"corpus": str(corpus), "note": "manifest not found at export time"}
    rows = [r for r in manifest.read(path) if r["split"] == "train"]
    hours: dict[str, float] = defaultdict(float)
    for r in rows:
        hours[r["speaker"]] += r["duration_s"] / 3600
    if cfg.speakers == "one" and hours:
        keep = max(hours, key=lambda s: (hours[s], s))
        rows = [r for r in rows if r["speaker"] == keep]
    licences: dict[str, set] = defaultdict(set)
    for r in rows:
        licences[r["source"]].add(r["licence"])
    out = {"speech_hours": round(sum(r["duration_s"] for r in rows) / 3600, 3),
           "speakers": len({r["speaker"] for r in rows}), "utterances": len(rows),
           "languages": sorted({r["language"] for r in rows}),
           "sources": {k: sorted(v) for k, v in sorted(licences.items())}}
    noise_path = corpus / "noise.csv"
    if noise_path.exists():
        noise = [r for r in manifest.read(noise_path) if r["split"] == "train" and r["category"] != "music"]
        nl: dict[str, set] = defaultdict(set)
        for r in noise:
            nl[r["source"]].add(r["licence"])
        out["noise_hours"] = round(sum(r["duration_s"] for r in noise) / 3600, 3)
        out["noise_sources"] = {k: sorted(v) for k, v in sorted(nl.items())}
    else:
        out["noise_hours"] = 0.0
        out["noise_note"] = "no noise manifest: synthetic white/pink/brown noise and babble only"
    out["damage_recipe"] = cfg.recipe
    return out


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "train/repair", "train/export.py", "dsp/stft.py"],
                               capture_output=True, text=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def export(model: RepairNet, name: str, out_dir: Path, training: dict, metrics: dict | None = None,
           model_version: str = "1.0.0", strength: float = 1.0) -> dict:
    """Export, check and write ``<name>.onnx`` / ``.onnx.json`` / ``.golden.npz`` into ``out_dir``.
    Returns the sidecar. The files appear only when every check passed."""
    torch.manual_seed(SEED)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        tmp_onnx = Path(tmp) / f"{name}.onnx"
        export_onnx(model, tmp_onnx)
        measured = check(model, tmp_onnx)
        gold = golden(model)
        inputs, outputs = tensor_specs(model)
        cfg = model.cfg
        sidecar = {
            "name": name, "task": "repair", "format_version": FORMAT_VERSION, "model_version": model_version,
            "opset": OPSET, "sha256": sha256_of(tmp_onnx),
            "sample_rate": cfg.sample_rate, "n_fft": cfg.n_fft, "hop": cfg.hop, "window": "sqrt_hann",
            "features": cfg.features, "inputs": inputs, "outputs": outputs, "state": io_names(model)[2],
            "lookahead_frames": model.lookahead, "defaults": {"strength": strength}, "speakers": {},
            "parameters": n_parameters(model),
            "training": {**training, "git_commit": git_commit(), "config": cfg.to_dict()},
            "metrics": {**measured, **(metrics or {})},
        }
        tmp_gold = Path(tmp) / f"{name}.golden.npz"
        np.savez_compressed(tmp_gold, **gold)
        os.replace(tmp_onnx, out_dir / f"{name}.onnx")
        os.replace(tmp_gold, out_dir / f"{name}.golden.npz")
        write_json(out_dir / f"{name}.onnx.json", sidecar)
    return sidecar


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.export", description=__doc__.split("\n")[0])
    ap.add_argument("--variant", default="multispeaker-repair", help=f"one of {', '.join(configs.VARIANTS)}")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="default: cache/checkpoints/<variant>/best.pt")
    ap.add_argument("--name", default=None, help="model name (default: the variant)")
    ap.add_argument("--out", type=Path, default=Path("onnx_models"))
    ap.add_argument("--corpus", type=Path, default=Path("cache/corpus"))
    ap.add_argument("--model-version", default="1.0.0")
    ap.add_argument("--note", default="", help="free text for the sidecar's training.note (e.g. the run's history)")
    ap.add_argument("--default-strength", type=float, default=1.0,
                    help="the runtime's default strength, stored in the sidecar (choose it on the valid "
                         "split: python -m train.repair.evaluate MODEL --split valid --strength S)")
    ap.add_argument("--next", action="store_true", help="export the variant's next version (configs.NEXT)")
    args = ap.parse_args(argv)
    cfg = configs.get_next(args.variant) if args.next else configs.get(args.variant)
    ckpt_path = args.checkpoint or Path("cache/checkpoints") / cfg.name / "best.pt"
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    if ck["config"] != cfg.to_dict():
        print(f"error: {ckpt_path} holds another config than variant {cfg.name}", file=sys.stderr)
        return 1
    model = RepairNet(cfg)
    model.load_state_dict(ck["model"])
    training = {"checkpoint": str(ckpt_path), "steps": ck["step"], "minutes": round(ck["minutes"], 1),
                "data": corpus_summary(args.corpus, cfg), **({"note": args.note} if args.note else {})}
    metrics = {k: v for k, v in (ck.get("valid") or {}).items()}
    try:
        sidecar = export(model, args.name or cfg.name, args.out, training, metrics, args.model_version,
                         args.default_strength)
    except ExportError as exc:
        print(f"error: export check failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: sidecar[k] for k in ("name", "sha256", "parameters", "metrics")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
