"""Generate ``tests/data/tiny-repair.onnx`` (+ sidecar, golden): an untrained repair model with
the real I/O names and a GRU state, a few KB, for testing the runtime path without real weights
(piper1-gpl's ``tests/generate_test_voice.py``). Needs torch and onnx:

    python tests/generate_test_model.py

Its rate and frame sizes (8 kHz, n_fft 64, hop 32) differ from the shipped model's on purpose:
runtime code that hard-codes the shipped values fails the tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from train.export import export  # noqa: E402
from train.repair.configs import RepairConfig  # noqa: E402
from train.repair.model import RepairNet  # noqa: E402

TINY = RepairConfig("tiny-repair", sample_rate=8000, n_fft=64, hop=32, hidden=4, layers=1)


def main() -> None:
    torch.manual_seed(0)
    model = RepairNet(TINY)
    with torch.no_grad():  # a mask that varies with level, so tests see it act
        model.decoder[-1].bias.fill_(0.5)
    export(model, TINY.name, ROOT / "tests" / "data",
           training={"data": "none: untrained test model (random weights, seed 0)"}, model_version="0.0.0")


if __name__ == "__main__":
    main()
