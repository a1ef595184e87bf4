"""The named variants of the repair model: each one is a :class:`RepairConfig`, the one home of
its signal, network, data and loss settings. The exporter copies the config into the sidecar.

=====================  ==========================================================================
variant                what it is
=====================  ==========================================================================
base                   conv autoencoder over frequency, one frame at a time (no state); one
                       speaker; noise only; single-resolution STFT magnitude loss
improved               dense encoder + GRU core (causal, streaming state); one speaker; noise only;
                       multi-resolution STFT loss + loudness-contour and pitch-band terms
multispeaker           ``improved`` trained on every training speaker
multispeaker-repair    ``multispeaker`` widened (224) and trained on the damage the mask stage
                       meets behind the DSP stages (``DENOISE_MIX``: noise, babble, reverberation,
                       hum, codec and quantization noise; 15 % clean crops), with band limits and
                       (half the pairs) a soxr round trip on both sides; compressed-magnitude
                       and SI-SDR terms; cosine schedule (v3; v1 trained on the whole ``mix``
                       preset, which a mask cannot undo: reports/repair-v2.md)
=====================  ==========================================================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..schedules import cosine_lr

#: Damage recipe for the noise-only variants (``noise:kind=any`` draws white, pink, brown,
#: recorded noise or babble per crop).
NOISE_ONLY = "noise:kind=any,snr_db=-5..25"


@dataclass(frozen=True)
class RepairConfig:
    """Everything that defines one variant. Units are in the names."""

    name: str
    # --- signal (copied into the sidecar; the runtime reads them from there only)
    sample_rate: int = 16000
    n_fft: int = 512
    hop: int = 256
    features: str = "log_power"          #: a name in msar.dsp.stft.FEATURES
    # --- network
    encoder: str = "dense"               #: "dense" (Linear over bins) | "conv" (strided Conv1d over frequency)
    core: str = "gru"                    #: "gru" (causal, carries state) | "none" (frame by frame)
    hidden: int = 160                    #: encoder output / GRU width
    layers: int = 2                      #: GRU layers
    conv_channels: int = 16              #: conv encoder only
    #: Frames the GRU hears past the one it decides on (model.py); the runtime delays by as many
    #: hops. Needs ``core="gru"``.
    lookahead_frames: int = 0
    # --- data
    speakers: str = "all"                #: "all" training speakers, or "one": the one with most hours
    recipe: str = "mix"                  #: msar.dsp.degrade recipe (or preset) applied per crop
    #: Damages applied to the clean crop *before* it becomes the target (and so to the input too):
    #: what a mask cannot undo (band limits). Training the mask to "restore" them only teaches it
    #: noise; with them on both sides it learns to leave band-limited speech alone.
    target_recipe: str = ""
    #: Share of pairs whose input and target both take a soxr round trip through 48 kHz: the empty
    #: top ~100 Hz that down-sampled audio has, so that it tells the network nothing (v2 read it as
    #: a band limit: reports/repair-v2.md).
    guard_band_p: float = 0.0
    crop_s: float = 3.0                  #: training crop length
    level_db: tuple[float, float] = (-12.0, 12.0)  #: random gain of each (clean, damaged) pair
    # --- optimisation
    batch: int = 16
    lr: float = 1e-3
    lr_half_life_steps: int = 2000       #: "halving" schedule: the rate halves every this many steps
    #: "halving" (exponential) | "cosine" (warm-up, then cosine to 5 % at ``total_steps``) |
    #: "cosine_time" (warm-up, then cosine to 5 % over the run's wall-clock budget, ``--max-minutes``:
    #: for a machine lent for a fixed time, where the step rate is not known beforehand)
    lr_schedule: str = "halving"
    total_steps: int = 0                 #: "cosine" only: the step the schedule ends at
    warmup_steps: int = 0                #: "cosine" only: linear warm-up
    grad_clip: float = 5.0
    # --- loss: (n_fft, hop) resolutions of the STFT magnitude loss and the extra terms' weights
    resolutions: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256), (256, 64))
    #: Floor of STFT magnitudes inside the loss's logs: 1e-3 is -60 dB re a unit bin (speech
    #: bins at -23 LUFS reach 1-10 with n_fft 512), so suppressing noise further than 60 dB
    #: below speech earns nothing and digital silence in zero-padded crops cannot dominate.
    log_floor: float = 1e-3
    w_loudness: float = 0.0              #: L1 of frame log-energies (a loudness-contour proxy)
    w_pitch: float = 0.0                 #: log-magnitude L1 over the F0/low-harmonic band
    pitch_band_hz: tuple[float, float] = (60.0, 1000.0)
    #: MSE of power-law compressed magnitudes (|X|^0.3, as GTCRN and DeepFilterNet train): it weighs
    #: quiet speech bins more than a linear loss and residual noise more than a floored log loss.
    w_compressed: float = 0.0
    w_si_sdr: float = 0.0                #: weight of -SI-SDR in dB (time-domain fidelity)

    def learning_rate(self, step: int, progress: float = 0.0) -> float:
        """The rate at ``step`` under the variant's schedule; ``progress`` is the share of the
        run's time budget spent (``cosine_time`` only)."""
        if self.lr_schedule == "halving":
            return self.lr * 0.5 ** (step / self.lr_half_life_steps)
        if self.lr_schedule == "cosine":
            return cosine_lr(self.lr, step, self.total_steps, self.warmup_steps)
        if self.lr_schedule == "cosine_time":
            if step < self.warmup_steps:
                return self.lr * (step + 1) / self.warmup_steps
            return cosine_lr(self.lr, round(1e6 * min(1.0, max(0.0, progress))), 1_000_000)
        raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}")

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RepairConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        conv = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
                for k, v in d.items()}
        return cls(**conv)


