"""The repair pipeline: analysis, then the stages in order, with a record of what each did.

Order: ``dc -> hum -> declip -> dropouts -> denoise -> loudness``. DC and hum are removed first
so that the AR models of declip and dropouts see the voice and not a constant or a 50 Hz tone;
the neural ``denoise`` stage (injected by the caller as ``(x, sr) -> y``; this library knows no
model) gets a signal without holes or flat tops, and loudness comes last so that nothing after
it can move the level or the peaks.

Leave clean speech alone: by default a stage runs only when :meth:`Analysis.indicated` found
its damage; ``force=True`` runs every selected stage regardless. ``loudness`` runs whenever a
LUFS target is set (the user's choice, not a repair), and in "keep" mode only if peaks exceed
full scale. So a clean file comes back bit-identical.

The clip and dropout masks are found on the *input*, before DC or hum removal moves the flat
runs off their level and lifts the gaps off zero, and handed to declip and dropouts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

import numpy as np

from ..analysis import Analysis, AnalysisParams, Thresholds, analyze, as_2d, clip_mask, dropout_mask
from .dc import DcParams, remove_dc
from .declip import DeclipParams, declip
from .dropouts import DropoutParams, conceal_dropouts
from .guard import GuardParams, GuardResult, guard
from .hum import HumParams, remove_hum
from .loudness import LoudnessParams, normalize_loudness

#: Every stage, in the order the pipeline runs them.
STAGES = ("dc", "hum", "declip", "dropouts", "denoise", "loudness")

#: A neural stage: float32 ``(n, ch)`` audio and its rate in, same-shape audio out.
NeuralStage = Callable[[np.ndarray, int], np.ndarray]
#: ``(y, sr, lost_mask) -> y``: fills samples marked lost (``repair``'s ``fill``).
LostFill = Callable[[np.ndarray, int, np.ndarray], np.ndarray]


def scaled_denoise(denoise: NeuralStage, factor: float) -> NeuralStage:
    """``denoise`` with its strength scaled by ``factor`` (``Analysis.denoise_strength``): the
    output mixed with its input, ``x + factor·(denoise(x) - x)``. A mask model's output is linear
    in its gain, so this equals running it at ``factor`` times its strength (to float precision)."""
    if factor >= 1.0:
        return denoise

    def run(x: np.ndarray, sr: int) -> np.ndarray:
        out = np.asarray(denoise(x, sr), dtype=np.float32)
        return x + np.float32(factor) * (out - x) if out.shape == x.shape else out

    return run


def select_stages(stages: str | Iterable[str] | None = None, skip: str | Iterable[str] | None = None) -> tuple[str, ...]:
    """The stages to run, in pipeline order, from ``--stages`` and ``--skip`` values.

    Each is a comma-separated string or a list of names; ``stages=None`` (or "all") means all.
    Raises ValueError naming any unknown stage and listing the valid ones.
    """
    def names(v):
        if v is None:
            return []
        items = v.split(",") if isinstance(v, str) else list(v)
        return [s.strip() for s in items if s.strip()]

    chosen, skipped = names(stages), names(skip)
    if chosen == ["all"]:
        chosen = []
    unknown = [s for s in chosen + skipped if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage {', '.join(map(repr, unknown))}; choose from {', '.join(STAGES)}")
    return tuple(s for s in STAGES if (not chosen or s in chosen) and s not in skipped)


@dataclass(frozen=True)
class PipelineParams:
    #: Stages selected (see :func:`select_stages`); default: all.
    stages: tuple[str, ...] = STAGES
    #: Run every selected stage even where the analysis found no damage.
    force: bool = False
    analysis: AnalysisParams = AnalysisParams()
    thresholds: Thresholds = Thresholds()
    dc: DcParams = DcParams()
    hum: HumParams = HumParams()
    declip: DeclipParams = DeclipParams()
    dropouts: DropoutParams = DropoutParams()
    loudness: LoudnessParams = LoudnessParams()
    guard: GuardParams = GuardParams()

    def __post_init__(self):
        select_stages(self.stages)  # validates the names


@dataclass(frozen=True)
class StageRecord:
    """What one stage did to one file."""

    stage: str
    #: "applied", "skipped" (not needed or not possible) or "off" (not selected).
    status: str
    #: Why: the analysis finding, or why it was skipped.
    reason: str
    #: Wall time of the stage, seconds.
    seconds: float = 0.0
    #: Power of the change (y - x) re the power of x, dB (-inf: unchanged).
    change_db: float = float("-inf")


@dataclass(frozen=True)
class RepairResult:
    """Output audio of :func:`repair` and the report of how it was made."""

    #: The repaired audio; None when it was written straight to a file (``longform``).
    y: np.ndarray | None = field(repr=False)
    analysis: Analysis
    records: tuple[StageRecord, ...]
    guard: GuardResult | None

    def applied(self) -> list[str]:
        return [r.stage for r in self.records if r.status == "applied"]

    def as_row(self) -> dict:
        """One flat dict for the report CSV: the analysis, then ``<stage>`` (status) and
        ``<stage>_reason`` per stage, ``stages_applied``, then the guard."""
        row = dict(self.analysis.as_row())
        for r in self.records:
            row[r.stage] = r.status
            row[f"{r.stage}_reason"] = r.reason
        row["stages_applied"] = " ".join(self.applied())
        if self.guard is not None:
            row.update(self.guard.as_row())
        return row


def _change_db(x: np.ndarray, y: np.ndarray) -> float:
    px = float(np.mean(np.square(x, dtype=np.float64)))
    d = float(np.mean(np.square(y.astype(np.float64) - x.astype(np.float64))))
    if d == 0.0:
        return float("-inf")
    return float(10 * np.log10(d / px)) if px > 0 else float("inf")


def stage_reason(stage: str, found: dict[str, str], params: PipelineParams, peak_over_full_scale: bool) -> str | None:
    """Why ``stage`` runs on this file, or None when it does not (see module docstring).

    ``found`` is ``dict(analysis.indicated(...))``; ``peak_over_full_scale`` whether the signal
    reaching the loudness stage has samples beyond ±1 (only the loudness stage looks at it).
    """
    reason = found.get(stage)
    if stage == "loudness":
        target = params.loudness.target_lufs
        if target is not None:
            reason = f"to {target:g} LUFS, true peak <= {params.loudness.true_peak_dbtp:g} dBTP"
        elif peak_over_full_scale:
            reason = f"peaks above full scale, limited to {params.loudness.true_peak_dbtp:g} dBTP"
        elif params.force:
            reason = "forced (keep: level unchanged)"
    if reason is None and params.force:
        reason = "forced"
    return reason


def apply_stage(stage: str, y: np.ndarray, x: np.ndarray, sr: int, params: PipelineParams,
                hum_hz: float | None, denoise: NeuralStage | None, fill: LostFill | None = None) -> np.ndarray:
    """Run one repair stage (not ``loudness``) on ``y``, the output of the stages before it.

    ``x`` is the untouched input over the same samples: the clip and dropout masks are found
    on it (see module docstring). ``hum_hz``: the analysis' hum fundamental (None: measured).
    ``fill``: given, the ``dropouts`` stage passes its concealment and the gap mask through it.
    Returns float32 of ``y``'s shape.
    """
    if stage == "dc":
        return remove_dc(y, sr, params.dc)
    if stage == "hum":
        hum_params = params.hum
        if hum_params.freq_hz is None and hum_hz is not None:
            hum_params = replace(hum_params, freq_hz=hum_hz)
        return remove_hum(y, sr, hum_params)
    if stage == "declip":
        mask = np.stack([clip_mask(x[:, c], params.declip.detect)[0] for c in range(x.shape[1])], axis=1)
        return declip(y, sr, params.declip, mask=mask)
    if stage == "dropouts":
        mask = dropout_mask(x, sr, params.dropouts.detect)
        out = conceal_dropouts(y, sr, params.dropouts, mask=mask)
        return out if fill is None else np.asarray(fill(out, sr, mask), dtype=np.float32)
    if stage == "denoise":
        out = np.asarray(denoise(y, sr), dtype=np.float32)
        if out.shape != y.shape:
            raise ValueError(f"the denoise stage returned shape {out.shape} for input {y.shape}")
        return out
    raise ValueError(f"apply_stage does not run {stage!r}")


def repair(x: np.ndarray, sr: int, params: PipelineParams = PipelineParams(),
           denoise: NeuralStage | None = None, analysis: Analysis | None = None,
           run_guard: bool = True, fill: LostFill | None = None) -> RepairResult:
    """Analyse ``x`` and run the selected, indicated stages (see module docstring).

    Parameters
    ----------
    x : float audio ``(n_samples, n_channels)`` (1-D is taken as mono), full scale ±1.
    sr : sample rate in Hz.
    params : stage selection, ``force``, and every stage's params.
    denoise : the neural stage, ``(x, sr) -> y`` on float32 ``(n, ch)``; None skips it.
    analysis : the input's analysis when already computed (else computed here).
    run_guard : compare the output's pitch and loudness contours with the input's.
    fill : ``(y, sr, mask) -> y`` on float32 ``(n, ch)`` and the boolean gap mask: run after the
        dropout concealment on its output (the resynthesis path fills the gaps from its
        resynthesis, ``onnx_models.resynth.fill_missing``); None: the concealment alone.

    Returns a :class:`RepairResult`; ``y`` is float32 of ``x``'s shape, ``x`` itself (as float32)
    when no stage changed anything.
    """
    x2 = as_2d(np.asarray(x, dtype=np.float32))
    a = analysis if analysis is not None else analyze(x2, sr, params.analysis)
    found = dict(a.indicated(params.thresholds))
    if denoise is not None and "denoise" in found:
        # Mildly noisy files get the neural stage at reduced strength (Thresholds.mild_strength).
        denoise = scaled_denoise(denoise, a.denoise_strength(params.thresholds))
    y = x2
    records = []
    for stage in STAGES:
        if stage not in params.stages:
            records.append(StageRecord(stage, "off", "not selected"))
            continue
        reason = stage_reason(stage, found, params, bool(y.size) and float(np.max(np.abs(y))) > 1.0)
        if reason is None:
            records.append(StageRecord(stage, "skipped", "not detected"))
            continue
        if stage == "denoise" and denoise is None:
            records.append(StageRecord(stage, "skipped", f"{reason}; no neural model given"))
            continue
        t0 = time.perf_counter()
        if stage == "loudness":
            out = normalize_loudness(y, sr, params.loudness)
        else:
            out = apply_stage(stage, y, x2, sr, params, a.hum_hz, denoise, fill)
        seconds = time.perf_counter() - t0
        records.append(StageRecord(stage, "applied", reason, round(seconds, 4), _change_db(y, out)))
        y = out
    g = None
    if run_guard:
        g = guard(x2, y, sr, params.guard, f0_in=a.f0_hz if params.guard.f0_method == params.analysis.f0_method else None,
                  loudness_in=a.loudness)
    y_out = y[:, 0] if np.ndim(x) == 1 else y
    return RepairResult(np.asarray(y_out, dtype=np.float32), a, tuple(records), g)
