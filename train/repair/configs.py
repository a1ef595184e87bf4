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
multispeaker-repair    ``multispeaker`` trained on the full damage mix (``degrade`` preset ``mix``)
=====================  ==========================================================================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

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
    # --- data
    speakers: str = "all"                #: "all" training speakers, or "one": the one with most hours
    recipe: str = "mix"                  #: msar.dsp.degrade recipe (or preset) applied per crop
    crop_s: float = 3.0                  #: training crop length
    level_db: tuple[float, float] = (-12.0, 12.0)  #: random gain of each (clean, damaged) pair
    # --- optimisation
    batch: int = 16
    lr: float = 1e-3
    lr_half_life_steps: int = 2000       #: learning rate halves every this many steps (exponential decay)
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

VARIANTS: dict[str, RepairConfig] = {c.name: c for c in (
    RepairConfig("base", encoder="conv", core="none", speakers="one", recipe=NOISE_ONLY,
                 resolutions=((512, 128),)),
    RepairConfig("improved", speakers="one", recipe=NOISE_ONLY, **_IMPROVED),
    RepairConfig("multispeaker", speakers="all", recipe=NOISE_ONLY, **_IMPROVED),
    RepairConfig("multispeaker-repair", speakers="all", recipe="mix", **_IMPROVED),
)}


def get(name: str) -> RepairConfig:
    try:
        return VARIANTS[name]
    except KeyError:
        raise SystemExit(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}") from None
