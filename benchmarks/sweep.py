"""Sweep benchmarks: runs a minute per executor, the executor's overhead, the 9,216-run target.

Usage::

    python benchmarks/sweep.py [overhead|demo|target|all] [--runs N] [--workers N] [--full]

``overhead``
    The Ishigami function (microseconds of model time) swept through the whole pipeline
    (validation of each point's document, the executor, Parquet parts, the run table):
    wall time per run = the executor's overhead per run. Start-up (worker processes,
    Dask LocalCluster) is reported apart.

``demo``
    The demo-size scenario of ``experiments/levers_sobol.yaml`` (200 facilities,
    10 districts, 36 months): runs a minute with serial, processes and a Dask
    LocalCluster, on the same runs.

``target``
    The issue's target: a Sobol' sweep of 8 parameters with N = 512 and second-order
    indices (N (2D + 2) = 9,216 runs) of a 500-facility, 60-month scenario within 15
    minutes on 2 cores. By default a sample of ``--runs`` runs of that scenario is timed
    with worker processes and the whole sweep is extrapolated; ``--full`` runs all 9,216.

It prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from sim.runs.executors import DaskEvaluator, Evaluator, ProcessEvaluator, SerialEvaluator
from sim.sweeps.experiment_file import load_experiment
from sim.sweeps.sweep import read_runs, run_sweep

ROOT = Path(__file__).resolve().parents[1]
LEVERS = ROOT / "experiments" / "levers_sobol.yaml"
TARGET_RUNS, TARGET_MINUTES = 9216, 15.0
PI = 3.141592653589793


def _experiment_file(folder: Path, document: dict[str, Any]) -> Path:
    path = folder / f"{document['name']}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _levers(**changes: Any) -> dict[str, Any]:
    document = yaml.safe_load(LEVERS.read_text())
    document["scenario"] = str((LEVERS.parent / document["scenario"]).resolve())
    document.update(changes)
    return document


def _time_sweep(path: Path, evaluator: Evaluator, out: Path) -> tuple[float, float, int]:
    """Return (wall seconds, mean model seconds per run, runs) of one sweep."""
    experiment = load_experiment(path)
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    outcome = run_sweep(experiment, out_dir=out, evaluator=evaluator, progress=False)
    wall = time.perf_counter() - start
    runs = read_runs(out)
    if outcome.failed:
        print(f"    warning: {outcome.failed} runs failed: {runs['error'].iloc[0]}")
    return wall, float(runs["seconds"].mean()), outcome.runs


def _evaluators(workers: int) -> dict[str, Evaluator]:
    return {
        "serial": SerialEvaluator(),
        f"processes ({workers})": ProcessEvaluator(workers),
        f"dask LocalCluster ({workers})": DaskEvaluator(workers),
    }


def _executor_costs(evaluator: Evaluator, tasks: int = 400) -> tuple[float, float]:
    """Start-up (to the first result) and the time per trivial task once started."""
    start = time.perf_counter()
    with evaluator:
        list(evaluator.imap_unordered(abs, [-1]))
        started = time.perf_counter() - start
        tick = time.perf_counter()
        list(evaluator.imap_unordered(abs, range(-tasks, 0)))
        per_task = (time.perf_counter() - tick) / tasks
    return started, per_task


def overhead(folder: Path, workers: int) -> None:
    print("\n== executor overhead ==")
    sizes = {}
    for samples in (128, 1024):
        document = {
            "name": f"overhead{samples}",
            "model": "ishigami",
            "parameters": {"x1": [-PI, PI], "x2": [-PI, PI], "x3": [-PI, PI]},
            "method": "sobol",
            "samples": samples,
            "outputs": ["y"],
            "seed": 1,
        }
        sizes[samples] = _experiment_file(folder, document)
    _time_sweep(sizes[128], SerialEvaluator(), folder / "out")  # warm-up: imports, caches
    walls, counts = [], []
    for path in sizes.values():
        wall, _, runs = _time_sweep(path, SerialEvaluator(), folder / "out")
        walls.append(wall)
        counts.append(runs)
    pipeline = (walls[1] - walls[0]) / (counts[1] - counts[0])
    print(
        f"  pipeline cost per run (Ishigami, serial, 5,120 against 640 runs): "
        f"{pipeline * 1e6:.0f} us\n"
        "  (building and validating the point's document, the outputs, the row, Parquet parts)"
    )
    print(f"  {'executor':<28} {'start-up s':>10} {'ms/task':>8} {'Ishigami runs/min':>18}")
    for name in _evaluators(workers):
        started, per_task = _executor_costs(_evaluators(workers)[name])
        wall, _, runs = _time_sweep(sizes[1024], _evaluators(workers)[name], folder / "out")
        print(f"  {name:<28} {started:>10.2f} {per_task * 1e3:>8.2f} {runs / wall * 60:>18,.0f}")
    print(
        "  start-up: to the first result; ms/task: a trivial task's share of wall time once\n"
        "  running (runs are sent in chunks of about 1 s of work, so a model run of 0.5 s pays\n"
        "  it about once per run); Ishigami runs/min: 5,120 runs end to end, start-up included"
    )


def demo(folder: Path, workers: int, runs: int) -> None:
    print(f"\n== demo-size scenario (levers_sobol settings), {runs} runs ==")
    path = _experiment_file(
        folder,
        _levers(name="demo_bench", method="latin", samples=runs, replicates=1),
    )
    print(f"  {'executor':<28} {'wall s':>8} {'runs/min':>10} {'model s/run':>12} {'overhead':>9}")
    for name, evaluator in _evaluators(workers).items():
        wall, model, count = _time_sweep(path, evaluator, folder / "out")
        parallel = 1 if name == "serial" else workers
        spent = wall * parallel / count - model
        print(
            f"  {name:<28} {wall:>8.1f} {count / wall * 60:>10.1f} {model:>12.3f} "
            f"{spent / model:>8.0%}"
        )
    print("  overhead = (wall x workers / runs - model time) / model time, start-up included")


def target(folder: Path, workers: int, runs: int, full: bool) -> None:
    settings = {
        "months": 60,
        "countries.0.facilities": 500,
        "countries.0.districts": 20,
        "countries.0.learning_centres.count": 1,
    }
    if full:
        document = _levers(
            name="target", settings=settings, samples=512, second_order=True, replicates=1
        )
        label = f"the full {TARGET_RUNS:,}-run sweep"
    else:
        document = _levers(
            name="target_sample", settings=settings, method="latin", samples=runs, replicates=1
        )
        label = f"{runs} runs of it, extrapolated"
    path = _experiment_file(folder, document)
    print(f"\n== target: Sobol' N = 512, 8 parameters, 500 facilities, 60 months; {label} ==")
    wall, model, count = _time_sweep(path, ProcessEvaluator(workers), folder / "out")
    rate = count / wall * 60
    minutes = TARGET_RUNS / rate
    print(f"  runs timed: {count}, wall {wall:.1f} s, {rate:.1f} runs/min with {workers} processes")
    print(f"  model time per run: {model:.3f} s (one core)")
    print(
        f"  9,216 runs: {minutes:.1f} min (target {TARGET_MINUTES:.0f} min; "
        f"needs {TARGET_RUNS / TARGET_MINUTES:.0f} runs/min, "
        f"i.e. {TARGET_MINUTES * 60 * workers / TARGET_RUNS:.3f} s a run on {workers} cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "which", nargs="?", default="all", choices=["overhead", "demo", "target", "all"]
    )
    parser.add_argument("--runs", type=int, default=40, help="runs timed per executor")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--full", action="store_true", help="run all 9,216 target runs")
    arguments = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"lhsim sweep benchmark: {os.cpu_count()} CPUs, {arguments.workers} workers, "
        f"load average {load} at start (other work on the machine slows every figure)"
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if arguments.which in ("overhead", "all"):
            overhead(folder, arguments.workers)
        if arguments.which in ("demo", "all"):
            demo(folder, arguments.workers, arguments.runs)
        if arguments.which in ("target", "all"):
            target(folder, arguments.workers, arguments.runs, arguments.full)


if __name__ == "__main__":
    main()
