"""How parameters are declared: one field each, with default, range, unit, description, source.

Each parameter is declared once, as a field of a pydantic section, by the mechanism that
uses it (its module under :mod:`sim.model.mechanisms`) or, for what several share, in
:mod:`sim.model.schema`, which assembles the sections into a ``Country`` and a
``Scenario``. The scenario loader validates YAML against them; ``docs/model.md``
generates its parameter tables from them (:func:`parameter_table`); sweeps address them
by their dotted key path (``countries.0.turnover.annual``). Every section forbids
unknown keys, so a misspelt key is an error, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    field_validator,
)

__all__ = [
    "ASSUMPTION",
    "FRAMEWORK",
    "ILLUSTRATIVE",
    "C",
    "Channel",
    "P",
    "MAX_NAME_LENGTH",
    "FolderName",
    "ParameterInfo",
    "Section",
    "check_name",
    "iter_parameters",
    "no_truth_values",
    "parameter_table",
    "value_at",
]

ASSUMPTION = "assumption (plausible value chosen for this model; see docs/model.md)"
FRAMEWORK = "national learning-system framework for QoC (BMJ Global Health 2022)"


def P(  # noqa: N802 - a short constructor name keeps the declarations readable
    default: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    unit: str = "",
    description: str,
    source: str = ASSUMPTION,
    plausible: tuple[float, float] | None = None,
    log: bool = False,
) -> Any:
    """Declare one parameter: default, closed range ``[low, high]``, unit, description.

    ``[low, high]`` are validity bounds (what the model can compute), not beliefs.
    ``plausible`` is the range a value is believed to lie in where it is uncertain (from
    a pattern fit, a source, or stated as an assumption): drawn uniformly, on a log scale
    if ``log``, by ``lhsim compare --uncertainty`` without a file. Parameters a planner
    sets to describe a country (sizes, capacities, intervals) have none.
    """
    if plausible is not None:
        lo, hi = plausible
        if not (lo < hi and (low is None or lo >= low) and (high is None or hi <= high)):
            raise ValueError(
                f"plausible range {plausible} must be ordered and inside [{low}, {high}]"
            )
        if log and lo <= 0:
            raise ValueError("a plausible range on a log scale must be above 0")
    extra: dict[str, JsonValue] = {"unit": unit, "low": low, "high": high, "source": source}
    if plausible is not None:
        extra |= {"plausible": list(plausible), "log": log}
    return Field(default, ge=low, le=high, description=description, json_schema_extra=extra)


#: Longest name of a scenario, experiment or calibration (it names a results folder).
MAX_NAME_LENGTH = 120


def check_name(name: str) -> str:
    """Return ``name`` if it may name a results folder; raise :class:`ValueError` if not.

    The one check of the names of scenarios, experiments and calibrations (``run``,
    ``compare``, ``sweep`` and ``calibrate`` name their folders after them): a name must
    hold a letter or digit, and no path separator or control character, so that it can
    never point outside the folder it names (``..``) or into another one.

    Examples:
        >>> check_name("Country I")
        'Country I'
        >>> check_name("..")
        Traceback (most recent call last):
        ...
        ValueError: a name needs a letter or digit (it names a results folder)
    """
    if not any(ch.isalnum() for ch in name):
        raise ValueError("a name needs a letter or digit (it names a results folder)")
    if "/" in name or "\\" in name:
        raise ValueError("a name must not contain / or \\ (it names a results folder)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ValueError("a name must not contain control characters such as tabs or newlines")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a name must be at most {MAX_NAME_LENGTH} characters long")
    return name


#: A name that also names a results folder: checked by :func:`check_name`.
FolderName = Annotated[str, AfterValidator(check_name)]


def no_truth_values(model: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """Refuse ``true``/``false`` for a number: YAML's ``replicates: true`` is not 1.

    Used as a ``mode="before"`` validator of every field of a section.
    """
    if isinstance(value, bool) and info.field_name is not None:
        field = model.model_fields.get(info.field_name)
        annotation = field.annotation if field is not None else None
        numeric, options = {int, float}, set(getattr(annotation, "__args__", ()))
        if (annotation in numeric or options & numeric) and bool not in options:
            raise ValueError(f"expected a number, not {str(value).lower()}")
    return value


class Section(BaseModel):
    """Base of every parameter group: unknown keys are rejected, numbers are numbers."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return no_truth_values(cls, value, info)


