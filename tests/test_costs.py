"""Cost accounting against hand-computed small cases."""

import pandas as pd
import pytest
from pydantic import ValidationError

from sim.metrics.costs import (
    COST_ITEMS,
    activities_used,
    budget_breaches,
    cost_by_year,
    cost_problems,
    cost_totals,
)
from sim.model.model import LearningHealthSystem
from sim.model.rules import Blame
from sim.model.schema import Scenario


def scenario(country=None, **top):
    base = {"name": "Costland", "districts": 2, "facilities": 10}
    base.update(country or {})
    return Scenario(name="c", countries=[base], **top)


def activity(months, **columns):
    """A one-replicate timeseries with the given activity per month (others zero)."""
    frame = pd.DataFrame({"replicate": 0, "month": list(range(1, months + 1))})
    for name in (
        "session_attendees",
        "coaching_visits",
        "exchange_visits",
        "group_months",
        "qi_team_months",
        "district_meetings",
        "cop_meetings",
        "programme_district_months",
    ):
        frame[name] = columns.get(name, 0.0)
    return frame


def test_sessions_and_coaching_over_two_years_by_hand():
    s = scenario(
        costs={
            "learning_session_per_attendee": 10.0,
            "coaching_visit": 100.0,
            "discount_rate": 0.05,
            "national_qi_team_per_year": 1200.0,
            "facility_qi_team_per_year": 0.0,
        }
    )
    # 24 months: 4 attendees and 1 coaching visit a month
    table = cost_by_year(activity(24, session_attendees=4.0, coaching_visits=1.0), s)
    by = table.set_index(["year", "activity"])
    assert by.loc[(0, "learning_session_per_attendee"), "cost"] == pytest.approx(12 * 4 * 10)
    assert by.loc[(1, "coaching_visit"), "cost"] == pytest.approx(1200.0)
    assert by.loc[(1, "coaching_visit"), "cost_discounted"] == pytest.approx(1200.0 / 1.05)
    # the national QI team of the one country with guidance on: 1200 a year
    assert by.loc[(0, "national_qi_team_per_year"), "cost"] == pytest.approx(1200.0)
    totals = cost_totals(table).iloc[0]
    year0 = 480 + 1200 + 1200
    year1 = year0 / 1.05
    assert totals["cost_total"] == pytest.approx(year0 + year1)
    assert totals["cost_total_undiscounted"] == pytest.approx(2 * year0)
    assert totals["cost_coaching_visit"] == pytest.approx(1200 + 1200 / 1.05)


def test_fixed_items_and_programmes_by_hand():
    s = scenario(
        {
            "learning_centres": {"count": 2},
            "facility_mix": {"documentation": 0.7},
            "blame": {"facility": 0.2},
            "channels": {"guidance": {"enabled": False}},
        },
        costs={
            "learning_centre_per_year": 1200.0,
            "documentation_training_per_facility": 50.0,
            "blame_free_programme_per_facility_year": 12.0,
            "discount_rate": 0.0,
        },
    )
    table = cost_by_year(activity(18), s)
    by = table.groupby("activity")["cost"].sum()
    assert by["learning_centre_per_year"] == pytest.approx(2 * 1200 * 18 / 12)
    assert by["documentation_training_per_facility"] == pytest.approx(10 * 50), "once, month 1"
    # 10 facilities, blame 0.2 is (default - 0.2) / 0.1 tenths below the default: the dose
    # scales the cost
    tenths = (Blame().facility - 0.2) / 0.1
    assert by["blame_free_programme_per_facility_year"] == pytest.approx(10 * tenths * 12 * 18 / 12)
    assert by["national_qi_team_per_year"] == 0, "guidance off: no national team charged"
    assert by["learning_centre_setup"] == pytest.approx(2 * 50_000), "two centres, set up once"


def test_dose_scaled_levers_are_charged_by_their_dose():
    s = scenario(
        {
            "national": {"capacity": 100},
            "channels": {"district_exchange": {"enabled": True}},
            "learning_centres": {"count": 1},
        },
        costs={
            "national_capacity_per_item_month": 2.0,
            "district_exchange_per_meeting": 30.0,
            "community_of_practice_per_member_meeting": 5.0,
            "discount_rate": 0.0,
        },
    )
    assert {"district_exchange_per_meeting", "national_capacity_per_item_month"} <= set(
        activities_used(s)
    )
    table = cost_by_year(activity(12, district_meetings=4.0, cop_meetings=3.0), s)
    by = table.groupby("activity")["cost"].sum()
    assert by["national_capacity_per_item_month"] == pytest.approx((100 - 60) * 2.0 * 12)
    assert by["district_exchange_per_meeting"] == pytest.approx(4 * 30.0 * 12)
    assert by["community_of_practice_per_member_meeting"] == pytest.approx(3 * 5.0 * 12)
    unlimited = scenario({"national": {"capacity": None}})
    assert "national_capacity_per_item_month" not in activities_used(unlimited)


