"""Dotted paths into plain documents (nested mappings and lists) and their deep merge.

Scenario, experiment and calibration files all name a value by a dotted path
(``countries.0.turnover.annual``); this module is the one place that reads, writes,
lists and merges by such paths. Scenario loading keeps its own merge
(:mod:`sim.config.scenario`) because it also tracks which file each value came from.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["dotted", "get_path", "leaf_paths", "merge", "set_key", "set_path"]


def _step(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node[part]
    if isinstance(node, list):
        return node[int(part)]
    raise KeyError(part)


def get_path(document: Any, path: str) -> Any:
    """Return the value at a dotted ``path`` (list items by index).

    Raises:
        KeyError: The path does not exist.

    Examples:
        >>> get_path({"countries": [{"turnover": {"annual": 0.15}}]}, "countries.0.turnover.annual")
        0.15
        >>> get_path({"a": 1}, "b")
        Traceback (most recent call last):
        ...
        KeyError: 'b'
    """
    node = document
    for part in path.split("."):
        try:
            node = _step(node, part)
        except (KeyError, IndexError, ValueError):
            raise KeyError(path) from None
    return node


def set_path(document: Any, path: str, value: Any) -> None:
    """Set the value at an existing dotted ``path`` of ``document`` in place.

    Raises:
        KeyError: The path does not exist.

    Examples:
        >>> doc = {"countries": [{"seed": 1}]}
        >>> set_path(doc, "countries.0.seed", 2)
        >>> doc
        {'countries': [{'seed': 2}]}
    """
    head, _, last = path.rpartition(".")
    parent = get_path(document, head) if head else document
    if isinstance(parent, dict) and last in parent:
        parent[last] = value
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent[int(last)] = value
    else:
        raise KeyError(path)


def set_key(document: Any, key: str, value: Any) -> None:
    """Set a dotted ``key`` in nested mappings and lists, creating mappings on the way.

    Unlike :func:`set_path`, missing mappings are created, and a ``*`` part applies the
    rest of the key to every item of a list.

    Examples:
        >>> doc = {"countries": [{"name": "A"}, {"name": "B"}]}
        >>> set_key(doc, "countries.*.turnover.annual", 0.1)
        >>> [c["turnover"] for c in doc["countries"]]
        [{'annual': 0.1}, {'annual': 0.1}]
    """
    head, _, rest = key.partition(".")
    if head == "*" and isinstance(document, list):
        for item in document:
            set_key(item, rest, value)
        return
    index: Any = int(head) if isinstance(document, list) else head
    if not rest:
        document[index] = value
        return
    if isinstance(document, dict) and not isinstance(document.get(index), (dict, list)):
        document[index] = {}
    set_key(document[index], rest, value)


def leaf_paths(document: Any, prefix: str = "") -> Iterator[str]:
    """Yield the dotted path of every scalar in ``document``.

    Examples:
        >>> list(leaf_paths({"a": {"b": 1}, "c": [2, 3]}))
        ['a.b', 'c.0', 'c.1']
    """
    if isinstance(document, dict):
        for key, value in document.items():
            yield from leaf_paths(value, f"{prefix}{key}.")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from leaf_paths(value, f"{prefix}{index}.")
    else:
        yield prefix.rstrip(".")


def merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``change`` over ``base`` without changing either.

    Mappings merge key by key; any other value of ``change`` (lists included) replaces.

    Examples:
        >>> merge({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"c": 3}, "d": [2]})
        {'a': {'b': 1, 'c': 3}, 'd': [2]}
    """
    out = dict(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def dotted(loc: Iterable[Any]) -> str:
    """``('countries', 0, 'name')`` as ``countries.0.name``."""
    return ".".join(str(part) for part in loc)
