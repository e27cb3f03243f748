"""YAML files that remember where each value came from.

Scenario files are read with :func:`sim.config.yaml_reader.read_yaml` (safe loading with
limits, repeated keys reported), wrapped so that every mapping key and list item
remembers the file that set it (:class:`TrackedMapping`, :class:`TrackedList`), and
merged along their ``extends`` chain (:func:`load_chain`). A :class:`Document` then
names, for any dotted key, the file a problem should point to. The plain deep merge for
untracked data is :func:`sim.config.paths.merge`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.config.paths import dotted
from sim.config.yaml_reader import read_yaml, shows_contents
from sim.errors import Problem, ScenarioError

__all__ = [
    "COUNTRY_DEFAULTS",
    "EXTENDS",
    "NEW_COUNTRY",
    "Document",
    "TrackedList",
    "TrackedMapping",
    "has",
    "load_chain",
    "lookup",
    "merge_tracked",
    "origin_of",
    "plain",
    "tag_origins",
]

EXTENDS = "extends"
"""Top-level key naming the base scenario file a file changes."""


NEW_COUNTRY = "new_country"
"""Key of a country item in a changes file that adds a country the base does not have."""

COUNTRY_DEFAULTS = "country_defaults"
"""Top-level key of a mapping merged under every country."""


_ABSENT = object()


class TrackedMapping(dict[Any, Any]):
    """A YAML mapping that remembers the file that set each of its keys."""

    def __init__(
        self, items: Iterable[tuple[Any, Any]] = (), origins: dict[Any, str] | None = None
    ):
        super().__init__(items)
        self.origins: dict[Any, str] = dict(origins or {})

    def put(self, key: Any, value: Any, origin: str) -> None:
        """Set ``key`` to ``value`` and remember that ``origin`` set it."""
        self[key] = value
        self.origins[key] = origin

    def drop(self, key: Any) -> tuple[Any, str | None]:
        """Remove ``key``; return its value and origin (``None`` for both if absent)."""
        return self.pop(key, None), self.origins.pop(key, None)


class TrackedList(list[Any]):
    """A YAML list that remembers the file that set each of its items."""

    def __init__(self, items: Iterable[Any] = (), origins: Iterable[str] = ()):
        super().__init__(items)
        self.origins: list[str] = list(origins)


def tag_origins(value: Any, file: str) -> Any:
    """Wrap the mappings and lists of parsed YAML so they remember ``file``."""
    if isinstance(value, dict):
        items = ((k, tag_origins(v, file)) for k, v in value.items())
        return TrackedMapping(items, dict.fromkeys(value, file))
    if isinstance(value, list):
        return TrackedList((tag_origins(v, file) for v in value), [file] * len(value))
    return value


def plain(value: Any) -> Any:
    """Undo :func:`tag_origins` (for values shown in problems)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass
class Document:
    """The merged scenario data, and what is needed to say where each key was set."""

    data: TrackedMapping
    top: str
    defaults: TrackedMapping | None = None
    defaults_origin: str = ""
    own_countries: list[Any] = field(default_factory=list)

    def locate(self, loc: Sequence[Any]) -> tuple[str, str]:
        """The file that set the key at ``loc`` and its dotted name.

        A country key that only ``country_defaults`` set is named there (say,
        ``country_defaults.turnover.annual``), so a bad default is reported once, in the
        file that holds it, rather than once per country.
        """
        if (
            self.defaults is not None
            and len(loc) > 2
            and loc[0] == "countries"
            and isinstance(loc[1], int)
            and 0 <= loc[1] < len(self.own_countries)
        ):
            rest = tuple(loc[2:])
            if has(self.defaults, rest) and not has(self.own_countries[loc[1]], rest):
                origin = origin_of(self.defaults, rest, self.defaults_origin or self.top)
                return origin, dotted((COUNTRY_DEFAULTS, *rest))
        return origin_of(self.data, loc, self.top), dotted(loc)


def has(node: Any, loc: Sequence[Any]) -> bool:
    """Whether the key path ``loc`` exists in ``node``."""
    return lookup(node, loc, _ABSENT) is not _ABSENT


def origin_of(document: Any, loc: Sequence[Any], fallback: str) -> str:
    """The file that set the deepest existing key along ``loc`` (``fallback`` if none)."""
    origin, node = fallback, document
    for part in loc:
        if isinstance(node, TrackedMapping) and part in node:
            origin = node.origins.get(part, origin)
            node = node[part]
        elif isinstance(node, TrackedList) and isinstance(part, int) and 0 <= part < len(node):
            origin = node.origins[part]
            node = node[part]
        else:
            break
    return origin


def lookup(document: Any, loc: Sequence[Any], default: Any = None) -> Any:
    """The value at the key path ``loc`` (``default`` when the path does not exist)."""
    node = document
    for part in loc:
        in_mapping = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_mapping or in_list):
            return default
        node = node[part]
    return node


