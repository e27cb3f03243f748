"""The ``lhsim calibrate`` and ``lhsim patterns`` commands (registered by :mod:`sim.cli.main`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.cli.arguments import replicates_int, scheduler_address, workers_int

__all__ = ["add_fitting_commands"]

EXIT_OK = 0
EXIT_PATTERN_MISSED = 1
DEFAULT_PATTERNS = Path("calibration") / "patterns.yaml"


def _executor_options(command: argparse.ArgumentParser, result: str) -> None:
    command.add_argument(
        "--executor",
        choices=("serial", "processes", "dask"),
        default="processes",
        help=f"where simulations run (default processes); {result} depends on the seed "
        "only, not on the executor or the number of workers (see docs/calibration.md)",
    )
    command.add_argument(
        "--workers", type=workers_int, default=2, metavar="N", help="worker processes (default 2)"
    )
    command.add_argument(
        "--scheduler",
        type=scheduler_address,
        metavar="ADDRESS",
        help="a running Dask scheduler, tcp://host:8786 (with --executor dask)",
    )


def add_fitting_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``calibrate`` and ``patterns`` to the subcommands of ``lhsim``."""
    calibrate = commands.add_parser(
        "calibrate",
        parents=[common],
        help="fit learning parameters to observed adoption (ABC-SMC)",
        description="Fit the parameters a calibration file names to an observed adoption "
        "record by approximate Bayesian computation (ABC-SMC, pyabc). Writes posterior "
        "samples and summaries, fit.csv, figures, diagnostics and a calibrated scenario "
        "whose replicates draw from the posterior. See docs/calibration.md.",
    )
    calibrate.add_argument("file", metavar="FILE", type=Path, help="calibration YAML")
    calibrate.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: results/calibration/NAME)"
    )
    calibrate.add_argument(
        "--holdout", metavar="GROUP", help="fit on the other groups and predict this one"
    )
    _executor_options(calibrate, "the fit")
    again = calibrate.add_mutually_exclusive_group()
    again.add_argument("--force", action="store_true", help="replace results already in DIR")
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted fit in DIR from its finished generations",
    )
    calibrate.add_argument(
        "--quick", action="store_true", help="a smoke-test budget (30 particles, 2 generations)"
    )
    calibrate.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages from the sampler"
    )
    calibrate.set_defaults(handler=_calibrate)

    patterns = commands.add_parser(
        "patterns",
        parents=[common],
        help="check that the model reproduces published patterns (or fit it to them)",
        description="Simulate every pattern of a patterns file (default "
        "calibration/patterns.yaml) and print, per pattern, its target range, the "
        "simulated median and 90 % interval over replicates and whether the median is "
        "inside; write patterns.csv, pattern_values.csv and patterns.png. Exits 1 when a "
        "pattern is missed. With --fit, fit the parameters of the file's fit section to "
        "all patterns at once (ABC-SMC) instead. See docs/patterns.md.",
    )
    patterns.add_argument(
        "file",
        metavar="FILE",
        type=Path,
        nargs="?",
        default=DEFAULT_PATTERNS,
        help=f"patterns YAML (default {DEFAULT_PATTERNS})",
    )
    patterns.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default results/patterns, or results/patterns-fit with --fit)",
    )
    patterns.add_argument(
        "--replicates",
        type=replicates_int,
        metavar="N",
        help="replicates per pattern scenario (default: the file's)",
    )
    patterns.add_argument("--only", nargs="+", metavar="NAME", help="check only these patterns")
    patterns.add_argument("--fast", action="store_true", help="check only the patterns marked fast")
    _executor_options(patterns, "the check (and a fit)")
    patterns.add_argument(
        "--fit", action="store_true", help="fit the file's fit parameters to the patterns"
    )
    patterns.add_argument(
        "--force", action="store_true", help="with --fit: replace a fit already in DIR"
    )
    patterns.add_argument("--quick", action="store_true", help="with --fit: a smoke-test budget")
    patterns.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages from the sampler"
    )
    patterns.set_defaults(handler=_patterns)


# --------------------------------------------------------------------------- commands
def _calibrate(arguments: argparse.Namespace) -> int:
    from sim.fitting.calibration_run import calibrate

    outcome = calibrate(
        arguments.file,
        out=arguments.out,
        holdout=arguments.holdout,
        executor=arguments.executor,
        workers=arguments.workers,
        scheduler=arguments.scheduler,
        force=arguments.force,
        resume=arguments.resume,
        quick=arguments.quick,
        quiet=arguments.quiet,
        command=["lhsim", *arguments.argv],
    )
    d = outcome.diagnostics
    lines = [
        f"Calibration {d['name']!r} is in {outcome.folder}/ "
        f"({d['total_simulations']} simulations, {len(d['generations'])} generations, "
        f"{d['abc_seconds'] + d['predictive_seconds']:.0f} s)",
        "",
        "  posterior (median and 90 % interval):",
    ]
    for row in outcome.summary.itertuples():
        lines.append(f"    {row.parameter:<12} {row.median:.4g}  [{row.p05:.4g}, {row.p95:.4g}]")
    lines.append(
        "  per group: band coverage, RMSE of the median, of the Bass fit, expected by chance:"
    )
    for row in outcome.scores.itertuples():
        tag = " (held out)" if row.held_out else ""
        lines.append(
            f"    {row.group}{tag}: {row.band_coverage:.0%}, {row.rmse_median:.2f}, "
            f"{row.rmse_bass:.2f}, {row.rmse_chance:.2f}"
        )
    lines += [f"  note: {note}" for note in d["notes"]]
    if not d["reproducible_from_seed"]:
        lines.append(f"  note: stopped by {d['stopped_by']}: the seed alone does not reproduce it")
    print("\n".join(lines))
    return EXIT_OK


def _patterns(arguments: argparse.Namespace) -> int:
    if arguments.fit:
        return _fit_patterns(arguments)
    from sim.fitting.pattern_report import check_command

    table, missed = check_command(
        arguments.file,
        out=arguments.out,
        replicates=arguments.replicates,
        only=arguments.only,
        fast=arguments.fast,
        executor=arguments.executor,
        workers=arguments.workers,
        scheduler=arguments.scheduler,
        command=["lhsim", *arguments.argv],
    )
    print(table)
    return EXIT_PATTERN_MISSED if missed else EXIT_OK


def _fit_patterns(arguments: argparse.Namespace) -> int:
    from sim.fitting.pattern_fit import fit_patterns
    from sim.fitting.pattern_report import format_check

    outcome = fit_patterns(
        arguments.file,
        out=arguments.out,
        executor=arguments.executor,
        workers=arguments.workers,
        scheduler=arguments.scheduler,
        force=arguments.force,
        quick=arguments.quick,
        quiet=arguments.quiet,
        command=["lhsim", *arguments.argv],
    )
    d = outcome.diagnostics
    lines = [
        f"Pattern fit {d['name']!r} is in {outcome.folder}/ ({d['total_simulations']} "
        f"simulations, {len(d['generations'])} generations, {d['abc_seconds']:.0f} s)",
        "",
        "  posterior (median and 90 % interval; pinned: the interval spans under half the prior):",
    ]
    for row in outcome.summary.itertuples():
        tag = "pinned" if row.pinned else "wide"
        lines.append(
            f"    {row.parameter:<20} {row.median:.4g}  [{row.p05:.4g}, {row.p95:.4g}]  {tag}"
        )
    lines += ["", "  the patterns at the posterior median:", format_check(outcome.check)]
    print("\n".join(lines))
    return EXIT_OK
