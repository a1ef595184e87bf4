"""Learning-rate schedules shared by the training recipes."""

from __future__ import annotations

import math


def cosine_lr(base: float, step: int, total_steps: int, warmup_steps: int = 0, floor: float = 0.05) -> float:
    """``base`` ramped up linearly over ``warmup_steps``, then a cosine decay to ``floor * base`` at
    ``total_steps``, held there after."""
    if step < warmup_steps:
        return base * (step + 1) / warmup_steps
    t = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return base * (floor + (1.0 - floor) * 0.5 * (1 + math.cos(math.pi * t)))
