"""YAML files that remember where each value came from.

Scenario files are read with :class:`ScenarioLoader` (safe loading that also reports
repeated keys), wrapped so that every mapping key and list item remembers the file that
set it (:class:`TrackedMapping`, :class:`TrackedList`), and merged along their
``extends`` chain (:func:`load_chain`). A :class:`Document` then names, for any dotted
key, the file a problem should point to. The plain deep merge for untracked data is
:func:`sim.config.paths.merge`.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import Problem, ScenarioError

__all__ = [
    "COUNTRY_DEFAULTS",
    "EXTENDS",
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "NEW_COUNTRY",
    "Document",
    "ScenarioLoader",
    "TrackedList",
    "TrackedMapping",
    "dotted",
    "has",
    "load_chain",
    "lookup",
    "merge_tracked",
    "origin_of",
    "plain",
    "read_yaml",
    "tag_origins",
]

EXTENDS = "extends"
"""Top-level key naming the base scenario file a file changes."""


NEW_COUNTRY = "new_country"
"""Key of a country item in a changes file that adds a country the base does not have."""

COUNTRY_DEFAULTS = "country_defaults"
"""Top-level key of a mapping merged under every country."""


_MERGE_TAG = "tag:yaml.org,2002:merge"

MAX_YAML_BYTES = 4 * 1024 * 1024
"""Largest YAML file read (scenario, experiment and calibration files are a few KB)."""

MAX_YAML_NODES = 200_000
"""Most values (mappings, lists and scalars) in one YAML file, aliases counted as their
expansion: a file of ten lines whose aliases nest nine deep expands to a billion."""

MAX_YAML_DEPTH = 64
"""Deepest nesting of mappings and lists in one YAML file."""

#: File name endings whose lines may be quoted in problems. Any other file (one named by
#: mistake, say ``extends: /etc/passwd``) is reported by line and column only, so that
#: no problem message ever shows what it holds.
YAML_SUFFIXES = (".yaml", ".yml")

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_CONTROL_NAMES = {0: "NUL", 0x0B: "vertical tab", 0x0C: "form feed", 0x1B: "escape"}


_ABSENT = object()


class ScenarioLoader(yaml.SafeLoader):
    r"""A safe YAML loader that also records every key repeated in one mapping.

    Plain YAML keeps the last of two equal keys without a word; here each repeat becomes a
    :class:`~sim.errors.Problem` in :attr:`duplicates` (the data still keeps the last).

    Examples:
        >>> loader = ScenarioLoader("a: 1\nb: {c: 2, c: 3}\n", file="demo.yaml")
        >>> loader.get_single_data()
        {'a': 1, 'b': {'c': 3}}
        >>> [(p.key, p.message) for p in loader.duplicates]
        [('b.c', 'key appears twice in the same mapping (lines 2 and 2)')]
    """

    def __init__(self, stream: str, file: str = "<string>") -> None:
        super().__init__(stream)
        self.file = file
        self.duplicates: list[Problem] = []

    def get_single_data(self) -> Any:
        """Compose the single document, check its size, record repeated keys, construct it.

        Raises:
            ScenarioError: The document nests deeper than :data:`MAX_YAML_DEPTH`, holds
                more than :data:`MAX_YAML_NODES` values once its aliases are expanded, or
                has an alias that refers to itself.
        """
        try:
            node = self.get_single_node()
        except RecursionError:
            raise ScenarioError([self._too_deep()]) from None
        if node is None:
            return None
        self._check_size(node)
        self._find_duplicates(node, (), set())
        return self.construct_document(node)

    def _too_deep(self) -> Problem:
        return Problem(
            self.file,
            "",
            None,
            f"the YAML nests mappings and lists more than {MAX_YAML_DEPTH} deep",
            "a scenario needs a few levels; check for unbalanced brackets",
        )

    def _check_size(self, root: yaml.Node) -> None:
        """Count the values of the document as if its aliases were expanded, and its depth.

        Aliases share their node, so each node is measured once (without expanding
        anything); the walk stops as soon as a limit is passed, so an alias bomb fails
        in milliseconds.
        """
        size: dict[int, int] = {}
        depth: dict[int, int] = {}
        path: set[int] = set()
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        while stack:
            node, finished = stack.pop()
            key = id(node)
            children = _children(node)
            if finished:
                path.discard(key)
                size[key] = 1 + sum(size[id(child)] for child in children)
                depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
                if size[key] > MAX_YAML_NODES:
                    problem = Problem(
                        self.file,
                        f"line {node.start_mark.line + 1}",
                        None,
                        f"the YAML holds more than {MAX_YAML_NODES:,} values once its "
                        "aliases (*name) are expanded",
                        "use fewer aliases, or write the values out",
                    )
                    raise ScenarioError([problem])
                if depth[key] > MAX_YAML_DEPTH:
                    raise ScenarioError([self._too_deep()])
                continue
            if key in size:
                continue
            path.add(key)
            stack.append((node, True))
            for child in children:
                if id(child) in path:
                    problem = Problem(
                        self.file,
                        f"line {child.start_mark.line + 1}",
                        None,
                        "an alias refers to itself",
                        "remove the loop of aliases",
                    )
                    raise ScenarioError([problem])
                if id(child) not in size:
                    stack.append((child, False))

    def _source(self, node: yaml.Node) -> Any:
        """A scalar's value, or the YAML text of a mapping or list (shortened)."""
        if isinstance(node, yaml.ScalarNode):
            return node.value
        text = str(self.buffer[node.start_mark.index : node.end_mark.index]).strip()
        return text if len(text) <= 60 else text[:57] + "..."

    def _find_duplicates(self, node: yaml.Node, path: tuple[Any, ...], seen: set[int]) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, Any], yaml.Node] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                identity = (key_node.tag, key_node.value)
                if identity in first:
                    lines = (first[identity].start_mark.line + 1, key_node.start_mark.line + 1)
                    value = self._source(value_node)
                    self.duplicates.append(
                        Problem(
                            self.file,
                            dotted((*path, key_node.value)),
                            value,
                            "key appears twice in the same mapping "
                            f"(lines {lines[0]} and {lines[1]})",
                            "keep one of them; otherwise the last one silently wins",
                        )
                    )
                else:
                    first[identity] = key_node
                self._find_duplicates(value_node, (*path, key_node.value), seen)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._find_duplicates(item, (*path, index), seen)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def shows_contents(path: Path) -> bool:
    """Whether problems may quote lines of ``path`` (a ``.yaml`` or ``.yml`` file)."""
    return path.suffix.lower() in YAML_SUFFIXES


