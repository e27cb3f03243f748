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
sensitive to. The ranges are the user's: the schema's validity bounds are limits, not
plausible ranges, and are never used as such.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, Self

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.config.explain import country_field, schema_problems
from sim.config.yaml_reader import read_yaml
from sim.errors import Problem, ScenarioError
from sim.model.schema import Posterior, Scenario
from sim.model.streams import name_key

__all__ = [
    "SAMPLES_FILE",
    "Distribution",
    "UncertaintySpec",
    "attach",
    "draw_samples",
    "load_uncertainty",
    "value_of_information",
]

#: The table of draws in a comparison folder.
SAMPLES_FILE = "uncertainty_samples.csv"


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
