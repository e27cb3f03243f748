"""Costs and budgets: what a scenario's learning activities cost, by activity and year.

Costs are an accounting over results already on disk: the monthly activity counts of
``timeseries.parquet`` (sessions attended, coaching visits, messaging-group months, QI
team months, ...) times the unit costs of the scenario's ``costs`` section. Fixed items
(learning centres, national QI teams, facility programmes) are read from the resolved
scenario. Nothing here changes a simulation, so ``lhsim report`` can rebuild every cost
from a results folder.

Accounting rules (one per unit cost of :class:`sim.model.schema.Costs`):

=========================================  ==============================================
unit cost                                  quantity charged each month
=========================================  ==============================================
``learning_session_per_attendee``          ``session_attendees`` (facilities attending)
``coaching_visit``                         ``coaching_visits``
``exchange_visit``                         ``exchange_visits``
``messaging_group_per_month``              ``group_months`` (district groups that met)
``facility_qi_team_per_year``              ``qi_team_months / 12``
``learning_centre_per_year``               learning centres of all countries / 12
``learning_centre_setup``                  in month 1 only: learning centres of all countries
``community_of_practice_per_member_meeting`` ``cop_meetings`` (member districts meeting)
``district_exchange_per_meeting``          ``district_meetings`` (districts meeting a peer)
``national_capacity_per_item_month``       monthly capacity above its default (60), summed
                                           over countries; unlimited capacity: 0
``national_qi_team_per_year``              countries whose guidance channel is on / 12
``documentation_training_per_facility``    in month 1: facilities of countries whose
                                           ``facility_mix.documentation`` is above its
                                           default; plus ``facilities_trained`` by
                                           documentation_training programmes
``blame_free_programme_per_facility_year`` facilities times tenths by which
                                           ``blame.facility`` is below its default, / 12;
                                           plus ``blame_tenth_facility_months / 12`` of
                                           blame_free_culture programmes
``routing_change_per_district``            in month 1: districts of countries whose
                                           ``national.routing`` is free; plus
                                           ``routing_changes`` (the triple loop's)
``programme_support_per_district_month``   ``programme_district_months`` (districts that
                                           programmes cover)
``triple_loop_review_per_country_year``    countries, / 12, where ``loops.triple`` is on
=========================================  ==============================================

Month m falls in year ``(m - 1) // 12`` (from 0); a year's cost is discounted by
``(1 + discount_rate) ** year``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.errors import Problem
from sim.model.facility_list import read_facility_table
from sim.model.schema import Blame, Costs, Country, FacilityMix, National, Scenario

__all__ = [
    "COST_ITEMS",
    "CostItem",
    "activities_used",
    "budget_breaches",
    "cost_by_year",
    "cost_problems",
    "cost_totals",
    "monthly_quantities",
]

MONTHS_PER_YEAR = 12
_DEFAULT_DOCUMENTATION = float(FacilityMix.model_fields["documentation"].default)
_DEFAULT_FACILITY_BLAME = float(Blame.model_fields["facility"].default)
_DEFAULT_CAPACITY = int(National.model_fields["capacity"].default)


@dataclass(frozen=True)
class CostItem:
    """One costed activity.

    Attributes:
        name: The unit-cost key in the ``costs`` section, also the activity's name.
        label: What a planner calls it.
        used: Whether a scenario can incur it (decided from the scenario alone).
    """

    name: str
    label: str
    used: Callable[[Scenario], bool]


def _any_country(test: Callable[[Country], bool]) -> Callable[[Scenario], bool]:
    return lambda scenario: any(test(country) for country in scenario.countries)


def _funds(lever: str) -> Callable[[Country], bool]:
    """Whether a country runs ``lever``: switched on, or funded by one of its programmes."""
    return lambda country: bool(
        getattr(country.channels, lever).enabled
        or any(p.lever == lever for p in country.programmes)
    )


def _documentation_programme(country: Country) -> bool:
    return country.facility_mix.documentation > _DEFAULT_DOCUMENTATION


def _blame_free_programme(country: Country) -> bool:
    return country.blame.facility < _DEFAULT_FACILITY_BLAME


def _has_programme(lever: str) -> Callable[[Country], bool]:
    return lambda country: any(p.lever == lever for p in country.programmes)


def _free_routing(country: Country) -> bool:
    return country.national.routing == "free"


def _district_count(country: Country) -> int:
    if country.facility_file is None:
        return country.districts
    return int(np.unique(read_facility_table(country.facility_file).district).size)


def _blame_tenths(country: Country) -> float:
    """Tenths by which facility blame culture is set below its default (the dose)."""
    return max(0.0, _DEFAULT_FACILITY_BLAME - country.blame.facility) / 0.1


def _extra_capacity(country: Country) -> int:
    """Monthly national capacity above the default (0 when unlimited: not costed)."""
    capacity = country.national.capacity
    return 0 if capacity is None else max(0, capacity - _DEFAULT_CAPACITY)


#: Every costed activity, in the order tables and figures show them.
COST_ITEMS: tuple[CostItem, ...] = (
    CostItem(
        "learning_session_per_attendee",
        "learning sessions",
        _any_country(_funds("learning_sessions")),
    ),
    CostItem("coaching_visit", "coaching", _any_country(_funds("coaching"))),
    CostItem("exchange_visit", "exchange visits", _any_country(_funds("exchange_visits"))),
    CostItem(
        "messaging_group_per_month",
        "messaging groups",
        # the triple loop may open a group where lessons find no channel
        lambda s: s.loops.triple or any(_funds("messaging_group")(c) for c in s.countries),
    ),
    CostItem(
        "facility_qi_team_per_year",
        "facility QI teams",
        _any_country(lambda c: c.facility_mix.qi_team_share > 0 or c.facility_file is not None),
    ),
    CostItem(
        "learning_centre_per_year",
        "learning centres",
        _any_country(lambda c: c.learning_centres.count > 0),
    ),
    CostItem(
        "learning_centre_setup",
        "learning centre set-up",
        _any_country(lambda c: c.learning_centres.count > 0),
    ),
    CostItem(
        "community_of_practice_per_member_meeting",
        "community of practice",
        _any_country(lambda c: c.learning_centres.count > 0 and _funds("community_of_practice")(c)),
    ),
    CostItem(
        "district_exchange_per_meeting",
        "district exchange",
        _any_country(_funds("district_exchange")),
    ),
    CostItem(
        "national_capacity_per_item_month",
        "extra national capacity",
        _any_country(lambda c: _extra_capacity(c) > 0),
    ),
    CostItem(
        "national_qi_team_per_year",
        "national QI team",
        _any_country(lambda c: c.channels.guidance.enabled),
    ),
    CostItem(
        "documentation_training_per_facility",
        "documentation training",
        _any_country(
            lambda c: _documentation_programme(c) or _has_programme("documentation_training")(c)
        ),
    ),
    CostItem(
        "blame_free_programme_per_facility_year",
        "blame-free culture programme",
        _any_country(lambda c: _blame_free_programme(c) or _has_programme("blame_free_culture")(c)),
    ),
    CostItem(
        "routing_change_per_district",
        "routing change",
        lambda s: s.loops.triple or any(_free_routing(c) for c in s.countries),
    ),
    CostItem(
        "triple_loop_review_per_country_year",
        "system reviews (triple loop)",
        lambda s: s.loops.triple,
    ),
    CostItem(
        "programme_support_per_district_month",
        "programme management",
        _any_country(lambda c: bool(c.programmes)),
    ),
)
_ITEMS = {item.name: item for item in COST_ITEMS}


def activities_used(scenario: Scenario) -> list[str]:
    """Names of the costed activities ``scenario`` can incur.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="s", countries=[{"name": "A", "learning_centres": {"count": 1}}])
        >>> "learning_centre_per_year" in activities_used(s)
        True
        >>> "exchange_visit" in activities_used(s)
        False
    """
    return [item.name for item in COST_ITEMS if item.used(scenario)]


def cost_problems(scenario: Scenario, file: str) -> list[Problem]:
    """Problems with the unit costs of ``scenario``: an activity it uses has none.

    Negative unit costs are already rejected by the schema (:class:`sim.model.schema.Costs`).
    """
    problems = []
    for name in activities_used(scenario):
        if getattr(scenario.costs, name) is None:
            problems.append(
                Problem(
                    file=file,
                    key=f"costs.{name}",
                    value=None,
                    message=f"the scenario uses {_ITEMS[name].label} but gives no unit cost",
                    fix=f"set costs.{name} to a number of {scenario.costs.currency} (0 or more)",
                )
            )
    return problems


def _facility_count(country: Country) -> int:
    if country.facility_file is not None:
        return len(read_facility_table(country.facility_file))
    return country.facilities


def monthly_quantities(timeseries: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Units of every costed activity per replicate and month.

    Args:
        timeseries: World-level monthly rows with ``replicate`` and ``month`` and the
            activity columns of :data:`sim.model.model.ACTIVITY_COLUMNS`.
        scenario: The scenario that produced them.

    Returns:
        Columns ``replicate``, ``month`` and one column per :data:`COST_ITEMS` name.
    """
    frame = timeseries[["replicate", "month"]].copy()
    countries = scenario.countries
    first_month = (timeseries["month"] == 1).to_numpy()
    documented = sum(_facility_count(c) for c in countries if _documentation_programme(c))
    blame_free = sum(_facility_count(c) * _blame_tenths(c) for c in countries)
    centres = sum(c.learning_centres.count for c in countries)
    national = sum(1 for c in countries if c.channels.guidance.enabled)
    frame["learning_session_per_attendee"] = timeseries["session_attendees"].to_numpy(float)
    frame["coaching_visit"] = timeseries["coaching_visits"].to_numpy(float)
    frame["exchange_visit"] = timeseries["exchange_visits"].to_numpy(float)
    frame["messaging_group_per_month"] = timeseries["group_months"].to_numpy(float)
    frame["facility_qi_team_per_year"] = (
        timeseries["qi_team_months"].to_numpy(float) / MONTHS_PER_YEAR
    )
    frame["learning_centre_per_year"] = centres / MONTHS_PER_YEAR
    frame["learning_centre_setup"] = np.where(first_month, float(centres), 0.0)
    frame["community_of_practice_per_member_meeting"] = _column(timeseries, "cop_meetings")
    frame["district_exchange_per_meeting"] = _column(timeseries, "district_meetings")
    frame["national_capacity_per_item_month"] = float(sum(_extra_capacity(c) for c in countries))
    frame["national_qi_team_per_year"] = national / MONTHS_PER_YEAR
    frame["documentation_training_per_facility"] = np.where(
        first_month, float(documented), 0.0
    ) + _column(timeseries, "facilities_trained")
    frame["blame_free_programme_per_facility_year"] = (
        blame_free + _column(timeseries, "blame_tenth_facility_months")
    ) / MONTHS_PER_YEAR
    rerouted = sum(_district_count(c) for c in countries if _free_routing(c))
    frame["routing_change_per_district"] = np.where(first_month, float(rerouted), 0.0) + _column(
        timeseries, "routing_changes"
    )
    frame["triple_loop_review_per_country_year"] = (
        len(countries) / MONTHS_PER_YEAR if scenario.loops.triple else 0.0
    )
    frame["programme_support_per_district_month"] = _column(timeseries, "programme_district_months")
    return frame


