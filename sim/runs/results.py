"""The results folder: per-replicate parts, combined tables, the manifest, reading back.

A results folder looks like this::

    results/<scenario name>/
        manifest.json            what was run, with what, by whom, and whether it finished
        parts/<table>/r00003.parquet   one file per replicate and table, written as it ends
        timeseries.parquet       one row per replicate and month (world level)
        countries.parquet        one row per replicate, month and country
        practices.parquet        one row per replicate, month and practice
        time_to_scale.csv        one row per replicate and practice
        decisions.csv            one row per decision an organisation took
        milestones.csv           one row per replicate and practice: the life of a practice
        summary.csv              one row per replicate
        figures/                 written by :func:`sim.reporting.plots.write_figures`

Every file is written atomically: to a temporary file in the same folder, then moved
into place with :func:`os.replace`, so a crash never leaves a half-written file under a
final name (:mod:`sim.runs.files`, which also keeps the hashes a resume checks). The
manifest is :mod:`sim.runs.manifest`. Reports and figures are rebuilt from the folder with
:func:`read_results`, without re-running anything.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.model.schema import Scenario
from sim.runs.files import (
    atomic_write,
    check_parts,
    file_hash,
    input_changes,
    input_hashes,
    read_checksums,
    record_checksum,
    write_table,
)
from sim.runs.folders import ResultsError, mark_folder, start_fresh
from sim.runs.manifest import (
    MANIFEST,
    build_manifest,
    finish_manifest,
    git_state,
    library_versions,
    read_manifest,
    replicate_seed,
    resolved_scenario,
    write_manifest,
)
from sim.runs.simulation import ReplicateResult, decision_table

__all__ = [
    "FINAL_FILES",
    "MANIFEST",
    "RUN_FILES",
    "TABLES",
    "Results",
    "ResultsError",
    "atomic_write",
    "build_manifest",
    "check_parts",
    "combine_parts",
    "completed_replicates",
    "drop_damaged_parts",
    "default_folder",
    "document_differences",
    "finish_manifest",
    "file_hash",
    "git_state",
    "input_changes",
    "input_hashes",
    "library_versions",
    "read_checksums",
    "record_checksum",
    "prepare_folder",
    "read_manifest",
    "read_results",
    "replicate_seed",
    "resolved_scenario",
    "write_manifest",
    "write_replicate",
]

log = logging.getLogger(__name__)

#: The tables every replicate produces, in the order they are written.
TABLES: tuple[str, ...] = (
    "timeseries",
    "countries",
    "practices",
    "time_to_scale",
    "decisions",
    "milestones",
    "summary",
)
#: The combined file of each table.
FINAL_FILES: dict[str, str] = {
    "timeseries": "timeseries.parquet",
    "countries": "countries.parquet",
    "practices": "practices.parquet",
    "time_to_scale": "time_to_scale.csv",
    "decisions": "decisions.csv",
    "milestones": "milestones.csv",
    "summary": "summary.csv",
}
#: Tables a folder written by an earlier version may lack (read back as empty tables).
_OPTIONAL = {
    "decisions": lambda: decision_table([]).assign(replicate=pd.Series(dtype="int64")),
    "milestones": lambda: pd.DataFrame(
        {"replicate": pd.Series(dtype="int64"), "practice": pd.Series(dtype=str)}
    ),
}
_PART = re.compile(r"^r(\d{5,})\.parquet$")
#: What a run writes into its folder (relative paths, ``*`` within one name): all that
#: ``--force`` removes.
RUN_FILES: tuple[str, ...] = (
    MANIFEST,
    *FINAL_FILES.values(),
    "parts/*/r*.parquet",
    "parts/*/.*.tmp",
    "parts/checksums.tsv",
    "figures/*.png",
    "figures/.*.tmp",
    ".*.tmp",
)


@dataclass
class Results:
    """Everything a finished run wrote, read back from its folder.

    Attributes:
        folder: The results folder.
        manifest: The parsed ``manifest.json``.
        timeseries: One row per (``replicate``, ``month``), world-level outputs.
        countries: One row per (``replicate``, ``month``, ``country``).
        practices: One row per (``replicate``, ``month``, ``practice``), with ``coverage``.
        time_to_scale: One row per (``replicate``, ``practice``).
        summary: One row per ``replicate``: ``qoc_final``, the ``lost_*`` ledger, ...
        decisions: One row per (``replicate``, decision) an organisation took.
        milestones: One row per (``replicate``, ``practice``): the first month of each
            milestone of its life (:mod:`sim.model.milestones`).
    """

    folder: Path
    manifest: dict[str, Any]
    timeseries: pd.DataFrame
    countries: pd.DataFrame
    practices: pd.DataFrame
    time_to_scale: pd.DataFrame
    summary: pd.DataFrame
    decisions: pd.DataFrame
    milestones: pd.DataFrame


# --------------------------------------------------------------------------- the folder
def default_folder(scenario: Scenario, root: Path = Path("results")) -> Path:
    """Return the default results folder of ``scenario``: ``results/<scenario name>/``.

    Characters that are unsafe in a folder name become ``_``.

    Examples:
        >>> from sim.model.schema import Country, Scenario
        >>> default_folder(Scenario(name="Country I", countries=[Country(name="I")])).as_posix()
        'results/Country_I'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", scenario.name).strip("._") or "scenario"
    return root / safe


