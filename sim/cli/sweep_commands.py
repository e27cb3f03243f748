"""The ``lhsim sweep`` and ``lhsim analyze`` commands (registered by :mod:`sim.cli.main`)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["add_sweep_commands"]
from sim.cli.arguments import scheduler_address, workers_int


def add_sweep_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``sweep`` and ``analyze`` to the subcommands of ``lhsim``."""
    from sim.runs.executors import EXECUTORS

    sweep = commands.add_parser(
        "sweep",
        parents=[common],
        help="run a sensitivity sweep from an experiment file and analyse it",
        description="Sample the parameters of an experiment file with SALib, run every "
        "sample point and replicate, stream the runs to a sweep folder as they finish, "
        "then write indices.csv, seed_noise.csv and figures. Results do not depend on "
        "the executor or the number of workers.",
    )
    sweep.add_argument("file", metavar="FILE", type=Path, help="experiment YAML")
    sweep.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="sweep folder (default: results/sweeps/<experiment name>/)",
    )
    again = sweep.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="continue the sweep in DIR, skipping runs written"
    )
    again.add_argument("--force", action="store_true", help="replace the sweep already in DIR")
    sweep.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="processes",
        help="where runs execute: this process, local worker processes (default) or "
        "dask.distributed",
    )
    sweep.add_argument(
        "--workers",
        type=workers_int,
        default=2,
        metavar="N",
        help="worker processes, or Dask LocalCluster workers (default 2)",
    )
    sweep.add_argument(
        "--scheduler",
        type=scheduler_address,
        metavar="ADDRESS",
        help="with --executor dask: a running scheduler (tcp://host:8786) instead of a "
        "LocalCluster",
    )
    sweep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(handler=_sweep)

    analyze = commands.add_parser(
        "analyze",
        parents=[common],
        help="recompute the indices and figures of a finished sweep",
        description="Read a sweep folder and write indices.csv, seed_noise.csv and "
        "figures/ again, from the runs on disk.",
    )
    analyze.add_argument("folder", metavar="SWEEP_DIR", type=Path, help="sweep folder")
    analyze.set_defaults(handler=_analyze)


def _sweep(arguments: argparse.Namespace) -> int:
    from sim.runs.executors import make_evaluator
    from sim.sweeps.experiment_file import load_experiment
    from sim.sweeps.sensitivity import analyze_sweep
    from sim.sweeps.sweep import default_sweep_folder, run_sweep

    evaluator = make_evaluator(arguments.executor, arguments.workers, arguments.scheduler)
    experiment = load_experiment(arguments.file)
    folder = arguments.out if arguments.out is not None else default_sweep_folder(experiment)
    outcome = run_sweep(
        experiment,
        out_dir=folder,
        evaluator=evaluator,
        resume=arguments.resume,
        force=arguments.force,
        progress=not arguments.quiet,
        command=["lhsim", *arguments.argv],
    )
    analysis = analyze_sweep(folder)
    ran = outcome.runs - outcome.skipped
    rate = ran / outcome.seconds * 60 if outcome.seconds > 0 else math.nan
    print(
        f"Sweep {experiment.spec.name!r}: {outcome.runs:,} runs in {folder}/ "
        f"({ran:,} of them run now in {outcome.seconds:,.1f} s, {rate:,.0f} runs a minute, "
        f"{evaluator.description})"
    )
    if outcome.failed:
        print(f"  {outcome.failed} runs failed; see the 'error' column of {folder}/runs.parquet")
    print(_table(analysis.indices, analysis.noise))
    print(f"  indices: {folder}/indices.csv; seed noise: {folder}/seed_noise.csv")
    return 0


def _analyze(arguments: argparse.Namespace) -> int:
    from sim.sweeps.sensitivity import analyze_sweep

    analysis = analyze_sweep(arguments.folder)
    print(_table(analysis.indices, analysis.noise))
    print(f"  written: {arguments.folder}/indices.csv, seed_noise.csv, figures/")
    return 0


def _table(indices: pd.DataFrame, noise: pd.DataFrame) -> str:
    """The indices of each output, largest first, with the seed-noise share."""
    lines = []
    shown = [
        c
        for c in (
            "S1",
            "S1_conf",
            "ST",
            "ST_conf",
            "mu_star",
            "mu_star_conf",
            "sigma",
            "median",
            "ME",
        )
        if c in indices.columns
    ]
    rank = next(c for c in ("ST", "mu_star", "S1", "median", "ME") if c in indices.columns)
    for output, rows in indices.groupby("output", sort=False):
        share = noise.loc[noise["output"] == output, "seed_noise_share"]
        value = float(share.iloc[0]) if len(share) else math.nan
        text = "n/a (one replicate)" if math.isnan(value) else f"{value:.1%}"
        lines.append(f"\n  {output}  (seed-noise share of run variance: {text})")
        top = rows.sort_values(rank, ascending=False, key=abs)
        table = top[["parameter", *shown]].to_string(index=False, float_format="{:.3f}".format)
        lines.extend("    " + line for line in table.splitlines())
    return "\n".join(lines)
