"""Fit a scenario's learning parameters to observed adoption with ABC-SMC (pyabc).

:func:`calibrate` reads a calibration file and its data, maps the data onto a scenario
(:mod:`sim.fitting.calibration`), runs approximate Bayesian computation by sequential Monte
Carlo, simulates the posterior predictive curves and writes, into one folder:

``posterior.csv``          the final ABC-SMC population (parameters and weights);
``posterior_summary.csv``  median and 90 % interval of each parameter;
``fit.csv``                observed curves beside the predictive median and 90 % band;
``scores.csv``             band coverage and errors per group, beside a Bass baseline;
``fit.png``, ``posterior.png``  the predictive bands and the posterior histograms;
``diagnostics.json``       generations, thresholds, acceptance rates, run time, scores;
``calibrated.yaml``        a scenario whose replicates each draw from the posterior;
``scenario/``              the facility and tie files that scenario reads;
``abc.db``                 pyabc's database of every generation;
``manifest.json``          how the folder was made (see :mod:`sim.runs.results`).
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from sim.errors import ScenarioError
from sim.fitting.adoption_data import read_adoption_data
from sim.fitting.bass import BassFit, fit_bass
from sim.fitting.calibration import CalibrationProblem, build_problem, inert_parameter_problems
from sim.fitting.calibration_report import (
    fit_notes,
    fit_scores,
    fit_table,
    plot_posterior,
    plot_predictive,
    posterior_summary,
)
from sim.fitting.calibration_spec import CalibrationSpec, load_calibration
from sim.runs.executors import EXECUTORS, Evaluator, make_evaluator
from sim.runs.folders import FolderLock, clear_folder, is_empty, mark_folder
from sim.runs.results import (
    ResultsError,
    atomic_write,
    build_manifest,
    finish_manifest,
    input_changes,
    input_hashes,
    read_manifest,
    write_manifest,
)

__all__ = ["EXECUTORS", "CalibrationOutcome", "calibrate"]

log = logging.getLogger(__name__)

Executor = Literal["serial", "processes", "dask"]

_PREDICTIVE_STREAM = 7_001  # spawn key of the posterior predictive draws


@dataclass
class CalibrationOutcome:
    """What a calibration wrote and its headline figures."""

    folder: Path
    summary: pd.DataFrame
    scores: pd.DataFrame
    diagnostics: dict[str, Any]


class _Simulator:
    """The pyabc model: parameters in, cumulative adopting shares of fitted groups out."""

    def __init__(self, problem: CalibrationProblem) -> None:
        self.problem = problem
        fitted = [problem.groups.index(g) for g in problem.fitted_groups]
        self.rows = np.array(fitted)
        self.sizes = np.array([problem.sizes[g] for g in problem.groups], dtype=float)[:, None]

    def shares(self, curves: np.ndarray) -> np.ndarray:
        return (curves / self.sizes)[self.rows].ravel()

    def __call__(self, parameters: Any) -> dict[str, np.ndarray]:
        replicate = int(np.random.randint(0, 2**31 - 1))
        values = {name: float(parameters[name]) for name in parameters}
        return {"share": self.shares(self.problem.simulate(values, replicate))}


def _rmse_distance(x: dict[str, np.ndarray], x0: dict[str, np.ndarray]) -> float:
    return float(np.sqrt(np.mean(np.square(x["share"] - x0["share"]))))


#: What a calibration writes into its folder: all that ``--force`` removes.
CALIBRATION_FILES: tuple[str, ...] = (
    "manifest.json",
    "diagnostics.json",
    "posterior.csv",
    "posterior_summary.csv",
    "fit.csv",
    "scores.csv",
    "fit.png",
    "posterior.png",
    "calibrated.yaml",
    "abc.db",
    "abc.db-journal",
    "abc.db-wal",
    "abc.db-shm",
    "scenario/group*_facilities.csv",
    "scenario/group*_edges.csv",
    ".*.tmp",
)


def _prepare(folder: Path, force: bool, resume: bool, inputs: dict[str, str]) -> bool:
    """Make ``folder`` ready; return whether an interrupted fit is continued.

    The caller holds the folder's lock. ``force`` removes only what a calibration writes
    (:data:`CALIBRATION_FILES`), and only in a folder lhsim made. ``resume`` continues
    only if the calibration file and its data hash as they did when the fit started.
    """
    if force and resume:
        raise ResultsError("choose either --force (start again) or --resume (continue), not both")
    if resume and (folder / "abc.db").is_file():
        recorded = read_manifest(folder) if (folder / "manifest.json").is_file() else {}
        changes = input_changes(recorded.get("inputs"), inputs)
        if changes:
            raise ResultsError(
                f"{folder} cannot be resumed: the calibration file or its data changed: "
                + "; ".join(changes[:5])
                + "; restore them, or use --force to start again"
            )
        for stale in ("manifest.json", "diagnostics.json", "posterior.csv", "fit.csv"):
            (folder / stale).unlink(missing_ok=True)
        mark_folder(folder, "calibration")
        return True
    if not is_empty(folder):
        if not force:
            raise ResultsError(
                f"{folder} already holds results; use --force to replace them, --resume to "
                "continue an interrupted fit, or choose another --out"
            )
        clear_folder(folder, "calibration", CALIBRATION_FILES)
    mark_folder(folder, "calibration")
    return False


def default_folder(spec: CalibrationSpec, holdout: str | None) -> Path:
    """``results/calibration/<name>`` (with ``-holdout-<group>`` when holding one out)."""
    name = spec.name if holdout is None else f"{spec.name}-holdout-{holdout}"
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)
    return Path("results") / "calibration" / safe


def calibrate(
    path: str | Path,
    *,
    out: Path | None = None,
    holdout: str | None = None,
    executor: Executor = "processes",
    workers: int = 2,
    scheduler: str | None = None,
    force: bool = False,
    resume: bool = False,
    quick: bool = False,
    quiet: bool = False,
    command: list[str] | None = None,
) -> CalibrationOutcome:
    """Run an ABC-SMC calibration and write its outputs (see the module docstring).

    Args:
        path: The calibration file.
        out: Output folder (default :func:`default_folder`).
        holdout: A group left out of the fit and predicted from the others.
        executor: ``serial``, ``processes`` or ``dask``; the fit depends on the seed only.
        workers: Worker processes for ``processes`` and a local Dask cluster.
        scheduler: Address of a running Dask scheduler (``dask`` only).
        force: Replace an existing output folder.
        resume: Continue an interrupted fit from the generations in its ``abc.db``.
        quick: A smoke-test budget: 30 particles, 2 generations, 20 predictive draws.
        quiet: Silence pyabc's progress messages.
        command: The command line, for the manifest.

    Raises:
        ScenarioError: The calibration file or its data are invalid.
        ResultsError: The output folder holds other results.
    """
    spec = load_calibration(path)
    if problems := inert_parameter_problems(spec):
        raise ScenarioError(problems)
    if quick:
        spec = spec.model_copy(
            update={
                "stopping": spec.stopping.model_copy(
                    update={"population_size": 30, "max_generations": 2}
                ),
                "predictive_draws": 20,
            }
        )
    data = read_adoption_data(
        spec.path(spec.data.nodes),
        spec.path(spec.data.edges) if spec.data.edges else None,
        spec.data.periods,
    )
    folder = Path(out) if out is not None else default_folder(spec, holdout)
    data_files = [spec.path(spec.data.nodes)]
    if spec.data.edges:
        data_files.append(spec.path(spec.data.edges))
    inputs = input_hashes({}, extra=[Path(path).resolve(), *data_files])
    with FolderLock(folder, command):
        resuming = _prepare(folder, force, resume, inputs)
        write_manifest(folder, {"kind": "calibration", "complete": False, "inputs": inputs})
        problem = build_problem(spec, data, folder / "scenario", holdout)
        simulator = _Simulator(problem)
        import pyabc  # imported here: it is slow to import and only needed for a fit

        if quiet:
            logging.getLogger("ABC").setLevel(logging.WARNING)

        observed = problem.observed()

        stop = spec.stopping
        distance: Any = (
            _rmse_distance if spec.distance.kind == "rmse" else pyabc.AdaptivePNormDistance(p=2)
        )
        np.random.seed(spec.seed % 2**32)
        random.seed(spec.seed)
        from sim.fitting.abc_sampler import (
            SeededMappingSampler,
            pyabc_prior,
            run_abc,
            run_diagnostics,
            weighted_posterior,
        )

        evaluator = make_evaluator(executor, workers, scheduler)
        with evaluator:
            abc = pyabc.ABCSMC(
                simulator,
                pyabc_prior(spec.parameters),
                distance,
                population_size=stop.population_size,
                sampler=SeededMappingSampler(spec.seed, evaluator.map),
            )
            database = f"sqlite:///{(folder / 'abc.db').resolve()}"
            if resuming:
                history = abc.load(database, 1)
                log.info("continuing after generation %d of %s", history.max_t, database)
            else:
                history = abc.new(database, {"share": simulator.shares(observed)})
            remaining = stop.max_generations - (history.max_t + 1)
            started = time.perf_counter()
            if remaining > 0:
                history = run_abc(abc, stop, remaining)
            abc_seconds = time.perf_counter() - started
            names = [p.name for p in spec.parameters]
            samples = weighted_posterior(history, names)
            started = time.perf_counter()
            draws = _predictive(problem, samples, spec, evaluator)
            predictive_seconds = time.perf_counter() - started
        keys = {p.name: p.key for p in spec.parameters}
        summary = posterior_summary(samples, keys)

        fit = fit_table(problem.groups, observed, draws, holdout)
        fitted = [problem.groups.index(g) for g in problem.fitted_groups]
        bass = fit_bass({problem.groups[g]: observed[g] for g in fitted}, problem.sizes)
        scores = fit_scores(fit, bass, problem.sizes)

        diagnostics = {
            "name": spec.name,
            "holdout": holdout,
            "executor": executor,
            "workers": workers if executor != "serial" else 1,
            "seed": spec.seed,
            "groups": problem.sizes,
            "periods": data.periods,
            "time_unit": spec.data.time_unit,
            "nodes_not_at_risk_dropped": data.dropped_nodes,
            "ties": 0 if data.edges is None else len(data.edges),
            **run_diagnostics(history, samples, stop),
            "abc_seconds": round(abc_seconds, 1),
            "predictive_seconds": round(predictive_seconds, 1),
            "predictive_draws": spec.predictive_draws,
            "bass": {"p": bass.p, "q": bass.q, "m": bass.m, "rmse_share": bass.rmse_share},
            "band_coverage_fitted": _coverage(fit, held_out=False),
            "band_coverage_held_out": _coverage(fit, held_out=True),
            "scores": scores.to_dict(orient="records"),
            "notes": fit_notes(scores, bass, [p.key for p in spec.parameters]),
        }
        _write_outputs(folder, spec, problem, samples, summary, fit, scores, bass, diagnostics)
        manifest = build_manifest(
            problem.scenario(dict(zip(summary["parameter"], summary["median"], strict=True))),
            spec.predictive_draws,
            workers=workers,
            command=command,
        )
        manifest["calibration_file"] = str(Path(path).resolve())
        manifest["inputs"] = inputs
        write_manifest(folder, finish_manifest(manifest))
    return CalibrationOutcome(folder, summary, scores, diagnostics)


def _coverage(fit: pd.DataFrame, *, held_out: bool) -> float | None:
    part = fit[fit["held_out"] == held_out]
    if part.empty:
        return None
    inside = (part["observed"] >= part["predicted_p05"]) & (
        part["observed"] <= part["predicted_p95"]
    )
    return float(inside.mean())


def _simulate_draw(task: tuple[CalibrationProblem, dict[str, float], int]) -> np.ndarray:
    problem, values, replicate = task
    return problem.simulate(values, replicate)


def _predictive(
    problem: CalibrationProblem,
    samples: pd.DataFrame,
    spec: CalibrationSpec,
    evaluator: Evaluator,
) -> np.ndarray:
    """Simulate ``predictive_draws`` posterior draws (fixed by the seed), every group."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(_PREDICTIVE_STREAM,)))
    rows = rng.choice(len(samples), size=spec.predictive_draws, p=samples["weight"].to_numpy())
    names = [p.name for p in spec.parameters]
    values = [{name: float(samples.loc[row, name]) for name in names} for row in rows.tolist()]
    tasks = [(problem, draw, replicate) for replicate, draw in enumerate(values)]
    return np.stack(evaluator.map(_simulate_draw, tasks))


