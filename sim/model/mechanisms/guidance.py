"""Guidance channel: national guidance and standards reach facilities.

Each month the channel runs, every facility of the country hears, for each practice in
guidance, a success with strength ``reach`` (the Bass ``p``), its story surviving with
the community of practice's fidelity for packaged practices and ``guidance.fidelity``
otherwise; withdrawn guidance travels the same way as a failure notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.exposure import Exposure
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import Channel, P
from sim.model.state import Source

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["Guidance", "GuidanceParameters", "guidance_exposure"]


class GuidanceParameters(Channel):
    """National guidance and standards flowing down to facilities."""

    fidelity: float = P(
        0.6, 0.0, 1.0, description="Chance guidance carries a usable how-to.", plausible=(0.4, 0.8)
    )
    reach: float = P(
        0.1,
        0.0,
        1.0,
        unit="per month",
        description="Chance a facility takes in current guidance in a month (Bass p).",
        plausible=(0.051, 0.23),
        source="assumption; the published patterns leave it wide "
        "(pattern fit, calibration/patterns.yaml: 90 % 0.051-0.23)",
    )


class Guidance(Mechanism):
    """Facilities take in the guidance in force (and its withdrawals)."""

    name = "guidance"
    outputs = ("guidance_items",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.enabled = per_country(model, lambda c: c.channels.guidance.enabled).astype(bool)
        self.interval = per_country(model, lambda c: c.channels.guidance.interval_months).astype(
            np.int64
        )
        self.reach = per_country(model, lambda c: c.channels.guidance.reach).astype(float)
        self.fidelity = per_country(model, lambda c: c.channels.guidance.fidelity)
        self.package_fidelity = per_country(
            model, lambda c: c.channels.community_of_practice.fidelity
        )

    def step(self) -> None:
        """Guidance in force reaches the facilities of the countries where it runs."""
        m = self.model
        k, w = m.knowledge, m.world
        active = self.runs(self.enabled, self.interval)
        if not active.any() or not (k.guidance.any() or k.withdrawn.any()):
            return
        fidelity = np.where(k.package, self.package_fidelity[:, None], self.fidelity[:, None])
        m.month_context.exposures.append(
            guidance_exposure(
                active[w.facility_country],
                w.facility_country,
                k.guidance,
                k.withdrawn,
                self.reach,
                fidelity,
            )
        )
        self.count("guidance_items", float((k.guidance & active[:, None]).sum()))


def guidance_exposure(
    active_rows: np.ndarray,
    country: np.ndarray,
    guidance: np.ndarray,
    withdrawn: np.ndarray,
    reach: np.ndarray,
    fidelity: np.ndarray,
) -> Exposure:
    """Guidance in force reaches each facility with hazard ``reach`` a month.

    Withdrawn guidance travels the same way as a failure notice. What a facility
    hears depends on its country only: the tables have a row per country.
    ``fidelity`` is per country, or per country and practice.
    """
    rows = np.flatnonzero(active_rows)
    c = country[rows]
    fid = fidelity if fidelity.ndim == 2 else fidelity[:, None]
    heard = guidance.astype(np.float32)
    story = heard * fid.astype(np.float32)
    failure = withdrawn.astype(np.float32)
    return Exposure.of(Source.GUIDANCE, rows, (heard, story, failure), at=c, scale=reach[c])