class Channel(Section):
    """Fields every channel has."""

    enabled: bool = Field(True, description="Whether the channel runs.")
    interval_months: int = P(1, 1, 120, unit="months", description="Months between events.")
    fidelity: float = P(
        0.8,
        0.0,
        1.0,
        description="Chance that a story survives one passage through it.",
        plausible=(0.6, 0.95),
    )


ILLUSTRATIVE = "illustrative: no costing study in the project's sources; replace with local figures"


def C(default: float | None, *, unit: str, description: str) -> Any:  # noqa: N802
    """Declare one unit cost: non-negative, null when the activity is not costed."""
    return P(default, 0.0, None, unit=unit, description=description, source=ILLUSTRATIVE)


# --------------------------------------------------------------------------- introspection
def value_at(section: BaseModel, path: str) -> Any:
    """The value at the dotted attribute ``path`` inside ``section`` (a country, say).

    Examples:
        >>> class Inner(Section):
        ...     rate: float = P(0.1, 0.0, 1.0, description="A rate.")
        >>> class Outer(Section):
        ...     inner: Inner = Inner()
        >>> value_at(Outer(), "inner.rate")
        0.1
    """
    value: Any = section
    for part in path.split("."):
        value = getattr(value, part)
    return value


@dataclass(frozen=True)
class ParameterInfo:
    """One numeric or boolean parameter, as the docs and sweeps see it."""

    path: str
    default: Any
    low: float | None
    high: float | None
    unit: str
    description: str
    source: str
    plausible: tuple[float, float] | None = None
    log: bool = False


def iter_parameters(
    model: type[BaseModel], prefix: str = "", *, nested: bool = True
) -> Iterator[ParameterInfo]:
    """Yield every scalar parameter of ``model`` (and, if ``nested``, of its sections).

    Examples:
        >>> class Demo(Section):
        ...     rate: float = P(0.1, 0.0, 1.0, unit="per month", description="A rate.")
        >>> [(p.path, p.default, p.high) for p in iter_parameters(Demo, "x.")]
        [('x.rate', 0.1, 1.0)]
    """
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if nested:
                yield from iter_parameters(annotation, prefix=f"{path}.")
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        default = field.get_default(call_default_factory=True)
        if isinstance(default, (list, BaseModel)) or field.is_required():
            continue
        if default is None and any(
            isinstance(arg, type) and issubclass(arg, BaseModel)
            for arg in getattr(annotation, "__args__", ())
        ):
            continue  # an optional section (e.g. posterior), not a parameter
        yield ParameterInfo(
            path=path,
            default=default,
            low=extra.get("low"),  # type: ignore[arg-type]
            high=extra.get("high"),  # type: ignore[arg-type]
            unit=str(extra.get("unit", "")),
            description=field.description or "",
            source=str(extra.get("source", "")),
            plausible=None if "plausible" not in extra else tuple(extra["plausible"]),  # type: ignore[arg-type]
            log=bool(extra.get("log", False)),
        )


def parameter_table(model: type[BaseModel], prefix: str = "", *, nested: bool = True) -> str:
    """Render the parameters of ``model`` as a Markdown table (used by docs/model.md)."""
    rows = [
        "| key | default | valid range | plausible | unit | description | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in iter_parameters(model, prefix, nested=nested):
        if p.low is None and p.high is None:
            span = "true / false" if isinstance(p.default, bool) else "-"
        else:
            span = f"{_fmt(p.low)} to {_fmt(p.high)}"
        plausible = "-"
        if p.plausible is not None:
            plausible = f"{_fmt(p.plausible[0])} to {_fmt(p.plausible[1])}" + (
                " (log)" if p.log else ""
            )
        rows.append(
            f"| `{p.path}` | {_fmt(p.default)} | {span} | {plausible} | {p.unit or '-'} | "
            f"{p.description} | {p.source or '-'} |"
        )
    return "\n".join(rows)


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
