"""DistillMOS (``distillmos``'s ``ConvTransformerSQAModel`` with the weights shipped inside the
package) on one torch thread, without its command line: ``distillmos/sqa.py`` imports torchaudio
at module level for file loading and resampling only, and the torchaudio pip would pull does not
match the CPU torch here, so a stub module stands in for it. The model itself needs torch only."""

from __future__ import annotations

import contextlib
import io
import sys
import types

#: The rate DistillMOS scores at (its model card: 16 kHz input).
SR = 16000


def load():
    """A function ``score(x) -> float``: DistillMOS of mono float ``x`` at 16 kHz (higher is better)."""
    import numpy as np
    import torch

    torch.set_num_threads(1)
    sys.modules.setdefault("torchaudio", types.ModuleType("torchaudio"))
    from distillmos import ConvTransformerSQAModel

    with contextlib.redirect_stdout(io.StringIO()):  # it prints where it loaded its weights from
        model = ConvTransformerSQAModel().eval()

    def score(x) -> float:
        y = np.ascontiguousarray(np.clip(np.asarray(x, np.float32).reshape(-1), -1.0, 1.0))
        with torch.no_grad():
            return float(model(torch.from_numpy(y)[None]).item())

    return score
