"""Run a sweep: sample an experiment, evaluate every run, stream the rows to disk, resume.

A sweep folder looks like this::

    results/sweeps/<experiment name>/
        manifest.json        the experiment, the base document, versions; complete or not
        samples.parquet      the SALib sample matrix, one row per point (column ``point``)
        parts/runs-000001.parquet   finished run rows, written in batches as runs end
        runs.parquet         every run, in run_id order (written when all have finished)
        indices.csv, seed_noise.csv, figures/   written by :mod:`sim.sweeps.sensitivity`

Each run row holds ``run_id`` (``point * replicates + replicate``), ``point``,
``replicate``, ``seed``, the parameter values, the outputs, ``error`` (empty unless the
run failed) and ``seconds``. Parts are written atomically, so after a kill the folder
holds whole parts only; ``resume`` reads which run ids they hold and runs the others.
A run is never written twice, and none is lost.
"""

from __future__ import annotations

import logging
import math
import platform
import re
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

import sim
from sim.runs.executors import Evaluator, SerialEvaluator
from sim.runs.folders import FolderLock, mark_folder, start_fresh
from sim.runs.results import (
    MANIFEST,
    ResultsError,
    atomic_write,
    check_parts,
    document_differences,
    finish_manifest,
    git_state,
    input_changes,
    input_hashes,
    library_versions,
    read_checksums,
    read_manifest,
    record_checksum,
    write_manifest,
)
from sim.sweeps.experiment import Experiment, RunSpec, evaluate_chunk

__all__ = [
    "RUNS",
    "SAMPLES",
    "SweepOutcome",
    "default_sweep_folder",
    "read_runs",
    "run_sweep",
]

log = logging.getLogger(__name__)

#: File names in a sweep folder.
RUNS = "runs.parquet"
SAMPLES = "samples.parquet"
_PART = re.compile(r"^runs-(\d{6,})\.parquet$")
_SWEEP_LIBRARIES = ("SALib", "dask", "distributed")
#: What a sweep writes into its folder: all that ``--force`` removes.
SWEEP_FILES: tuple[str, ...] = (
    MANIFEST,
    SAMPLES,
    RUNS,
    "indices.csv",
    "seed_noise.csv",
    "second_order.csv",
    "parts/runs-*.parquet",
    "parts/.*.tmp",
    "parts/checksums.tsv",
    "figures/*.png",
    "figures/.*.tmp",
    ".*.tmp",
)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SweepOutcome:
    """What a finished sweep did.

    Attributes:
        folder: The sweep folder.
        runs: Runs in the sweep.
        skipped: Runs already on disk when it started (resumed).
        failed: Runs whose model raised (recorded with their error).
        seconds: Wall time of this call.
    """

    folder: Path
    runs: int
    skipped: int
    failed: int
    seconds: float


