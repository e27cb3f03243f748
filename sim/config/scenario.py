"""Read scenario files: YAML in, a validated :class:`~sim.model.schema.Scenario` out.

A scenario file is a YAML mapping checked against :class:`sim.model.schema.Scenario`. Three
keys are handled here, before that check:

``extends: base.yaml``
    The file is a set of changes to another scenario file (a path relative to the file
    that names it; the base may itself extend another file). The file is deep-merged
    over its base: mappings merge key by key, scalars and lists replace the base's,
    except ``countries``, whose items are matched by ``name``: an item naming a country
    of the base merges into it, an item with a new name is appended. A chain that loops
    back to a file already in it is a problem.
``country_defaults:``
    A mapping merged under every country (a country's own keys win), after ``extends``
    is resolved, so a base's defaults and a child's merge like any other mapping.
``facility_file`` / ``edge_file`` of a country
    Relative paths are read from the folder of the YAML file that set them and stored
    as absolute paths. The CSV files are read and checked too (see
    :mod:`sim.model.facility_list`), so ``lhsim validate`` reports their problems.

Every problem found is reported at once, as a :class:`~sim.errors.ScenarioError` whose
:class:`~sim.errors.Problem` items name the file that set the key, the dotted key
(``countries.0.turnover.annual``), the value, what is wrong and what is allowed.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sim.errors import Problem, ScenarioError
from sim.model.facility_list import read_facility_table
from sim.model.schema import Scenario

__all__ = [
    "with_seed",
    "COUNTRY_DEFAULTS",
    "EXTENDS",
    "ScenarioLoader",
    "load_scenario",
    "resolved_document",
    "validate_files",
]

EXTENDS = "extends"
"""Top-level key naming the base scenario file a file changes."""

COUNTRY_DEFAULTS = "country_defaults"
"""Top-level key of a mapping merged under every country."""

PATH_KEYS: tuple[str, ...] = ("facility_file", "edge_file")
"""Country keys holding file paths, resolved relative to the YAML file that set them."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_ABSENT = object()


# --------------------------------------------------------------------------- public API
def load_scenario(path: str | Path) -> Scenario:
    r"""Read, merge and validate a scenario file.

    Args:
        path: The YAML file. Its ``extends`` chain, ``country_defaults`` and the facility
            CSV files of its countries are read too.

    Returns:
        The validated scenario; ``facility_file`` and ``edge_file`` hold absolute paths.

    Raises:
        ScenarioError: Listing every problem found: unreadable files, YAML syntax errors,
            repeated keys, ``extends`` loops, unknown keys, values of the wrong type or
            out of range, inconsistent settings and problems in facility CSV files.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     base = Path(folder) / "base.yaml"
        ...     _ = base.write_text("name: demo\ncountries:\n  - name: A\n  - name: B\n")
        ...     high = Path(folder) / "high.yaml"
        ...     _ = high.write_text(
        ...         "extends: base.yaml\n"
        ...         "countries:\n  - name: B\n    turnover: {annual: 0.3}\n"
        ...     )
        ...     scenario = load_scenario(high)
        >>> [(c.name, c.turnover.annual) for c in scenario.countries]
        [('A', 0.15), ('B', 0.3)]
    """
    top = str(path)
    data, problems = _load_chain(Path(path), top, [])
    doc = _Document(data, top)
    problems += _apply_country_defaults(doc)
    _resolve_paths(data)
    _resolve_posterior(data)
    scenario: Scenario | None = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        problems += _validation_problems(error, doc)
        problems += _section_problems(error, doc)
        problems += _cross_reference_problems(doc)
    problems += _facility_file_problems(doc)
    if scenario is not None and scenario.posterior is not None and not problems:
        problems += _posterior_problems(scenario, doc)
    if problems or scenario is None:
        raise ScenarioError(_unique(problems))
    return scenario


def validate_files(paths: Iterable[str | Path]) -> dict[str, list[Problem]]:
    r"""Check scenario files; map each path to its problems (an empty list when valid).

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     good = Path(folder) / "good.yaml"
        ...     _ = good.write_text("name: ok\ncountries: [{name: A}]\n")
        ...     bad = Path(folder) / "bad.yaml"
        ...     _ = bad.write_text("name: bad\ncountries: [{name: A, districs: 3}]\n")
        ...     report = validate_files([good, bad])
        >>> [len(problems) for problems in report.values()]
        [0, 1]
        >>> report[str(bad)][0].fix
        "did you mean 'districts'?"
    """
    report: dict[str, list[Problem]] = {}
    for path in paths:
        try:
            load_scenario(path)
        except ScenarioError as error:
            report[str(path)] = error.problems
        else:
            report[str(path)] = []
    return report


