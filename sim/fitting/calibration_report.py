"""Posterior summaries, the fit table, band coverage and the figures of a calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.fitting.bass import BassFit

__all__ = [
    "FIT_COLUMNS",
    "fit_notes",
    "fit_scores",
    "fit_table",
    "plot_posterior",
    "plot_predictive",
    "posterior_summary",
    "weighted_quantile",
]

FIT_COLUMNS = (
    "group",
    "time",
    "observed",
    "predicted_median",
    "predicted_p05",
    "predicted_p95",
    "held_out",
)
"""Columns of ``fit.csv``."""


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of weighted samples (inverse of the weighted CDF).

    Examples:
        >>> weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.2, 0.6]), 0.5)
        3.0
    """
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order]) / np.sum(weights)
    return float(values[order][np.searchsorted(cumulative, q, side="left")])


def posterior_summary(samples: pd.DataFrame, keys: dict[str, str]) -> pd.DataFrame:
    """Median and 90 % interval of each parameter (``samples`` has a ``weight`` column)."""
    weights = samples["weight"].to_numpy()
    rows = []
    for name, key in keys.items():
        values = samples[name].to_numpy()
        rows.append(
            {
                "parameter": name,
                "key": key,
                "median": weighted_quantile(values, weights, 0.5),
                "p05": weighted_quantile(values, weights, 0.05),
                "p95": weighted_quantile(values, weights, 0.95),
            }
        )
    return pd.DataFrame(rows)


def fit_table(
    groups: list[str], observed: np.ndarray, draws: np.ndarray, holdout: str | None
) -> pd.DataFrame:
    """The observed curve of every group beside the posterior predictive median and band.

    Args:
        groups: Group names (rows of ``observed``).
        observed: Cumulative adopters, groups x time units.
        draws: Simulated cumulative adopters, draws x groups x time units.
        holdout: The held-out group, or ``None``.
    """
    median, low, high = np.quantile(draws, [0.5, 0.05, 0.95], axis=0)
    rows = []
    for g, group in enumerate(groups):
        for t in range(observed.shape[1]):
            rows.append(
                {
                    "group": group,
                    "time": t + 1,
                    "observed": int(observed[g, t]),
                    "predicted_median": float(median[g, t]),
                    "predicted_p05": float(low[g, t]),
                    "predicted_p95": float(high[g, t]),
                    "held_out": group == holdout,
                }
            )
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def fit_scores(fit: pd.DataFrame, bass: BassFit, sizes: dict[str, int]) -> pd.DataFrame:
    """Per group: band coverage, error of the median, of the Bass baseline and by chance.

    Coverage is the share of time points whose observed value lies inside the 90 %
    band; errors are root mean square gaps in adopters. ``rmse_chance`` is the error the
    median would make on a record the fitted model itself produced: the band's width
    read as a normal spread (a 90 % band is 3.29 standard deviations wide).
    """
    rows = []
    for group, part in fit.groupby("group", sort=False):
        observed = part["observed"].to_numpy(dtype=float)
        inside = (observed >= part["predicted_p05"]) & (observed <= part["predicted_p95"])
        baseline = bass.predict(part["time"].to_numpy(dtype=float), sizes[str(group)])
        rows.append(
            {
                "group": group,
                "held_out": bool(part["held_out"].iloc[0]),
                "points": len(part),
                "band_coverage": float(inside.mean()),
                "rmse_median": _rmse(part["predicted_median"].to_numpy() - observed),
                "rmse_bass": _rmse(baseline - observed),
                "rmse_chance": _rmse(
                    (part["predicted_p95"] - part["predicted_p05"]).to_numpy() / BAND_SIGMAS
                ),
                "final_observed": int(observed[-1]),
                "final_median": float(part["predicted_median"].iloc[-1]),
                "final_bass": float(baseline[-1]),
            }
        )
    return pd.DataFrame(rows)


#: Standard deviations a normal 90 % band spans (2 x 1.645).
BAND_SIGMAS = 3.29
#: The model's error, against the larger of the Bass curve's and the error expected by
#: chance, above which a fit is said to be markedly worse.
MARKEDLY_WORSE = 1.5
#: A Bass market potential below this says the record levels off short of everyone.
LEVELS_OFF = 0.95


