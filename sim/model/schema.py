"""The scenario schema: the parameter sections assembled into a country and a scenario.

Each parameter is declared once (:mod:`sim.model.parameters` says how): by the mechanism
that uses it, in its module under :mod:`sim.model.mechanisms`; by the world
(:mod:`sim.model.world`), the practice catalogue (:mod:`sim.model.practices`) and the
shared rules (:mod:`sim.model.rules`); and here, for what belongs to the scenario as a
whole or to several mechanisms (the national body, the learning loops, costs). Every
section forbids unknown keys, so a misspelt key is an error, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from sim.model.maturity import MaturityProfile, apply_profile
from sim.model.mechanisms.coaching import CoachingParameters
from sim.model.mechanisms.community_of_practice import CommunityOfPracticeParameters
from sim.model.mechanisms.district_exchange import DistrictExchangeParameters
from sim.model.mechanisms.exchange_visits import ExchangeVisitsParameters
from sim.model.mechanisms.global_learning import GlobalLearningParameters
from sim.model.mechanisms.guidance import GuidanceParameters
from sim.model.mechanisms.innovation import InnovationParameters
from sim.model.mechanisms.internal_learning import InternalParameters
from sim.model.mechanisms.learning_centre import LearningCentresParameters
from sim.model.mechanisms.learning_sessions import LearningSessionsParameters
from sim.model.mechanisms.messaging_group import MessagingGroupParameters
from sim.model.mechanisms.peer_network import PeerNetworkParameters
from sim.model.mechanisms.programmes import ProgrammeParameters
from sim.model.mechanisms.support_requests import SupportRequestsParameters
from sim.model.mechanisms.trials import TrialsParameters
from sim.model.mechanisms.turnover import TurnoverParameters
from sim.model.mechanisms.upward_reporting import UpwardReportingParameters
from sim.model.parameters import (
    C,
    FolderName,
    P,
    ParameterInfo,
    Section,
)
from sim.model.parameters import iter_parameters as _iter_parameters
from sim.model.parameters import parameter_table as _parameter_table
from sim.model.practices import PracticeCatalogue, PracticeSpec
from sim.model.rules import Blame
from sim.model.world import FacilityMix, Network

__all__ = [
    "Blame",
    "Channels",
    "Costs",
    "Country",
    "FacilityMix",
    "GlobalLearningParameters",
    "Loops",
    "MAX_CELLS",
    "MAX_COUNTRIES",
    "National",
    "Network",
    "ParameterInfo",
    "Posterior",
    "PracticeCatalogue",
    "PracticeSpec",
    "Scenario",
    "iter_parameters",
    "parameter_table",
]


class Channels(Section):
    """Every channel of the model, each with on/off, schedule, reach, fidelity, capacity."""

    internal: InternalParameters = Field(default_factory=InternalParameters)
    peer_network: PeerNetworkParameters = Field(default_factory=PeerNetworkParameters)
    learning_sessions: LearningSessionsParameters = Field(
        default_factory=LearningSessionsParameters
    )
    messaging_group: MessagingGroupParameters = Field(default_factory=MessagingGroupParameters)
    exchange_visits: ExchangeVisitsParameters = Field(default_factory=ExchangeVisitsParameters)
    coaching: CoachingParameters = Field(default_factory=CoachingParameters)
    upward_reporting: UpwardReportingParameters = Field(default_factory=UpwardReportingParameters)
    district_exchange: DistrictExchangeParameters = Field(
        default_factory=DistrictExchangeParameters
    )
    guidance: GuidanceParameters = Field(default_factory=GuidanceParameters)
    community_of_practice: CommunityOfPracticeParameters = Field(
        default_factory=CommunityOfPracticeParameters
    )


# --------------------------------------------------------------------------- organisations
class National(Section):
    """The ministry and national QI team: guidance, routing and its queue."""

    capacity: int | None = P(
        60,
        0,
        10_000_000,
        unit="items per month",
        description="Items the national body processes a month; null means unlimited.",
    )
    routing: Literal["centralised", "free"] = Field(
        "centralised",
        description="'centralised': every upward and cross-district item waits in the "
        "national queue; 'free': districts exchange directly and report to a learning centre.",
    )
    time_to_live: int = P(
        6, 1, 120, unit="months", description="Months an item waits in the queue before it expires."
    )
    evidence_threshold: int = P(
        3,
        1,
        1000,
        unit="lessons",
        description="Success reports with stories needed before guidance is issued.",
    )


class Country(Section):
    """One country: its facilities, districts, organisations, channels and culture."""

    name: str = Field(description="Country name, unique in the scenario.")
    description: str = Field("", description="What this country stands for.")
    districts: int = P(20, 1, 10_000, unit="districts", description="Number of districts.")
    facilities: int = P(600, 1, 2_000_000, unit="facilities", description="Number of facilities.")
    facility_file: str | None = Field(
        None,
        description="CSV of real facilities (id, district, level, sector, staff); "
        "replaces generated facilities.",
    )
    edge_file: str | None = Field(
        None, description="CSV of network ties (source, target, optional kind)."
    )
    facility_mix: FacilityMix = Field(default_factory=FacilityMix)
    network: Network = Field(default_factory=Network)
    innovation: InnovationParameters = Field(default_factory=InnovationParameters)
    trials: TrialsParameters = Field(default_factory=TrialsParameters)
    support_requests: SupportRequestsParameters = Field(default_factory=SupportRequestsParameters)
    turnover: TurnoverParameters = Field(default_factory=TurnoverParameters)
    blame: Blame = Field(default_factory=Blame)
    channels: Channels = Field(default_factory=Channels)
    national: National = Field(default_factory=National)
    learning_centres: LearningCentresParameters = Field(default_factory=LearningCentresParameters)
    programmes: list[ProgrammeParameters] = Field(
        default_factory=list,
        description="Funded programmes: a district channel in target districts for a time.",
    )
    maturity: MaturityProfile | None = Field(
        None,
        description="Learning-network maturity: six domains at levels 1-4 (or a life-cycle "
        "stage), filling in the parameters they map to where the file is silent.",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_profile(cls, data: Any) -> Any:
        return apply_profile(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _enough_facilities(self) -> Country:
        if self.facility_file is None and self.facilities < self.districts:
            raise ValueError(
                f"facilities ({self.facilities}) must be at least districts ({self.districts})"
            )
        if self.edge_file is not None and self.facility_file is None:
            raise ValueError("edge_file needs facility_file")
        names = [p.name for p in self.programmes]
        if len(set(names)) != len(names):
            raise ValueError("programme names must be unique in a country")
        return self


class Loops(Section):
    """Single, double and triple learning loops (WHO flagship report)."""

    single: bool = Field(True, description="Facilities keep or drop practices from their data.")
    double: bool = Field(
        True, description="Districts shift effort to the support that moved QoC; guidance revised."
    )
    triple: bool = Field(
        False,
        description="A yearly review reads the loss ledger and changes the learning system "
        "(an investment: off unless funded, costed as costs.triple_loop_review_per_country_year).",
    )
    review_interval_months: int = P(
        12, 1, 120, unit="months", description="Months between double- and triple-loop reviews."
    )
    review_share: float = P(
        0.1,
        0.0,
        1.0,
        unit="per month",
        description="Single loop: chance a facility re-reads its data on a practice in use.",
    )
    effort_shift: float = P(
        0.2, 0.0, 1.0, description="Double loop: share of effort moved per review."
    )
    coaching_weight_range: float = P(
        0.8,
        0.0,
        1.0,
        description="Double loop: coaching effort may move this far from plan (1 +/- it).",
    )
    documentation_template_gain: float = P(
        0.1, 0.0, 1.0, description="Triple loop: rise in documentation from templates."
    )
    loss_share_trigger: float = P(
        0.25,
        0.0,
        1.0,
        description="Triple loop: share of recent losses from one cause that triggers a change.",
    )
    blame_step: float = P(
        0.05, 0.0, 1.0, description="Triple loop: fall in blame culture when blame losses dominate."
    )


class Posterior(Section):
    """Parameters drawn per replicate from posterior samples (written by ``lhsim calibrate``).

    Replicate ``r`` takes one row of the samples file, drawn with the row weights from a
    stream of the scenario seed and ``r``, and sets each named key to that row's value.
    """

    samples: str = Field(
        description="CSV of posterior samples: one column per parameter, optional 'weight'."
    )
    parameters: dict[str, str] = Field(
        min_length=1,
        description="Column of the samples file -> dotted scenario key it sets "
        "('countries.*.' sets it in every country).",
    )


class Costs(Section):
    """Unit costs of learning-system activities, discounting and a budget envelope.

    Costs are computed after a run from the monthly activity counts on disk
    (:mod:`sim.metrics.costs`); they do not change the simulation. A unit cost of null means
    the activity is not costed, which is an error if the scenario uses it.
    """

    currency: str = Field("USD", description="Currency of every unit cost and the budget.")
    discount_rate: float = P(
        0.03,
        0.0,
        0.5,
        unit="per year",
        description="Annual discount rate; costs in year y (from 0) are divided by (1 + r)^y.",
        source="common default of health economic evaluation guides (3 % a year)",
    )
    annual_budget: float | None = P(
        None,
        0.0,
        None,
        unit="currency per year",
        description="Optional envelope; a year whose undiscounted cost exceeds it is a breach.",
    )
    learning_session_per_attendee: float | None = C(
        40.0, unit="per facility attending", description="A facility's attendance at a session."
    )
    coaching_visit: float | None = C(
        60.0, unit="per visit", description="A district coach's visit to a facility."
    )
    exchange_visit: float | None = C(
        150.0, unit="per visit", description="One facility's staff visiting another facility."
    )
    messaging_group_per_month: float | None = C(
        10.0, unit="per group per month", description="Moderating and data for a district group."
    )
    learning_centre_per_year: float | None = C(
        150_000.0, unit="per centre per year", description="Running a learning centre."
    )
    learning_centre_setup: float | None = C(
        50_000.0, unit="per centre, once", description="Setting up a learning centre (month 1)."
    )
    community_of_practice_per_member_meeting: float | None = C(
        200.0,
        unit="per member district per meeting",
        description="A district's part in a community-of-practice meeting.",
    )
    district_exchange_per_meeting: float | None = C(
        500.0,
        unit="per district meeting",
        description="A district office meeting a peer district (travel, time).",
    )
    national_capacity_per_item_month: float | None = C(
        20.0,
        unit="per extra item of monthly capacity, per month",
        description="National QI staff to process items above the default capacity "
        "(an unlimited capacity cannot be costed and is charged nothing).",
    )
    national_qi_team_per_year: float | None = C(
        80_000.0,
        unit="per country per year",
        description="The national QI team behind guidance (charged where guidance is on).",
    )
    facility_qi_team_per_year: float | None = C(
        500.0, unit="per team per year", description="Time and meetings of a facility QI team."
    )
    documentation_training_per_facility: float | None = C(
        200.0,
        unit="per facility, once",
        description="Documentation training, charged in month 1 where facility documentation "
        "is set above its default, or as a documentation_training programme reaches each "
        "facility.",
    )
    triple_loop_review_per_country_year: float | None = C(
        30_000.0,
        unit="per country per year",
        description="The yearly review of how the system learns (triple loop), where it is on.",
    )
    programme_support_per_district_month: float | None = C(
        300.0,
        unit="per district per month",
        description="Managing a programme (planning, supervision, reporting) in a covered "
        "district, on top of its activities.",
    )
    blame_free_programme_per_facility_year: float | None = C(
        25.0,
        unit="per facility per year, per 0.1 of reduction",
        description="A blame-free culture programme, charged per 0.1 by which facility blame "
        "culture is set below its default, or by which a blame_free_culture programme lowers "
        "it in the districts it covers.",
    )
    routing_change_per_district: float | None = C(
        2_000.0,
        unit="per district, once",
        description="Reorganising a district's routing of lessons (free routing), charged "
        "once per district: in month 1 where the scenario sets free routing, or in the month "
        "the triple loop makes it free.",
    )


#: Most countries in one scenario: lessons record their country in 16 bits, and this
#: many countries of the largest size (``facilities``: 2,000,000) keep every facility
#: index within the 32 bits that hold it.
MAX_COUNTRIES = 1000


#: Most facility-practice cells (facilities x practices) of a generated world, and what
#: a cell costs, measured on scenarios/national.yaml (200,000 x 32 cells, 120 months: about
#: 1 GB and 18.5 s on one core; benchmarks/README.md).
MAX_CELLS = 100_000_000
BYTES_PER_CELL = 160
SECONDS_PER_CELL_MONTH = 2.4e-8


class Scenario(Section):
    """A whole scenario: one world of one or more countries."""

    name: FolderName = Field(description="Scenario name; names the results folder.")
    description: str = Field("", description="What the scenario represents and assumes.")
    seed: int = P(12345, 0, 2**63 - 1, description="Root seed of every random stream.")
    months: int = P(60, 1, 1200, unit="months", description="Simulated months.")
    replicates: int = P(10, 1, 100_000, unit="replicates", description="Default replicates.")
    practices: PracticeCatalogue = Field(default_factory=PracticeCatalogue)
    countries: list[Country] = Field(
        min_length=1, max_length=MAX_COUNTRIES, description="The countries of the world."
    )
    global_links: list[tuple[str, str]] = Field(
        default_factory=list, description="Pairs of countries whose national bodies learn together."
    )
    global_learning: GlobalLearningParameters = Field(default_factory=GlobalLearningParameters)
    loops: Loops = Field(default_factory=Loops)
    posterior: Posterior | None = Field(
        None, description="Draw fitted parameters per replicate from posterior samples."
    )
    costs: Costs = Field(default_factory=Costs)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        names = [c.name for c in self.countries]
        problems = []
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            problems.append(f"country names must be unique; repeated: {duplicated}")
        for a, b in self.global_links:
            for end in (a, b):
                if end not in names:
                    problems.append(f"global link names unknown country {end!r}; known: {names}")
            if a == b:
                problems.append(f"global link joins {a!r} to itself")
        generated = sum(c.facilities for c in self.countries if not c.facility_file)
        cells = generated * self.practices.count
        if cells > MAX_CELLS:
            problems.append(
                f"{generated:,} facilities x {self.practices.count} practices are "
                f"{cells:,} facility-practice cells, more than the {MAX_CELLS:,} a scenario "
                f"may hold: about {cells * BYTES_PER_CELL / 1e9:,.0f} GB of memory and "
                f"{cells * self.months * SECONDS_PER_CELL_MONTH / 3600:,.1f} hours a "
                "replicate; use fewer facilities or practices"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self


def iter_parameters(
    model: type[BaseModel] = Country, prefix: str = "", *, nested: bool = True
) -> Iterator[ParameterInfo]:
    """Yield every scalar parameter of ``model`` (a country by default).

    See :func:`sim.model.parameters.iter_parameters`.

    Examples:
        >>> "turnover.annual" in [p.path for p in iter_parameters()]
        True
    """
    return _iter_parameters(model, prefix, nested=nested)


def parameter_table(
    model: type[BaseModel] = Country, prefix: str = "", *, nested: bool = True
) -> str:
    """Render the parameters of ``model`` (a country by default) as a Markdown table."""
    return _parameter_table(model, prefix, nested=nested)
