"""How runs are executed: replicates in this process or in worker processes, to disk.

What a model *is* lives in :mod:`sim.runs.simulation` (one replicate as a pure function of
scenario and replicate index); this module only decides where and in which order those
calls run and streams their tables to a results folder (:mod:`sim.runs.results`) as they
finish. Results are combined in replicate order, so the same scenario and seed give
identical files whatever the number of workers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from sim.errors import RunError
from sim.model.schema import Scenario
from sim.runs.executors import Evaluator, ProcessEvaluator, SerialEvaluator
from sim.runs.folders import FolderLock
from sim.runs.results import (
    TABLES,
    ResultsError,
    build_manifest,
    combine_parts,
    completed_replicates,
    drop_damaged_parts,
    finish_manifest,
    prepare_folder,
    read_checksums,
    write_manifest,
    write_replicate,
)
from sim.runs.simulation import ReplicateResult, run_replicate

__all__ = ["ReplicateFn", "run_scenario"]

log = logging.getLogger(__name__)

#: A function simulating one replicate: ``(scenario, replicate) -> ReplicateResult``.
#: With several workers it must be picklable: a function defined at the top level of an
#: importable module.
ReplicateFn = Callable[[Scenario, int], ReplicateResult]


def _attempt(
    task: tuple[ReplicateFn, Scenario, int],
) -> tuple[int, ReplicateResult | None, Exception | None]:
    """Run one replicate, returning its failure rather than raising it (it pickles)."""
    function, scenario, replicate = task
    try:
        return replicate, function(scenario, replicate), None
    except Exception as error:
        return replicate, None, error


def _failure(scenario: Scenario, replicate: int, error: BaseException) -> RunError:
    return RunError(
        f"replicate {replicate} failed: {type(error).__name__}: {error}",
        scenario=scenario.name,
        replicate=replicate,
        seed=scenario.seed,
    )


def run_scenario(
    scenario: Scenario,
    *,
    replicates: int,
    out_dir: Path,
    workers: int = 1,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    replicate_fn: ReplicateFn | None = None,
    command: Sequence[str] | None = None,
) -> Path:
    """Run replicates ``0 .. replicates - 1`` of ``scenario`` and write them to ``out_dir``.

    Each replicate's tables are written as soon as it finishes (``parts/``); once all
    have finished, the combined tables are written and the manifest is marked complete.
    The folder is locked for the whole run (:class:`sim.runs.folders.FolderLock`): a
    second writer into it is refused.

    Args:
        scenario: A validated scenario.
        replicates: Number of replicates to have in the folder at the end.
        out_dir: The results folder.
        workers: Worker processes; 1 runs everything in this process.
        resume: Continue the run already in ``out_dir``: replicates whose parts all exist
            are not run again. The folder must hold the same resolved scenario and seed.
        force: Delete the results already in ``out_dir`` first.
        progress: Show a progress bar over replicates on standard error.
        replicate_fn: The function simulating one replicate; defaults to
            :func:`sim.runs.simulation.run_replicate`. With ``workers > 1`` it must be a
            top-level function of an importable module.
        command: The command line recorded in the manifest; defaults to :data:`sys.argv`.

    Returns:
        The results folder.

    Raises:
        ValueError: ``replicates`` or ``workers`` is below 1.
        sim.runs.results.ResultsError: ``out_dir`` holds results and neither ``force`` nor
            ``resume`` was given, or it holds results of a different scenario.
        RunError: A replicate raised. Replicates that finished are on disk, so the run
            can be continued with ``resume=True`` once the cause is fixed.
    """
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1 (got {replicates})")
    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    function = replicate_fn if replicate_fn is not None else run_replicate
    out_dir = Path(out_dir)

    with FolderLock(out_dir, command):
        _run_locked(
            scenario, replicates, out_dir, workers, resume, force, progress, function, command
        )
    log.debug("results of %s written to %s", scenario.name, out_dir)
    return out_dir


def _run_locked(
    scenario: Scenario,
    replicates: int,
    out_dir: Path,
    workers: int,
    resume: bool,
    force: bool,
    progress: bool,
    function: ReplicateFn,
    command: Sequence[str] | None,
) -> None:
    """The body of :func:`run_scenario`, run while holding the folder's lock."""
    previous = prepare_folder(out_dir, scenario, force=force, resume=resume)
    if previous is not None and replicates < int(previous.get("replicates", 0)):
        held = int(previous["replicates"])
        raise ResultsError(
            f"{out_dir} holds a run of {held} replicates; resuming it with {replicates} "
            f"would drop replicates {replicates} to {held - 1}: resume with --replicates "
            f"{held} (or more), or use --force to start again"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = build_manifest(
        scenario, replicates, workers=workers, command=command, previous=previous
    )
    write_manifest(out_dir, manifest)

    if previous is not None:
        drop_damaged_parts(out_dir)
    done = completed_replicates(out_dir) if previous is not None else set()
    pending = [r for r in range(replicates) if r not in done]
    if done:
        log.info(
            "resuming %s: %d of %d replicates already done",
            out_dir,
            replicates - len(pending),
            replicates,
        )
    with tqdm(
        total=replicates,
        initial=replicates - len(pending),
        desc=scenario.name,
        unit="replicate",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        parallel = workers > 1 and len(pending) > 1
        evaluator = ProcessEvaluator(min(workers, len(pending))) if parallel else SerialEvaluator()
        _run(evaluator, function, scenario, pending, out_dir, bar)

    combine_parts(out_dir, replicates)
    checksums = read_checksums(out_dir / "parts") or {}
    wanted = {f"{t}/r{r:05d}.parquet" for t in TABLES for r in range(replicates)}
    parts = {name: digest for name, digest in sorted(checksums.items()) if name in wanted}
    write_manifest(out_dir, finish_manifest(manifest, parts))


def _run(
    evaluator: Evaluator,
    function: ReplicateFn,
    scenario: Scenario,
    pending: list[int],
    out_dir: Path,
    bar: tqdm[None],
) -> None:
    """Run the pending replicates on ``evaluator``, writing each as it finishes.

    After a failure no new replicate starts; those already started are finished and
    written, then the failure of the lowest replicate is raised.
    """
    failures: dict[int, Exception] = {}

    def tasks() -> Iterator[tuple[ReplicateFn, Scenario, int]]:
        for replicate in pending:
            if failures:
                return
            yield function, scenario, replicate

    with evaluator:
        for replicate, result, error in evaluator.imap_unordered(_attempt, tasks()):
            if error is not None:
                if not failures:
                    log.error("replicate %d failed; finishing those started", replicate)
                failures[replicate] = error
            elif result is not None:
                write_replicate(out_dir, replicate, result)
                bar.update()
    if failures:
        first = min(failures)
        raise _failure(scenario, first, failures[first]) from failures[first]
