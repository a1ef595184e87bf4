"""PNG charts for ``msar score --plot`` (matplotlib, headless Agg backend)."""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np

from msar.dsp import audio
from msar.dsp.loudness import HOP_MS, loudness_contour
from msar.dsp.scoring import ScoreParams, make_pair
from msar.dsp.world import FRAME_PERIOD_MS, f0_contour

from .tables import write_bytes


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    write_bytes(path, buf.getvalue())


def contours(ref_path: str, out_path: str, params: ScoreParams, path: str) -> None:
    """Pitch (top) and loudness (bottom) contours of one reference/output pair; of a long file
    (over ``params.block_s``), its first ``block_s`` seconds, so memory stays bounded."""
    plt = _figure()
    ref_info, out_info = audio.info(ref_path), audio.info(out_path)
    # The first block of each file is the whole of a short one.
    ref = next(audio.read_blocks(ref_path, max(1, int(params.block_s * ref_info.sr))))
    out = next(audio.read_blocks(out_path, max(1, int(params.block_s * out_info.sr))))
    pair = make_pair(ref, ref_info.sr, out, out_info.sr, params.align)
    shown = len(pair.ref) / pair.sr
    if max(ref_info.duration_s, out_info.duration_s) > params.block_s:
        ref_path = f"{ref_path} (first {shown:.0f} s)"
    fig, (ax_p, ax_l) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for signal, label in ((pair.ref, "reference"), (pair.out, "output")):
        f0 = f0_contour(signal, pair.sr, params.f0_method)
        t = np.arange(len(f0)) * FRAME_PERIOD_MS / 1000
        ax_p.plot(t, np.where(f0 > 0, f0, np.nan), label=label, lw=1)
        level = loudness_contour(signal, pair.sr)
        ax_l.plot(np.arange(len(level)) * HOP_MS / 1000, 20 * np.log10(level + 1e-9), label=label, lw=1)
    ax_p.set_ylabel("F0 (Hz)")
    ax_p.set_title(f"{out_path} vs {ref_path}")
    ax_p.legend()
    ax_l.set_ylabel("K-weighted RMS (dBFS)")
    ax_l.set_xlabel("time (s)")
    _save(fig, path)
    plt.close(fig)


def metric_bars(table: Sequence[dict], path: str, title: str = "") -> None:
    """One bar per metric mean with its 95 % confidence interval."""
    plt = _figure()
    rows = [r for r in table if r.get("n")]
    names = [r["metric"] for r in rows]
    means = np.array([r["mean"] for r in rows])
    errors = np.array([[r["mean"] - r["ci95_low"] for r in rows], [r["ci95_high"] - r["mean"] for r in rows]])
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(names)), 4))
    ax.bar(names, means, yerr=errors, capsize=4, color="#4a7ab5")
    for i, m in enumerate(means):
        ax.annotate(f"{m:.4g}", (i, m), ha="center", va="bottom", xytext=(0, 3), textcoords="offset points")
    ax.set_ylabel("mean (95% CI)")
    ax.set_title(title or "msar score")
    _save(fig, path)
    plt.close(fig)
