"""Speaker conditioning on unseen speakers: the running estimate from the input (what the runtime
does without ``--speaker``) against the nearest table row (the table row closest to the input's
final estimate) and the best single table row in hindsight (an oracle: the row with the lowest loss
per crop), on the fixed validation crops of the valid split (speakers never trained).

    python -m train.resynth.evaluate --checkpoint cache/checkpoints/multispeaker-resynth/best.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from msar.dsp import world
from msar.dsp.degrade import Sources

from ..repair.data import load_noise
from . import data as D
from .model import ResynthConfig, ResynthNet
from .train import collate, losses


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.resynth.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", type=Path, required=True)
    ap.add_argument("--prep", type=Path, default=Path("cache/resynth-prep"))
    ap.add_argument("--corpus", type=Path, default=Path("cache/corpus"))
    ap.add_argument("--crops", type=int, default=40)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    fc = D.FeatureConfig(**{"f0_input": False, **ck["features"]})  # checkpoints from before f0_input
    model = ResynthNet(ResynthConfig(**ck["config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    lay = world.feature_layout(fc.sample_rate)
    T = lambda k: torch.tensor(ck[k], dtype=torch.float32)  # noqa: E731
    mi, si, mo, so = T("mean_in"), T("std_in"), T("mean_out"), T("std_out")
    valid = D.validation_set(D.load_prepared(args.prep, "valid"), fc,
                             Sources(noise_files=tuple(sorted(load_noise(args.corpus, "valid")))), n=args.crops)
    table = model.table.weight.detach()
    res: dict[str, list] = {"estimate": [], "nearest_row": [], "best_row_oracle": []}
    with torch.no_grad():
        for e in valid:
            b = collate([{**e, "speaker": np.int64(0)}])

            def loss_with(row: int | None) -> float:
                # the feature losses only: the auxiliary speaker term has no meaning for unseen speakers
                bb = b if row is None else {**b, "speaker": torch.tensor([row])}
                ls = losses(model, bb, mi, si, mo, so, lay, torch.zeros(1, 1) if row is None else torch.ones(1, 1))
                return float(ls["total"] - 0.1 * ls["spk"])

            res["estimate"].append(loss_with(None))
            h, s, w = model.initial_state(1)
            est, _, _ = model.estimate((b["feat"] - mi) / si, s, w)
            res["nearest_row"].append(loss_with(int(torch.argmin(((table - est[0, -1]) ** 2).sum(1)))))
            res["best_row_oracle"].append(min(loss_with(r) for r in range(len(table))))
    out = {k: round(float(np.mean(v)), 4) for k, v in res.items()}
    print(json.dumps({"valid_crops": len(valid), "mean_total_loss": out}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
