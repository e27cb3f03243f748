"""Analyse a sweep from its folder: SALib indices, the seed-noise share, figures.

Everything is recomputed from disk (``manifest.json``, ``samples.parquet``,
``runs.parquet``), so ``lhsim analyze SWEEP_DIR`` gives the same files as the sweep.

Seed noise. With ``R`` replicates at each of ``P`` points, an output ``y[p, r]`` varies
because the parameters vary and because the random streams do. The within-point
variance ``W`` (the mean over points of the replicates' sample variance) estimates the
seed noise; ``T`` is the variance of all runs. The **seed-noise share** ``W / T`` is the
part of a single run's variance that no parameter explains. The indices are computed on
the replicate means, whose variance still holds ``W / R`` of noise; that part,
``(W / R) / Var(point means)``, is reported as ``noise_in_means_share`` so that a small
index can be told apart from noise. Bootstrap intervals over points go with both.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.errors import SimError
from sim.runs.folders import FolderLock
from sim.runs.results import ResultsError, atomic_write, read_manifest
from sim.sweeps.experiment import METHODS, ExperimentSpec, output_specs, salib_problem
from sim.sweeps.sweep import read_runs, read_samples

__all__ = [
    "INDICES",
    "SEED_NOISE",
    "AnalysisError",
    "SweepAnalysis",
    "analyze_sweep",
    "indices_figure",
    "morris_figure",
    "seed_noise",
]

log = logging.getLogger(__name__)

INDICES = "indices.csv"
SEED_NOISE = "seed_noise.csv"
SECOND_ORDER = "second_order.csv"

#: Per method: the SALib result keys kept, in column order.
_KEYS: dict[str, tuple[str, ...]] = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "fast": ("S1", "S1_conf", "ST", "ST_conf"),
    "rbd_fast": ("S1", "S1_conf"),
    "pawn": ("minimum", "mean", "median", "maximum", "CV"),
    "morris": ("mu", "mu_star", "mu_star_conf", "sigma"),
    "ff": ("ME",),
}


class AnalysisError(SimError):
    """A sweep cannot be analysed (failed points, an output without variance...)."""


@dataclass
class SweepAnalysis:
    """The analysis of a sweep.

    Attributes:
        indices: One row per (output, parameter): the method's indices and intervals,
            with ``seed_noise_share`` of the output beside them.
        noise: One row per output: variances, seed-noise shares and their intervals.
        figures: The figure files written, by name.
    """

    indices: pd.DataFrame
    noise: pd.DataFrame
    figures: dict[str, Path]


# --------------------------------------------------------------------------- seed noise
def seed_noise(
    values: np.ndarray, *, resamples: int = 200, confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Split the variance of ``values`` (points x replicates) into seed noise and the rest.

    Args:
        values: One row per sample point, one column per replicate.
        resamples: Bootstrap resamples over points for the intervals.
        confidence: Level of the intervals.
        seed: Seed of the bootstrap.

    Returns:
        ``total_variance``, ``within_variance``, ``seed_noise_share`` (``W / T``) and
        ``noise_in_means_share`` (``(W / R) / Var(means)``), each share with ``_low`` and
        ``_high`` bounds. All NaN with a single replicate.

    Examples:
        Each point's two replicates differ by 2 (W = 2); all six runs have T = 81.2:

        >>> y = np.array([[0.0, 2.0], [10.0, 12.0], [20.0, 22.0]])
        >>> noise = seed_noise(y)
        >>> noise["within_variance"], round(noise["total_variance"], 1)
        (2.0, 81.2)
        >>> round(noise["seed_noise_share"], 4)
        0.0246
    """
    points, replicates = values.shape
    names = ("seed_noise_share", "noise_in_means_share")
    result = {"total_variance": float(np.var(values, ddof=1)) if values.size > 1 else np.nan}
    if replicates < 2 or points < 2:
        result["within_variance"] = np.nan
        for name in names:
            result.update({name: np.nan, f"{name}_low": np.nan, f"{name}_high": np.nan})
        return result

    def shares(rows: np.ndarray) -> tuple[float, float]:
        within = float(np.mean(np.var(rows, axis=1, ddof=1)))
        total = float(np.var(rows, ddof=1))
        means = float(np.var(rows.mean(axis=1), ddof=1))
        first = within / total if total > 0 else np.nan
        second = min(1.0, within / replicates / means) if means > 0 else np.nan
        return first, second

    result["within_variance"] = float(np.mean(np.var(values, axis=1, ddof=1)))
    estimate = shares(values)
    rng = np.random.default_rng(seed)
    draws = np.array([shares(values[rng.integers(0, points, points)]) for _ in range(resamples)])
    tail = (1 - confidence) / 2 * 100
    for index, name in enumerate(names):
        result[name] = estimate[index]
        column = draws[:, index]
        column = column[np.isfinite(column)]
        low, high = np.percentile(column, [tail, 100 - tail]) if column.size else (np.nan,) * 2
        result[f"{name}_low"], result[f"{name}_high"] = float(low), float(high)
    return result


