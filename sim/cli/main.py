"""The ``lhsim`` command line: scenarios, sweeps, calibration, the app, animations.

Errors lhsim raises on purpose become a message and an exit code, without a traceback
(``--debug`` shows it): 2 for bad input (an invalid scenario, a results folder that
cannot be used), 1 for a run that failed, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

import sim
from sim.cli.arguments import (
    MAX_DPI,
    MAX_FPS,
    MAX_MONTHS,
    animation_file,
    is_loopback,
    pixel_size,
    replicates_int,
    seed_int,
    whole_number,
    workers_int,
)
from sim.errors import RunError, ScenarioError, SimError
from sim.model.schema import Scenario

__all__ = ["build_parser", "main"]

log = logging.getLogger("sim")

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``lhsim`` and its subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show full tracebacks and debug messages",
    )
    parser = argparse.ArgumentParser(
        prog="lhsim",
        description="Learning-health-system simulator: how quality-of-care practices are "
        "discovered, shared, scaled and lost.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"lhsim {sim.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser(
        "validate",
        parents=[common],
        help="check scenario files without running them",
        description="Check scenario files and list every problem found, one per line. "
        "Exit status 0 when all are valid, 2 otherwise.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", type=Path, help="scenario YAML")
    validate.set_defaults(handler=_validate)

    run = commands.add_parser(
        "run",
        parents=[common],
        help="run a scenario and write results and figures",
        description="Run the replicates of a scenario, write tables, a manifest and figures "
        "to a results folder, and print a short summary.",
    )
    run.add_argument("file", metavar="FILE", type=Path, help="scenario YAML")
    run.add_argument(
        "--replicates",
        type=replicates_int,
        metavar="N",
        help="number of replicates (default: the scenario's 'replicates')",
    )
    run.add_argument(
        "--seed", type=seed_int, metavar="S", help="root seed, replacing the scenario's 'seed'"
    )
    run.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="results folder (default: results/<scenario name>/)",
    )
    run.add_argument(
        "--workers",
        type=workers_int,
        default=1,
        metavar="N",
        help="worker processes (default 1); results do not depend on it",
    )
    again = run.add_mutually_exclusive_group()
    again.add_argument("--force", action="store_true", help="replace results already in DIR")
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted or failed run in DIR, skipping finished replicates",
    )
    run.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar or progress messages"
    )
    run.set_defaults(handler=_run)

    app = commands.add_parser(
        "app",
        parents=[common],
        help="open the trainer's page in a browser (interactive runs, side by side)",
        description="Serve the trainer's page: pick a demonstration (a ready contrast, "
        "scenarios/presets/workshop.yaml) or a scenario, move the teaching levers, play month "
        "by month, compare copies side by side, fund a channel in chosen districts and follow "
        "their quality of care and losses against the other districts, export the event log, "
        "switch to projector mode. Open the printed address in a browser; stop with Ctrl-C.",
    )
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only); any address "
        "other than loopback needs --allow-remote",
    )
    app.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other computers can reach; the page has no authentication, "
        "so anyone who reaches it can use it",
    )
    app.add_argument(
        "--port", type=whole_number(1, 65535), default=8765, help="port (default 8765)"
    )
    app.add_argument(
        "--scenario", type=Path, metavar="FILE", help="scenario to open first (default: demo)"
    )
    app.set_defaults(handler=_app)

    animate = commands.add_parser(
        "animate",
        parents=[common],
        help="save an animation of a run (GIF or MP4) for slides",
        description="Run a scenario month by month and save the trainer's view as an "
        "animation: a GIF (no extra software needed) or an MP4 (needs ffmpeg).",
    )
    animate.add_argument("file", metavar="FILE", type=Path, help="scenario YAML")
    animate.add_argument(
        "--out",
        type=animation_file,
        default=Path("demo.gif"),
        metavar="PATH",
        help="file to write, .gif or .mp4 (default demo.gif)",
    )
    animate.add_argument(
        "--months",
        type=whole_number(1, MAX_MONTHS),
        metavar="N",
        help=f"months to show, at most {MAX_MONTHS} (default: the scenario's)",
    )
    animate.add_argument(
        "--fps",
        type=whole_number(1, MAX_FPS),
        default=4,
        metavar="N",
        help=f"months a second, at most {MAX_FPS} (default 4)",
    )
    animate.add_argument(
        "--size",
        type=pixel_size,
        default=None,
        metavar="WxH",
        help="frame size in pixels (default 1280x720; 1920x1080 with --projector)",
    )
    animate.add_argument(
        "--dpi",
        type=whole_number(10, MAX_DPI),
        default=None,
        metavar="N",
        help="pixels per inch; text and lines grow with it at a given size "
        "(default 100; 150 with --projector)",
    )
    animate.add_argument(
        "--projector",
        action="store_true",
        help="projector mode: large text, thick lines, high contrast",
    )
    animate.set_defaults(handler=_animate)
    # Sensitivity sweeps: `lhsim sweep` and `lhsim analyze` (sim/cli/sweep_commands.py).
    from sim.cli.sweep_commands import add_sweep_commands

    add_sweep_commands(commands, common)
    # Fitting: `lhsim calibrate` and `lhsim patterns` (sim/cli/fitting_commands.py).
    from sim.cli.fitting_commands import add_fitting_commands

    add_fitting_commands(commands, common)

    # -- planners: compare scenarios, rebuild the decision brief, draw Figure 1 --------
    from sim.cli.planning_commands import add_planner_commands

    add_planner_commands(commands, common)
    # Scenarios from real facility lists: `lhsim import` (sim/cli/import_commands.py).
    from sim.cli.import_commands import add_import_commands

    add_import_commands(commands, common)
    return parser


# --------------------------------------------------------------------------- commands
def _validate(arguments: argparse.Namespace) -> int:
    from sim.config.scenario import load_scenario, setting_notes, validate_files

    found = validate_files([str(path) for path in arguments.files])
    for name, problems in found.items():
        if problems:
            for problem in problems:
                print(problem)
        else:
            print(f"ok  {name}")
            for key, reason in setting_notes(load_scenario(name)):
                print(f"note  {name}: {key}: has no effect: {reason}")
    return EXIT_OK if not any(found.values()) else EXIT_BAD_INPUT


def _run(arguments: argparse.Namespace) -> int:
    from sim.config.scenario import load_scenario, with_seed
    from sim.reporting.plots import write_figures
    from sim.runs.results import default_folder, read_results
    from sim.runs.runner import run_scenario

    scenario = load_scenario(arguments.file)
    if arguments.seed is not None:
        scenario = with_seed(scenario, arguments.seed, str(arguments.file))
    replicates = arguments.replicates or scenario.replicates
    folder = arguments.out if arguments.out is not None else default_folder(scenario)
    run_scenario(
        scenario,
        replicates=replicates,
        out_dir=folder,
        workers=arguments.workers,
        resume=arguments.resume,
        force=arguments.force,
        progress=not arguments.quiet,
        command=["lhsim", *arguments.argv],
    )
    results = read_results(folder)
    figures = write_figures(results)
    print(_report(results.summary, folder, scenario, replicates, figures))
    return EXIT_OK


def _app(arguments: argparse.Namespace) -> int:
    from sim.config.scenario import load_scenario
    from sim.trainer.app import serve

    if not is_loopback(arguments.host):
        if not arguments.allow_remote:
            return _fail(
                f"--host {arguments.host} would let other computers reach the page, which "
                "has no authentication; use the default 127.0.0.1, or add --allow-remote "
                "if you mean it",
                EXIT_BAD_INPUT,
            )
        print(
            f"lhsim: warning: serving on {arguments.host}, reachable from other computers; "
            "the page has no authentication: anyone who reaches it can use it",
            file=sys.stderr,
        )
    if arguments.scenario is not None:
        load_scenario(arguments.scenario)  # a bad file is reported here, before serving
    print(f"lhsim app: open http://{arguments.host}:{arguments.port}/ (Ctrl-C stops it)")
    serve(arguments.host, arguments.port, arguments.scenario)
    return EXIT_OK


def _animate(arguments: argparse.Namespace) -> int:
    from sim.config.scenario import load_scenario
    from sim.trainer.animation import AnimationError, animate

    if arguments.out.suffix.lower() == ".mp4":
        from matplotlib.animation import FFMpegWriter

        if not FFMpegWriter.isAvailable():
            return _fail(
                f"cannot write {arguments.out}: MP4 needs ffmpeg on the PATH "
                "(e.g. apt-get install ffmpeg); a .gif needs nothing extra",
                EXIT_BAD_INPUT,
            )
    if arguments.out.is_dir():
        return _fail(f"{arguments.out} is a folder; name a .gif or .mp4 file", EXIT_BAD_INPUT)
    scenario = load_scenario(arguments.file)
    projector = arguments.projector
    size = arguments.size or ((1920, 1080) if projector else (1280, 720))
    dpi = arguments.dpi or (150 if projector else 100)
    try:
        frames = animate(
            scenario,
            arguments.out,
            arguments.months,
            fps=arguments.fps,
            size=size,
            dpi=dpi,
            projector=projector,
        )
    except AnimationError as error:
        return _fail(str(error), EXIT_BAD_INPUT)
    print(
        f"wrote {arguments.out} ({frames} frames of {size[0]}x{size[1]} pixels, "
        f"{arguments.fps} a second)"
    )
    return EXIT_OK


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3f}"


def _report(
    summary: pd.DataFrame,
    folder: Path,
    scenario: Scenario,
    replicates: int,
    figures: dict[str, Path],
) -> str:
    """The short table printed after a run: final QoC and the loss-ledger medians."""
    from sim.reporting.plots import LOSS_CAUSES, SUPPORT_NOT_GIVEN

    lines = [
        f"Results of {scenario.name!r} ({replicates} replicates, seed {scenario.seed}) "
        f"are in {folder}/",
        "",
    ]
    if "qoc_final" in summary.columns:
        qoc = summary["qoc_final"].astype(float)
        lines.append(
            f"  final quality of care (QoC index, 0-1): median {float(qoc.median()):.3f}, "
            f"90 % of runs between {float(qoc.quantile(0.05)):.3f} "
            f"and {float(qoc.quantile(0.95)):.3f}"
        )
    ledger = {**LOSS_CAUSES, "duplication_waste": "duplicated trials (waste)"}
    present = {column: words for column, words in ledger.items() if column in summary.columns}
    if present:
        lines.append("  lessons lost, median per run:")
        width = max(len(words) for words in present.values())
        for column, words in present.items():
            value = float(summary[column].astype(float).median())
            lines.append(f"    {words:<{width}}  {_number(value)}")
    if SUPPORT_NOT_GIVEN in summary.columns:
        value = float(summary[SUPPORT_NOT_GIVEN].astype(float).median())
        lines.append(
            f"  beside the ledger: requests for support not given, median per run  {_number(value)}"
        )
    lines += _means_lines(summary)
    lines.append("")
    lines.append("  figures: " + ", ".join(str(p) for p in figures.values()))
    return "\n".join(lines)


def _means_lines(summary: pd.DataFrame) -> list[str]:
    """Practices first reached / lessons made or passed on, by means and level."""
    from sim.metrics.learning_means import LEVELS, MEANS, means_table

    if summary.empty:
        return []
    practices = means_table(summary, "practices").to_numpy(dtype=float)
    lessons = means_table(summary, "lessons").to_numpy(dtype=float)
    cells = [
        [
            f"{_number(practices[row, column])} / {_number(lessons[row, column])}"
            for column in range(len(LEVELS))
        ]
        for row in range(len(MEANS))
    ]
    width = 2 + max(len(text) for text in [*LEVELS, *(c for row in cells for c in row)])
    lines = [
        "  how learning moved, median per run (practices first reached / lessons made or "
        "passed on):",
        "    " + " " * 13 + "".join(f"{level:>{width}}" for level in LEVELS),
    ]
    for means, row_cells in zip(MEANS, cells, strict=True):
        lines.append(f"    {means:<13}" + "".join(f"{cell:>{width}}" for cell in row_cells))
    return lines


# --------------------------------------------------------------------------- entry point
def _configure_logging(debug: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("lhsim: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _fail(message: str, code: int) -> int:
    print(f"lhsim: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lhsim`` command line.

    Args:
        argv: The arguments after the program name; defaults to ``sys.argv[1:]``.

    Returns:
        The exit status: 0 success, 1 a run failed, 2 bad input, 130 interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = build_parser().parse_args(argv)
    arguments.argv = argv
    debug = bool(getattr(arguments, "debug", False))
    _configure_logging(debug, bool(getattr(arguments, "quiet", False)))
    handler: Callable[[argparse.Namespace], int] = arguments.handler
    try:
        return handler(arguments)
    except KeyboardInterrupt:
        if debug:
            raise
        hint = (
            "; finished runs are saved: run the same command with --resume to continue"
            if hasattr(arguments, "resume")
            else ""
        )
        print(f"\nlhsim: interrupted{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if debug:
            raise
        return _explain(error)


def _explain(error: Exception) -> int:
    """Turn an error into a message on standard error and an exit status."""
    from sim.runs.results import ResultsError

    if isinstance(error, ScenarioError):
        return _fail(str(error), EXIT_BAD_INPUT)
    if isinstance(error, ResultsError):
        return _fail(str(error), EXIT_BAD_INPUT)
    if isinstance(error, RunError):
        hint = (
            "finished replicates are saved; after fixing the cause, run the same command "
            "with --resume to continue (--debug shows the traceback)"
        )
        return _fail(f"{error}\n{hint}", EXIT_RUN_FAILED)
    if isinstance(error, SimError):
        return _fail(str(error), EXIT_RUN_FAILED)
    if isinstance(error, OSError):
        return _fail(f"{error} (--debug shows the traceback)", EXIT_RUN_FAILED)
    if isinstance(error, MemoryError):
        return _fail(
            "out of memory: the scenario or sweep is too large for this computer; use fewer "
            "facilities, practices, replicates or workers (--debug shows the traceback)",
            EXIT_RUN_FAILED,
        )
    raise error


if __name__ == "__main__":
    raise SystemExit(main())