def prepare_folder(
    folder: Path, scenario: Scenario, *, force: bool = False, resume: bool = False
) -> dict[str, Any] | None:
    """Make ``folder`` ready for a run of ``scenario``; never overwrite results silently.

    An absent or empty folder is simply used (and marked as lhsim's, see
    :mod:`sim.runs.folders`). A folder holding results is replaced only with ``force``,
    and only if lhsim made it: then only the files a run writes (:data:`RUN_FILES`) are
    removed, never anything else. It is continued only with ``resume``, and only if its
    manifest records the same resolved scenario and seed. The caller holds the folder's
    lock (:class:`sim.runs.folders.FolderLock`).

    Args:
        folder: The results folder.
        scenario: The scenario about to run.
        force: Delete an existing results folder first.
        resume: Keep an existing results folder of the same scenario to continue it.

    Returns:
        The manifest found when resuming an existing run, else ``None``.

    Raises:
        ResultsError: The folder holds results and neither ``force`` nor ``resume`` was
            given; ``force`` and ``resume`` were both given; the folder is not a results
            folder; or, with ``resume``, it holds results of a different scenario or seed.
    """
    if start_fresh(folder, "run", RUN_FILES, force=force, resume=resume):
        return None
    if not (folder / MANIFEST).is_file():
        raise ResultsError(
            f"{folder} is not empty and holds no {MANIFEST}, so it does not look like an lhsim "
            "results folder; it is left untouched: choose another --out or empty it yourself"
        )
    if not resume:
        raise ResultsError(
            f"{folder} already holds results; use --force to replace them "
            "or --resume to continue that run"
        )
    manifest = read_manifest(folder)
    wanted = resolved_scenario(scenario)
    differences = document_differences(manifest.get("scenario"), wanted)
    if differences or manifest.get("seed") != scenario.seed:
        if manifest.get("seed") != scenario.seed:
            differences.insert(0, f"seed ({manifest.get('seed')} there, {scenario.seed} now)")
        shown = ", ".join(differences[:5]) + (" ..." if len(differences) > 5 else "")
        raise ResultsError(
            f"{folder} holds results of a different scenario (differs in: {shown}); "
            "use --force to replace them or choose another --out"
        )
    changes = input_changes(manifest.get("inputs"), input_hashes(wanted))
    if changes:
        raise ResultsError(
            f"{folder} cannot be resumed: its input files changed, so old and new "
            "replicates would not be comparable: "
            + "; ".join(changes[:5])
            + (" ..." if len(changes) > 5 else "")
            + "; restore the files, or use --force to start again"
        )
    then, now = manifest.get("git", {}).get("commit"), git_state()["commit"]
    if then != now:
        log.warning(
            "%s was started with source commit %s, this is %s; the combined results mix both",
            folder,
            then,
            now,
        )
    for stray in (folder / "parts").glob("*/.*.tmp"):
        stray.unlink(missing_ok=True)
    mark_folder(folder, "run")
    return manifest


