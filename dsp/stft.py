"""STFT analysis/synthesis and spectral features shared by training (``train/repair``) and the
ONNX runtime (``msar.onnx_models.runtime``), as RNNoise builds its training features from the
runtime's own code: the network never sees features the runtime cannot produce.

Conventions (one home for all of them):

* Windows: periodic sqrt-Hann for analysis and for synthesis. Their product is a periodic Hann
  window, whose copies shifted by ``n_fft / 2`` sum to exactly 1, so with ``hop = n_fft / 2``
  analysis followed by synthesis reconstructs the input (weighted overlap-add, no normalization).
  :func:`check_cola` states the contract for other hops.
* Framing is causal: the signal is preceded by ``n_fft - hop`` zeros and frame ``t`` covers
  padded samples ``[t·hop, t·hop + n_fft)``. Every ``hop`` new input samples complete one frame,
  and after frame ``t`` the output samples up to ``(t + 1)·hop - (n_fft - hop)`` are final. The
  algorithmic delay is therefore :func:`delay_samples` ``= n_fft - hop`` (DeepFilterNet's
  ``fft - hop`` with no lookahead); one-shot :func:`istft` removes it, the streaming classes
  report it.
* Spectra are complex arrays ``(n_frames, n_fft // 2 + 1)``; features are float32 arrays of the
  same shape.
"""

from __future__ import annotations

import numpy as np

#: Floor added to the power spectrum before the log in :func:`log_power` (-100 dB re a
#: full-scale bin), so digital silence gives a finite feature.
LOG_POWER_FLOOR = 1e-10


def sqrt_hann(n_fft: int) -> np.ndarray:
    """The periodic sqrt-Hann window of ``n_fft`` samples (float64).

    Periodic (``sin²(π n / N)``, not the symmetric ``N - 1`` form) so that shifted copies of
    its square sum to a constant: the condition for perfect reconstruction.
    """
    n = np.arange(n_fft)
    return np.sin(np.pi * n / n_fft)


def check_cola(n_fft: int, hop: int) -> None:
    """Raise ValueError unless sqrt-Hann analysis + synthesis with ``hop`` reconstructs exactly
    (the overlapped squared windows sum to 1: true for ``hop = n_fft / 2`` and ``n_fft / 4``
    up to a constant, which :func:`synthesis_window` absorbs)."""
    if n_fft < 2 or hop < 1 or n_fft % hop:
        raise ValueError(f"n_fft ({n_fft}) must be a multiple of hop ({hop}), both positive")
    w2 = sqrt_hann(n_fft) ** 2
    total = w2.reshape(-1, hop).sum(axis=0)
    if not np.allclose(total, total[0], rtol=0, atol=1e-12):
        raise ValueError(f"sqrt-Hann windows with n_fft={n_fft}, hop={hop} do not overlap-add to a constant")


def synthesis_window(n_fft: int, hop: int) -> np.ndarray:
    """The synthesis window: sqrt-Hann scaled so that analysis·synthesis overlap-adds to 1
    (scale 1 at 50 % overlap, 1/2 at 75 %)."""
    check_cola(n_fft, hop)
    w = sqrt_hann(n_fft)
    return w / (w**2).reshape(-1, hop).sum(axis=0)[0]


def delay_samples(n_fft: int, hop: int) -> int:
    """Algorithmic delay of causal streaming analysis + synthesis, in samples: ``n_fft - hop``."""
    return n_fft - hop