def _read_text(path: Path, shown: str) -> str:
    """The text of a regular YAML file of at most :data:`MAX_YAML_BYTES` bytes."""

    def problem(message: str, fix: str = "") -> ScenarioError:
        return ScenarioError([Problem(shown, "", str(path), message, fix)])

    try:
        with open(path, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise problem("not a regular file", "name a .yaml file")
            data = handle.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise problem("file not found", "check the path") from None
    except IsADirectoryError:
        raise problem("this is a folder, not a file", "name a .yaml file") from None
    except OSError as error:
        raise problem(f"cannot read the file: {error.strerror or error}") from None
    if len(data) > MAX_YAML_BYTES:
        raise problem(
            f"file is larger than {MAX_YAML_BYTES // (1024 * 1024)} MB, the most a YAML "
            "file may hold",
            "scenario, experiment and calibration files are a few KB; put facility lists "
            "in CSV files",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise problem("file is not UTF-8 text", "save it as UTF-8") from None
    return text.removeprefix("\ufeff")


def _control_problem(text: str, shown: str) -> Problem | None:
    """A problem naming the first control character YAML does not allow, if any."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    code = ord(found.group())
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    name = _CONTROL_NAMES.get(code, "")
    return Problem(
        shown,
        f"line {line}, column {column}",
        None,
        f"the file holds a control character{f' ({name})' if name else ''}, U+{code:04X}; "
        "YAML allows tabs and line breaks only",
        "delete it (it is often pasted in invisibly from another program)",
    )


def read_yaml(path: Path, shown: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; return its data and the repeated-key problems.

    The file must be a regular file of at most :data:`MAX_YAML_BYTES` bytes, free of
    control characters, nesting at most :data:`MAX_YAML_DEPTH` deep and holding at most
    :data:`MAX_YAML_NODES` values with its aliases expanded; these limits are checked
    before anything is built from it. Problems quote a line of the file only if its name
    ends in ``.yaml`` or ``.yml`` (:func:`shows_contents`).

    Raises:
        ScenarioError: The file cannot be read or parsed, or passes a limit.
    """
    text = _read_text(path, shown)
    control = _control_problem(text, shown)
    if control is not None:
        raise ScenarioError([control])
    loader = ScenarioLoader(text, file=shown)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        reason = error.problem or error.context or "unreadable YAML"
        key, line_text = "", None
        if mark is not None:
            key = f"line {mark.line + 1}, column {mark.column + 1}"
            lines = text.splitlines()
            if shows_contents(path) and mark.line < len(lines):
                line_text = lines[mark.line][:200]
        problem = Problem(
            shown,
            key,
            line_text,
            f"YAML syntax error: {reason}",
            "check the indentation, colons and quotes on this line and the one before",
        )
        raise ScenarioError([problem]) from None
    except yaml.YAMLError as error:
        reason = str(error) if shows_contents(path) else type(error).__name__
        raise ScenarioError([Problem(shown, "", None, f"YAML error: {reason}")]) from None
    except RecursionError:
        raise ScenarioError([loader._too_deep()]) from None
    finally:
        loader.dispose()
    return data, loader.duplicates


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


def dotted(loc: Iterable[Any]) -> str:
    """``('countries', 0, 'name')`` as ``countries.0.name``."""
    return ".".join(str(part) for part in loc)


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
