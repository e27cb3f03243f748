"""Reading one YAML file safely: size, depth, values and characters checked; repeated keys found.

:func:`read_yaml` is the one reader of every input file (scenario, experiment,
calibration, uncertainty and preset files). It refuses what is not a regular file, files
over :data:`MAX_YAML_BYTES`, control characters, nesting deeper than
:data:`MAX_YAML_DEPTH` and more than :data:`MAX_YAML_NODES` values (aliases counted as
their expansion, so an alias bomb is refused at once), and reports every key repeated in
one mapping (:class:`ScenarioLoader`).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from sim.config.paths import dotted
from sim.errors import Problem, ScenarioError

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