def merge_tracked(base: Any, child: Any, path: tuple[Any, ...] = ()) -> Any:
    """Deep-merge ``child`` over ``base`` without changing either.

    Mappings merge key by key; the top-level ``countries`` list merges item by item on
    ``name``; anything else in ``child`` replaces ``base``.
    """
    if isinstance(base, TrackedMapping) and isinstance(child, TrackedMapping):
        merged = TrackedMapping(base.items(), base.origins)
        for key, value in child.items():
            origin = child.origins[key]
            if key in merged:
                merged.put(key, merge_tracked(merged[key], value, (*path, key)), origin)
            else:
                merged.put(key, value, origin)
        return merged
    if path == ("countries",) and isinstance(base, TrackedList) and isinstance(child, TrackedList):
        return _merge_countries(base, child)
    return child


def _merge_countries(base: TrackedList, child: TrackedList) -> TrackedList:
    """Merge country lists: same ``name`` merges into the base item; new names append."""
    merged = TrackedList(base, base.origins)
    unmatched = list(range(len(base)))
    for item, origin in zip(child, child.origins, strict=True):
        name = item.get("name") if isinstance(item, dict) else None
        match = next(
            (i for i in unmatched if isinstance(base[i], dict) and base[i].get("name") == name),
            None,
        )
        if name is None or match is None:
            merged.append(item)
            merged.origins.append(origin)
            continue
        unmatched.remove(match)
        merged[match] = merge_tracked(base[match], item, ("countries", match))
        merged.origins[match] = origin
    return merged


def load_chain(
    path: Path, shown: str, chain: list[tuple[Path, str]]
) -> tuple[TrackedMapping, list[Problem]]:
    """Read ``path`` and the ``extends`` chain under it; return the merged document."""
    data, problems = read_yaml(path, shown)
    if data is None:
        raise ScenarioError(
            problems
            + [Problem(shown, "", None, "file is empty", "add at least name: and countries:")]
        )
    if not isinstance(data, dict):
        raise ScenarioError(
            problems
            + [
                Problem(
                    shown,
                    "",
                    plain(data) if shows_contents(path) else None,
                    f"the file must hold a mapping of keys, not a {type(data).__name__}",
                    "start with lines like 'name: my scenario' and 'countries:'",
                )
            ]
        )
    try:
        document: TrackedMapping = tag_origins(data, shown)
    except RecursionError:
        problem = Problem(
            shown, "", None, "an alias refers to itself", "remove the loop of aliases"
        )
        raise ScenarioError([*problems, problem]) from None
    reference, _ = document.drop(EXTENDS)
    if reference is None:
        return document, problems
    if not isinstance(reference, str) or not reference.strip():
        problem = Problem(
            shown, EXTENDS, plain(reference), "extends must name a file", "e.g. extends: base.yaml"
        )
        raise ScenarioError([*problems, problem])
    if not shows_contents(Path(reference)):
        problem = Problem(
            shown,
            EXTENDS,
            reference,
            "extends must name a .yaml or .yml scenario file",
            "e.g. extends: base.yaml",
        )
        raise ScenarioError([*problems, problem])
    base_path = path.parent / Path(reference).expanduser()
    base_shown = os.path.normpath(base_path)
    here = [*chain, (path, shown)]
    if any(_same_file(base_path, earlier) for earlier, _ in here):
        loop = " -> ".join([*(name for _, name in here), base_shown])
        problem = Problem(
            shown,
            EXTENDS,
            reference,
            f"extends loops back to a file already in the chain: {loop}",
            "remove or change one extends so that the chain ends at a file without extends",
        )
        raise ScenarioError([*problems, problem])
    if not base_path.is_file():
        problem = Problem(
            shown,
            EXTENDS,
            reference,
            f"base file not found: {base_shown}",
            f"paths in extends are read from the folder of {shown}",
        )
        raise ScenarioError([*problems, problem])
    try:
        base, base_problems = load_chain(base_path, base_shown, here)
    except ScenarioError as error:
        raise ScenarioError([*problems, *error.problems]) from None
    problems += _new_country_problems(base, document, shown, base_shown)
    return merge_tracked(base, document), base_problems + problems


def _new_country_problems(
    base: TrackedMapping, child: TrackedMapping, shown: str, base_shown: str
) -> list[Problem]:
    """A country a changes file names must exist in its base, unless it says it is new.

    Without this check a misspelt name would add a second, default country. Each item
    of the changes file's ``countries`` is checked; ``new_country: true`` (removed
    here) says the item adds a country on purpose.
    """
    countries, known_list = child.get("countries"), base.get("countries")
    if not isinstance(countries, list):
        return []
    names = [c.get("name") for c in known_list or () if isinstance(c, dict)]
    known: list[str] = [name for name in names if isinstance(name, str)]
    problems = []
    for index, item in enumerate(countries):
        if not isinstance(item, TrackedMapping):
            continue
        new, _ = item.drop(NEW_COUNTRY)
        name = item.get("name")
        if new is True or not isinstance(name, str) or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append(
            Problem(
                shown,
                f"countries.{index}.name",
                name,
                f"no country of that name in the base file {base_shown} "
                f"(it has {', '.join(repr(k) for k in known) or 'none'})",
                f"{hint}to add a country on purpose, write {NEW_COUNTRY}: true in its item",
            )
        )
    return problems


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()
