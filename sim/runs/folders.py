"""Folders lhsim writes into: the marker that says lhsim made one, its lock, its clean-up.

Every results folder (a run, a sweep, a calibration) holds two small files of lhsim's
own beside its results:

``.lhsim-folder``
    The marker, written when lhsim starts writing into the folder. It names the kind of
    folder (``run``, ``sweep`` or ``calibration``). ``--force`` replaces results only in a
    folder that holds it, and then removes only the files that lhsim itself writes there
    (:func:`clear_folder`): a folder lhsim did not make, or a file it did not write, is
    never deleted.
``.lhsim.lock``
    The lock (:class:`FolderLock`), held while a command writes into the folder: an
    exclusive ``flock`` on the file, which records the owner's process id, host, start time
    and command. A second writer is refused with :class:`FolderLockedError` naming the
    owner. The operating system releases the lock when its owner ends, even when killed,
    so a lock file left behind by a killed run is stale and is simply taken over.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import logging
import os
import socket
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sim.errors import SimError

__all__ = [
    "LOCK",
    "MARKER",
    "FolderLock",
    "FolderLockedError",
    "ResultsError",
    "clear_folder",
    "folder_kind",
    "is_empty",
    "make_folder",
    "mark_folder",
    "owned_entries",
    "start_fresh",
]

log = logging.getLogger(__name__)

#: The marker file of a folder lhsim made.
MARKER = ".lhsim-folder"
#: The lock file of a folder being written.
LOCK = ".lhsim.lock"
_OWN = (MARKER, LOCK)


class ResultsError(SimError):
    """A results folder cannot be used as asked (would be overwritten, is incomplete...)."""


class FolderLockedError(ResultsError):
    """Another lhsim command is writing into the folder."""


def is_empty(folder: Path) -> bool:
    """Whether ``folder`` is absent or holds nothing but lhsim's marker and lock."""
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    return all(entry.name in _OWN for entry in folder.iterdir())


def make_folder(folder: Path) -> None:
    """Create ``folder`` and its parents, or say clearly why it cannot be.

    Raises:
        ResultsError: ``folder`` or one of its parents is a file, or it cannot be created.
    """
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            if not path.is_dir():
                raise ResultsError(f"{path} exists and is not a folder; choose another --out")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ResultsError(
            f"cannot create the folder {folder}: {error.strerror or error}; choose another --out"
        ) from None


def start_fresh(
    folder: Path, kind: str, files: Iterable[str], *, force: bool, resume: bool
) -> bool:
    """The opening every writer shares: whether ``folder`` is ready for a fresh start.

    True when it was empty (it is then marked as a ``kind`` folder) or ``force`` cleared
    what lhsim wrote there (``files``); False when it holds results the caller must resume
    or refuse.

    Raises:
        ResultsError: ``force`` and ``resume`` were both given; ``folder`` is a file; or
            ``force`` was given for a folder lhsim did not make.
    """
    if force and resume:
        raise ResultsError("choose either --force (start again) or --resume (continue), not both")
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"{folder} exists and is not a folder; choose another --out")
    if is_empty(folder):
        mark_folder(folder, kind)
        return True
    if force:
        clear_folder(folder, kind, files)
        return True
    return False


def mark_folder(folder: Path, kind: str) -> None:
    """Create ``folder`` if needed and write its marker (kind ``run``, ``sweep``...)."""
    make_folder(folder)
    marker = folder / MARKER
    if folder_kind(folder) == kind:
        return
    text = json.dumps({"kind": kind, "made_by": "lhsim"}) + "\n"
    marker.write_text(text, encoding="utf-8")


def folder_kind(folder: Path) -> str | None:
    """The kind written in the marker of ``folder``, or ``None`` if it has none."""
    try:
        document = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = document.get("kind") if isinstance(document, dict) else None
    return kind if isinstance(kind, str) else None


def owned_entries(folder: Path, patterns: Iterable[str]) -> list[Path]:
    """The files under ``folder`` whose relative paths match one of ``patterns``.

    Patterns are matched component by component (``parts/*/r*.parquet``), so ``*`` never
    crosses a ``/``. Symbolic links are listed as links, never followed.
    """
    found: list[Path] = []
    for pattern in patterns:
        found.extend(_match(folder, pattern.split("/")))
    return sorted(set(found))


