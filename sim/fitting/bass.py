"""The Bass diffusion model in closed form, fitted by least squares: the baseline of a fit.

The share of a population that has adopted by time ``t`` is

    F(t) = m * (1 - exp(-(p + q) t)) / (1 + (q / p) exp(-(p + q) t)),

with innovation rate ``p``, imitation rate ``q`` and eventual share ``m`` (Bass 1969).
The fit pools groups: one ``(p, q, m)`` for every group, each group's curve scaled by
its size, so that a held-out group is predicted from the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

__all__ = ["BassFit", "bass_share", "fit_bass"]


def bass_share(t: np.ndarray, p: float, q: float, m: float = 1.0) -> np.ndarray:
    """Cumulative adopting share at times ``t`` (closed form).

    Examples:
        >>> round(float(bass_share(np.array([10.0]), 0.03, 0.38)[0]), 4)
        0.8128
    """
    t = np.asarray(t, dtype=float)
    decay = np.exp(-(p + q) * t)
    return m * (1.0 - decay) / (1.0 + (q / p) * decay)


@dataclass(frozen=True)
class BassFit:
    """Fitted Bass parameters (per time unit) and the root mean square error in shares."""

    p: float
    q: float
    m: float
    rmse_share: float

    def predict(self, times: np.ndarray, size: int) -> np.ndarray:
        """Cumulative adopters of a group of ``size`` at ``times``."""
        return size * bass_share(times, self.p, self.q, self.m)


def fit_bass(curves: dict[str, np.ndarray], sizes: dict[str, int]) -> BassFit:
    """Fit one Bass curve to the cumulative adopters of several groups.

    Args:
        curves: Cumulative adopters of each group at times ``1..T``.
        sizes: Number at risk in each group.

    Returns:
        The least-squares ``(p, q, m)`` on the adopting shares, pooled over groups.

    Examples:
        >>> t = np.arange(1, 25)
        >>> truth = {"A": 200 * bass_share(t, 0.02, 0.3, 0.9)}
        >>> fit = fit_bass(truth, {"A": 200})
        >>> round(fit.p, 3), round(fit.q, 3), round(fit.m, 3)
        (0.02, 0.3, 0.9)
    """
    times = {g: np.arange(1, len(c) + 1, dtype=float) for g, c in curves.items()}
    shares = {g: np.asarray(c, dtype=float) / sizes[g] for g, c in curves.items()}

    def residuals(theta: np.ndarray) -> np.ndarray:
        p, q, m = theta
        return np.concatenate([bass_share(times[g], p, q, m) - shares[g] for g in curves])

    result = least_squares(
        residuals,
        x0=np.array([0.03, 0.3, 0.9]),
        bounds=([1e-6, 0.0, 1e-3], [1.0, 5.0, 1.0]),
    )
    p, q, m = (float(v) for v in result.x)
    rmse = float(np.sqrt(np.mean(result.fun**2)))
    return BassFit(p=p, q=q, m=m, rmse_share=rmse)
