"""Pattern-oriented calibration: fit the uncertain defaults to every pattern at once.

The ``fit`` section of a patterns file names the parameters to fit (country keys, with
priors) and the stopping rules. Each ABC-SMC particle draws the parameters, simulates
every pattern scenario once (one replicate drawn from the particle's seed) and scores
the sum over patterns of :func:`sim.fitting.patterns.range_distance`, each term capped at
:data:`CAP` widths of its range: a pattern inside its target range adds nothing, so the
fit looks for ranges, not points, and one pattern the model cannot reach adds a constant
instead of dragging every parameter towards it (its miss stays visible in ``check.csv``).
The sampler is :class:`sim.fitting.abc_sampler.SeededMappingSampler`, so that the
posterior depends on the seed only, whatever the executor and the number of workers;
the stopping rules are generations, epsilon, acceptance rate and simulations (a
wall-time limit, if the file sets one, makes the posterior depend on the machine's speed,
as in :mod:`sim.fitting.calibration_run`).

Outputs (``results/patterns-fit/`` by default): ``posterior.csv`` (weighted particles),
``posterior_summary.csv`` (median and 90 % interval of each parameter, and how much of
its prior range the 90 % interval still spans: ``pinned`` when under half),
``check.csv`` (the patterns at the posterior median, simulated afresh),
``diagnostics.json``, ``posterior.png`` and ``manifest.json``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.fitting.calibration_report import plot_posterior, posterior_summary
from sim.fitting.patterns import (
    PatternsFile,
    check_patterns,
    load_patterns,
    observe_scenario,
    pattern_tasks,
    range_distance,
)
from sim.runs.executors import make_evaluator
from sim.runs.files import atomic_write
from sim.runs.folders import FolderLock, ResultsError, start_fresh
from sim.runs.manifest import build_manifest, finish_manifest, write_manifest

__all__ = ["PATTERN_FIT_FILES", "PatternFit", "fit_patterns"]

log = logging.getLogger(__name__)

#: What a pattern fit writes into its folder: all that ``--force`` removes.
PATTERN_FIT_FILES: tuple[str, ...] = (
    "manifest.json",
    "diagnostics.json",
    "posterior.csv",
    "posterior_summary.csv",
    "check.csv",
    "posterior.png",
    "abc.db",
    "abc.db-journal",
    ".*.tmp",
)

PINNED = 0.5
"""A parameter is pinned down when its 90 % interval spans under this share of its prior's."""


@dataclass
class PatternFit:
    """What a pattern fit wrote and its headline tables."""

    folder: Path
    summary: pd.DataFrame
    check: pd.DataFrame
    diagnostics: dict[str, Any]


class _Simulator:
    """The pyabc model: parameters in, one value per pattern out (one replicate)."""

    def __init__(self, spec: PatternsFile) -> None:
        self.spec = spec

    def __call__(self, parameters: Any) -> dict[str, float]:
        replicate = int(np.random.randint(0, 2**31 - 1))
        values = {name: float(parameters[name]) for name in parameters}
        found: dict[str, float] = {}
        for scenario, rep, group in pattern_tasks(
            self.spec, self.spec.patterns, [replicate], values
        ):
            found.update(observe_scenario(scenario, rep, group))
        return found


CAP = 2.0
"""Most a single pattern adds to the distance, in widths of its target range."""


class _Distance:
    """Sum over patterns of how far each value is outside its target range (capped)."""

    def __init__(self, spec: PatternsFile) -> None:
        self.targets = {p.name: p.target for p in spec.patterns}

    def __call__(self, x: dict[str, float], x0: dict[str, float]) -> float:
        return float(sum(min(range_distance(x[name], t), CAP) for name, t in self.targets.items()))


def _pinned(summary: pd.DataFrame, spec: PatternsFile) -> pd.DataFrame:
    """Add how much of each prior's 90 % range the posterior's 90 % interval spans."""
    fit = spec.fit
    widths = []
    for parameter in fit.parameters if fit else []:
        prior = parameter.prior
        if prior.distribution == "uniform":
            prior_width = 0.9 * (prior.high - prior.low)
        else:
            low, high = math.log(prior.low), math.log(prior.high)
            prior_width = math.exp(low + 0.95 * (high - low)) - math.exp(low + 0.05 * (high - low))
        widths.append(prior_width)
    summary = summary.copy()
    summary["interval_share_of_prior"] = (summary["p95"] - summary["p05"]) / np.array(widths)
    summary["pinned"] = summary["interval_share_of_prior"] < PINNED
    return summary


