"""Autoregressive (AR) modelling for the interpolation stages (declip, dropouts).

``burg`` estimates AR coefficients; ``lsar_interpolate`` fills unknown samples of a block
with the least-squares AR interpolator (Janssen, Veldhuis & Vries 1986, "Adaptive
interpolation of discrete-time signals that can be modeled as autoregressive processes";
Vaseghi, "Advanced Digital Signal Processing and Noise Reduction", ch. 10), optionally with
the sign/magnitude constraints of declipping; ``extrapolate`` continues a signal with its AR
model (the zero-input response of 1/A(z)).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.signal


def burg(x: np.ndarray, order: int) -> np.ndarray:
    """Prediction-error filter ``a`` (``a[0] = 1``, length ``order + 1``) of 1-D ``x`` by Burg's
    method, which minimizes forward plus backward prediction error and always gives a stable
    (minimum-phase) model. A silent or too-short ``x`` gives ``[1, 0, ...]``."""
    x = np.asarray(x, dtype=np.float64)
    a = np.zeros(order + 1)
    a[0] = 1.0
    order = min(order, len(x) - 1)
    f, b = x[1:].copy(), x[:-1].copy()
    for m in range(order):
        den = np.dot(f, f) + np.dot(b, b)
        if den <= 1e-30:
            break
        k = -2.0 * np.dot(f, b) / den
        a[:m + 2] = a[:m + 2] + k * a[:m + 2][::-1]
        f, b = (f + k * b)[1:], (b + k * f)[:-1]
        if len(f) == 0:
            break
    return a


def extrapolate(context: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples continuing 1-D ``context`` with the AR model ``a`` (zero-input response of
    1/A(z) started from the last ``len(a) - 1`` samples of ``context``)."""
    p = len(a) - 1
    if n <= 0:
        return np.zeros(0)
    if p == 0 or len(context) == 0:
        return np.zeros(n)
    past = np.asarray(context[::-1][:p], dtype=np.float64)
    past = np.pad(past, (0, p - len(past)))
    zi = scipy.signal.lfiltic([1.0], a, past)
    return scipy.signal.lfilter([1.0], a, np.zeros(n), zi=zi)[0]


def lsar_interpolate(block: np.ndarray, unknown: np.ndarray, a: np.ndarray,
                     lower: np.ndarray | None = None, max_rounds: int = 20) -> np.ndarray:
    """Least-squares AR interpolation of the ``unknown`` samples of 1-D ``block``.

    Minimizes the prediction error energy ``sum_n (sum_i a_i w[n-i])^2`` over the block with
    the known samples fixed (Janssen et al. 1986, eq. 9). The unknown samples must lie at least
    ``p = len(a) - 1`` samples inside the block (the caller marks the others known); then the
    normal matrix is ``G[i, j] = R_a(u_i - u_j)``, with ``R_a`` the autocorrelation of ``a``,
    banded with bandwidth ``p``, and is solved in O(m·p²) by a banded Cholesky solver.

    With ``lower`` (one value per unknown sample, same order), each unknown sample ``j`` is
    constrained to ``sign(lower_j)·w_j >= |lower_j|``: beyond the clip level, with the clipped
    sample's sign. An active-set loop enforces it: samples whose solution violates it are fixed
    at their bound and the rest solved again, for at most ``max_rounds`` rounds, after which
    any remaining violator is set to its bound.

    Returns a copy of ``block`` with the unknown samples filled.
    """
    w = np.asarray(block, dtype=np.float64).copy()
    p = len(a) - 1
    n = len(w)
    idx_all = np.flatnonzero(unknown)
    inside = (idx_all >= p) & (idx_all < n - p)
    idx = idx_all[inside]
    if idx.size == 0:
        return w
    bound = None if lower is None else np.asarray(lower, dtype=np.float64)[inside]
    r_a = np.correlate(a, a, mode="full")[p:]  # R_a(0 .. p)
    r_pad = np.append(r_a, 0.0)  # R_a at lag p + 1 stands for every lag beyond p: zero
    taps = np.arange(p + 1)
    free = np.ones(idx.size, dtype=bool)
    for _ in range(max_rounds):
        u = idx[free]
        if u.size == 0:
            break
        known = w.copy()
        known[u] = 0.0
        # Prediction errors of the known part, e[k] = sum_i a_i known[k-i], then the normal
        # equations' right-hand side -sum_i a_i e[u_j + i] (only at the unknown samples).
        e = np.convolve(known, a)[:n]
        rhs = -(e[u[:, None] + taps] @ a)
        m = u.size
        bw = min(p, m - 1)
        # Upper banded storage for solveh_banded: row r holds diagonal d = bw - r, whose entry in
        # column j is G[j - d, j] = R_a(u_j - u_{j-d}); built in one go (this loop's hot spot).
        d = np.arange(bw, -1, -1)[:, None]
        col = np.arange(m)[None, :]
        partner = col - d
        lag = u[col] - u[np.maximum(partner, 0)]
        ab = np.where(partner >= 0, r_pad[np.minimum(lag, p + 1)], 0.0)
        ab[bw] += 1e-9 * (r_a[0] + 1e-12)
        try:
            sol = scipy.linalg.solveh_banded(ab, rhs, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            break
        w[u] = sol
        if bound is None:
            break
        b = bound[free]
        violated = np.sign(b) * sol < np.abs(b)
        if not np.any(violated):
            break
        fix = np.flatnonzero(free)[violated]
        w[idx[fix]] = bound[fix]
        free[fix] = False
    if bound is not None:
        # After max_rounds, project what still violates onto its bound.
        low = np.sign(bound) * w[idx] < np.abs(bound)
        w[idx[low]] = bound[low]
    return w