def _column(timeseries: pd.DataFrame, name: str) -> np.ndarray | float:
    """An activity column, or 0 for results written before the column existed."""
    return timeseries[name].to_numpy(float) if name in timeseries else 0.0


def _unit_costs(costs: Costs) -> dict[str, float]:
    return {item.name: float(getattr(costs, item.name) or 0.0) for item in COST_ITEMS}


def cost_by_year(timeseries: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Cost of every activity in every year of every replicate.

    Args:
        timeseries: See :func:`monthly_quantities`.
        scenario: The scenario that produced them (its ``costs`` section prices them).

    Returns:
        One row per (``replicate``, ``year``, ``activity``) with ``units``, ``cost``
        (undiscounted) and ``cost_discounted``; ``year`` counts from 0.

    Examples:
        >>> import pandas as pd
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="s", countries=[{"name": "A", "facilities": 20,
        ...     "districts": 2, "channels": {"guidance": {"enabled": False}}}],
        ...     costs={"coaching_visit": 50.0, "discount_rate": 0.1})
        >>> ts = pd.DataFrame({"replicate": 0, "month": [1, 13], "session_attendees": 0,
        ...     "coaching_visits": [2, 2], "exchange_visits": 0, "group_months": 0,
        ...     "qi_team_months": 0})
        >>> table = cost_by_year(ts, s)
        >>> table[table.activity == "coaching_visit"].cost_discounted.round(2).tolist()
        [100.0, 90.91]
    """
    quantities = monthly_quantities(timeseries, scenario)
    quantities["year"] = (quantities["month"].astype(int) - 1) // MONTHS_PER_YEAR
    names = [item.name for item in COST_ITEMS]
    units = quantities.groupby(["replicate", "year"], sort=True)[names].sum().reset_index()
    long = units.melt(
        id_vars=["replicate", "year"], value_vars=names, var_name="activity", value_name="units"
    )
    order = long["activity"].map({name: index for index, name in enumerate(names)})
    long = long.assign(_order=order).sort_values(["replicate", "year", "_order"])
    long = long.drop(columns="_order").reset_index(drop=True)
    prices = _unit_costs(scenario.costs)
    long["cost"] = long["units"] * long["activity"].map(prices)
    factor = (1.0 + scenario.costs.discount_rate) ** long["year"].astype(float)
    long["cost_discounted"] = long["cost"] / factor
    return long


def cost_totals(by_year: pd.DataFrame) -> pd.DataFrame:
    """Discounted and undiscounted total cost per replicate, and per activity.

    Returns:
        One row per replicate: ``cost_total`` (discounted), ``cost_total_undiscounted``
        and ``cost_<activity>`` (discounted) for every activity.
    """
    per_activity = by_year.pivot_table(
        index="replicate", columns="activity", values="cost_discounted", aggfunc="sum"
    )
    per_activity = per_activity.reindex(columns=[item.name for item in COST_ITEMS], fill_value=0)
    per_activity.columns = [f"cost_{name}" for name in per_activity.columns]
    totals = by_year.groupby("replicate")[["cost_discounted", "cost"]].sum()
    totals.columns = ["cost_total", "cost_total_undiscounted"]
    return totals.join(per_activity).reset_index()


def budget_breaches(by_year: pd.DataFrame, annual_budget: float | None) -> pd.Series:
    """Years over the budget envelope per replicate (undiscounted), 0 without a budget.

    Returns:
        A Series indexed by replicate.
    """
    per_year = by_year.groupby(["replicate", "year"])["cost"].sum()
    if annual_budget is None:
        return (per_year * 0).groupby(level="replicate").sum().astype(int)
    return (per_year > annual_budget).groupby(level="replicate").sum().astype(int)