def fit_patterns(
    path: str | Path,
    *,
    out: Path | None = None,
    executor: str = "processes",
    workers: int = 2,
    scheduler: str | None = None,
    force: bool = False,
    quick: bool = False,
    quiet: bool = False,
    command: list[str] | None = None,
) -> PatternFit:
    """Fit the ``fit`` parameters of a patterns file to all its patterns (ABC-SMC).

    Args:
        path: The patterns file.
        out: Output folder (default ``results/patterns-fit``).
        executor: ``serial``, ``processes`` or ``dask``; the fit depends on the seed only.
        workers: Worker processes (or local Dask workers).
        scheduler: A running Dask scheduler's address (``dask`` only).
        force: Replace a fit already in the folder.
        quick: A smoke-test budget: 10 particles, 1 generation, 2 replicates in the check.
        quiet: Silence pyabc's progress messages.
        command: The command line, for the manifest.

    Raises:
        ScenarioError: The patterns file is invalid or has no ``fit`` section.
        ResultsError: The folder holds other results.
    """
    from sim.errors import Problem, ScenarioError

    spec = load_patterns(path)
    if spec.fit is None:
        raise ScenarioError(
            [Problem(str(path), "fit", None, "no fit section", "add fit: {parameters: [...]}")]
        )
    stop = spec.fit.stopping
    if quick:
        stop = stop.model_copy(update={"population_size": 10, "max_generations": 1})
    folder = Path(out) if out is not None else Path("results") / "patterns-fit"
    with FolderLock(folder, command):
        if not start_fresh(folder, "patterns-fit", PATTERN_FIT_FILES, force=force, resume=False):
            raise ResultsError(f"{folder} holds a pattern fit; add --force to replace it")
        write_manifest(folder, {"kind": "patterns-fit", "complete": False})
        import pyabc  # slow to import; only a fit needs it

        from sim.fitting.abc_sampler import (
            SeededMappingSampler,
            pyabc_prior,
            run_abc,
            run_diagnostics,
            weighted_posterior,
        )

        if quiet:
            logging.getLogger("ABC").setLevel(logging.WARNING)
        np.random.seed(spec.seed % 2**32)
        random.seed(spec.seed)
        started = time.perf_counter()
        with make_evaluator(executor, workers, scheduler) as evaluator:
            abc = pyabc.ABCSMC(
                _Simulator(spec),
                pyabc_prior(spec.fit.parameters),
                _Distance(spec),
                population_size=stop.population_size,
                sampler=SeededMappingSampler(spec.seed, evaluator.map),
            )
            history = abc.new(
                f"sqlite:///{(folder / 'abc.db').resolve()}",
                {p.name: 0.5 * (p.target.low + p.target.high) for p in spec.patterns},
            )
            history = run_abc(abc, stop, stop.max_generations)
            abc_seconds = time.perf_counter() - started
            names = [p.name for p in spec.fit.parameters]
            samples = weighted_posterior(history, names)
            keys = {p.name: p.key for p in spec.fit.parameters}
            summary = _pinned(posterior_summary(samples, keys), spec)
            median = dict(zip(summary["parameter"], summary["median"], strict=True))
            started = time.perf_counter()
            check = check_patterns(
                spec,
                replicates=2 if quick else None,
                values={k: float(v) for k, v in median.items()},
                map_=evaluator.map,
            )
            check_seconds = time.perf_counter() - started
        diagnostics = {
            "name": spec.name,
            "seed": spec.seed,
            "executor": executor,
            "workers": workers if executor != "serial" else 1,
            **run_diagnostics(history, samples, stop),
            "abc_seconds": round(abc_seconds, 1),
            "check_seconds": round(check_seconds, 1),
            "patterns_missed_at_median": check.missed,
        }
        _write(folder, samples, summary, check.table, diagnostics, names)
        scenario = pattern_tasks(spec, spec.patterns[:1], [0])[0][0]
        manifest = build_manifest(scenario, spec.replicates, workers=workers, command=command)
        manifest["patterns_file"] = str(Path(path).resolve())
        write_manifest(folder, finish_manifest(manifest))
    return PatternFit(folder, summary, check.table, diagnostics)


def _write(
    folder: Path,
    samples: pd.DataFrame,
    summary: pd.DataFrame,
    check: pd.DataFrame,
    diagnostics: dict[str, Any],
    names: list[str],
) -> None:
    def table(name: str, frame: pd.DataFrame) -> None:
        atomic_write(folder / name, lambda p: frame.to_csv(p, index=False))

    table("posterior.csv", samples)
    table("posterior_summary.csv", summary)
    table("check.csv", check)
    atomic_write(
        folder / "diagnostics.json",
        lambda p: p.write_text(json.dumps(diagnostics, indent=2, default=str) + "\n"),
    )
    figure = plot_posterior(samples, names)
    atomic_write(folder / "posterior.png", lambda p: figure.savefig(p, dpi=120, format="png"))