def default_sweep_folder(experiment: Experiment, root: Path = Path("results/sweeps")) -> Path:
    """Return ``results/sweeps/<experiment name>/`` (unsafe characters become ``_``)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", experiment.spec.name).strip("._") or "sweep"
    return root / safe


# --------------------------------------------------------------------------- manifest
def _manifest(
    experiment: Experiment,
    sample: np.ndarray,
    evaluator: Evaluator,
    command: Sequence[str] | None,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    started = previous.get("started") if previous else None
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        "format_version": FORMAT_VERSION,
        "kind": "sweep",
        "experiment_name": experiment.spec.name,
        "experiment_file": experiment.file,
        "experiment": experiment.spec.model_dump(mode="json"),
        "model": experiment.model.kind,
        "document": experiment.model.document,
        "inputs": input_hashes(experiment.model.document),
        "kinds": experiment.kinds,
        "points": int(sample.shape[0]),
        "replicates": experiment.spec.replicates,
        "runs": int(sample.shape[0]) * experiment.spec.replicates,
        "seeds": "run seed from SeedSequence(experiment seed, spawn_key=(1,)) "
        + (
            "shared by every point (common random numbers)"
            if experiment.spec.random_numbers == "common"
            else "and the point index, spawn_key=(1, point)"
        )
        + "; replicate r draws the model's streams of replicate r",
        "package_version": sim.__version__,
        "git": git_state(),
        "versions": library_versions(_SWEEP_LIBRARIES),
        "platform": platform.platform(),
        "command": list(sys.argv if command is None else command),
        "executor": evaluator.description,
        "started": started or now,
        "resumed": [*previous.get("resumed", []), now] if previous else [],
        "finished": None,
        "complete": False,
    }


def _prepare(
    folder: Path, experiment: Experiment, *, force: bool, resume: bool
) -> dict[str, Any] | None:
    """Make ``folder`` ready; return the manifest of the sweep being resumed, if any."""
    if start_fresh(folder, "sweep", SWEEP_FILES, force=force, resume=resume):
        return None
    if not (folder / MANIFEST).is_file():
        raise ResultsError(
            f"{folder} is not empty and holds no {MANIFEST}; it is left untouched: "
            "choose another --out or empty it yourself"
        )
    if not resume:
        raise ResultsError(
            f"{folder} already holds a sweep; use --resume to continue it or --force to replace it"
        )
    manifest = read_manifest(folder)
    differences = document_differences(
        manifest.get("experiment"), experiment.spec.model_dump(mode="json")
    )
    differences += [
        f"document.{d}"
        for d in document_differences(manifest.get("document"), experiment.model.document)
    ]
    if manifest.get("kind") != "sweep" or differences:
        shown = ", ".join(differences[:5]) + (" ..." if len(differences) > 5 else "")
        raise ResultsError(
            f"{folder} holds a different sweep (differs in: {shown or 'kind'}); "
            "use --force to replace it or choose another --out"
        )
    changes = input_changes(manifest.get("inputs"), input_hashes(experiment.model.document))
    if changes:
        raise ResultsError(
            f"{folder} cannot be resumed: its input files changed, so old and new runs would "
            "not be comparable: "
            + "; ".join(changes[:5])
            + "; restore the files, or use --force to start again"
        )
    for stray in (folder / "parts").glob(".*.tmp"):
        stray.unlink(missing_ok=True)
    for path, reason in check_parts(folder / "parts", _part_files(folder)).items():
        log.warning("%s cannot be trusted: %s; its runs are run again", path, reason)
        path.unlink()
    mark_folder(folder, "sweep")
    return manifest


# --------------------------------------------------------------------------- parts
def _part_files(folder: Path) -> list[Path]:
    directory = folder / "parts"
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if _PART.match(p.name))


def _next_part(folder: Path) -> int:
    """The number of the next part: one above the highest, so no part is overwritten."""
    numbers = [int(match.group(1)) for p in _part_files(folder) if (match := _PART.match(p.name))]
    return max(numbers, default=0) + 1


def done_runs(folder: Path) -> set[int]:
    """Return the run ids held by the parts of ``folder``."""
    done: set[int] = set()
    for path in _part_files(folder):
        done.update(int(r) for r in pd.read_parquet(path, columns=["run_id"])["run_id"])
    return done


def _write_part(folder: Path, index: int, rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows)
    path = folder / "parts" / f"runs-{index:06d}.parquet"
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
    record_checksum(folder / "parts", path)


def _combine(folder: Path, runs: int) -> pd.DataFrame:
    frames = []
    for path in _part_files(folder):
        try:
            frames.append(pd.read_parquet(path))
        except Exception as error:  # pyarrow raises several types for a damaged file
            raise ResultsError(
                f"{path} cannot be read ({type(error).__name__}); run the same command with "
                "--resume to run its runs again"
            ) from None
    frame = pd.concat(frames, ignore_index=True).sort_values("run_id", kind="stable")
    frame = frame.reset_index(drop=True)
    if len(frame) != runs or frame["run_id"].duplicated().any():
        raise ResultsError(
            f"{folder}: the parts hold {frame['run_id'].nunique()} distinct runs in "
            f"{len(frame)} rows, {runs} expected; the folder was changed by hand"
        )
    atomic_write(folder / RUNS, lambda tmp: frame.to_parquet(tmp, index=False))
    return frame


def read_runs(folder: Path) -> pd.DataFrame:
    """Read the run table of a finished sweep.

    Raises:
        ResultsError: The sweep has not finished.
    """
    path = Path(folder) / RUNS
    if not path.is_file():
        raise ResultsError(
            f"the sweep in {folder} has not finished; continue it with "
            "'lhsim sweep EXPERIMENT --resume --out FOLDER'"
        )
    return pd.read_parquet(path)


def read_samples(folder: Path) -> np.ndarray:
    """Read the sample matrix of a sweep (points x sample columns)."""
    frame = pd.read_parquet(Path(folder) / SAMPLES)
    return frame.drop(columns="point").to_numpy(dtype=float)


# --------------------------------------------------------------------------- running
class _ChunkPlanner:
    """Cut the pending runs into chunks that take about ``target`` seconds each.

    The first chunks hold one run; later ones are sized from the mean time of the runs
    finished so far, so that fast models (Ishigami) are not drowned in task overhead and
    slow ones still report progress and lose little when killed.
    """

    def __init__(self, runs: list[RunSpec], target: float = 1.0, largest: int = 256) -> None:
        self.runs = runs
        self.target = target
        self.largest = largest
        self.total_seconds = 0.0
        self.finished = 0

    def record(self, rows: list[dict[str, Any]]) -> None:
        self.total_seconds += sum(float(r["seconds"]) for r in rows)
        self.finished += len(rows)

    def size(self) -> int:
        if self.finished == 0:
            return 1
        mean = max(self.total_seconds / self.finished, 1e-6)
        return int(min(self.largest, max(1, math.floor(self.target / mean))))

    def __iter__(self) -> Iterator[list[RunSpec]]:
        start = 0
        while start < len(self.runs):
            stop = start + self.size()
            yield self.runs[start:stop]
            start = stop


def run_sweep(
    experiment: Experiment,
    *,
    out_dir: Path,
    evaluator: Evaluator | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
    flush_rows: int = 500,
    flush_seconds: float = 10.0,
    command: Sequence[str] | None = None,
) -> SweepOutcome:
    """Evaluate every run of ``experiment`` and write the rows to ``out_dir``.

    Args:
        experiment: A checked experiment (:func:`sim.sweeps.experiment_file.load_experiment`).
        out_dir: The sweep folder.
        evaluator: Where runs execute; defaults to :class:`SerialEvaluator`. It is
            started and closed here.
        resume: Continue the sweep in ``out_dir``: runs already written are skipped.
        force: Delete the sweep already in ``out_dir`` first.
        progress: Show a progress bar (with ETA) on standard error.
        flush_rows: Write a part once this many rows wait.
        flush_seconds: Write a part once the oldest waiting row is this old.
        command: The command line for the manifest; defaults to :data:`sys.argv`.

    Returns:
        What was done; the run table is in ``out_dir/runs.parquet``.

    Raises:
        sim.runs.results.ResultsError: ``out_dir`` holds another sweep, or a sweep and
            neither ``resume`` nor ``force`` was given.
        sim.runs.executors.EvaluatorError: The executor cannot be started.
        sim.runs.folders.FolderLockedError: Another command is writing into ``out_dir``.
    """
    started = time.perf_counter()
    evaluator = evaluator if evaluator is not None else SerialEvaluator()
    out_dir = Path(out_dir)
    with FolderLock(out_dir, command):
        return _sweep_locked(
            experiment,
            out_dir,
            evaluator,
            resume,
            force,
            progress,
            flush_rows,
            flush_seconds,
            command,
            started,
        )


def _sweep_locked(
    experiment: Experiment,
    out_dir: Path,
    evaluator: Evaluator,
    resume: bool,
    force: bool,
    progress: bool,
    flush_rows: int,
    flush_seconds: float,
    command: Sequence[str] | None,
    started: float,
) -> SweepOutcome:
    """The body of :func:`run_sweep`, run while holding the folder's lock."""
    previous = _prepare(out_dir, experiment, force=force, resume=resume)
    sample = experiment.sample()
    out_dir.mkdir(parents=True, exist_ok=True)
    if previous is not None:
        stored = read_samples(out_dir)
        if stored.shape != sample.shape or not np.array_equal(stored, sample):
            raise ResultsError(
                f"{out_dir}: the stored sample differs from this experiment's; "
                "use --force to start again"
            )
    else:
        frame = pd.DataFrame(sample, columns=_sample_columns(experiment, sample))
        frame.insert(0, "point", np.arange(len(frame)))
        atomic_write(out_dir / SAMPLES, lambda tmp: frame.to_parquet(tmp, index=False))
    manifest = _manifest(experiment, sample, evaluator, command, previous)
    write_manifest(out_dir, manifest)

    every = list(experiment.runs(sample))
    done = done_runs(out_dir) if previous is not None else set()
    pending = [run for run in every if run.run_id not in done]
    if done:
        log.info("resuming %s: %d of %d runs already done", out_dir, len(done), len(every))
    _evaluate(
        experiment,
        pending,
        out_dir,
        evaluator,
        progress,
        flush_rows,
        flush_seconds,
        start_part=_next_part(out_dir),
        total=len(every),
    )
    frame = _combine(out_dir, len(every))
    failed_total = int((frame["error"] != "").sum())
    if failed_total:
        log.warning(
            "%d of %d runs failed; their errors are in the 'error' column of %s",
            failed_total,
            len(every),
            out_dir / RUNS,
        )
    recorded = read_checksums(out_dir / "parts") or {}
    checksums = {p.name: recorded.get(p.name, "") for p in _part_files(out_dir)}
    write_manifest(out_dir, {**finish_manifest(manifest, checksums), "failed_runs": failed_total})
    return SweepOutcome(out_dir, len(every), len(done), failed_total, time.perf_counter() - started)