# --------------------------------------------------------------------------- indices
def _point_values(runs: pd.DataFrame, output: str, points: int, replicates: int) -> np.ndarray:
    """The output as a points x replicates array; failed runs are NaN."""
    table = np.full((points, replicates), np.nan)
    table[runs["point"].to_numpy(), runs["replicate"].to_numpy()] = runs[output].to_numpy(float)
    return table


def _salib_indices(
    spec: ExperimentSpec, problem: dict[str, Any], sample: np.ndarray, y: np.ndarray
) -> dict[str, Any]:
    method = METHODS[spec.method]
    analyzer = import_module(f"SALib.analyze.{method.analyzer}")
    common = {"num_resamples": spec.resamples, "conf_level": spec.confidence, "seed": spec.seed}
    if method.analyzer == "sobol":
        return dict(analyzer.analyze(problem, y, calc_second_order=spec.second_order, **common))
    if method.analyzer == "morris":
        return dict(analyzer.analyze(problem, sample, y, num_levels=spec.levels, **common))
    if method.analyzer == "fast":
        return dict(analyzer.analyze(problem, y, M=spec.harmonics, **common))
    if method.analyzer == "rbd_fast":
        return dict(analyzer.analyze(problem, sample, y, M=spec.harmonics, **common))
    if method.analyzer == "pawn":
        return dict(analyzer.analyze(problem, sample, y, seed=spec.seed))
    return dict(analyzer.analyze(problem, sample, y, seed=spec.seed))


def _tidy(result: dict[str, Any], analyzer: str, problem: dict[str, Any]) -> pd.DataFrame:
    keys = _KEYS[analyzer]
    if "names" in result:
        names = [str(name) for name in result["names"]]
    else:
        names = list(problem.get("groups") or problem["names"])
    seen = list(dict.fromkeys(names))
    columns = {"parameter": seen}
    for key in keys:
        columns[key] = list(np.asarray(result[key], dtype=float)[: len(seen)])
    return pd.DataFrame(columns)


def _pairs(result: dict[str, Any], names: list[str], output: str) -> pd.DataFrame:
    """Second-order Sobol' indices as one row per pair of parameters."""
    rows = []
    for i, first in enumerate(names):
        for j in range(i + 1, len(names)):
            rows.append(
                {
                    "output": output,
                    "parameter": first,
                    "other": names[j],
                    "S2": float(result["S2"][i][j]),
                    "S2_conf": float(result["S2_conf"][i][j]),
                }
            )
    return pd.DataFrame(rows)


