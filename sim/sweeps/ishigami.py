"""The Ishigami function as a model, to check the sweep pipeline against known answers.

``Y = sin(x1) + a sin(x2)**2 + b x3**4 sin(x1)`` with ``x1, x2, x3`` uniform on
``[-pi, pi]`` has analytic first-order and total Sobol indices (Ishigami and Homma
1990; Sobol' and Levitan 1999). It runs with the same signature as
:func:`sim.runs.simulation.run_replicate`, ``(config, replicate) -> ReplicateResult``, so a
sweep of it goes through exactly the code that sweeps the simulator: sampling, the
executors, the results folder and the analysis. An optional ``noise_sd`` adds Gaussian
noise drawn from the replicate's own random stream, which gives the seed-noise share a
known answer too: ``noise_sd**2 / (variance + noise_sd**2)``.

References:
    Ishigami, T. and Homma, T. (1990). An importance quantification technique in
    uncertainty analysis for computer models. ISUMA '90.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from sim.runs.simulation import ReplicateResult

__all__ = ["IshigamiConfig", "analytic_indices", "ishigami", "run_ishigami"]

#: The function has no monthly tables; every result shares this empty (read-only) one.
_NO_TABLE = pd.DataFrame()


class IshigamiConfig(BaseModel):
    """The inputs and constants of one evaluation; the document a sweep changes."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field("ishigami", description="Name of the model.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Root seed of the noise stream.")
    x1: float = Field(0.0, ge=-math.pi, le=math.pi, description="First input.")
    x2: float = Field(0.0, ge=-math.pi, le=math.pi, description="Second input.")
    x3: float = Field(0.0, ge=-math.pi, le=math.pi, description="Third input.")
    a: float = Field(7.0, description="Constant a.")
    b: float = Field(0.1, description="Constant b.")
    noise_sd: float = Field(0.0, ge=0.0, description="Standard deviation of added noise.")


def ishigami(x1: float, x2: float, x3: float, a: float = 7.0, b: float = 0.1) -> float:
    """Evaluate the Ishigami function.

    Examples:
        >>> round(ishigami(math.pi / 2, math.pi / 2, 1.0), 6)
        8.1
    """
    return math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)


def analytic_indices(a: float = 7.0, b: float = 0.1) -> dict[str, dict[str, float]]:
    """Analytic variance, first-order (``S1``) and total (``ST``) indices of the function.

    Returns:
        ``{"variance": {"Y": V}, "S1": {"x1": .., ...}, "ST": {"x1": .., ...}}``.

    Examples:
        >>> indices = analytic_indices()
        >>> [round(indices["S1"][x], 4) for x in ("x1", "x2", "x3")]
        [0.3139, 0.4424, 0.0]
        >>> [round(indices["ST"][x], 4) for x in ("x1", "x2", "x3")]
        [0.5576, 0.4424, 0.2437]
    """
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    variance = v1 + v2 + v13
    return {
        "variance": {"Y": variance},
        "S1": {"x1": v1 / variance, "x2": v2 / variance, "x3": 0.0},
        "ST": {"x1": (v1 + v13) / variance, "x2": v2 / variance, "x3": v13 / variance},
    }


def run_ishigami(config: IshigamiConfig, replicate: int) -> ReplicateResult:
    """Evaluate the function once, as a one-row "replicate" with summary output ``y``.

    The noise (if ``noise_sd > 0``) comes from ``SeedSequence(seed, spawn_key=(replicate,))``,
    so the same configuration and replicate always give the same value.

    Examples:
        >>> config = IshigamiConfig(x1=math.pi / 2, x2=math.pi / 2, x3=1.0)
        >>> round(run_ishigami(config, 0).summary["y"], 6)
        8.1
    """
    value = ishigami(config.x1, config.x2, config.x3, config.a, config.b)
    if config.noise_sd > 0:
        sequence = np.random.SeedSequence(config.seed, spawn_key=(replicate,))
        value += config.noise_sd * float(np.random.default_rng(sequence).standard_normal())
    return ReplicateResult(
        replicate=replicate,
        seed=config.seed,
        timeseries=_NO_TABLE,
        countries=_NO_TABLE,
        practices=_NO_TABLE,
        time_to_scale=_NO_TABLE,
        summary={"y": value},
    )