_IMPROVED = dict(encoder="dense", core="gru", w_loudness=0.1, w_pitch=0.1)

#: The default model's damage: what the mask stage meets after the DSP stages (DC, hum, clipping
#: and dropouts are repaired before it), with 15 % of crops left clean so it learns to pass clean
#: speech through. Band limits go on both sides (``target_recipe``).
DENOISE_MIX = ("reverb:rt60_s=0.2..1.0,drr_db=-3..12,p=0.25,"
               "noise:kind=any,snr_db=-5..25,p=0.85,"
               "hum:freq_hz=50|60,level_db=-45..-15,harmonics=1..8,p=0.1,"
               "codec:codec=mulaw|alaw,p=0.05,"
               "quantize:bits=8..12,p=0.05")
BAND_LIMITS = "highpass:cutoff_hz=80..300,p=0.15,lowpass:cutoff_hz=3000..8000,p=0.25"

VARIANTS: dict[str, RepairConfig] = {c.name: c for c in (
    RepairConfig("base", encoder="conv", core="none", speakers="one", recipe=NOISE_ONLY,
                 resolutions=((512, 128),)),
    RepairConfig("improved", speakers="one", recipe=NOISE_ONLY, **_IMPROVED),
    RepairConfig("multispeaker", speakers="all", recipe=NOISE_ONLY, **_IMPROVED),
)}

#: v1, the first default (shipped until 2026-11-25): the whole ``mix`` preset, hidden 160, halving schedule.
MULTISPEAKER_REPAIR_V1 = RepairConfig("multispeaker-repair", speakers="all", recipe="mix", **_IMPROVED)

#: v2 (2026-11-25, 4953 steps, not shipped): better on 16 kHz noise, but it read the empty top
#: ~100 Hz that a soxr down-sampling leaves as a band limit and then took away the 6-8 kHz band
#: (the corpus' resampled clips and every 44.1/48 kHz file; see reports/repair-v2.md).
MULTISPEAKER_REPAIR_V2 = RepairConfig(
    "multispeaker-repair", speakers="all", recipe=DENOISE_MIX, target_recipe=BAND_LIMITS,
    hidden=224, lr=2e-3, lr_schedule="cosine", total_steps=5000, warmup_steps=200,
    w_compressed=5.0, w_si_sdr=0.01, **_IMPROVED)


