"""Calibration files: which data, which scenario, which parameters and priors, when to stop.

A calibration file is YAML with these keys (see ``docs/calibration.md``):

``name``, ``description``, ``seed``
    What the fit is called and the root seed of every random draw it makes.
``data``
    ``nodes`` (CSV), optional ``edges`` (CSV), ``time_unit`` (``month``, ``quarter`` or
    ``year``) and optional ``periods`` (window length in time units); paths are read from
    the folder of the calibration file. Formats: :mod:`sim.fitting.adoption_data`.
``scenario``
    Changes to the scenario the data calibrate: ``country`` is merged into every group's
    country (each group becomes one country with one district), any other key into the
    scenario itself.
``parameters``
    The parameters to fit: ``name``, ``key`` (dotted key inside a country, e.g.
    ``channels.guidance.reach``) and ``prior`` (``uniform`` or ``loguniform`` with ``low``
    and ``high``).
``distance``
    ``kind``: ``rmse`` (root mean square gap between simulated and observed cumulative
    adopting shares) or ``adaptive`` (pyabc's adaptively weighted distance).
``stopping``
    ``population_size``, ``max_generations``, ``min_epsilon``, ``min_acceptance_rate``,
    ``max_walltime_minutes`` and ``max_simulations``.
``predictive_draws``
    Posterior draws simulated for the predictive bands.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.config.explain import country_field, schema_problems
from sim.config.yaml_reader import read_yaml
from sim.errors import Problem, ScenarioError
from sim.model.parameters import FolderName, no_truth_values

__all__ = [
    "TIME_UNIT_MONTHS",
    "CalibrationSpec",
    "DataSpec",
    "Distance",
    "FittedParameter",
    "Prior",
    "Stopping",
    "load_calibration",
]

TIME_UNIT_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
"""Model months per time unit of the data."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return no_truth_values(cls, value, info)


class Prior(_Section):
    """A prior: ``uniform`` or ``loguniform`` on ``[low, high]``."""

    distribution: Literal["uniform", "loguniform"] = Field(
        "uniform", description="Shape of the prior."
    )
    low: float = Field(description="Lower bound.")
    high: float = Field(description="Upper bound.")

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError(f"a loguniform prior needs low > 0 (got {self.low})")
        return self


class FittedParameter(_Section):
    """One parameter to fit, applied to every group's country."""

    name: str = Field(description="Short name used in outputs (a column of posterior.csv).")
    key: str = Field(description="Dotted key inside a country, e.g. channels.guidance.reach.")
    prior: Prior = Field(description="Prior distribution.")


class DataSpec(_Section):
    """The observed adoption record."""

    nodes: str = Field(description="Nodes CSV: id, optional group, adoption_time, at_risk.")
    edges: str | None = Field(None, description="Edges CSV: source, target, optional kind.")
    time_unit: Literal["month", "quarter", "year"] = Field(
        "month", description="Time unit of adoption_time."
    )
    periods: int | None = Field(
        None, ge=1, le=1200, description="Window length in time units (default: last adoption)."
    )


class Distance(_Section):
    """How far a simulated curve is from the observed one."""

    kind: Literal["rmse", "adaptive"] = Field(
        "rmse", description="rmse on cumulative shares, or pyabc's adaptive p-norm."
    )


class Stopping(_Section):
    """ABC-SMC population size and stopping rules (the first rule met stops)."""

    population_size: int = Field(200, ge=10, le=100_000, description="Particles per generation.")
    max_generations: int = Field(8, ge=1, le=100, description="Most SMC generations.")
    min_epsilon: float = Field(0.0, ge=0.0, description="Stop once the threshold falls below.")
    min_acceptance_rate: float = Field(
        0.02, ge=0.0, le=1.0, description="Stop once fewer proposals than this are accepted."
    )
    max_walltime_minutes: float | None = Field(
        None, gt=0.0, description="Stop after this much wall time."
    )
    max_simulations: int | None = Field(None, ge=1, description="Stop after this many runs.")


