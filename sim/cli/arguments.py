"""The command line's argument types: every number ranged, addresses and file names checked.

argparse turns the ``ArgumentTypeError`` these raise into a usage message and exit code 2.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "MAX_DPI",
    "MAX_FPS",
    "MAX_MONTHS",
    "MAX_REPLICATES",
    "MAX_SEED",
    "MAX_WORKERS",
    "animation_file",
    "is_loopback",
    "pixel_size",
    "positive_int",
    "replicates_int",
    "scheduler_address",
    "seed_int",
    "whole_number",
    "workers_int",
]

#: Ranges of the command line's numbers (every number it takes is ranged).
MAX_REPLICATES = 100_000  # as a scenario's replicates
MAX_WORKERS = 256
MAX_MONTHS = 1200  # as a scenario's months
MAX_FPS = 60
MAX_DPI = 600
MAX_SEED = 2**63 - 1


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """Argument type: a whole number from ``low`` to ``high``.

    Examples:
        >>> whole_number(1, 65535)("8765")
        8765
        >>> whole_number(1, 65535)("70000")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: must be between 1 and 65,535, got 70,000
    """

    def parse(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""), 10)
        except ValueError:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise argparse.ArgumentTypeError(f"expected a whole number, got {shown!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be between {low:,} and {high:,}, got {value:,}"
                if abs(value) < 10**30
                else f"must be between {low:,} and {high:,}"
            )
        return value

    parse.__name__ = "whole number"  # argparse names the type in some messages
    return parse


positive_int = whole_number(1, 1_000_000)
"""Argument type: a whole number from 1 to a million (counts without a tighter range)."""

seed_int = whole_number(0, MAX_SEED)
"""Argument type: a seed, 0 to 2**63 - 1 (as a scenario's seed)."""

replicates_int = whole_number(1, MAX_REPLICATES)
"""Argument type: a number of replicates."""

workers_int = whole_number(1, MAX_WORKERS)
"""Argument type: a number of worker processes."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (reachable from this computer only).

    Examples:
        >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "10.1.2.3")]
        [True, True, True, False, False]
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def scheduler_address(text: str) -> str:
    """Argument type: a Dask scheduler address (``tcp://host:8786``)."""
    from sim.runs.executors import EvaluatorError, check_scheduler_address

    try:
        return check_scheduler_address(text)
    except EvaluatorError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def animation_file(text: str) -> Path:
    """Argument type: a .gif or .mp4 file name."""
    path = Path(text)
    if path.suffix.lower() not in (".gif", ".mp4"):
        raise argparse.ArgumentTypeError(f"expected a .gif or .mp4 file name, got {text!r}")
    return path


def pixel_size(text: str) -> tuple[int, int]:
    """``1920x1080`` as (1920, 1080); each side from 64 to 7680 pixels."""
    parts = text.lower().split("x")
    if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
        width, height = (int(p) for p in parts)
        if 64 <= width <= 7680 and 64 <= height <= 7680:
            return width, height
    raise argparse.ArgumentTypeError(
        f"expected a size in pixels such as 1920x1080 (64 to 7680 a side), got {text!r}"
    )