def resolved_document(scenario: Scenario) -> dict[str, Any]:
    """Return the scenario as plain JSON-ready data, every default filled in.

    Examples:
        >>> scenario = Scenario.model_validate({"name": "x", "countries": [{"name": "A"}]})
        >>> resolved_document(scenario)["countries"][0]["turnover"]
        {'annual': 0.15}
    """
    return scenario.model_dump(mode="json")


# --------------------------------------------------------------------------- YAML reading
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
        """Compose the single document, record repeated keys, then construct it."""
        node = self.get_single_node()
        if node is None:
            return None
        self._find_duplicates(node, (), set())
        return self.construct_document(node)

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
                            _dotted((*path, key_node.value)),
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


def _read_yaml(path: Path, shown: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; return its data and the repeated-key problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = Problem(shown, "", str(path), "file not found", "check the path")
        raise ScenarioError([problem]) from None
    except UnicodeDecodeError:
        raise ScenarioError(
            [Problem(shown, "", str(path), "file is not UTF-8 text", "save it as UTF-8")]
        ) from None
    except OSError as error:
        message = f"cannot read the file: {error.strerror or error}"
        raise ScenarioError([Problem(shown, "", str(path), message)]) from None
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
            line_text = lines[mark.line] if mark.line < len(lines) else None
        problem = Problem(
            shown,
            key,
            line_text,
            f"YAML syntax error: {reason}",
            "check the indentation, colons and quotes on this line and the one before",
        )
        raise ScenarioError([problem]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([Problem(shown, "", None, f"YAML error: {error}")]) from None
    finally:
        loader.dispose()
    return data, loader.duplicates


# --------------------------------------------------------------------------- origin tracking
class _Mapping(dict[Any, Any]):
    """A YAML mapping that remembers the file that set each of its keys."""

    def __init__(
        self, items: Iterable[tuple[Any, Any]] = (), origins: dict[Any, str] | None = None
    ):
        super().__init__(items)
        self.origins: dict[Any, str] = dict(origins or {})

    def put(self, key: Any, value: Any, origin: str) -> None:
        self[key] = value
        self.origins[key] = origin

    def drop(self, key: Any) -> tuple[Any, str | None]:
        return self.pop(key, None), self.origins.pop(key, None)


class _List(list[Any]):
    """A YAML list that remembers the file that set each of its items."""

    def __init__(self, items: Iterable[Any] = (), origins: Iterable[str] = ()):
        super().__init__(items)
        self.origins: list[str] = list(origins)


def _tag(value: Any, file: str) -> Any:
    """Wrap the mappings and lists of parsed YAML so they remember ``file``."""
    if isinstance(value, dict):
        return _Mapping(((k, _tag(v, file)) for k, v in value.items()), dict.fromkeys(value, file))
    if isinstance(value, list):
        return _List((_tag(v, file) for v in value), [file] * len(value))
    return value


def _plain(value: Any) -> Any:
    """Undo :func:`_tag` (for values shown in problems)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass
class _Document:
    """The merged scenario data, and what is needed to say where each key was set."""

    data: _Mapping
    top: str
    defaults: _Mapping | None = None
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
            if _has(self.defaults, rest) and not _has(self.own_countries[loc[1]], rest):
                origin = _origin(self.defaults, rest, self.defaults_origin or self.top)
                return origin, _dotted((COUNTRY_DEFAULTS, *rest))
        return _origin(self.data, loc, self.top), _dotted(loc)


def _has(node: Any, loc: Sequence[Any]) -> bool:
    """Whether the key path ``loc`` exists in ``node``."""
    return _lookup(node, loc, _ABSENT) is not _ABSENT


def _origin(document: Any, loc: Sequence[Any], fallback: str) -> str:
    """The file that set the deepest existing key along ``loc`` (``fallback`` if none)."""
    origin, node = fallback, document
    for part in loc:
        if isinstance(node, _Mapping) and part in node:
            origin = node.origins.get(part, origin)
            node = node[part]
        elif isinstance(node, _List) and isinstance(part, int) and 0 <= part < len(node):
            origin = node.origins[part]
            node = node[part]
        else:
            break
    return origin


# --------------------------------------------------------------------------- merging
def _merge(base: Any, child: Any, path: tuple[Any, ...] = ()) -> Any:
    """Deep-merge ``child`` over ``base`` without changing either.

    Mappings merge key by key; the top-level ``countries`` list merges item by item on
    ``name``; anything else in ``child`` replaces ``base``.
    """
    if isinstance(base, _Mapping) and isinstance(child, _Mapping):
        merged = _Mapping(base.items(), base.origins)
        for key, value in child.items():
            origin = child.origins[key]
            if key in merged:
                merged.put(key, _merge(merged[key], value, (*path, key)), origin)
            else:
                merged.put(key, value, origin)
        return merged
    if path == ("countries",) and isinstance(base, _List) and isinstance(child, _List):
        return _merge_countries(base, child)
    return child


def _merge_countries(base: _List, child: _List) -> _List:
    """Merge country lists: same ``name`` merges into the base item; new names append."""
    merged = _List(base, base.origins)
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
        merged[match] = _merge(base[match], item, ("countries", match))
        merged.origins[match] = origin
    return merged


def _load_chain(
    path: Path, shown: str, chain: list[tuple[Path, str]]
) -> tuple[_Mapping, list[Problem]]:
    """Read ``path`` and the ``extends`` chain under it; return the merged document."""
    data, problems = _read_yaml(path, shown)
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
                    _plain(data),
                    f"the file must hold a mapping of keys, not a {type(data).__name__}",
                    "start with lines like 'name: my scenario' and 'countries:'",
                )
            ]
        )
    try:
        document: _Mapping = _tag(data, shown)
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
            shown, EXTENDS, _plain(reference), "extends must name a file", "e.g. extends: base.yaml"
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
        base, base_problems = _load_chain(base_path, base_shown, here)
    except ScenarioError as error:
        raise ScenarioError([*problems, *error.problems]) from None
    return _merge(base, document), base_problems + problems


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _apply_country_defaults(doc: _Document) -> list[Problem]:
    """Merge ``country_defaults`` under every country and remove it."""
    defaults, origin = doc.data.drop(COUNTRY_DEFAULTS)
    if defaults is None:
        return []
    if not isinstance(defaults, _Mapping):
        return [
            Problem(
                origin or "",
                COUNTRY_DEFAULTS,
                _plain(defaults),
                "country_defaults must be a mapping of country keys",
                "e.g. country_defaults: {turnover: {annual: 0.2}}",
            )
        ]
    countries = doc.data.get("countries")
    if isinstance(countries, _List):
        doc.defaults, doc.defaults_origin = defaults, origin or doc.top
        doc.own_countries = list(countries)
        for index, country in enumerate(countries):
            if isinstance(country, _Mapping):
                countries[index] = _merge(defaults, country, ("countries", index))
    return []


def _resolve_paths(document: _Mapping) -> None:
    """Make relative facility and edge file paths absolute, from the file that set them."""
    countries = document.get("countries")
    if not isinstance(countries, _List):
        return
    for country in countries:
        if not isinstance(country, _Mapping):
            continue
        for key in PATH_KEYS:
            value = country.get(key)
            if isinstance(value, str) and value.strip():
                folder = Path(country.origins[key]).parent
                country[key] = os.path.abspath(folder / Path(value).expanduser())


def _resolve_posterior(document: _Mapping) -> None:
    """Make a relative ``posterior.samples`` path absolute, from the file that set it."""
    posterior = document.get("posterior")
    if isinstance(posterior, _Mapping):
        value = posterior.get("samples")
        if isinstance(value, str) and value.strip():
            folder = Path(posterior.origins["samples"]).parent
            posterior["samples"] = os.path.abspath(folder / Path(value).expanduser())


def _posterior_problems(scenario: Scenario, doc: _Document) -> list[Problem]:
    """Check the posterior samples file and that its first draw makes a valid scenario."""
    from sim.config.posterior import apply_posterior, posterior_problems

    assert scenario.posterior is not None  # checked by the caller
    file = _origin(doc.data, ("posterior", "samples"), doc.top)
    if not Path(scenario.posterior.samples).is_file():
        return [
            Problem(
                file,
                "posterior.samples",
                scenario.posterior.samples,
                "file not found",
                f"relative paths are read from the folder of {file}",
            )
        ]
    problems = posterior_problems(scenario.posterior, file)
    if not problems:
        try:
            apply_posterior(scenario, 0)
        except ScenarioError as error:
            problems += error.problems
    return problems


def _facility_file_problems(doc: _Document) -> list[Problem]:
    """Check that facility and edge files exist, and read them for their own problems."""
    countries = doc.data.get("countries")
    if not isinstance(countries, _List):
        return []
    problems: list[Problem] = []
    read: set[tuple[str, str | None]] = set()
    for index, country in enumerate(countries):
        if not isinstance(country, _Mapping):
            continue
        present: dict[str, str | None] = {}
        for key in PATH_KEYS:
            value = country.get(key)
            if not isinstance(value, str) or not value.strip():
                present[key] = None
                continue
            present[key] = value
            if not Path(value).is_file():
                origin = country.origins[key]
                problems.append(
                    Problem(
                        *doc.locate(("countries", index, key)),
                        value,
                        "file not found",
                        f"relative paths are read from the folder of {origin}",
                    )
                )
                present[key] = None
        facility_file, edge_file = present["facility_file"], present["edge_file"]
        if facility_file is None:
            continue
        try:
            table = read_facility_table(facility_file, edge_file)
        except ScenarioError as error:
            if (facility_file, edge_file) not in read:
                problems += error.problems
            read.add((facility_file, edge_file))
            continue
        declared = country.get("districts")
        found = len(set(table.district.tolist()))
        if isinstance(declared, int) and declared > found:
            problems.append(
                Problem(
                    *doc.locate(("countries", index, "districts")),
                    declared,
                    f"{declared - found} of the {declared} districts would have no facilities: "
                    f"{facility_file} places facilities in {found} district"
                    f"{'s' if found != 1 else ''}",
                    f"set districts to {found}, or drop it (the file's districts are used)",
                )
            )
    return problems


# --------------------------------------------------------------------------- validation errors
def _validation_problems(error: ValidationError, doc: _Document) -> list[Problem]:
    """Turn pydantic's errors into problems with a file, a dotted key and a fix."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        if kind == "value_error":
            problems += _model_problems(loc, str(item["ctx"]["error"]), doc)
            continue
        value = None if kind == "missing" else _plain(item["input"])
        message, fix = _explain(kind, loc, item)
        problems.append(Problem(*doc.locate(loc), value, message, fix))
    return problems


def _explain(kind: str, loc: tuple[Any, ...], item: Any) -> tuple[str, str]:
    """A plain-English message and fix for one pydantic error."""
    section, field = _field_at(loc)
    name = loc[-1] if loc else ""
    is_int = field is not None and _is_int(field)
    if kind == "extra_forbidden":
        allowed = list(section.model_fields) if section is not None else []
        if section is Scenario:
            allowed += [EXTENDS, COUNTRY_DEFAULTS]
        close = difflib.get_close_matches(str(name), allowed, n=1)
        if close:
            fix = f"did you mean {close[0]!r}?"
        elif allowed:
            fix = f"allowed keys here: {', '.join(allowed)}"
        else:
            fix = ""
        return "unknown key", fix
    if kind in {"greater_than_equal", "greater_than"}:
        return (
            f"too small: must be at least {_number(item['ctx'].get('ge', item['ctx'].get('gt')))}",
            _range_fix(field, is_int),
        )
    if kind in {"less_than_equal", "less_than"}:
        return (
            f"too large: must be at most {_number(item['ctx'].get('le', item['ctx'].get('lt')))}",
            _range_fix(field, is_int),
        )
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return "must be a whole number", _range_fix(field, True)
    if kind in {"float_type", "float_parsing", "finite_number"}:
        return "must be a number", _range_fix(field, False)
    if kind in {"bool_type", "bool_parsing"}:
        return "must be true or false", "use true or false"
    if kind == "literal_error":
        return "not one of the allowed choices", f"use one of {item['ctx']['expected']}"
    if kind in {"string_type", "string_too_short"}:
        return "must be text", "write it as text (quote it if it looks like a number)"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        model = _model_in(field.annotation) if field is not None else None
        keys = ", ".join(model.model_fields) if model is not None else ""
        return (
            "must be a mapping of keys",
            f"allowed keys: {keys}" if keys else "use key: value lines",
        )
    if kind in {"list_type", "tuple_type"}:
        return "must be a list", "write a list, e.g. [a, b] or lines starting with '- '"
    if kind == "missing":
        if isinstance(name, int):
            return "a global link names exactly two countries", "e.g. [A, B]"
        description = field.description if field is not None and field.description else ""
        return (
            f"required key {name!r} is missing",
            f"add {name}: ({description})" if description else f"add {name}:",
        )
    if kind == "too_short":
        return "list is too short", f"list at least {item['ctx'].get('min_length', 1)} item(s)"
    if kind == "too_long":
        return "list is too long", f"list at most {item['ctx'].get('max_length')} item(s)"
    return str(item["msg"]), ""


def _model_problems(
    loc: tuple[Any, ...],
    text: str,
    doc: _Document,
    dropped: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Problems from a model-level check (values that are fine alone but not together).

    ``dropped`` names keys left out of the section because they were invalid: a check
    that mentions one of them judged a default instead of the user's value, so it is not
    reported.
    """
    raw = _lookup(doc.data, loc)
    if loc == ():
        problems = _scenario_problems(text, doc)
        if problems:
            return problems
    section, _ = _field_at((*loc, ""))
    raw_section = raw if isinstance(raw, dict) else {}
    positions = {
        name: found.start()
        for name in (section.model_fields if section is not None else ())
        if name in raw_section and (found := re.search(rf"\b{re.escape(name)}\b", text))
    }
    mentioned = sorted(positions, key=positions.__getitem__)
    if dropped.intersection(mentioned):
        return []
    text = re.sub(r"\s*\(got [^()]*\)$", "", text)
    if mentioned:
        key_loc = (*loc, mentioned[0])
        value: Any = (
            _plain(raw_section[mentioned[0]])
            if len(mentioned) == 1
            else {name: _plain(raw_section[name]) for name in mentioned}
        )
    else:
        key_loc, value = loc, None
    return [Problem(*doc.locate(key_loc), value, text, _model_fix(text))]


_MODEL_FIXES: tuple[tuple[str, str], ...] = (
    (r"must not exceed 1", "lower them so that they add up to at most 1"),
    (r"must be at least districts", "raise facilities or lower districts"),
    (r"edge_file needs facility_file", "add facility_file, or remove edge_file"),
    (r"practice names must be unique", "give every practice a different name"),
    (r"at least one practice", "list a practice, or remove catalogue to generate them"),
)


def _model_fix(text: str) -> str:
    return next((fix for pattern, fix in _MODEL_FIXES if re.search(pattern, text)), "")


def _scenario_problems(text: str, doc: _Document) -> list[Problem]:
    """Split the scenario's cross-reference check into one problem per bad name or link."""
    countries = doc.data.get("countries")
    names = (
        [c.get("name") for c in countries if isinstance(c, dict)]
        if isinstance(countries, list)
        else []
    )
    links = doc.data.get("global_links")
    links = links if isinstance(links, list) else []
    known = ", ".join(repr(n) for n in dict.fromkeys(n for n in names if isinstance(n, str)))
    problems: list[Problem] = []
    loc: tuple[Any, ...]
    repeated = re.search(r"country names must be unique; repeated: (\[.*?\])", text)
    if repeated:
        for name in dict.fromkeys(n for i, n in enumerate(names) if n in names[:i]):
            index = len(names) - 1 - names[::-1].index(name)
            loc = ("countries", index, "name")
            problems.append(
                Problem(
                    *doc.locate(loc),
                    name,
                    "country name is used more than once",
                    "give every country a different name",
                )
            )
    for match in re.finditer(r"global link names unknown country '(.*?)'; known", text):
        unknown = match.group(1)
        for index, link in enumerate(links):
            if isinstance(link, list) and unknown in link:
                loc = ("global_links", index, link.index(unknown))
                problems.append(
                    Problem(
                        *doc.locate(loc),
                        unknown,
                        "unknown country",
                        f"use a country name of this scenario: {known}",
                    )
                )
    for match in re.finditer(r"global link joins '(.*?)' to itself", text):
        name = match.group(1)
        for index, link in enumerate(links):
            if isinstance(link, list) and len(link) == 2 and link[0] == link[1] == name:
                loc = ("global_links", index)
                problems.append(
                    Problem(
                        *doc.locate(loc),
                        _plain(link),
                        f"global link joins {name!r} to itself",
                        "link two different countries",
                    )
                )
    return _unique(problems)


def _section_problems(error: ValidationError, doc: _Document) -> list[Problem]:
    """Run the own checks of sections that pydantic skipped because a field failed.

    Pydantic runs a model's own check (say, facilities at least districts) only when all
    its fields are valid. Each such section is validated again without its failed keys,
    so that check's problems are reported in the same pass as the field errors.
    """
    failed: dict[tuple[Any, ...], set[str]] = {}
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        for depth in range(1, len(loc)):
            key = loc[depth]
            if isinstance(key, str):
                failed.setdefault(loc[:depth], set()).add(key)
    problems: list[Problem] = []
    for loc, keys in failed.items():
        node = _lookup(doc.data, loc)
        section, _ = _field_at((*loc, ""))
        if not isinstance(node, dict) or section is None:
            continue
        try:
            section.model_validate({k: v for k, v in node.items() if k not in keys})
        except ValidationError as again:
            for item in again.errors(include_url=False):
                if item["type"] == "value_error" and item["loc"] == ():
                    text = str(item["ctx"]["error"])
                    problems += _model_problems(loc, text, doc, frozenset(keys))
    return problems


def _cross_reference_problems(doc: _Document) -> list[Problem]:
    """Check country names and global links even when other fields failed validation.

    Pydantic runs a model's own checks only when all its fields are valid; rerunning the
    scenario's cross-reference check on the names alone reports its problems in the same
    pass as everything else.
    """
    countries = doc.data.get("countries")
    links = doc.data.get("global_links")
    if not isinstance(countries, list) or not isinstance(links, list):
        return []
    names = [c.get("name") for c in countries if isinstance(c, dict)]
    pairs = [
        link
        for link in links
        if isinstance(link, list) and len(link) == 2 and all(isinstance(e, str) for e in link)
    ]
    minimal = {
        "name": "check",
        "countries": [{"name": n} for n in names if isinstance(n, str)],
        "global_links": pairs,
    }
    if not minimal["countries"]:
        return []
    try:
        Scenario.model_validate(minimal)
    except ValidationError as error:
        return [
            problem
            for item in error.errors(include_url=False)
            if item["type"] == "value_error" and item["loc"] == ()
            for problem in _scenario_problems(str(item["ctx"]["error"]), doc)
        ]
    return []


# --------------------------------------------------------------------------- model lookups
def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Country``, ``list[X] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        model = _model_in(argument)
        if model is not None:
            return model
    return None


def _field_at(loc: Sequence[Any]) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model holding the last key of ``loc`` and that key's field (if it is a field)."""
    section: type[BaseModel] | None = Scenario
    field: FieldInfo | None = None
    for position, part in enumerate(loc):
        if isinstance(part, int):
            continue
        if section is None or part not in section.model_fields:
            return (section, None) if position == len(loc) - 1 else (None, None)
        field = section.model_fields[part]
        if position < len(loc) - 1:
            section = _model_in(field.annotation)
            if section is None:
                return None, field
    return section, field


def _lookup(document: Any, loc: Sequence[Any], default: Any = None) -> Any:
    """The value at the key path ``loc`` (``default`` when the path does not exist)."""
    node = document
    for part in loc:
        in_mapping = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_mapping or in_list):
            return default
        node = node[part]
    return node


def _is_int(field: FieldInfo) -> bool:
    annotation = field.annotation
    return annotation is int or int in get_args(annotation)


def _range_fix(field: FieldInfo | None, is_int: bool) -> str:
    """``use a value between 0 and 0.9`` from a field's bounds."""
    kind = "a whole number" if is_int else "a number"
    if field is None:
        return f"use {kind}"
    low = high = None
    for constraint in field.metadata:
        low = getattr(constraint, "ge", low)
        high = getattr(constraint, "le", high)
    if low is not None and high is not None:
        return f"use {kind} between {_number(low)} and {_number(high)}"
    if low is not None:
        return f"use {kind} of at least {_number(low)}"
    if high is not None:
        return f"use {kind} of at most {_number(high)}"
    return f"use {kind}"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _unique(problems: list[Problem]) -> list[Problem]:
    """Drop problems repeated word for word, keeping the first."""
    seen: set[tuple[str, str, str]] = set()
    result = []
    for problem in problems:
        identity = (problem.file, problem.key, problem.message)
        if identity not in seen:
            seen.add(identity)
            result.append(problem)
    return result


def with_seed(scenario: Scenario, seed: int, file: str | Path) -> Scenario:
    """Return ``scenario`` with its root seed replaced (``--seed``), validated again."""
    if scenario.seed == seed:
        return scenario
    try:
        return type(scenario).model_validate({**scenario.model_dump(), "seed": seed})
    except ValidationError as error:
        raise ScenarioError(
            [
                Problem(
                    file=str(file),
                    key="seed (--seed)",
                    value=seed,
                    message=detail["msg"],
                    fix="give a seed between 0 and 2**63 - 1",
                )
                for detail in error.errors()
            ]
        ) from error