def _match(base: Path, parts: list[str]) -> list[Path]:
    if not base.is_dir() or base.is_symlink():
        return []
    head, rest = parts[0], parts[1:]
    found = []
    for entry in base.iterdir():
        if not fnmatch.fnmatchcase(entry.name, head):
            continue
        if rest:
            found.extend(_match(entry, rest))
        elif entry.is_file() or entry.is_symlink():
            found.append(entry)
    return found


def clear_folder(folder: Path, kind: str, patterns: Iterable[str]) -> list[Path]:
    """Remove what lhsim wrote into ``folder`` (``--force``), and nothing else.

    Args:
        folder: A folder holding lhsim's marker of ``kind``.
        kind: The kind of folder the command writes (``run``, ``sweep``, ``calibration``).
        patterns: The relative paths (with ``*``) of the files the command writes.

    Returns:
        The entries left in the folder because lhsim did not write them (they are logged).

    Raises:
        ResultsError: The folder holds no marker, or one of another kind.
    """
    from sim.runs.results import ResultsError

    found = folder_kind(folder)
    if found is None:
        raise ResultsError(
            f"{folder} was not made by lhsim (it holds no {MARKER} marker), so --force "
            "leaves it untouched: choose another --out, or empty it yourself"
        )
    if found != kind:
        raise ResultsError(
            f"{folder} holds the results of a {found}, not of a {kind}; --force leaves it "
            "untouched: choose another --out"
        )
    removed = owned_entries(folder, patterns)
    for path in removed:
        path.unlink(missing_ok=True)
    for directory in sorted({p.parent for p in removed}, key=lambda p: -len(p.parts)):
        while directory != folder and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
            directory = directory.parent
    left = [entry for entry in folder.iterdir() if entry.name not in _OWN]
    if left:
        log.warning(
            "--force removed %d files lhsim wrote in %s and left %d entries it did not write (%s)",
            len(removed),
            folder,
            len(left),
            ", ".join(sorted(e.name for e in left)[:5]),
        )
    else:
        log.info("--force removed %d files lhsim wrote in %s", len(removed), folder)
    return left


# --------------------------------------------------------------------------- the lock
class FolderLock:
    """An exclusive lock on a folder for one writer; a context manager.

    The lock is an ``flock`` on ``FOLDER/.lhsim.lock``, which also records who holds it.
    Held by another process (on this host or, on a shared file system, another one), it
    raises :class:`FolderLockedError` naming the owner. A lock file whose owner has ended
    holds no ``flock`` any more: it is stale, and is taken over with a note in the log.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> with FolderLock(folder):
        ...     FolderLock(folder).acquire()
        Traceback (most recent call last):
        ...
        sim.runs.folders.FolderLockedError: ...
    """

    def __init__(self, folder: Path, command: Iterable[str] | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.command = list(sys.argv if command is None else command)
        self._fd: int | None = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, creating the folder if needed.

        Raises:
            FolderLockedError: Another writer holds it.
        """
        make_folder(self.folder)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                raise FolderLockedError(
                    f"{self.folder} is being written by another lhsim command "
                    f"({_describe(owner)}); wait for it to finish or choose another --out"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder removed the file as we opened it: try again
        stale = _read_owner(fd)
        if stale:
            log.warning(
                "taking over a stale lock on %s (%s, no longer running)",
                self.folder,
                _describe(stale),
            )
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": self.command,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(owner) + "\n").encode("utf-8"), 0)
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file and release the lock (nothing if not held)."""
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None


def _read_owner(fd: int) -> dict[str, Any]:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace")
        owner = json.loads(text) if text.strip() else {}
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _describe(owner: dict[str, Any]) -> str:
    if not owner:
        return "owner unknown"
    command = " ".join(str(part) for part in owner.get("command", []))[:120]
    return (
        f"process {owner.get('pid', '?')} on host {owner.get('host', '?')}, "
        f"since {owner.get('started', '?')}" + (f": {command}" if command else "")
    )
