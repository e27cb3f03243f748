"""Files in a results folder: written atomically, following the umask, and checked by hash.

Inputs are recorded by SHA-256 so a resume can refuse changed inputs; every part written
is logged in ``parts/checksums.tsv`` so a damaged part is found and re-run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "CHECKSUMS",
    "atomic_write",
    "check_parts",
    "file_hash",
    "input_changes",
    "input_hashes",
    "read_checksums",
    "record_checksum",
    "write_json",
    "write_table",
]

#: The log of part checksums in ``parts/``: one ``path<TAB>sha256`` line per part written.
CHECKSUMS = "checksums.tsv"


#: Keys of a scenario document that name a file the run reads.
_INPUT_KEYS = ("facility_file", "edge_file")


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` atomically: ``write`` fills a temporary file that then replaces it.

    The temporary file lies in the same folder as ``path`` (so :func:`os.replace` is a
    rename on one file system) and is removed if ``write`` raises. The file gets the
    permissions the umask gives a new file (``0o666 & ~umask``), like any other.

    Args:
        path: The final file name.
        write: Called with the temporary path; must write the whole file there.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would: mkstemp makes it 0600
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as indented JSON, atomically (NaN is refused)."""
    text = json.dumps(document, indent=2, sort_keys=False, allow_nan=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as CSV or Parquet (by the file's suffix), atomically."""
    if path.suffix == ".csv":
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
    else:
        atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex (``"missing"`` if it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return "missing"
    return digest.hexdigest()


def input_hashes(document: Any, extra: Iterable[str | Path] = ()) -> dict[str, str]:
    """The SHA-256 of every file a document reads, by path.

    The files are the ``facility_file`` and ``edge_file`` of every country, a
    ``posterior``'s ``samples`` and the ``extra`` files (an experiment or calibration
    file and its data). A resumed run compares them with :func:`input_changes`.

    Examples:
        >>> input_hashes({"countries": [{"facility_file": None}]})
        {}
    """
    found: list[str] = [str(path) for path in extra]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _INPUT_KEYS and isinstance(value, str):
                    found.append(value)
                elif key == "posterior" and isinstance(value, dict):
                    samples = value.get("samples")
                    if isinstance(samples, str):
                        found.append(samples)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
    return {path: file_hash(Path(path)) for path in sorted(set(found))}


def input_changes(recorded: Any, now: dict[str, str]) -> list[str]:
    """Describe how the input files differ from the hashes a manifest recorded."""
    if not isinstance(recorded, dict):
        return []
    changes = []
    for path in sorted(set(recorded) | set(now)):
        then, current = recorded.get(path), now.get(path)
        if then == current:
            continue
        if then is None:
            changes.append(f"{path} is read now but was not when the run started")
        elif current is None:
            changes.append(f"{path} was read when the run started but is not now")
        elif current == "missing":
            changes.append(f"{path} is gone or unreadable since the run started")
        else:
            changes.append(
                f"{path} changed since the run started "
                f"(SHA-256 {str(then)[:12]}... then, {current[:12]}... now)"
            )
    return changes


def record_checksum(root: Path, path: Path) -> None:
    """Append the SHA-256 of the part ``path`` to the checksum log in ``root``."""
    line = f"{path.relative_to(root).as_posix()}\t{file_hash(path)}\n"
    descriptor = os.open(root / CHECKSUMS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(descriptor, line.encode("utf-8"))
    finally:
        os.close(descriptor)


def read_checksums(root: Path) -> dict[str, str] | None:
    """The checksums recorded in ``root`` (the last line of a part wins); ``None`` if no log.

    A line cut short by a kill is ignored, so its part counts as unrecorded.
    """
    try:
        text = (root / CHECKSUMS).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    checksums: dict[str, str] = {}
    for line in text.split("\n")[:-1]:  # the last piece lacks its newline if cut short
        name, _, digest = line.partition("\t")
        if len(digest) == 64:
            checksums[name] = digest
    return checksums


def _part_is_sound(path: Path, checksums: dict[str, str] | None, root: Path) -> str | None:
    """Why the part ``path`` cannot be trusted, or ``None`` if it can."""
    if checksums is not None:
        expected = checksums.get(path.relative_to(root).as_posix())
        if expected is None:
            return "it is not in the checksum log (written by something else)"
        if file_hash(path) != expected:
            return "its contents differ from the checksum recorded when it was written"
        return None
    try:  # a folder from before checksums: at least the file must be readable Parquet
        import pyarrow.parquet as pq

        pq.read_metadata(path)
    except Exception as error:  # pyarrow raises several types for a damaged file
        return f"it cannot be read ({type(error).__name__})"
    return None


def check_parts(root: Path, paths: Iterable[Path]) -> dict[Path, str]:
    """The parts among ``paths`` that are damaged, changed or foreign, with the reason."""
    checksums = read_checksums(root)
    found = {}
    for path in paths:
        reason = _part_is_sound(path, checksums, root)
        if reason is not None:
            found[path] = reason
    return found
