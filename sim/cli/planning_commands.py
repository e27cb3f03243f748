"""The planner's subcommands of ``lhsim``: ``compare``, ``report``, ``maturity``, ``figure1``.

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

from sim.cli.arguments import replicates_int, seed_int, workers_int
from sim.planning.economics import DEFAULT_EFFECT, DEFAULT_WTP_PER_POINT, EFFECTS

__all__ = ["add_planner_commands"]

EXIT_OK = 0
DEFAULT_FIGURE1 = Path("scenarios/figure1/world.yaml")


def add_planner_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``compare``, ``report``, ``maturity`` and ``figure1`` to the ``lhsim`` subparsers."""
    compare = commands.add_parser(
        "compare",
        parents=[common],
        help="compare scenarios with common random numbers and write a decision brief",
        description="Run every scenario with the same seed, so replicate r of each sees the "
        "same random numbers, then write comparison.csv, costs.csv, budget.csv, "
        "acceptability.csv, figures and report.html to DIR. A scenario folder already in "
        "DIR is resumed (use --force to start again).",
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
    compare.add_argument(
        "--uncertainty",
        metavar="FILE",
        type=Path,
        nargs="?",
        const=True,
        help="draw uncertain country parameters once per replicate, the same draw for every "
        "scenario: from FILE (YAML of parameters and their plausible distributions) or, "
        "without FILE, from the plausible ranges documented with the parameters, leaving "
        "out those a compared scenario sets (docs/planners.md)",
    )
    compare.add_argument(
        "--key-effects",
        action="store_true",
        help="also answer the brief's key questions with effects, not only counts: run every "
        "scenario again without each channel it runs that answers a question (coaching, "
        "learning from other facilities, support requests, the district's support, "
        "district exchange, national guidance, learning between countries, upward "
        "reporting), same seed and replicates, and report the paired gain in final QoC "
        "(median, 90 %% interval) and cost in key_effects.csv and the brief. Costs one extra "
        "run per counterfactual that applies (up to 8 per scenario): measured 2.1 x the "
        "plain compare's time on scenarios/demo.yaml with 3 replicates, 3.6 x with 10, "
        "towards 1 + the extra runs for long runs (docs/planners.md)",
    )
    compare.add_argument("--force", action="store_true", help="replace results already in DIR")
    compare.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_reading_options(compare, DEFAULT_WTP_PER_POINT, DEFAULT_EFFECT)
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
    _add_reading_options(report, None, None)
    report.set_defaults(handler=_report)

    maturity = commands.add_parser(
        "maturity",
        parents=[common],
        help="which single step up in learning-network maturity buys the most QoC per cost",
        description="FILE is a scenario whose countries have a maturity profile (six domains "
        "at levels 1-4, or a life-cycle stage). Each domain is raised by one level in turn, "
        "everything else equal, and every variant is compared with the profile (common random "
        "numbers): the steps are listed best value for money first, with the parameters each "
        "changed, those no unit cost charges and those that act on nothing in the country (a "
        "switched-off channel's settings). The variants are written to DIR/inputs/, the "
        "comparison and its brief to DIR, the table to DIR/maturity_steps.csv.",
    )
    maturity.add_argument("file", metavar="FILE", type=Path, help="scenario YAML with a profile")
    maturity.add_argument(
        "--replicates", type=replicates_int, default=10, metavar="N", help="replicates (default 10)"
    )
    maturity.add_argument(
        "--out",
        type=Path,
        default=Path("results/maturity"),
        metavar="DIR",
        help="output folder (default: results/maturity/)",
    )
    maturity.add_argument(
        "--workers", type=workers_int, default=1, metavar="N", help="worker processes (default 1)"
    )
    maturity.add_argument("--force", action="store_true", help="replace results already in DIR")
    maturity.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_reading_options(maturity, DEFAULT_WTP_PER_POINT, DEFAULT_EFFECT)
    maturity.set_defaults(handler=_maturity)

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


def _add_reading_options(
    parser: argparse.ArgumentParser, wtp: float | None, effect: str | None
) -> None:
    """``--wtp`` and ``--effect``: how the comparison's economics are read."""
    default_wtp = (
        f"default {wtp:,.0f}, illustrative"
        if wtp is not None
        else ("default: the comparison's own")
    )
    parser.add_argument(
        "--wtp",
        type=float,
        default=wtp,
        metavar="AMOUNT",
        help="willingness to pay per QoC point (0.01 of the QoC index), in the costs' "
        f"currency, for net benefit and the best buy ({default_wtp})",
    )
    meanings = "; ".join(f"{key}: {meaning}" for key, (_, meaning) in EFFECTS.items())
    default_effect = f"default {effect}" if effect is not None else "default: the comparison's own"
    parser.add_argument(
        "--effect",
        choices=sorted(EFFECTS),
        default=effect,
        help=f"the effect costs are weighed against ({meanings}; {default_effect})",
    )


def _compare(arguments: argparse.Namespace) -> int:
    from sim.planning.compare import PLAUSIBLE, run_comparison

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
        wtp=arguments.wtp,
        effect=arguments.effect,
        uncertainty=PLAUSIBLE if arguments.uncertainty is True else arguments.uncertainty,
        key_effects=arguments.key_effects,
    )
    elapsed = time.perf_counter() - started
    table = pd.read_csv(Path(arguments.out) / "comparison.csv")
    print(_comparison_text(table, comparison.baseline, arguments.out, elapsed))
    return EXIT_OK


