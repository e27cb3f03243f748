"""Parameter uncertainty in a comparison: what we do not know, drawn once per replicate.

``lhsim compare --uncertainty FILE`` reads a file naming uncertain country parameters and
the plausible distribution of each::

    draws: 1000                     # rows of the table of draws (default 1000)
    parameters:
      turnover.annual: {distribution: uniform, low: 0.10, high: 0.30}
      blame.facility: {distribution: triangular, low: 0.3, mode: 0.5, high: 0.8}
      innovation.rate: {distribution: loguniform, low: 0.001, high: 0.01}

The draws are made once from the comparison's root seed and written to
``uncertainty_samples.csv`` in the comparison folder; every scenario then takes, in
replicate ``r``, the same row of that table (through the scenario's ``posterior:``
mechanism, whose row stream depends on the seed and the replicate only), set in every
country. So the scenarios of one replicate share both the random numbers and the
parameter values, and the spread across replicates carries what we do not know about
the parameters as well as chance.

From the paired net benefits (:func:`value_of_information`) the comparison reports the
expected value of perfect information per replicate, ``mean_r max_o NB - max_o mean_r NB``
(an upper bound on what resolving the uncertainty, and chance, is worth for this
decision), and, for each parameter, the rank correlation of its value with the net
benefit of the best buy against the runner-up: the parameters the decision is most
sensitive to. The ranges are the user's, or, without a file
(:func:`plausible_uncertainty`), the plausible ranges documented with the parameters
(posterior intervals of the pattern fit where the published patterns bear on a
parameter, stated assumptions elsewhere; ``docs/model.md``, section 8). The schema's
validity bounds are limits, not plausible ranges, and are never used as such. A
parameter whose value differs between the compared scenarios is never drawn: one draw
for all of them would erase the difference the comparison is about.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Self

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.config.explain import country_field, schema_problems
from sim.config.yaml_reader import read_yaml
from sim.errors import Problem, ScenarioError
from sim.model.parameters import value_at
from sim.model.schema import Country, Posterior, Scenario, iter_parameters
from sim.model.streams import name_key
from sim.runs.results import atomic_write

__all__ = [
    "PLAUSIBLE",
    "SAMPLES_FILE",
    "SPEC_FILE",
    "Distribution",
    "UncertaintySpec",
    "attach",
    "draw_samples",
    "lever_problems",
    "load_uncertainty",
    "plausible_uncertainty",
    "write_spec",
    "value_of_information",
]

#: The table of draws in a comparison folder.
SAMPLES_FILE = "uncertainty_samples.csv"
#: ``uncertainty=PLAUSIBLE``: draw the plausible ranges documented with the parameters.
PLAUSIBLE = "plausible"
#: The uncertainty drawn (the user's file, or the plausible ranges), as a file.
SPEC_FILE = "uncertainty.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Distribution(_Strict):
    """A plausible distribution of one parameter."""

    distribution: Literal["uniform", "loguniform", "triangular"] = "uniform"
    low: float = Field(description="Lowest plausible value.")
    high: float = Field(description="Highest plausible value.")
    mode: float | None = Field(None, description="Most likely value (triangular only).")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"low must be below high (low {self.low}, high {self.high})")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform distribution needs low above 0")
        if self.distribution == "triangular":
            if self.mode is None or not self.low <= self.mode <= self.high:
                raise ValueError("a triangular distribution needs low <= mode <= high")
        elif self.mode is not None:
            raise ValueError("mode is for the triangular distribution only")
        return self


class UncertaintySpec(_Strict):
    """Uncertain country parameters and how many draws to make of them."""

    draws: int = Field(1000, ge=10, le=1_000_000, description="Rows of the table of draws.")
    parameters: dict[str, Distribution] = Field(
        min_length=1, description="Dotted country keys and their plausible distributions."
    )


def load_uncertainty(path: str | Path) -> UncertaintySpec:
    r"""Read and check an uncertainty file; every problem is reported at once.

    Raises:
        ScenarioError: YAML or schema problems, keys that are not numeric country
            parameters, ranges outside a parameter's valid bounds.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "u.yaml"
        ...     _ = path.write_text("parameters:\n  turnover.anual: {low: 0.1, high: 0.3}\n")
        ...     try:
        ...         load_uncertainty(path)
        ...     except ScenarioError as error:
        ...         print(error.problems[0].fix)
        did you mean 'annual'?
    """
    file = str(path)
    document, problems = read_yaml(Path(path), file)
    if not isinstance(document, dict):
        raise ScenarioError([*problems, Problem(file, "", None, "the file must be a mapping")])
    try:
        spec = UncertaintySpec.model_validate(document)
    except ValidationError as error:
        raise ScenarioError(problems + schema_problems(error, file, UncertaintySpec)) from None
    for key, distribution in spec.parameters.items():
        where = f"parameters.{key}"
        field, reason = country_field(key)
        if field is None:
            problems.append(Problem(file, where, key, "not a country parameter", reason))
            continue
        if field.annotation is not float:
            problems.append(
                Problem(file, where, key, "not a continuous parameter", "use a number parameter")
            )
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        low, high = extra.get("low"), extra.get("high")
        below = isinstance(low, (int, float)) and distribution.low < low
        above = isinstance(high, (int, float)) and distribution.high > high
        if below or above:
            problems.append(
                Problem(
                    file,
                    where,
                    [distribution.low, distribution.high],
                    f"outside the parameter's valid range [{low}, {high}]",
                    "give plausible values inside the valid range",
                )
            )
    if problems:
        raise ScenarioError(problems)
    return spec


def _values(scenarios: Sequence[Scenario], key: str) -> list[tuple[str, str, object]]:
    """(scenario, country, value) of ``key`` in every country of every scenario."""
    return [(s.name, c.name, value_at(c, key)) for s in scenarios for c in s.countries]


def lever_problems(
    spec: UncertaintySpec, scenarios: Sequence[Scenario], file: str
) -> list[Problem]:
    """Problems for drawn parameters whose values differ between the compared scenarios.

    One draw for every scenario would replace the values the comparison is about.
    """
    problems = []
    for key in spec.parameters:
        values = _values(scenarios, key)
        if len({v for _, _, v in values}) > 1:
            shown = ", ".join(f"{s}: {v}" for s, _, v in values)
            problems.append(
                Problem(
                    file,
                    f"parameters.{key}",
                    key,
                    f"the compared scenarios set it differently ({shown}); one draw for all "
                    "would erase the difference being compared",
                    "leave it out of the uncertainty file",
                )
            )
    return problems


def plausible_uncertainty(
    scenarios: Sequence[Scenario], draws: int = 1000
) -> tuple[UncertaintySpec, dict[str, str]]:
    """The uncertainty of ``lhsim compare --uncertainty`` without a file.

    Every numeric country parameter with a documented plausible range is drawn from it
    (uniformly, or on a log scale where documented), unless some compared scenario sets
    it away from its default in some country: a lever being compared, or a value the
    planner knows for the country, is not something the comparison is uncertain about.

    Returns:
        The specification, and the parameters with a plausible range left out, each with
        the reason.

    Examples:
        >>> base = Scenario(name="base", countries=[{"name": "A"}])
        >>> spec, left_out = plausible_uncertainty([base])
        >>> spec.parameters["turnover.annual"].low, left_out
        (0.19, {})
        >>> high = Scenario(name="high", countries=[{"name": "A", "turnover": {"annual": 0.3}}])
        >>> spec, left_out = plausible_uncertainty([base, high])
        >>> "turnover.annual" in spec.parameters, left_out["turnover.annual"]
        (False, 'set to 0.3 in scenario high, country A')
    """
    parameters: dict[str, Distribution] = {}
    left_out: dict[str, str] = {}
    for info in iter_parameters(Country):
        if info.plausible is None:
            continue
        moved = [(s, c, v) for s, c, v in _values(scenarios, info.path) if v != info.default]
        if moved:
            s, c, v = moved[0]
            left_out[info.path] = f"set to {v} in scenario {s}, country {c}"
            continue
        low, high = info.plausible
        parameters[info.path] = Distribution(
            distribution="loguniform" if info.log else "uniform", low=low, high=high
        )
    return UncertaintySpec(draws=draws, parameters=parameters), left_out


def write_spec(path: Path, spec: UncertaintySpec, left_out: dict[str, str]) -> None:
    """Write ``spec`` as an uncertainty file (readable by ``--uncertainty FILE``).

    The parameters with a plausible range that were not drawn are listed as comments.
    """
    lines = ["# The uncertain parameters of this comparison and their plausible distributions."]
    lines += [f"# not drawn: {key} ({reason})" for key, reason in left_out.items()]
    body = yaml.safe_dump(spec.model_dump(exclude_none=True), sort_keys=False)
    atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n" + body))


def draw_samples(spec: UncertaintySpec, seed: int) -> pd.DataFrame:
    """The table of draws: one column per parameter, ``spec.draws`` rows, from ``seed``.

    Each parameter draws from its own stream, so adding a parameter leaves the others'
    draws unchanged.

    Examples:
        >>> spec = UncertaintySpec(draws=2000, parameters={
        ...     "turnover.annual": {"low": 0.1, "high": 0.3},
        ...     "blame.facility": {"distribution": "triangular", "low": 0, "mode": 1, "high": 1}})
        >>> table = draw_samples(spec, 7)
        >>> bool(table["turnover.annual"].between(0.1, 0.3).all())
        True
        >>> round(float(table["blame.facility"].mean()), 1)  # triangular(0, 1, 1): mean 2/3
        0.7
    """
    columns = {}
    for key, d in spec.parameters.items():
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(name_key(key),)))
        if d.distribution == "uniform":
            values = rng.uniform(d.low, d.high, spec.draws)
        elif d.distribution == "loguniform":
            values = np.exp(rng.uniform(math.log(d.low), math.log(d.high), spec.draws))
        else:
            mode = d.low if d.mode is None else d.mode  # the schema requires a mode here
            values = rng.triangular(d.low, mode, d.high, spec.draws)
        columns[key] = values
    return pd.DataFrame(columns)


def attach(scenario: Scenario, samples: Path, spec: UncertaintySpec, file: str) -> Scenario:
    """``scenario`` taking, in each replicate, one row of ``samples`` in every country.

    Raises:
        ScenarioError: The scenario already draws parameters from a posterior.
    """
    if scenario.posterior is not None:
        raise ScenarioError(
            [
                Problem(
                    file,
                    "posterior",
                    scenario.posterior.samples,
                    "a scenario with posterior draws cannot take --uncertainty draws too",
                    "compare it without --uncertainty (its posterior is its uncertainty)",
                )
            ]
        )
    posterior = Posterior(
        samples=str(samples), parameters={key: f"countries.*.{key}" for key in spec.parameters}
    )
    return scenario.model_copy(update={"posterior": posterior})


def value_of_information(
    benefit: pd.DataFrame, draws: pd.DataFrame, best: str
) -> tuple[float, pd.DataFrame]:
    """EVPI and each parameter's rank correlation with the best buy's margin.

    Args:
        benefit: Net benefit per replicate (rows) and option (columns).
        draws: The parameter values of each replicate (same index as ``benefit``).
        best: The best buy (highest mean net benefit).

    Returns:
        The expected value of perfect information (per replicate: it counts chance as
        well as the parameters, so it is an upper bound), and one row per parameter:
        ``parameter``, ``spearman`` (with the net benefit of ``best`` minus the best
        other option), sorted by its size.

    Examples:
        >>> nb = pd.DataFrame({"a": [10.0, 0.0, 10.0, 0.0], "b": [0.0, 8.0, 0.0, 8.0]})
        >>> theta = pd.DataFrame({"x": [0.9, 0.1, 0.8, 0.2], "y": [0.5, 0.6, 0.4, 0.7]})
        >>> evpi, table = value_of_information(nb, theta, "a")
        >>> evpi, table["parameter"].tolist()
        (4.0, ['x', 'y'])
    """
    evpi = float(benefit.max(axis=1).mean() - benefit.mean(axis=0).max())
    others = benefit.drop(columns=[best])
    margin = benefit[best] - (others.max(axis=1) if not others.empty else 0.0)
    rows = []
    for parameter in draws.columns:
        values = draws[parameter]
        rho = values.rank().corr(margin.rank()) if values.nunique() > 1 else float("nan")
        rows.append({"parameter": parameter, "spearman": float(rho)})
    table = pd.DataFrame(rows, columns=["parameter", "spearman"])
    order = table["spearman"].abs().fillna(-1).sort_values(ascending=False).index
    return max(evpi, 0.0), table.loc[order].reset_index(drop=True)
