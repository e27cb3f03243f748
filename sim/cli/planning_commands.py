"""The planner's subcommands of ``lhsim``: ``compare``, ``report`` and ``figure1``.

:func:`add_planner_commands` adds them to the parser built in :mod:`sim.cli.main`; their
errors are explained there (exit status 2 for bad input, 1 for a failed run).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["add_planner_commands"]

EXIT_OK = 0
DEFAULT_FIGURE1 = Path("scenarios/figure1/world.yaml")


def add_planner_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``compare``, ``report`` and ``figure1`` to the ``lhsim`` subparsers."""
    from sim.cli.main import replicates_int, seed_int, workers_int

    compare = commands.add_parser(
        "compare",
        parents=[common],
        help="compare scenarios with common random numbers and write a decision brief",
        description="Run every scenario with the same seed, so replicate r of each sees the "
        "same random numbers, then write comparison.csv, costs.csv, figures and report.html "
        "to DIR. A scenario folder already in DIR is resumed (use --force to start again).",
    )
    compare.add_argument("files", nargs="+", metavar="FILE", type=Path, help="scenario YAML")
    compare.add_argument(
        "--baseline",
        metavar="NAME",
        help="the baseline: a scenario's name or its file's stem (default: the first file)",
    )
    compare.add_argument(
        "--replicates", type=replicates_int, default=10, metavar="N", help="replicates (default 10)"
    )
    compare.add_argument(
        "--out",
        type=Path,
        default=Path("results/comparison"),
        metavar="DIR",
        help="output folder (default: results/comparison/)",
    )
    compare.add_argument(
        "--seed",
        type=seed_int,
        metavar="S",
        help="root seed of every scenario (default: baseline's)",
    )
    compare.add_argument(
        "--workers",
        type=workers_int,
        default=1,
        metavar="N",
        help="worker processes (default 1); results do not depend on it",
    )
    compare.add_argument("--force", action="store_true", help="replace results already in DIR")
    compare.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    compare.set_defaults(handler=_compare)

    report = commands.add_parser(
        "report",
        parents=[common],
        help="rebuild comparison.csv, figures and report.html from results on disk",
        description="Rebuild the comparison table, costs, figures and the decision brief of "
        "a comparison folder (or of a single 'lhsim run' results folder) without running "
        "anything.",
    )
    report.add_argument("folder", metavar="RESULTS_DIR", type=Path, help="results folder")
    report.set_defaults(handler=_report)

    figure1 = commands.add_parser(
        "figure1",
        parents=[common],
        help="draw the nine Figure-1 countries from a simulation of their world",
        description="Run scenarios/figure1/world.yaml (or FILE) and draw a 3 x 3 panel: per "
        "country its facilities, districts and national level, the channels that carried "
        "learning, where learning was lost, and its QoC.",
    )
    figure1.add_argument(
        "--file", type=Path, default=DEFAULT_FIGURE1, metavar="FILE", help="world scenario"
    )
    figure1.add_argument(
        "--replicates", type=replicates_int, default=4, metavar="N", help="replicates (default 4)"
    )
    figure1.add_argument(
        "--out",
        type=Path,
        default=Path("results/figure1"),
        metavar="DIR",
        help="output folder (default: results/figure1/)",
    )
    figure1.add_argument(
        "--workers", type=workers_int, default=1, metavar="N", help="worker processes (default 1)"
    )
    figure1.add_argument("--force", action="store_true", help="replace results already in DIR")
    figure1.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    figure1.set_defaults(handler=_figure1)


def _compare(arguments: argparse.Namespace) -> int:
    from sim.planning.compare import run_comparison

    started = time.perf_counter()
    comparison = run_comparison(
        arguments.files,
        baseline=arguments.baseline,
        replicates=arguments.replicates,
        out_dir=arguments.out,
        seed=arguments.seed,
        workers=arguments.workers,
        force=arguments.force,
        progress=not arguments.quiet,
        command=["lhsim", *arguments.argv],
    )
    elapsed = time.perf_counter() - started
    table = pd.read_csv(Path(arguments.out) / "comparison.csv")
    print(_comparison_text(table, comparison.baseline, arguments.out, elapsed))
    return EXIT_OK


def _report(arguments: argparse.Namespace) -> int:
    from sim.planning.compare import build_outputs, load_comparison

    written = build_outputs(arguments.folder)
    comparison = load_comparison(arguments.folder)
    table = pd.read_csv(written["comparison"])
    print(_comparison_text(table, comparison.baseline, arguments.folder, None))
    return EXIT_OK


def _figure1(arguments: argparse.Namespace) -> int:
    from sim.planning.figure1 import write_figure1

    path = write_figure1(
        arguments.file,
        out_dir=arguments.out,
        replicates=arguments.replicates,
        workers=arguments.workers,
        force=arguments.force,
        progress=not arguments.quiet,
        command=["lhsim", *arguments.argv],
    )
    print(f"Figure 1 panel written to {path}")
    return EXIT_OK


def _fmt(value: float, digits: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _comparison_text(
    table: pd.DataFrame, baseline: str, folder: Path, elapsed: float | None
) -> str:
    lines = [f"Comparison against {baseline!r} in {folder}/", ""]
    header = (
        f"  {'scenario':<16} {'QoC final':>9} {'gain (pts)':>10} {'paired 90 %':>16} "
        f"{'P(better)':>9} {'cost':>12} {'per point':>10}"
    )
    lines.append(header)
    for _, r in table.iterrows():
        interval = f"{100 * r['diff_vs_baseline_p05']:.2f}..{100 * r['diff_vs_baseline_p95']:.2f}"
        lines.append(
            f"  {str(r['scenario'])[:16]:<16} {r['qoc_final_median']:>9.3f} "
            f"{100 * r['diff_vs_baseline_median']:>10.2f} {interval:>16} "
            f"{r['p_better_than_baseline']:>9.2f} {r['cost_total_median']:>12,.0f} "
            f"{_fmt(r['icer_vs_baseline'], 0):>10}"
        )
    lines.append("")
    lines.append(f"  report: {Path(folder) / 'report.html'}")
    if elapsed is not None:
        lines.append(f"  took {elapsed:.1f} s")
    return "\n".join(lines)