def test_facility_qi_teams_and_messaging_groups():
    s = scenario(costs={"facility_qi_team_per_year": 600.0, "messaging_group_per_month": 7.0})
    table = cost_by_year(activity(12, qi_team_months=3.0, group_months=2.0), s)
    by = table.groupby("activity")["cost"].sum()
    assert by["facility_qi_team_per_year"] == pytest.approx(3 * 600), "3 teams all year"
    assert by["messaging_group_per_month"] == pytest.approx(12 * 2 * 7)


def test_budget_breaches_count_years_over_the_envelope():
    s = scenario(costs={"coaching_visit": 100.0, "national_qi_team_per_year": 0.0})
    visits = [1.0] * 12 + [3.0] * 12
    table = cost_by_year(activity(24, coaching_visits=visits), s)
    # year 0 costs 1200 plus QI teams (default 500 a team, but qi_team_months are 0)
    assert budget_breaches(table, 2000.0).tolist() == [1]
    assert budget_breaches(table, 5000.0).tolist() == [0]
    assert budget_breaches(table, None).tolist() == [0]


def test_every_activity_has_a_unit_cost_field():
    names = {item.name for item in COST_ITEMS}
    assert names <= set(Scenario.model_fields["costs"].annotation.model_fields)


def test_negative_unit_cost_is_rejected_by_the_schema():
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        scenario(costs={"coaching_visit": -1.0})


def test_missing_unit_cost_for_a_used_activity_is_a_problem():
    s = scenario(costs={"coaching_visit": None, "exchange_visit": None})
    problems = cost_problems(s, "x.yaml")
    keys = [p.key for p in problems]
    assert keys == ["costs.coaching_visit"], "exchange visits are off, so no unit cost needed"
    assert "coaching" in problems[0].message and problems[0].file == "x.yaml"


def test_activities_used_follow_the_channels():
    off = scenario({"channels": {"coaching": {"enabled": False}}}, loops={"triple": False})
    used = activities_used(off)
    assert "coaching_visit" not in used and "messaging_group_per_month" not in used
    reviewed = activities_used(scenario(loops={"triple": True}))
    assert "messaging_group_per_month" in reviewed, "the triple loop may open a group"
    assert "triple_loop_review_per_country_year" in reviewed
    assert "triple_loop_review_per_country_year" not in used, "reviews cost only where funded"


def test_a_routing_change_is_charged_once_per_district_when_it_happens():
    unit = {"routing_change_per_district": 1000.0, "discount_rate": 0.0}
    centralised = scenario(costs=unit)
    assert "routing_change_per_district" not in activities_used(centralised)
    free = scenario({"national": {"routing": "free"}}, costs=unit)
    assert "routing_change_per_district" in activities_used(free)
    by = cost_by_year(activity(24), free).groupby(["year", "activity"])["cost"].sum()
    assert by[(0, "routing_change_per_district")] == pytest.approx(2 * 1000), "month 1, 2 districts"
    assert by[(1, "routing_change_per_district")] == 0
    # the triple loop's switch is charged in the month it happens
    looped = scenario(costs=unit, loops={"triple": True})
    switched = activity(24).assign(routing_changes=[0.0] * 17 + [2.0] + [0.0] * 6)
    by = cost_by_year(switched, looped).groupby(["year", "activity"])["cost"].sum()
    assert by[(0, "routing_change_per_district")] == 0
    assert by[(1, "routing_change_per_district")] == pytest.approx(2 * 1000)


def test_the_triple_loop_counts_the_districts_whose_routing_it_frees():
    from tests.builders import small

    s = small({"national": {"capacity": 1}}, loops={"triple": True})
    model = LearningHealthSystem(s, 0)
    model.run()
    rows = pd.DataFrame(model.recorder.rows)
    assert model.system.routing_free[0], "a one-item national body is a bottleneck"
    assert rows["routing_changes"].tolist().count(10.0) == 1 and rows["routing_changes"].sum() == 10