def _sample_columns(experiment: Experiment, sample: np.ndarray) -> list[str]:
    names = list(experiment.names)
    names += [f"dummy_{i}" for i in range(sample.shape[1] - len(names))]  # factorial padding
    return names


def _evaluate(
    experiment: Experiment,
    pending: list[RunSpec],
    out_dir: Path,
    evaluator: Evaluator,
    progress: bool,
    flush_rows: int,
    flush_seconds: float,
    *,
    start_part: int,
    total: int,
) -> None:
    """Evaluate ``pending`` runs, writing their rows in parts as they finish."""
    planner = _ChunkPlanner(pending, largest=max(1, min(256, flush_rows)))
    task = partial(evaluate_chunk, experiment.model, experiment.outputs)
    buffer: list[dict[str, Any]] = []
    part = start_part
    oldest = time.monotonic()

    def flush() -> None:
        nonlocal part, buffer
        if buffer:
            _write_part(out_dir, part, buffer)
            part += 1
            buffer = []

    with tqdm(
        total=total,
        initial=total - len(pending),
        desc=experiment.spec.name,
        unit="run",
        file=sys.stderr,
        disable=not progress,
        smoothing=0.1,
    ) as bar:
        try:
            with evaluator:
                for rows in evaluator.imap_unordered(task, planner):
                    planner.record(rows)
                    if not buffer:
                        oldest = time.monotonic()
                    buffer.extend(rows)
                    bar.update(len(rows))
                    if len(buffer) >= flush_rows or time.monotonic() - oldest >= flush_seconds:
                        flush()
        finally:
            flush()  # whatever finished is kept, even when interrupted