def _write_outputs(
    folder: Path,
    spec: CalibrationSpec,
    problem: CalibrationProblem,
    samples: pd.DataFrame,
    summary: pd.DataFrame,
    fit: pd.DataFrame,
    scores: pd.DataFrame,
    bass: BassFit,
    diagnostics: dict[str, Any],
) -> None:
    def table(name: str, frame: pd.DataFrame) -> None:
        atomic_write(folder / name, lambda p: frame.to_csv(p, index=False))

    table("posterior.csv", samples)
    table("posterior_summary.csv", summary)
    table("fit.csv", fit)
    table("scores.csv", scores)
    atomic_write(
        folder / "diagnostics.json",
        lambda p: p.write_text(json.dumps(diagnostics, indent=2, default=str) + "\n"),
    )
    figure = plot_predictive(fit, bass, problem.sizes)
    figure.savefig(folder / "fit.png", dpi=120)
    plot_posterior(samples, [p.name for p in spec.parameters]).savefig(
        folder / "posterior.png", dpi=120
    )
    document = calibrated_document(problem, summary, folder)
    atomic_write(
        folder / "calibrated.yaml",
        lambda p: p.write_text(
            f"# Calibrated by 'lhsim calibrate' from {spec.name}: each replicate draws its\n"
            "# fitted parameters from posterior.csv (see docs/calibration.md).\n"
            + yaml.safe_dump(document, sort_keys=False)
        ),
    )


def calibrated_document(
    problem: CalibrationProblem, summary: pd.DataFrame, folder: Path
) -> dict[str, Any]:
    """The scenario at the posterior median, with a ``posterior`` block for the replicates."""
    values = dict(zip(summary["parameter"], summary["median"], strict=True))
    scenario = problem.scenario({k: float(v) for k, v in values.items()})
    document = scenario.model_dump(mode="json", exclude_defaults=True)
    document["months"] = scenario.months
    document = {k: v for k, v in document.items() if k != "posterior"}
    document["name"] = f"{problem.spec.name}-calibrated"
    for country in document["countries"]:
        for key in ("facility_file", "edge_file"):
            if country.get(key):
                country[key] = Path(country[key]).resolve().relative_to(folder.resolve()).as_posix()
    document["posterior"] = {
        "samples": "posterior.csv",
        "parameters": {p.name: f"countries.*.{p.key}" for p in problem.spec.parameters},
    }
    return document
