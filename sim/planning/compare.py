"""Paired comparison of scenarios with common random numbers.

Every scenario of a comparison runs with one root seed, so replicate r of each sees
the same random streams (:mod:`sim.model.streams` derives them from seed, replicate and
mechanism only): the same world, the same staff departures, and the same draws
wherever the scenarios agree. A difference between two scenarios in replicate r is
then the effect of their levers, not noise, and paired intervals are narrower than
unpaired ones.

A comparison folder looks like this::

    <out>/
        comparison.json        the inputs: scenario names and files, baseline, seed,
                               replicates, willingness to pay, effect measure
        scenarios/<name>/      one ordinary results folder per scenario (resumable)
        key_effects/<name>/<counterfactual>/
                               with --key-effects: each scenario run without a channel
                               (:mod:`sim.planning.key_effects`)
        comparison.csv         one row per scenario
        costs.csv              cost per scenario, replicate, year and activity
        budget.csv             cost and shortfall per scenario and year
        acceptability.csv      the acceptability curve
        loop_changes.csv       what the learning loops changed during the runs
        key_effects.csv        with --key-effects: each key question's paired effect
        figures/               frontier, acceptability, QoC bands, cost-effect plane, ledger
        report.html            the decision brief (:mod:`sim.planning.brief`)

The tables are described in :mod:`sim.planning.analysis`.

Everything after the runs is computed from the results on disk, so
:func:`sim.planning.analysis.build_outputs` (``lhsim report``) rebuilds it without running
anything; :func:`sim.planning.analysis.analyse` returns the same tables as DataFrames
without writing them.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from sim.errors import Problem, ScenarioError
from sim.metrics.costs import cost_problems
from sim.model.schema import Scenario
from sim.planning.analysis import ComparisonResults, analyse, build_outputs, write_outputs
from sim.planning.comparison import (
    SCENARIO_FOLDER,
    ComparedScenario,
    Comparison,
    check_reading,
    folder_name,
    write_comparison_file,
)
from sim.planning.economics import (
    DEFAULT_EFFECT,
    DEFAULT_WTP_PER_POINT,
)
from sim.planning.key_effects import KEY_EFFECTS_FILE, KEY_EFFECTS_FOLDER, run_key_effects
from sim.planning.uncertainty import (
    PLAUSIBLE,
    SAMPLES_FILE,
    SPEC_FILE,
    attach,
    draw_samples,
    lever_problems,
    load_uncertainty,
    plausible_uncertainty,
    write_spec,
)
from sim.runs.folders import make_folder
from sim.runs.results import atomic_write

__all__ = [
    "PLAUSIBLE",
    "compare",
    "load_inputs",
    "run_comparison",
]


log = logging.getLogger(__name__)


def load_inputs(
    files: Sequence[Path], baseline: str | None
) -> tuple[list[tuple[Path, Scenario]], str]:
    """Load and check the scenario files of a comparison, before anything runs.

    Args:
        files: Scenario YAML files.
        baseline: A scenario's name or its file's stem; ``None`` takes the first file.

    Returns:
        The (file, scenario) pairs in the order given, and the baseline's scenario name.

    Raises:
        ScenarioError: Listing every problem of every file at once: invalid files,
            repeated scenario names or folder names, a baseline that is not among the
            inputs, and activities used without a unit cost.
    """
    from sim.config.scenario import load_scenario

    problems: list[Problem] = []
    loaded: list[tuple[Path, Scenario]] = []
    for path in files:
        try:
            loaded.append((Path(path), load_scenario(path)))
        except ScenarioError as error:
            problems.extend(error.problems)
    for path, scenario in loaded:
        problems.extend(cost_problems(scenario, str(path)))
    seen: dict[str, Path] = {}
    folders: dict[str, str] = {}
    for path, scenario in loaded:
        name = scenario.name
        if name in seen:
            problems.append(
                Problem(
                    str(path),
                    "name",
                    name,
                    f"two scenarios are named {name!r} (also {seen[name]})",
                    "give every compared scenario its own name",
                )
            )
            continue
        seen[name] = path
        folder = folder_name(name)
        if folder in folders:
            problems.append(
                Problem(
                    str(path),
                    "name",
                    name,
                    f"{name!r} and {folders[folder]!r} would share the results folder {folder!r}",
                    "use names that differ in letters or digits",
                )
            )
        folders[folder] = name
    chosen = _baseline_name(loaded, baseline, files, problems)
    if problems:
        raise ScenarioError(problems)
    return loaded, chosen


def _baseline_name(
    loaded: list[tuple[Path, Scenario]],
    baseline: str | None,
    files: Sequence[Path],
    problems: list[Problem],
) -> str:
    if not loaded:
        return ""
    if baseline is None:
        return loaded[0][1].name
    for path, scenario in loaded:
        if baseline in (scenario.name, path.stem):
            return scenario.name
    known = sorted({s.name for _, s in loaded} | {p.stem for p, _ in loaded})
    problems.append(
        Problem(
            "--baseline",
            "baseline",
            baseline,
            "the baseline is not among the compared scenarios",
            f"give one of their names or file stems: {', '.join(known)}",
        )
    )
    return ""


def run_comparison(
    files: Sequence[Path],
    *,
    baseline: str | None,
    replicates: int,
    out_dir: Path,
    seed: int | None = None,
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    command: Sequence[str] | None = None,
    wtp: float = DEFAULT_WTP_PER_POINT,
    effect: str = DEFAULT_EFFECT,
    uncertainty: Path | str | None = None,
    key_effects: bool = False,
) -> Comparison:
    """Run every scenario with common random numbers, then build the outputs.

    All scenarios run with one root seed (``seed``, else the baseline's), each into
    ``out_dir/scenarios/<name>/``. Without ``force`` a folder already there is resumed,
    so an interrupted comparison continues where it stopped. ``wtp`` (willingness to pay
    per QoC point) and ``effect`` (a key of :data:`EFFECTS`) set the economic reading and
    are kept in ``comparison.json``, so ``lhsim report`` reads it the same way. With
    ``uncertainty`` (a file, or :data:`PLAUSIBLE` for the plausible ranges documented
    with the parameters), the uncertain parameters are drawn once per replicate, the
    same draw for every scenario (:mod:`sim.planning.uncertainty`). With ``key_effects``,
    every scenario is also run without each channel that answers a key question
    (:mod:`sim.planning.key_effects`), into ``out_dir/key_effects/``, resumed likewise.

    Returns:
        The comparison, whose outputs are in ``out_dir``.

    Raises:
        ScenarioError: An input is invalid (see :func:`load_inputs`); nothing has run.
        sim.runs.results.ResultsError: A scenario folder holds results of another scenario.
        sim.errors.RunError: A replicate failed.
    """
    comparison = _run_scenarios(
        files,
        baseline=baseline,
        replicates=replicates,
        out_dir=out_dir,
        seed=seed,
        workers=workers,
        force=force,
        progress=progress,
        command=command,
        wtp=wtp,
        effect=effect,
        uncertainty=uncertainty,
    )
    _key_effects(comparison, key_effects, workers, force, progress, command)
    build_outputs(out_dir)
    return comparison


def compare(
    files: Sequence[Path | str],
    *,
    out_dir: Path | str,
    baseline: str | None = None,
    replicates: int = 10,
    seed: int | None = None,
    workers: int = 1,
    force: bool = False,
    progress: bool = False,
    wtp: float = DEFAULT_WTP_PER_POINT,
    effect: str = DEFAULT_EFFECT,
    uncertainty: Path | str | None = None,
    key_effects: bool = False,
) -> ComparisonResults:
    """Compare scenarios as ``lhsim compare`` does, and return the comparison's tables.

    Runs (or resumes) every scenario with common random numbers into ``out_dir``,
    writes the same files as the command, and returns the tables as DataFrames.

    Args:
        files: Scenario YAML files.
        out_dir: The comparison folder.
        baseline: A scenario's name or its file's stem; ``None`` takes the first file.
        replicates: Replicates of every scenario.
        seed: Root seed of every scenario (default: the baseline's).
        workers: Worker processes; results do not depend on it.
        force: Replace results already in ``out_dir`` instead of resuming them.
        progress: Show progress bars.
        wtp: Willingness to pay per QoC point, in the costs' currency.
        effect: The effect costs are weighed against, a key of :data:`EFFECTS`.
        uncertainty: A file of uncertain parameters and their plausible distributions
            (:mod:`sim.planning.uncertainty`), or ``"plausible"`` for the plausible ranges
            documented with the parameters (those no scenario sets): each replicate of
            every scenario takes the same draw of them.
        key_effects: Also run every scenario without each channel that answers a key
            question, and measure its paired effect (``results.key_effects``).

    Returns:
        The comparison with its tables (``table``, ``costs``, ``budget``,
        ``acceptability``, ``loops``), its ``best`` buy and the ``files`` written.

    Raises:
        ScenarioError: An input is invalid; nothing has run.
        sim.runs.results.ResultsError: A scenario folder holds results of another scenario.
        sim.errors.RunError: A replicate failed.
    """
    comparison = _run_scenarios(
        [Path(f) for f in files],
        baseline=baseline,
        replicates=replicates,
        out_dir=Path(out_dir),
        seed=seed,
        workers=workers,
        force=force,
        progress=progress,
        command=None,
        wtp=wtp,
        effect=effect,
        uncertainty=uncertainty,
    )
    _key_effects(comparison, key_effects, workers, force, progress, None)
    results = analyse(comparison.folder)
    write_outputs(results)
    return results


def _run_scenarios(
    files: Sequence[Path],
    *,
    baseline: str | None,
    replicates: int,
    out_dir: Path,
    seed: int | None,
    workers: int,
    force: bool,
    progress: bool,
    command: Sequence[str] | None,
    wtp: float,
    effect: str,
    uncertainty: Path | str | None,
) -> Comparison:
    """Run every scenario of a comparison and write ``comparison.json``; no outputs yet."""
    from sim.config.scenario import with_seed
    from sim.runs.runner import run_scenario

    check_reading(wtp, effect)
    from_file = uncertainty is not None and uncertainty != PLAUSIBLE
    spec = load_uncertainty(Path(uncertainty)) if from_file else None  # type: ignore[arg-type]
    loaded, baseline_name = load_inputs(files, baseline)
    left_out: dict[str, str] = {}
    if spec is not None:
        if problems := lever_problems(spec, [s for _, s in loaded], str(uncertainty)):
            raise ScenarioError(problems)
    elif uncertainty == PLAUSIBLE:
        spec, left_out = plausible_uncertainty([s for _, s in loaded])
    root_seed = (
        seed if seed is not None else next(s.seed for _, s in loaded if s.name == baseline_name)
    )
    runs = [(path, with_seed(scenario, root_seed, path)) for path, scenario in loaded]
    out_dir = Path(out_dir)
    entries = tuple(
        ComparedScenario(s.name, str(path), out_dir / SCENARIO_FOLDER / folder_name(s.name))
        for path, s in runs
    )
    comparison = Comparison(
        out_dir, entries, baseline_name, root_seed, replicates, float(wtp), effect
    )
    make_folder(out_dir)  # a clear error if --out names a file
    samples = out_dir / SAMPLES_FILE
    if spec is not None:
        table = draw_samples(spec, root_seed)
        atomic_write(samples, lambda tmp: table.to_csv(tmp, index=False))
        write_spec(out_dir / SPEC_FILE, spec, left_out)
        runs = [(path, attach(s, samples, spec, str(path))) for path, s in runs]
    else:  # a comparison without --uncertainty reads no draws
        for stale in (samples, out_dir / SPEC_FILE):
            stale.unlink(missing_ok=True)
    write_comparison_file(comparison)
    for entry, (_, scenario) in zip(entries, runs, strict=True):
        resume = not force and entry.folder.is_dir() and any(entry.folder.iterdir())
        run_scenario(
            scenario,
            replicates=replicates,
            out_dir=entry.folder,
            workers=workers,
            resume=resume,
            force=force,
            progress=progress,
            command=command,
        )
    return comparison


def _key_effects(
    comparison: Comparison,
    wanted: bool,
    workers: int,
    force: bool,
    progress: bool,
    command: Sequence[str] | None,
) -> None:
    """Run the counterfactuals of the key effects, or drop those ``force`` makes stale."""
    if wanted:
        run_key_effects(
            comparison, workers=workers, force=force, progress=progress, command=command
        )
    elif force:  # the runs they pair with were just replaced
        shutil.rmtree(Path(comparison.folder) / KEY_EFFECTS_FOLDER, ignore_errors=True)
        (Path(comparison.folder) / KEY_EFFECTS_FILE).unlink(missing_ok=True)
