"""Validation errors explained: pydantic's errors become problems with a file, a key and a fix.

Each :class:`~sim.errors.Problem` names the file that set the key (through
:class:`~sim.config.sources.Document`), the dotted key, the value, what is wrong in plain
words and what is allowed (the field's bounds, its allowed keys with a "did you mean").
Checks that pydantic skips once a field has failed are run again on what remains, so
that one pass reports everything.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sim.config.paths import dotted
from sim.config.sources import COUNTRY_DEFAULTS, EXTENDS, Document, lookup, plain
from sim.errors import Problem
from sim.model.schema import Country, Scenario

__all__ = [
    "country_field",
    "cross_reference_problems",
    "describe",
    "model_in",
    "schema_problems",
    "section_problems",
    "unique",
    "validation_problems",
]


def validation_problems(error: ValidationError, doc: Document) -> list[Problem]:
    """Turn pydantic's errors into problems with a file, a dotted key and a fix."""
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        kind = item["type"]
        if kind == "value_error":
            problems += _model_problems(loc, str(item["ctx"]["error"]), doc)
            continue
        value = None if kind == "missing" else plain(item["input"])
        message, fix = describe(kind, loc, item)
        problems.append(Problem(*doc.locate(loc), value, message, fix))
    return problems


def schema_problems(
    error: ValidationError,
    file: str,
    root: type[BaseModel],
    *,
    prefix: str = "",
    hide: frozenset[str] = frozenset(),
    keep: Callable[[tuple[Any, ...]], bool] | None = None,
) -> list[Problem]:
    """Problems of a file validated against ``root`` (experiment and calibration files).

    Args:
        error: Pydantic's error.
        file: The file named in every problem.
        root: The model the document was validated against.
        prefix: Put before every dotted key (say, ``settings.``).
        hide: Parts of pydantic's locations left out of keys (the names it gives the
            branches of a union).
        keep: Given pydantic's location, whether to report the error (say, only the
            union branch that matches what was written).

    Examples:
        >>> from pydantic import BaseModel, ConfigDict, ValidationError
        >>> class Run(BaseModel):
        ...     model_config = ConfigDict(extra="forbid")
        ...     months: int = 12
        >>> try:
        ...     Run.model_validate({"month": 6})
        ... except ValidationError as error:
        ...     [(p.key, p.message, p.fix) for p in schema_problems(error, "run.yaml", Run)]
        [('month', 'unknown key', "did you mean 'months'?")]
    """
    problems = []
    for item in error.errors(include_url=False):
        if keep is not None and not keep(tuple(item["loc"])):
            continue
        loc = tuple(part for part in item["loc"] if part not in hide)
        kind = item["type"]
        if kind == "value_error":
            message = str(item["ctx"]["error"])
            fix = _model_fix(message)
        else:
            message, fix = describe(kind, loc, item, root)
        value = None if kind == "missing" else plain(item.get("input"))
        problems.append(Problem(file, prefix + dotted(loc), value, message, fix))
    return unique(problems)


def describe(
    kind: str, loc: tuple[Any, ...], item: Any, root: type[BaseModel] = Scenario
) -> tuple[str, str]:
    """A plain-English message and fix for one pydantic error of a ``root`` document.

    Examples:
        >>> from pydantic import ValidationError
        >>> try:
        ...     Scenario.model_validate({"name": "x", "countries": [{"name": "A", "districs": 3}]})
        ... except ValidationError as error:
        ...     item = error.errors()[0]
        >>> describe(item["type"], tuple(item["loc"]), item)
        ('unknown key', "did you mean 'districts'?")
    """
    section, field = _field_at(loc, root)
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
        model = model_in(field.annotation) if field is not None else None
        keys = ", ".join(model.model_fields) if model is not None else ""
        return (
            "must be a mapping of keys",
            f"allowed keys: {keys}" if keys else "use key: value lines",
        )
    if kind in {"list_type", "tuple_type"}:
        return "must be a list", "write a list, e.g. [a, b] or lines starting with '- '"
    if kind == "missing":
        if isinstance(name, int) and root is Scenario:
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
    doc: Document,
    dropped: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Problems from a model-level check (values that are fine alone but not together).

    ``dropped`` names keys left out of the section because they were invalid: a check
    that mentions one of them judged a default instead of the user's value, so it is not
    reported.
    """
    raw = lookup(doc.data, loc)
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
            plain(raw_section[mentioned[0]])
            if len(mentioned) == 1
            else {name: plain(raw_section[name]) for name in mentioned}
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


def _scenario_problems(text: str, doc: Document) -> list[Problem]:
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
                        plain(link),
                        f"global link joins {name!r} to itself",
                        "link two different countries",
                    )
                )
    return unique(problems)


def section_problems(error: ValidationError, doc: Document) -> list[Problem]:
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
        node = lookup(doc.data, loc)
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


def cross_reference_problems(doc: Document) -> list[Problem]:
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


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as ``Country``, ``list[X] | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        model = model_in(argument)
        if model is not None:
            return model
    return None


def _field_at(
    loc: Sequence[Any], root: type[BaseModel] = Scenario
) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model holding the last key of ``loc`` and that key's field (if it is a field)."""
    section: type[BaseModel] | None = root
    field: FieldInfo | None = None
    keyed = False  # the previous field is a mapping whose keys are the user's own names
    for position, part in enumerate(loc):
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        if section is None or part not in section.model_fields:
            return (section, None) if position == len(loc) - 1 else (None, None)
        field = section.model_fields[part]
        if position < len(loc) - 1:
            keyed = _is_mapping(field.annotation)
            section = model_in(field.annotation)
            if section is None:
                return None, field
    return section, field


def _is_mapping(annotation: Any) -> bool:
    """Whether an annotation is (or may be) a ``dict`` of user-named items."""
    if get_origin(annotation) is dict:
        return True
    return any(get_origin(argument) is dict for argument in get_args(annotation))


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


def unique(problems: list[Problem]) -> list[Problem]:
    """Drop problems repeated word for word, keeping the first."""
    seen: set[tuple[str, str, str]] = set()
    result = []
    for problem in problems:
        identity = (problem.file, problem.key, problem.message)
        if identity not in seen:
            seen.add(identity)
            result.append(problem)
    return result


def country_field(key: str) -> tuple[Any, str]:
    """The pydantic field of a dotted country key, or ``(None, reason)``.

    Examples:
        >>> field, _ = country_field("channels.guidance.reach")
        >>> field.description.startswith("Chance a facility")
        True
        >>> country_field("channels.guidance.rech")[1]
        "did you mean 'reach'?"
    """
    model: type[BaseModel] = Country
    parts = key.split(".")
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            close = difflib.get_close_matches(part, list(model.model_fields), n=1)
            return None, f"did you mean {close[0]!r}?" if close else "not a country parameter"
        inner = model_in(field.annotation)
        if index == len(parts) - 1:
            if inner is not None:
                return None, "names a section, not a parameter"
            return field, ""
        if inner is None:
            return None, f"{part!r} has no keys below it"
        model = inner
    return None, "empty key"