class CalibrationSpec(_Section):
    """A whole calibration file."""

    name: FolderName = Field(description="Name of the fit; names the results folder.")
    description: str = Field("", description="What is fitted and why.")
    seed: int = Field(12345, ge=0, le=2**63 - 1, description="Root seed.")
    data: DataSpec
    scenario: dict[str, Any] = Field(
        default_factory=dict, description="Changes to the calibrated scenario."
    )
    parameters: list[FittedParameter] = Field(min_length=1)
    distance: Distance = Field(default_factory=Distance)
    stopping: Stopping = Field(default_factory=Stopping)
    predictive_draws: int = Field(200, ge=10, le=100_000, description="Draws for the bands.")
    folder: str = Field("", description="Folder of the file (set by the loader).")
    file: str = Field("", description="The file itself (set by the loader).")

    @model_validator(mode="after")
    def _unique_names(self) -> CalibrationSpec:
        names = [p.name for p in self.parameters]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"parameter names must be unique; repeated: {repeated}")
        return self

    def path(self, value: str) -> Path:
        """A data path, relative to the calibration file's folder."""
        return Path(os.path.abspath(Path(self.folder) / Path(value).expanduser()))


def load_calibration(path: str | Path) -> CalibrationSpec:
    r"""Read and check a calibration file (its data files must exist; they are read later).

    Raises:
        ScenarioError: Listing every problem: YAML errors, unknown keys (with "did you
            mean"), bad values, parameter keys that are not country parameters and
            priors outside a parameter's allowed range.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "fit.yaml"
        ...     _ = (Path(folder) / "n.csv").write_text("id,adoption_time\na,1\n")
        ...     _ = path.write_text(
        ...         "name: x\ndata: {nodes: n.csv}\n"
        ...         "parameters: [{name: p, key: channels.guidance.reach,"
        ...         " prior: {low: 0, high: 0.5}}]\n"
        ...     )
        ...     spec = load_calibration(path)
        >>> spec.parameters[0].prior.high, spec.data.time_unit
        (0.5, 'month')
    """
    file = str(path)
    document, problems = read_yaml(Path(path), file)
    if not isinstance(document, dict):
        raise ScenarioError(
            problems + [Problem(file, "", document, "a calibration file is a mapping", "")]
        )
    folder = Path(path).resolve().parent
    document = {**document, "folder": str(folder), "file": file}
    spec: CalibrationSpec | None = None
    try:
        spec = CalibrationSpec.model_validate(document)
    except ValidationError as error:
        problems += schema_problems(error, file, CalibrationSpec)
    # the parameters and data files are checked even when other keys have problems, so
    # that every problem of the file comes out at once
    problems += _parameter_problems(_valid_parameters(document.get("parameters")), file)
    problems += _data_file_problems(document.get("data"), folder, file)
    if problems or spec is None:
        raise ScenarioError(problems)
    return spec


def _valid_parameters(entries: Any) -> list[tuple[int, FittedParameter]]:
    """The entries of ``parameters`` that are well-formed on their own, with their index."""
    found = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        try:
            found.append((index, FittedParameter.model_validate(entry)))
        except ValidationError:
            continue  # reported by the schema check
    return found


def _data_file_problems(data: Any, folder: Path, file: str) -> list[Problem]:
    """The data files named in ``data`` that are not .csv files or are not there."""
    problems = []
    for key in ("nodes", "edges"):
        value = data.get(key) if isinstance(data, dict) else None
        if not isinstance(value, str) or not value.strip():
            continue
        target = Path(os.path.abspath(folder / Path(value).expanduser()))
        if target.suffix.lower() != ".csv":
            problems.append(
                Problem(file, f"data.{key}", value, "must name a .csv file", "export it as CSV")
            )
        elif not target.is_file():
            problems.append(
                Problem(
                    file,
                    f"data.{key}",
                    value,
                    "file not found",
                    "paths are read from the folder of the calibration file",
                )
            )
    return problems


def _parameter_problems(parameters: list[tuple[int, FittedParameter]], file: str) -> list[Problem]:
    """Check that every fitted key is a numeric country parameter and its prior fits it."""
    problems = []
    for index, parameter in parameters:
        where = f"parameters.{index}"
        field, reason = country_field(parameter.key)
        if field is None:
            problems.append(Problem(file, f"{where}.key", parameter.key, "unknown key", reason))
            continue
        if field.annotation not in (float, int):
            problems.append(
                Problem(file, f"{where}.key", parameter.key, "not a numeric parameter", "")
            )
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        low, high = extra.get("low"), extra.get("high")
        prior = parameter.prior
        if (low is not None and prior.low < low) or (high is not None and prior.high > high):
            problems.append(
                Problem(
                    file,
                    f"{where}.prior",
                    [prior.low, prior.high],
                    f"prior reaches outside the range of {parameter.key}",
                    f"keep it within {low} to {high}",
                )
            )
    return problems