def _report(arguments: argparse.Namespace) -> int:
    from sim.planning.analysis import build_outputs
    from sim.planning.comparison import load_comparison

    written = build_outputs(arguments.folder, wtp=arguments.wtp, effect=arguments.effect)
    comparison = load_comparison(arguments.folder)
    table = pd.read_csv(written["comparison"])
    print(_comparison_text(table, comparison.baseline, arguments.folder, None))
    return EXIT_OK


def _maturity(arguments: argparse.Namespace) -> int:
    from sim.planning.maturity_steps import maturity_steps

    started = time.perf_counter()
    steps = maturity_steps(
        arguments.file,
        out_dir=arguments.out,
        replicates=arguments.replicates,
        workers=arguments.workers,
        force=arguments.force,
        progress=not arguments.quiet,
        command=["lhsim", *arguments.argv],
        wtp=arguments.wtp,
        effect=arguments.effect,
    )
    lines = [
        f"Single steps up in maturity against the profile of {str(arguments.file)!r} "
        f"({arguments.replicates} replicates; results in {arguments.out}/):",
        "",
        f"  {'domain':<34} {'levels':<16} {'gain':>6} {'paired 90 %':>14} {'extra cost':>12}",
    ]
    for r in steps.to_dict("records"):
        interval = f"{r['gain_p05']:.2f}..{r['gain_p95']:.2f}"
        lines.append(
            f"  {str(r['label']):<34} {str(r['levels'])[:16]:<16} {r['gain_points']:>6.2f} "
            f"{interval:>14} {r['extra_cost']:>12,.0f}"
        )
        lines.append(f"      {r['reading']}; changes {r['changed']}")
    lines.append("")
    best = steps.iloc[0]
    if best["gain_points"] > 0:
        lines.append(f"  best value for money: {best['label']} ({best['reading']})")
    else:
        lines.append("  no single step up gains QoC in this setting")
    lines.append(f"  brief: {Path(arguments.out) / 'report.html'}")
    lines.append(f"  took {time.perf_counter() - started:.1f} s")
    print("\n".join(lines))
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
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _comparison_text(
    table: pd.DataFrame, baseline: str, folder: Path, elapsed: float | None
) -> str:
    measure = str(table["effect_measure"].iloc[0])
    currency = str(table["currency"].iloc[0])
    wtp = float(table["wtp_per_point"].iloc[0])
    lines = [
        f"Comparison against {baseline!r} in {folder}/",
        f"effect: {measure}, in QoC points; costs in {currency}, discounted; "
        f"net benefit at {wtp:,.0f} per point",
        "",
    ]
    header = (
        f"  {'scenario':<16} {'effect':>7} {'gain':>6} {'paired 90 %':>14} {'cost':>12} "
        f"{'vs baseline':<22} {'frontier':<21} {'per point vs next':>22} {'P(best)':>7}"
    )
    lines.append(header)
    for _, r in table.iterrows():
        interval = f"{r['effect_gain_points_p05']:.2f}..{r['effect_gain_points_p95']:.2f}"
        nxt = r["frontier_next"] if isinstance(r["frontier_next"], str) else ""
        per_next = f"{_fmt(r['icer_vs_next'], 0)} vs {nxt}" if nxt else "-"
        status = str(r["frontier_status"]) + (" *" if r["best_buy"] else "")
        lines.append(
            f"  {str(r['scenario'])[:16]:<16} {r['effect_points_mean']:>7.2f} "
            f"{r['effect_gain_points_mean']:>6.2f} {interval:>14} {r['cost_total_mean']:>12,.0f} "
            f"{str(r['reading_vs_baseline'])[:22]:<22} {status[:21]:<21} {per_next[:22]:>22} "
            f"{r['p_most_cost_effective']:>7.2f}"
        )
    lines.append("")
    lines.append("  * best buy: the highest mean net benefit at the stated willingness to pay")
    lines.append(f"  report: {Path(folder) / 'report.html'}")
    if (Path(folder) / "key_effects.csv").is_file():
        lines.append(f"  key questions' effects: {Path(folder) / 'key_effects.csv'}")
    if elapsed is not None:
        lines.append(f"  took {elapsed:.1f} s")
    return "\n".join(lines)
