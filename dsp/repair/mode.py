"""Which neural path repairs a file (``msar repair --mode mask|resynth|auto``), decided from the
analysis stage's measurements, with the reason for ``--report``.

- ``mask``: the STFT-mask model (``denoise``): takes noise away, cannot add what is missing.
- ``hybrid``: resynthesis (speaker-conditioned WORLD features, ``onnx_models/resynth.py``) fills the
  band above the measured edge; the input's own band below it is kept.
- ``resynth``: the resynthesis alone, for input with too little band left to keep.

``auto`` takes the resynthesis path only for band-limited input (effective bandwidth below
``band_limited_hz``, measured as the analysis stage does), and the mask otherwise, so clean and
merely noisy speech go exactly where ``--mode mask`` sends them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis import Analysis

MODES = ("mask", "resynth", "auto")
PATHS = ("mask", "hybrid", "resynth")


@dataclass(frozen=True)
class ModeParams:
    #: Effective bandwidth in Hz below which ``auto`` restores the missing band by resynthesis
    #: (as the analysis stage measures it: telephone speech reads 3.4-4 kHz, clean wideband speech
    #: 7-8 kHz at 16 kHz). Tuned on the valid split (``bench/tune_mode.py``, reports/resynth.md):
    #: a 5-5.5 kHz low-pass (11.025 kHz sources) reads up to 5.78 kHz and gains from the hybrid,
    #: a clean recording narrow at the source reads 5.81-5.94 kHz and loses; 6 kHz took the latter.
    band_limited_hz: float = 5800.0
    #: Below this bandwidth too little of the input is left to keep: pure resynthesis, Hz.
    pure_below_hz: float = 1500.0


def choose_path(a: Analysis, mode: str, params: ModeParams = ModeParams()) -> tuple[str, str]:
    """``(path, reason)``: the neural path (one of :data:`PATHS`) for a file analysed as ``a``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    bw = a.bandwidth_hz
    if mode == "mask":
        return "mask", "--mode mask"
    if bw <= 0 or a.voiced_fraction == 0:  # silence, DC, tones without pitch: no voice to rebuild
        return "mask", "no voiced speech found: nothing to resynthesize"
    if bw < params.pure_below_hz:
        return "resynth", f"bandwidth {bw:.0f} Hz below {params.pure_below_hz:.0f}: too little band to keep"
    if mode == "resynth":
        return "hybrid", f"--mode resynth: input kept below {bw:.0f} Hz, resynthesis above"
    if bw < params.band_limited_hz:
        return "hybrid", f"band-limited: bandwidth {bw:.0f} Hz below {params.band_limited_hz:.0f}"
    return "mask", f"not band-limited: bandwidth {bw:.0f} Hz >= {params.band_limited_hz:.0f}"