def n_frames(n_samples: int, n_fft: int, hop: int) -> int:
    """Frames :func:`stft` gives for ``n_samples``: every sample lies in all the frames that
    cover it, so ``ceil(n_samples / hop) + n_fft / hop - 1``."""
    return -(-n_samples // hop) + n_fft // hop - 1


def stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT of a 1-D signal with the causal framing of this module.

    ``x``: 1-D float array. ``n_fft``, ``hop``: frame and hop length in samples
    (``n_fft`` a multiple of ``hop``). Returns complex128 ``(n_frames(len(x)), n_fft // 2 + 1)``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"stft needs a 1-D signal, got shape {x.shape}")
    check_cola(n_fft, hop)
    t = n_frames(len(x), n_fft, hop)
    padded = np.zeros((t - 1) * hop + n_fft)
    lead = n_fft - hop
    padded[lead:lead + len(x)] = x
    idx = np.arange(t)[:, None] * hop + np.arange(n_fft)[None, :]
    return np.fft.rfft(padded[idx] * sqrt_hann(n_fft), axis=1)


def istft(spec: np.ndarray, n_fft: int, hop: int, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft`: weighted overlap-add with the synthesis window, the leading
    ``n_fft - hop`` samples of causal padding removed.

    ``spec``: complex ``(n_frames, n_fft // 2 + 1)``. ``length``: samples to return (default
    all that the frames complete: ``(n_frames - n_fft / hop + 1)·hop``). Returns float64 1-D.
    """
    spec = np.asarray(spec)
    t = spec.shape[0]
    frames = np.fft.irfft(spec, n=n_fft, axis=1) * synthesis_window(n_fft, hop)
    out = np.zeros((t - 1) * hop + n_fft)
    for k in range(n_fft // hop):  # n_fft / hop strided adds instead of a Python loop over frames
        seg = frames[:, k * hop:(k + 1) * hop].reshape(-1)
        out[k * hop:k * hop + t * hop] += seg
    lead = n_fft - hop
    complete = max(t * hop - lead, 0)
    length = complete if length is None else length
    if length > complete:
        raise ValueError(f"{t} frames complete {complete} samples, {length} were asked for")
    return out[lead:lead + length]


def log_power(spec: np.ndarray) -> np.ndarray:
    """The network's input feature: natural log of the power spectrum,
    ``ln(|X|² + LOG_POWER_FLOOR)``, float32 of ``spec``'s shape."""
    spec = np.asarray(spec)
    power = spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2
    return np.log(power + LOG_POWER_FLOOR).astype(np.float32)


#: Feature functions by the name a model's sidecar gives (``"features"``).
FEATURES = {"log_power": log_power}


class StreamingStft:
    """Block-wise :func:`stft`: push any number of samples, get the frames they complete.

    Carries the last ``n_fft - hop`` samples between calls, so the frames of consecutive
    :meth:`push` calls equal the frames of one :func:`stft` over the concatenated input
    (before its tail padding; :meth:`flush` adds that).
    """

    def __init__(self, n_fft: int, hop: int):
        check_cola(n_fft, hop)
        self.n_fft, self.hop = n_fft, hop
        self._window = sqrt_hann(n_fft)
        self.reset()

    def reset(self) -> None:
        """Forget all input: the next sample is the first of a new signal."""
        self._buf = np.zeros(self.n_fft - self.hop)
        self._n_in = 0

    def push(self, x: np.ndarray) -> np.ndarray:
        """Frames completed by the 1-D samples ``x``: complex ``(k, n_fft // 2 + 1)``, ``k >= 0``."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        self._n_in += len(x)
        buf = np.concatenate([self._buf, x])
        k = (len(buf) - (self.n_fft - self.hop)) // self.hop
        if k <= 0:
            self._buf = buf
            return np.zeros((0, self.n_fft // 2 + 1), dtype=np.complex128)
        idx = np.arange(k)[:, None] * self.hop + np.arange(self.n_fft)[None, :]
        frames = buf[idx] * self._window
        self._buf = buf[k * self.hop:]
        return np.fft.rfft(frames, axis=1)

    def flush(self) -> np.ndarray:
        """The frames that complete the signal (zero padding after the last sample), as
        :func:`stft` computes them; afterwards the object is :meth:`reset`."""
        total = n_frames(self._n_in, self.n_fft, self.hop)
        done = (self._n_in - len(self._buf) + (self.n_fft - self.hop)) // self.hop
        pad = (total - done - 1) * self.hop + self.n_fft - len(self._buf)
        frames = self.push(np.zeros(max(pad, 0))) if total > done else \
            np.zeros((0, self.n_fft // 2 + 1), dtype=np.complex128)
        self.reset()
        return frames


class StreamingIstft:
    """Block-wise :func:`istft`: give frames, get the ``hop`` samples each one completes.

    The first ``n_fft - hop`` samples out are the causal padding (the algorithmic delay,
    :func:`delay_samples`); a caller aligning output with input drops them.
    """

    def __init__(self, n_fft: int, hop: int):
        self.n_fft, self.hop = n_fft, hop
        self._window = synthesis_window(n_fft, hop)
        self.reset()

    def reset(self) -> None:
        self._acc = np.zeros(self.n_fft - self.hop)

    def push(self, spec: np.ndarray) -> np.ndarray:
        """``hop`` samples per frame of complex ``spec`` ``(k, n_fft // 2 + 1)``: float64 ``(k·hop,)``."""
        spec = np.asarray(spec)
        k = spec.shape[0]
        if k == 0:
            return np.zeros(0)
        frames = np.fft.irfft(spec, n=self.n_fft, axis=1) * self._window
        out = np.zeros((k - 1) * self.hop + self.n_fft)
        out[:len(self._acc)] = self._acc
        for j in range(self.n_fft // self.hop):
            out[j * self.hop:j * self.hop + k * self.hop] += frames[:, j * self.hop:(j + 1) * self.hop].reshape(-1)
        self._acc = out[k * self.hop:].copy()
        return out[:k * self.hop]
