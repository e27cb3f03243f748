"""The manifest of a results folder: what was run, with what, by whom, and whether it finished."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import sim
from sim.model.mechanisms import random_decisions
from sim.model.schema import Scenario
from sim.runs.files import input_hashes, write_json
from sim.runs.folders import ResultsError

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "build_manifest",
    "finish_manifest",
    "git_state",
    "library_versions",
    "read_manifest",
    "replicate_seed",
    "resolved_scenario",
    "write_manifest",
]

#: Name of the manifest file in a results folder.
MANIFEST = "manifest.json"


#: Manifest format version; raised when the layout changes incompatibly.
FORMAT_VERSION = 1


#: Distributions whose versions the manifest records.
_LIBRARIES = (
    "mesa",
    "numpy",
    "numba",
    "scipy",
    "pandas",
    "pyarrow",
    "networkx",
    "pydantic",
    "matplotlib",
)


def resolved_scenario(scenario: Scenario) -> dict[str, Any]:
    """Return the fully resolved scenario as plain JSON data (lists, not tuples)."""
    from sim.config.scenario import resolved_document

    document: dict[str, Any] = json.loads(json.dumps(resolved_document(scenario)))
    return document


def replicate_seed(seed: int, replicate: int) -> dict[str, Any]:
    """Describe the random streams of one replicate.

    Each decision draws from ``SeedSequence(entropy, spawn_key=(replicate, mechanism,
    decision, ...))``, names entering as their CRC-32 (:mod:`sim.model.streams`).

    Examples:
        >>> replicate_seed(12345, 3)["seed_sequence"]["spawn_key"]
        '(3, crc32(mechanism), crc32(decision), month or part, ...)'
    """
    return {
        "replicate": replicate,
        "seed_sequence": {
            "entropy": seed,
            "spawn_key": f"({replicate}, crc32(mechanism), crc32(decision), month or part, ...)",
        },
        "decisions": [f"{mechanism}.{decision}" for mechanism, decision in random_decisions()],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def git_state() -> dict[str, Any]:
    """Return the commit of the source tree and whether it has uncommitted changes."""
    source = Path(sim.__file__).resolve().parent

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments],
            cwd=source,
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--", "."))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def library_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of Python, the libraries results depend on, and ``extra`` distributions."""
    versions = {"python": platform.python_version()}
    for name in (*_LIBRARIES, *extra):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def build_manifest(
    scenario: Scenario,
    replicates: int,
    *,
    workers: int = 1,
    command: Sequence[str] | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Describe a run about to start, so that it can be repeated and checked.

    Args:
        scenario: The validated scenario.
        replicates: Number of replicates (``0 .. replicates - 1``).
        workers: Worker processes used (results do not depend on it).
        command: The command line; defaults to :data:`sys.argv`.
        previous: The manifest of the run being resumed, whose start time is kept.

    Returns:
        The manifest, with ``complete`` false and no end time yet.
    """
    started = previous.get("started", _now()) if previous else _now()
    resumed = list(previous.get("resumed", [])) + [_now()] if previous else []
    return {
        "format_version": FORMAT_VERSION,
        "scenario_name": scenario.name,
        "scenario": resolved_scenario(scenario),
        "inputs": input_hashes(resolved_scenario(scenario)),
        "seed": scenario.seed,
        "replicates": replicates,
        "replicate_seeds": [replicate_seed(scenario.seed, r) for r in range(replicates)],
        "package_version": sim.__version__,
        "git": git_state(),
        "versions": library_versions(),
        "platform": platform.platform(),
        "command": list(sys.argv if command is None else command),
        "workers": workers,
        "started": started,
        "resumed": resumed,
        "finished": None,
        "complete": False,
    }


def finish_manifest(
    manifest: dict[str, Any], parts: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return ``manifest`` marked complete, with the end time (and the parts' checksums)."""
    finished = {**manifest, "finished": _now(), "complete": True}
    if parts is not None:
        finished["parts"] = parts
    return finished


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` in ``folder`` atomically."""
    write_json(folder / MANIFEST, manifest)


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read ``manifest.json`` of ``folder``.

    Raises:
        ResultsError: There is no readable manifest.
    """
    path = folder / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ResultsError(
            f"{folder} holds no {MANIFEST}: it is not an lhsim results folder"
        ) from None
    except (OSError, ValueError) as error:
        raise ResultsError(f"cannot read {path}: {error}") from error
    return manifest