def fit_notes(scores: pd.DataFrame, bass: BassFit, fitted_keys: list[str]) -> list[str]:
    """What the report must say when the model does not follow the record.

    Compares the posterior median's error on the fitted groups with the larger of the
    closed-form Bass curve's and the error chance alone would give (``rmse_chance``: a
    Bass curve fitted to one realisation follows its noise, which the median of a
    stochastic model cannot and should not), reports a band that misses most points, and
    names the missing ceiling when the record levels off below everyone at risk and
    ``trials.never_share`` is not fitted.

    Examples:
        >>> scores = pd.DataFrame({"held_out": [False], "points": [10], "band_coverage": [0.4],
        ...                        "rmse_median": [30.0], "rmse_bass": [3.0],
        ...                        "rmse_chance": [4.0]})
        >>> for note in fit_notes(scores, BassFit(0.02, 0.4, 0.6, 0.01), ["guidance"]):
        ...     print(note[:60])
        The model fits markedly worse than the closed-form Bass curv
        The 90 % predictive band holds only 40 % of the observed poi
        The record levels off at about 60 % of those at risk (Bass m
    """
    fitted = scores[~scores["held_out"]]
    points = fitted["points"].to_numpy(dtype=float)

    def pooled(column: str) -> float:
        return float(np.sqrt(np.sum(points * fitted[column] ** 2) / points.sum()))

    model, baseline, chance = pooled("rmse_median"), pooled("rmse_bass"), pooled("rmse_chance")
    coverage = float(np.sum(points * fitted["band_coverage"]) / points.sum())
    notes = []
    bar = max(baseline, chance, 1e-9)
    if model >= MARKEDLY_WORSE * bar:
        notes.append(
            f"The model fits markedly worse than the closed-form Bass curve (RMSE {model:.1f} "
            f"against {baseline:.1f} adopters for Bass and {chance:.1f} expected by chance, "
            f"{model / bar:.1f} times the larger): as fitted, it does not follow this record."
        )
    if coverage < 0.5:
        notes.append(
            f"The 90 % predictive band holds only {100 * coverage:.0f} % of the observed points of "
            "the fitted groups."
        )
    if bass.m < LEVELS_OFF and "trials.never_share" not in fitted_keys:
        notes.append(
            f"The record levels off at about {100 * bass.m:.0f} % of those at risk (Bass m), but "
            "every facility is open to the practice unless trials.never_share is fitted: "
            "add it to the parameters (prior 0 to 0.9, say)."
        )
    return notes


def _rmse(gap: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(gap))))


def plot_predictive(fit: pd.DataFrame, bass: BassFit, sizes: dict[str, int]) -> Figure:
    """One panel per group: the 90 % posterior predictive band, its median, the data and Bass."""
    groups = list(dict.fromkeys(fit["group"]))
    columns = min(4, len(groups))
    rows = int(np.ceil(len(groups) / columns))
    figure = Figure(figsize=(3.2 * columns, 2.8 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis, group in zip(axes, groups, strict=False):
        part = fit[fit["group"] == group]
        time = part["time"].to_numpy()
        axis.fill_between(
            time, part["predicted_p05"], part["predicted_p95"], alpha=0.3, label="90 % band"
        )
        axis.plot(time, part["predicted_median"], label="median")
        axis.plot(time, bass.predict(time.astype(float), sizes[group]), "--", label="Bass fit")
        axis.plot(time, part["observed"], "o", markersize=3, color="black", label="observed")
        held = bool(part["held_out"].iloc[0])
        axis.set_title(f"{group} (held out)" if held else str(group), fontsize=10)
        axis.set_xlabel("time")
        axis.set_ylabel("cumulative adopters")
    for axis in axes[len(groups) :]:
        axis.set_visible(False)
    axes[0].legend(fontsize=7)
    return figure


def plot_posterior(samples: pd.DataFrame, names: list[str]) -> Figure:
    """Weighted histograms of the posterior of each parameter."""
    figure = Figure(figsize=(3.2 * len(names), 2.6), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False).ravel()
    for axis, name in zip(axes, names, strict=True):
        axis.hist(samples[name], bins=30, weights=samples["weight"], density=True)
        axis.set_xlabel(name)
    axes[0].set_ylabel("posterior density")
    return figure