def analyze_sweep(folder: Path, *, figures: bool = True) -> SweepAnalysis:
    """Recompute the indices, the seed-noise shares and the figures of a finished sweep.

    Writes ``indices.csv``, ``seed_noise.csv``, ``figures/`` and, for Sobol' with
    ``second_order``, ``second_order.csv`` (``S2`` and ``S2_conf`` per pair) in ``folder``.

    Raises:
        sim.runs.results.ResultsError: ``folder`` is not a finished sweep.
        AnalysisError: Every replicate of some sample point failed, so the design has
            holes SALib cannot fill.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("kind") != "sweep":
        raise ResultsError(f"{folder} holds the results of a run, not of a sweep")
    spec = ExperimentSpec.model_validate(manifest["experiment"])
    problem = salib_problem(spec)
    sample = read_samples(folder)
    runs = read_runs(folder)
    points, replicates = int(manifest["points"]), int(manifest["replicates"])
    analyzer = METHODS[spec.method].analyzer
    index_frames, noise_rows, pair_frames = [], [], []
    for output in output_specs(spec):
        values = _point_values(runs, output.name, points, replicates)
        means = np.nanmean(values, axis=1) if np.isfinite(values).any(axis=1).all() else None
        if means is None:
            holes = np.flatnonzero(~np.isfinite(values).any(axis=1))[:10].tolist()
            errors = runs.loc[runs["point"].isin(holes) & (runs["error"] != ""), "error"]
            if len(errors) == 0:  # the model gave no value there (e.g. never reached 50 %)
                log.warning(
                    "output %r has no value at points %s in any replicate; it is left out "
                    "of the analysis",
                    output.name,
                    holes,
                )
                continue
            raise AnalysisError(
                f"output {output.name!r}: every replicate of points {holes} failed; first "
                f"error: {errors.iloc[0]}; fix the cause and run the sweep again "
                "(--force), or analyse outputs that do not depend on the failed runs"
            )
        noise = seed_noise(
            values[np.isfinite(values).all(axis=1)],
            resamples=spec.resamples,
            confidence=spec.confidence,
            seed=spec.seed,
        )
        noise_rows.append({"output": output.name, "replicates": replicates, **noise})
        if np.ptp(means) == 0:
            log.warning(
                "output %r does not vary across the sweep; its indices are NaN", output.name
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _salib_indices(spec, problem, sample, means)
        for warning in caught:  # SALib's own caveats (e.g. FAST intervals) go to the log
            log.warning("%s (SALib, output %r): %s", spec.method, output.name, warning.message)
        frame = _tidy(result, analyzer, problem)
        frame.insert(0, "output", output.name)
        frame["seed_noise_share"] = noise["seed_noise_share"]
        frame["noise_in_means_share"] = noise["noise_in_means_share"]
        index_frames.append(frame)
        if "S2" in result and spec.second_order:
            pair_frames.append(_pairs(result, frame["parameter"].tolist(), output.name))
    if not index_frames:
        raise AnalysisError(f"no output of {folder} has a value at every sample point")
    indices = pd.concat(index_frames, ignore_index=True)
    noise_table = pd.DataFrame(noise_rows)
    with FolderLock(folder):  # the tables and figures of one analysis are never mixed
        atomic_write(folder / INDICES, lambda tmp: indices.to_csv(tmp, index=False))
        atomic_write(folder / SEED_NOISE, lambda tmp: noise_table.to_csv(tmp, index=False))
        if pair_frames:
            pairs = pd.concat(pair_frames, ignore_index=True)
            atomic_write(folder / SECOND_ORDER, lambda tmp: pairs.to_csv(tmp, index=False))
        written = _write_figures(folder, indices, spec) if figures else {}
    return SweepAnalysis(indices, noise_table, written)


# --------------------------------------------------------------------------- figures
def indices_figure(indices: pd.DataFrame, output: str, confidence: float = 0.95) -> Figure:
    """First-order and total indices of one output as bars with their intervals."""
    rows = indices[indices["output"] == output]
    figure = Figure(figsize=(7, 0.45 * len(rows) + 1.8))
    axes = figure.add_subplot()
    positions = np.arange(len(rows))
    bars = [("S1", "first order", -0.2), ("ST", "total", 0.2)]
    if "median" in rows.columns:  # PAWN: median of the KS statistics, no interval
        bars = [("median", "PAWN median", 0.0)]
    for key, label, shift in bars:
        if key in rows.columns:
            conf = rows[f"{key}_conf"].to_numpy() if f"{key}_conf" in rows.columns else None
            axes.barh(positions + shift, rows[key], height=0.38, label=label, xerr=conf, capsize=3)
    axes.set_yticks(positions, rows["parameter"])
    axes.invert_yaxis()
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel(f"index (whiskers: {confidence:.0%} bootstrap interval)")
    noise = float(rows["seed_noise_share"].iloc[0]) if len(rows) else float("nan")
    shown = "n/a (1 replicate)" if np.isnan(noise) else f"{noise:.1%}"
    axes.set_title(f"{output}: sensitivity indices (seed-noise share {shown})", fontsize=10)
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure


def morris_figure(indices: pd.DataFrame, output: str, confidence: float = 0.95) -> Figure:
    """The Morris mu*-sigma plane of one output, mu* with its interval."""
    rows = indices[indices["output"] == output]
    figure = Figure(figsize=(7, 5.5))
    axes = figure.add_subplot()
    axes.errorbar(
        rows["mu_star"],
        rows["sigma"],
        xerr=rows["mu_star_conf"],
        fmt="o",
        markersize=4,
        capsize=2,
        linewidth=0.8,
    )
    top = rows.nlargest(12, "mu_star")
    for _, row in top.iterrows():
        axes.annotate(
            str(row["parameter"]),
            (row["mu_star"], row["sigma"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    limit = float(max(rows["mu_star"].max(), rows["sigma"].max(), 1e-12))
    axes.plot(
        [0, limit], [0, limit], color="grey", linewidth=0.8, linestyle="--", label="sigma = mu*"
    )
    axes.set_xlabel(f"mu* (mean absolute elementary effect; whiskers: {confidence:.0%} interval)")
    axes.set_ylabel("sigma (spread of elementary effects)")
    noise = float(rows["seed_noise_share"].iloc[0]) if len(rows) else float("nan")
    shown = "n/a (1 replicate)" if np.isnan(noise) else f"{noise:.1%}"
    axes.set_title(f"{output}: Morris screening (seed-noise share {shown})", fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _save(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=110, format="png")


def _write_figures(folder: Path, indices: pd.DataFrame, spec: ExperimentSpec) -> dict[str, Path]:
    written: dict[str, Path] = {}
    draw = morris_figure if spec.method == "morris" else indices_figure
    if spec.method == "factorial":
        return written
    for output in indices["output"].unique():
        figure = draw(indices, str(output), spec.confidence)
        path = folder / "figures" / f"{output}.png"
        atomic_write(path, partial(_save, figure))
        written[str(output)] = path
    return written