def document_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """List the dotted keys where two JSON documents differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            found += document_differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found += document_differences(a, b, f"{prefix}{index}.")
        return found
    return [] if old == new else [prefix.rstrip(".") or "<whole scenario>"]


# --------------------------------------------------------------------------- parts
def _part(folder: Path, table: str, replicate: int) -> Path:
    return folder / "parts" / table / f"r{replicate:05d}.parquet"


def _tables_of(result: ReplicateResult, replicate: int) -> dict[str, pd.DataFrame]:
    """The tables of one replicate, each with a leading ``replicate`` column."""
    frames = {
        "timeseries": result.timeseries,
        "countries": result.countries,
        "practices": result.practices,
        "time_to_scale": result.time_to_scale,
        "decisions": result.decisions,
        "milestones": result.milestones,
        "summary": pd.DataFrame([dict(result.summary)]),
    }
    tables = {}
    for name, frame in frames.items():
        frame = frame.reset_index(drop=True).drop(columns="replicate", errors="ignore")
        frame.insert(0, "replicate", pd.Series(replicate, index=frame.index, dtype="int64"))
        tables[name] = frame
    return tables


def write_replicate(folder: Path, replicate: int, result: ReplicateResult) -> None:
    """Write the parts of one finished replicate, each file atomically.

    The summary is written last; a replicate counts as complete once all its parts exist.
    """
    for name, frame in _tables_of(result, replicate).items():
        path = _part(folder, name, replicate)
        write_table(path, frame)
        record_checksum(folder / "parts", path)


def drop_damaged_parts(folder: Path) -> list[int]:
    """Remove every part of a replicate whose part is damaged, changed or foreign.

    A part must match the checksum recorded when it was written (a part truncated, emptied
    or copied over another does not). The replicates concerned are logged and returned;
    they count as unfinished, so a resumed run runs them again.
    """
    root = folder / "parts"
    paths = [p for table in TABLES for p in sorted((root / table).glob("r*.parquet"))]
    damaged = check_parts(root, paths)
    replicates: set[int] = set()
    for path, reason in damaged.items():
        match = _PART.match(path.name)
        if match:
            replicates.add(int(match.group(1)))
        log.warning("%s cannot be trusted: %s; its replicate is run again", path, reason)
    for replicate in sorted(replicates):
        for table in TABLES:
            _part(folder, table, replicate).unlink(missing_ok=True)
    return sorted(replicates)


def completed_replicates(folder: Path) -> set[int]:
    """Return the replicates of ``folder`` whose parts all exist."""
    done: set[int] | None = None
    for table in TABLES:
        found = set()
        directory = folder / "parts" / table
        if directory.is_dir():
            for path in directory.iterdir():
                match = _PART.match(path.name)
                if match:
                    found.add(int(match.group(1)))
        done = found if done is None else done & found
    return done or set()


def _concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = list(frames)
    kept = [f for f in frames if not f.empty] or frames[:1]
    return pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0].reset_index(drop=True)


def combine_parts(folder: Path, replicates: int) -> None:
    """Combine the parts of replicates ``0 .. replicates - 1`` into the final files.

    Parts are read in replicate order, so the files do not depend on the order in which
    replicates finished.

    Raises:
        ResultsError: A replicate's parts are missing.
    """
    missing = sorted(set(range(replicates)) - completed_replicates(folder))
    if missing:
        raise ResultsError(f"{folder}: replicates {missing} have not finished; use --resume")
    combined = {}
    for table in TABLES:
        frames = []
        for replicate in range(replicates):
            path = _part(folder, table, replicate)
            try:
                frames.append(pd.read_parquet(path))
            except Exception as error:  # pyarrow raises several types for a damaged file
                raise ResultsError(
                    f"{path} cannot be read ({type(error).__name__}); run the same command "
                    "with --resume to run its replicate again"
                ) from None
        combined[table] = _concat(frames)
    for table, frame in combined.items():  # only once every part has been read
        write_table(folder / FINAL_FILES[table], frame)


# --------------------------------------------------------------------------- reading
def read_results(folder: Path) -> Results:
    """Read a finished run back from its folder.

    Raises:
        ResultsError: The folder is not a results folder or its run did not finish.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    missing = [
        name
        for table, name in FINAL_FILES.items()
        if table not in _OPTIONAL and not (folder / name).is_file()
    ]
    if not manifest.get("complete") or missing:
        raise ResultsError(
            f"the run in {folder} did not finish; continue it with "
            "'lhsim run SCENARIO --resume' using the same scenario and --out"
        )
    tables: dict[str, pd.DataFrame] = {}
    for table, name in FINAL_FILES.items():
        path = folder / name
        if table in _OPTIONAL and not path.is_file():
            tables[table] = _OPTIONAL[table]()
            continue
        tables[table] = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    return Results(folder=folder, manifest=manifest, **tables)
