"""Recover PyTorch weights from an exported synthesis model, so that training can start from the
shipped ONNX pair (``train.py --init-onnx``) when its checkpoint is gone.

Checkpoints live in the session's cache, which a new machine does not have; the ONNX files and
their sidecars are in git. The exporter (``export.py``, constant folding on) stores every
parameter as initializer values that are a permutation of it: gate blocks reordered and
concatenated for the GRU and LSTM nodes, the linear layers' weights transposed, the embeddings as
they are. No value is ever combined with another. So the map from initializer elements back to
parameter elements is found by exporting a model of the same configuration whose every parameter
element holds its own index (exact in float32 below 2**24), and reading the indices back out of
the initializers. The recovered model is then checked against the ONNX graph it came from.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from .model import AcousticNet, DurationNet, SynthConfig


class RecoveryError(RuntimeError):
    pass


def _tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and floating-point buffers, by state-dict name."""
    return {k: v for k, v in model.state_dict().items() if v.is_floating_point()}


def _initializers(path: Path) -> list[np.ndarray]:
    import onnx
    from onnx import numpy_helper

    return [numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer]


def _index_map(model: torch.nn.Module, export, tmp: Path) -> list[np.ndarray]:
    """Export ``model`` with each tensor element set to its global index (the tensors in
    state-dict order); returns the exported initializers, whose float ones hold indices."""
    tensors = _tensors(model)
    total = sum(t.numel() for t in tensors.values())
    if total >= 2 ** 24:
        raise RecoveryError(f"{total} weights: too many to index exactly in float32")
    n = 0
    with torch.no_grad():
        for t in tensors.values():
            t.copy_(torch.arange(n, n + t.numel(), dtype=torch.float32).reshape(t.shape))
            n += t.numel()
    path = tmp / "indexed.onnx"
    export(model, path)
    return _initializers(path)


def load_from_onnx(model: torch.nn.Module, onnx_path: Path, export) -> None:
    """Fill ``model`` (already built with the exported model's configuration) with the weights of
    ``onnx_path``; ``export(model, path)`` writes ``model`` to ONNX the way ``onnx_path`` was written.
    Raises :class:`RecoveryError` if the two graphs do not line up or some weight is not found."""
    shipped = _initializers(onnx_path)
    with tempfile.TemporaryDirectory() as tmp:
        indexed = _index_map(model, export, Path(tmp))
    if len(indexed) != len(shipped) or any(a.shape != b.shape for a, b in zip(indexed, shipped)):
        raise RecoveryError(f"{onnx_path}: its initializers do not match this configuration's export "
                            f"({len(shipped)} vs {len(indexed)})")
    tensors = _tensors(model)
    total = sum(t.numel() for t in tensors.values())
    flat = np.full(total, np.nan, np.float64)
    for idx, val in zip(indexed, shipped):
        if not np.issubdtype(idx.dtype, np.floating):
            continue  # shapes, axes and other integer constants
        pos = idx.astype(np.float64).ravel()
        if np.any(pos != np.round(pos)) or np.any(pos < 0) or np.any(pos >= total):
            raise RecoveryError(f"{onnx_path}: an initializer is not a permutation of the weights")
        pos = pos.astype(np.int64)
        seen = ~np.isnan(flat[pos])
        v = val.astype(np.float64).ravel()
        if np.any(flat[pos][seen] != v[seen]):
            raise RecoveryError(f"{onnx_path}: one weight has two values")
        flat[pos] = v
    if np.isnan(flat).any():
        raise RecoveryError(f"{onnx_path}: {int(np.isnan(flat).sum())} weights not found in the graph")
    with torch.no_grad():
        n = 0
        for t in tensors.values():
            t.copy_(torch.from_numpy(flat[n:n + t.numel()].astype(np.float32)).reshape(t.shape))
            n += t.numel()


def checkpoint_from_onnx(acoustic_onnx: Path) -> dict:
    """A training checkpoint (``train.py``'s layout, step 0, no optimizer state) rebuilt from an
    acoustic model, its duration model and their sidecar: configuration, speaker and phone tables,
    feature normalization and both networks' weights, each network checked against its ONNX graph
    (``export._parity``)."""
    from .export import AC_IN, DUR_IN, ExportError, _parity, example_inputs, export_acoustic, export_duration

    side = json.loads(Path(f"{acoustic_onnx}.json").read_text(encoding="utf-8"))
    cfg = SynthConfig(**side["training"]["config"])
    dur_onnx = acoustic_onnx.parent / side["duration_model"]
    feeds = [example_inputs(cfg, n, seed) for n, seed in ((12, 0), (3, 1), (40, 2))]
    dur_net, ac_net = DurationNet(cfg).eval(), AcousticNet(cfg).eval()
    load_from_onnx(dur_net, dur_onnx, lambda m, p: export_duration(m, p, feeds[0]))
    load_from_onnx(ac_net, acoustic_onnx, lambda m, p: export_acoustic(m, p, feeds[0]))
    try:
        errs = {"duration": _parity(dur_net, dur_onnx, DUR_IN, "log_dur", feeds),
                "acoustic": _parity(ac_net, acoustic_onnx, AC_IN, "feats", feeds)}
    except ExportError as exc:
        raise RecoveryError(f"{acoustic_onnx}: recovered weights fail the parity check: {exc}") from None
    return {"duration": dur_net.state_dict(), "acoustic": ac_net.state_dict(), "config": cfg.to_dict(),
            "speakers": side["speakers"], "phones": side["phones"], "mean": side["feature_mean"],
            "std": side["feature_std"], "sample_rate": side["sample_rate"], "parity": errs,
            "init_from": {"model": str(acoustic_onnx), "sha256": side.get("sha256"),
                          "steps": side["training"].get("steps"), "minutes": side["training"].get("minutes")}}
