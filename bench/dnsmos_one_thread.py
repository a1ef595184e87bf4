"""speechmos's DNSMOS (P.835 and P.808, its bundled ONNX models) with one-thread onnxruntime
sessions: speechmos's own sessions take every core, which skews the speed figures measured
beside them on a shared machine. Shared by the repair and synthesis benchmarks."""

from __future__ import annotations

from pathlib import Path


def load():
    """``(dnsmos, window_s)``: a ready ``speechmos.dnsmos.DNSMOS`` (call it as
    ``dnsmos(x, sr, False)``) and the length of the window it scores, seconds."""
    import onnxruntime as ort
    from speechmos import dnsmos as dm

    base = Path(dm.__file__).parent / "dnsmos_models"
    obj = dm.DNSMOS.__new__(dm.DNSMOS)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    obj.primary_model_path = str(base / "sig_bak_ovr.onnx")
    obj.onnx_sess = ort.InferenceSession(obj.primary_model_path, opts, providers=["CPUExecutionProvider"])
    obj.p808_onnx_sess = ort.InferenceSession(str(base / "model_v8.onnx"), opts, providers=["CPUExecutionProvider"])
    return obj, float(dm.INPUT_LENGTH)