#: v2 fine-tuned from its last checkpoint (``--init-from``, step 4953) with the guard-band
#: round trip on half the pairs; the cosine schedule continues from there to step 6953.
MULTISPEAKER_REPAIR_V3 = dataclasses.replace(MULTISPEAKER_REPAIR_V2, guard_band_p=0.5, total_steps=6953,
                                             warmup_steps=0)

#: The default from 2026-11-25 to 2026-12-04 was v3 (v6 replaces it below).
VARIANTS[MULTISPEAKER_REPAIR_V3.name] = MULTISPEAKER_REPAIR_V3

#: v4 (in training since 2026-11-25, resumable): v3's recipe from scratch, with the guard-band round
#: trip from the first step and a cosine schedule four times as long. v2's validation SI-SDR still
#: rose at step 5000 while the rate had decayed to 5 %; v4 tests how much of the noise gap to
#: DeepFilterNet3 (reports/bench-repair.md) is training time alone. Its checkpoint (step ~13600) was
#: lost with a session's machine; v5 asks the same question on a GPU.
MULTISPEAKER_REPAIR_V4 = dataclasses.replace(MULTISPEAKER_REPAIR_V3, total_steps=20000, warmup_steps=300)

#: v5 (2026-12-04): v3's network and damage, trained on a lent GPU (one H200 for ~8 minutes, the
#: machine's cores making the pairs, which bound the rate): twice v3's batch and a cosine over the
#: run's wall-clock budget, on the corpus packed to travel (``train.repair.pack``: at most 0.3 h per
#: speaker, Opus). Tests whether v3's noise gap to DeepFilterNet3 is training scale. It is not
#: (reports/repair-v5.md): 446 k pairs, four times v3's, gained +0.04 PESQ-wb on synthetic noise and
#: nothing on unseen recorded noise; not shipped.
MULTISPEAKER_REPAIR_V5 = dataclasses.replace(MULTISPEAKER_REPAIR_V3, batch=32, lr=2.5e-3, lr_schedule="cosine_time",
                                             total_steps=0, warmup_steps=300)

#: v6, the default since 2026-12-04: v5's weights fine-tuned with three frames of lookahead
#: (model.py: mask row t gains frame t - 3; 48 ms that a file-based tool can spend freely) on the
#: full corpus, 45 CPU minutes. Its control is ``EXPERIMENTS["multispeaker-repair-ft"]``: the same
#: fine-tuning without lookahead, so that the two isolate what lookahead adds (reports/repair-v5.md).
MULTISPEAKER_REPAIR_V6 = dataclasses.replace(MULTISPEAKER_REPAIR_V5, lookahead_frames=3, batch=16, lr=5e-4,
                                             warmup_steps=0)

#: Variants with a next version in training (``python -m train.repair.train --variant NAME --next``;
#: swapped into VARIANTS when its ONNX ships).
NEXT: dict[str, RepairConfig] = {}


VARIANTS[MULTISPEAKER_REPAIR_V6.name] = MULTISPEAKER_REPAIR_V6

#: Configs trained only to answer a question (reports/repair-v5.md), never shipped. ``wide`` doubles
#: v5's GRU width (about 3.7 times its compute per frame, too slow for the runtime's speed target):
#: is the network's capacity what limits it? ``ft`` is v6's control (see there).
EXPERIMENTS: dict[str, RepairConfig] = {c.name: c for c in (
    dataclasses.replace(MULTISPEAKER_REPAIR_V5, name="multispeaker-repair-wide", hidden=448),
    dataclasses.replace(MULTISPEAKER_REPAIR_V6, name="multispeaker-repair-ft", lookahead_frames=0),
)}


def get(name: str) -> RepairConfig:
    try:
        return VARIANTS[name] if name in VARIANTS else EXPERIMENTS[name]
    except KeyError:
        raise SystemExit(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)} "
                         f"(experiments: {', '.join(EXPERIMENTS)})") from None


def get_next(name: str) -> RepairConfig:
    try:
        return NEXT[name]
    except KeyError:
        raise SystemExit(f"variant {name!r} has no next version in training (train/repair/configs.py: NEXT)") from None
