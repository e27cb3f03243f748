"""Exchange visits: one facility's staff visit another facility.

Each district of a country where visits run makes ``capacity`` visits a month: a visitor
drawn uniformly from the district visits a host drawn from the same district or, with
chance ``cross_district_share``, from a district of the country drawn uniformly. A
visitor hears the sum of its hosts' offers at the visits' fidelity; hosts spoke.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from sim.model.exposure import Exposure, Offers
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import Channel, P
from sim.model.state import Source
from sim.model.world import pick_within

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = ["ExchangeVisits", "ExchangeVisitsParameters", "exchange_visit_exposure"]


class ExchangeVisitsParameters(Channel):
    """One facility's staff visit another facility (horizontal, high fidelity)."""

    enabled: bool = Field(False, description="Whether exchange visits are funded.")
    fidelity: float = P(
        0.9, 0.0, 1.0, description="Chance a story survives a visit.", plausible=(0.7, 1.0)
    )
    capacity: int = P(
        2, 0, 10000, unit="visits per district per month", description="Visits funded."
    )
    cross_district_share: float = P(
        0.2, 0.0, 1.0, description="Share of visits to a facility in another district."
    )


class ExchangeVisits(Mechanism):
    """Funded visits between facilities, mostly inside a district."""

    name = "exchange_visits"
    outputs = ("exchange_visits",)
    decisions = ("pairs",)

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.enabled = per_country(model, lambda c: c.channels.exchange_visits.enabled).astype(bool)
        self.interval = per_country(
            model, lambda c: c.channels.exchange_visits.interval_months
        ).astype(np.int64)
        self.capacity = per_country(model, lambda c: c.channels.exchange_visits.capacity)
        self.cross = per_country(model, lambda c: c.channels.exchange_visits.cross_district_share)
        self.fidelity = self.per_facility(lambda c: c.channels.exchange_visits.fidelity)

    def step(self) -> None:
        """Draw the month's visits and let visitors hear their hosts."""
        m = self.model
        month = m.month_context
        active = self.runs_in_districts(self.enabled, self.interval)
        if not active.any():
            return
        visitors, hosts = self._pairs(active)
        if not visitors.size:
            return
        month.exposures.append(
            exchange_visit_exposure(visitors, hosts, month.offers, self.fidelity)
        )
        host = np.zeros(m.world.n_facilities, dtype=bool)
        host[hosts] = True
        month.speak(host, self.fidelity)
        self.count("exchange_visits", float(visitors.size))

    def _pairs(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Visitors and hosts: ``capacity`` visits per district where the channel runs."""
        w = self.model.world
        rng = self.model.streams.draw("exchange_visits", "pairs")
        districts = np.flatnonzero(active)
        per = self.capacity[w.district_country[districts]].astype(np.int64)
        origin = np.repeat(districts, per)
        if origin.size == 0:
            return origin, origin
        start, size = w.district_start, w.district_size
        visitors = w.district_order[pick_within(start[origin], size[origin], rng)]
        cross = rng.random(origin.size) < self.cross[w.district_country[origin]]
        country = w.district_country[origin]
        random_district = pick_within(
            w.country_first_district[country], w.country_districts[country], rng
        )
        host_district = np.where(cross, random_district, origin)
        hosts = w.district_order[pick_within(start[host_district], size[host_district], rng)]
        valid = (size[origin] > 0) & (size[host_district] > 0) & (hosts != visitors)
        return visitors[valid], hosts[valid]


def exchange_visit_exposure(
    visitors: np.ndarray, hosts: np.ndarray, offers: Offers, fidelity: np.ndarray
) -> Exposure:
    """Visitors hear what their hosts use and found to fail."""
    rows, visitor = np.unique(visitors, return_inverse=True)
    tables = offers.sums(hosts, visitor, rows.size)
    return Exposure.of(Source.EXCHANGE_VISITS, rows, tables, fidelity=fidelity[rows])
