"""The single source of truth for every scenario parameter.

Each parameter is declared once, as a field of a pydantic model, with its default,
its allowed range, its unit, a description and the source of its default. The
scenario loader validates YAML against these models; ``docs/model.md`` generates its
parameter tables from them (:func:`parameter_table`); sweeps address them by their
dotted key path (``countries.0.turnover.annual``).

Every model forbids unknown keys, so a misspelt key is an error, never silently
ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Blame",
    "Channels",
    "Costs",
    "Country",
    "FacilityMix",
    "Loops",
    "National",
    "ParameterInfo",
    "PracticeCatalogue",
    "Posterior",
    "PracticeSpec",
    "Scenario",
    "iter_parameters",
    "parameter_table",
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
) -> Any:
    """Declare one parameter: default, closed range ``[low, high]``, unit, description."""
    return Field(
        default,
        ge=low,
        le=high,
        description=description,
        json_schema_extra={"unit": unit, "low": low, "high": high, "source": source},
    )


class Section(BaseModel):
    """Base of every parameter group: unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- practices
class PracticeSpec(Section):
    """One practice of a catalogue listed explicitly in the scenario."""

    name: str = Field(description="Practice name, unique in the catalogue.")
    topic: str = Field("general", description="Clinical topic of the practice.")
    effect: float = P(1.0, -5.0, 5.0, unit="QoC points", description="True mean effect on QoC.")
    context_spread: float = P(
        0.5, 0.0, 5.0, unit="QoC points", description="Spread of the effect across facilities."
    )
    complexity: float = P(
        0.5, 0.0, 1.0, description="Chance that trying it without a how-to story fails."
    )
    in_guidance: bool = Field(
        False, description="National guidance on this practice exists at month 0."
    )


class PracticeCatalogue(Section):
    """The practices that can be discovered, tested, shared and lost."""

    count: int = P(24, 1, 500, unit="practices", description="Number of generated practices.")
    effective_share: float = P(
        0.6, 0.0, 1.0, description="Share of generated practices that truly improve care."
    )
    harmful_share: float = P(
        0.1, 0.0, 1.0, description="Share of generated practices that truly harm care."
    )
    effect_effective: float = P(
        1.0, 0.0, 5.0, unit="QoC points", description="Mean effect of an effective practice."
    )
    effect_harmful: float = P(
        -0.5, -5.0, 0.0, unit="QoC points", description="Mean effect of a harmful practice."
    )
    effect_sd: float = P(
        0.3, 0.0, 5.0, unit="QoC points", description="Spread of mean effects between practices."
    )
    context_spread: float = P(
        0.5,
        0.0,
        5.0,
        unit="QoC points",
        description="Spread of a practice's effect across facilities ('learning is local').",
        source=FRAMEWORK,
    )
    complexity_mean: float = P(0.5, 0.0, 1.0, description="Mean complexity of generated practices.")
    guidance_share: float = P(
        0.0, 0.0, 1.0, description="Share of effective practices in national guidance at month 0."
    )
    initial_adoption: float = P(
        0.02,
        0.0,
        1.0,
        description="Share of facilities already using each effective practice at month 0.",
    )
    topics: list[str] = Field(
        default_factory=lambda: [
            "postpartum haemorrhage",
            "early breastfeeding",
            "newborn resuscitation",
            "kangaroo mother care",
            "respectful care",
            "infection prevention",
        ],
        description="Clinical topics assigned in turn to generated practices.",
    )
    catalogue: list[PracticeSpec] | None = Field(
        None, description="An explicit catalogue; when given, the generator is not used."
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> PracticeCatalogue:
        if self.effective_share + self.harmful_share > 1.0:
            raise ValueError(
                "effective_share + harmful_share must not exceed 1 "
                f"(got {self.effective_share} + {self.harmful_share})"
            )
        if self.catalogue is not None:
            names = [p.name for p in self.catalogue]
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                raise ValueError(f"practice names must be unique; repeated: {duplicated}")
            if not names:
                raise ValueError("catalogue must list at least one practice")
        return self


# --------------------------------------------------------------------------- facilities
class FacilityMix(Section):
    """How generated facilities are drawn: level, sector, staff and capabilities."""

    hospital_share: float = P(0.05, 0.0, 1.0, description="Share of facilities that are hospitals.")
    health_centre_share: float = P(
        0.35, 0.0, 1.0, description="Share that are health centres (the rest are health posts)."
    )
    private_share: float = P(
        0.2, 0.0, 1.0, description="Share of facilities in the private sector."
    )
    staff_hospital: int = P(60, 1, 5000, unit="staff", description="Staff of a hospital.")
    staff_health_centre: int = P(12, 1, 1000, unit="staff", description="Staff of a health centre.")
    staff_health_post: int = P(3, 1, 100, unit="staff", description="Staff of a health post.")
    qi_team_share: float = P(
        0.3, 0.0, 1.0, description="Share of facilities with a QI team (hospitals first)."
    )
    leadership_support: float = P(
        0.5, 0.0, 1.0, description="Mean leadership support for improvement."
    )
    data_quality: float = P(
        0.5, 0.0, 1.0, description="Mean data quality: how reliably a trial's result is read."
    )
    documentation: float = P(
        0.4, 0.0, 1.0, description="Mean chance that a facility writes the story of a lesson."
    )
    capability_spread: float = P(
        0.15, 0.0, 0.5, description="Standard deviation of the three capabilities above."
    )

    @model_validator(mode="after")
    def _levels_fit(self) -> FacilityMix:
        if self.hospital_share + self.health_centre_share > 1.0:
            raise ValueError(
                "hospital_share + health_centre_share must not exceed 1 "
                f"(got {self.hospital_share} + {self.health_centre_share})"
            )
        return self


class Network(Section):
    """The generated facility network: small-world inside districts, a few ties across."""

    neighbours: int = P(
        4, 0, 50, unit="ties", description="Ties per facility in the district ring lattice."
    )
    rewiring: float = P(0.1, 0.0, 1.0, description="Watts-Strogatz rewiring probability.")
    cross_district_ties: int = P(
        2, 0, 1000, unit="ties per district", description="Random ties to other districts."
    )


class Innovation(Section):
    """Facilities with a QI team try practices nobody told them about."""

    rate: float = P(
        0.02,
        0.0,
        1.0,
        unit="per month",
        description="Chance a QI team starts a trial of an unknown practice each month.",
    )
    fear_of_failure: float = P(
        0.5, 0.0, 1.0, description="How much local blame culture suppresses innovation."
    )


class Trials(Section):
    """Trying a practice and reading the result from local data (the single loop)."""

    months: int = P(
        3,
        0,
        36,
        unit="months",
        description="Months from the start of a trial to reading its result (0: the same month).",
    )
    noise: float = P(
        1.0,
        0.0,
        10.0,
        unit="QoC points",
        description="Measurement noise of a trial's result with the worst data quality.",
    )
    success_threshold: float = P(
        0.3,
        -5.0,
        5.0,
        unit="QoC points",
        description="Observed improvement above which a trial is judged to have worked.",
    )
    uptake_with_story: float = P(
        0.5, 0.0, 1.0, description="Chance that a success heard with its story starts a trial."
    )
    uptake_without_story: float = P(
        0.2, 0.0, 1.0, description="Chance that a success heard without a story starts a trial."
    )
    failure_heeded: float = P(
        0.8,
        0.0,
        1.0,
        description="How much failure reports (as a share of all reports heard) cut the "
        "hazard of trying a practice.",
    )
    team_size: int = P(
        3, 1, 100, unit="staff", description="Staff holding a newly adopted practice."
    )
    lesson_shelf_life: int = P(
        12,
        1,
        120,
        unit="months",
        description="Months a lesson waits at a facility or district pool before it fades.",
    )


class Internal(Section):
    """Staff-to-staff learning inside a facility; institutionalisation."""

    enabled: bool = Field(
        True,
        description="Staff teach each other a practice in use; when off, practices are "
        "not institutionalised either.",
    )
    spread_rate: float = P(
        0.15, 0.0, 1.0, unit="per month", description="Rate at which holders teach colleagues."
    )
    qi_team_multiplier: float = P(
        2.0, 1.0, 10.0, description="Speed-up of internal spread where a QI team meets."
    )
    institutionalisation_rate: float = P(
        0.03,
        0.0,
        1.0,
        unit="per month",
        description="Base monthly chance a fully held practice becomes institutionalised.",
    )


class Turnover(Section):
    """Staff leaving; holders of a practice not yet institutionalised take it with them."""

    annual: float = P(
        0.15,
        0.0,
        0.9,
        unit="per year",
        description="Annual staff attrition.",
        source="Castro Lopes et al. 2017 (3-44 % a year); see shared data facts",
    )


class Blame(Section):
    """Blame culture b in [0, 1]: failures are shared with chance about 1 - b."""

    facility: float = P(0.5, 0.0, 1.0, description="Blame culture inside facilities.")
    district: float = P(0.5, 0.0, 1.0, description="Blame culture of district health offices.")
    national: float = P(0.5, 0.0, 1.0, description="Blame culture of the national body.")
    success_factor: float = P(
        0.2, 0.0, 1.0, description="How much blame also holds back successes (times b)."
    )


# --------------------------------------------------------------------------- channels
class Channel(Section):
    """Fields every channel has."""

    enabled: bool = Field(True, description="Whether the channel runs.")
    interval_months: int = P(1, 1, 120, unit="months", description="Months between events.")
    fidelity: float = P(
        0.8, 0.0, 1.0, description="Chance that a story survives one passage through it."
    )


class PeerNetwork(Channel):
    """Informal facility-to-facility contact along network ties (horizontal)."""

    fidelity: float = P(0.5, 0.0, 1.0, description="Chance a story survives a peer contact.")
    contact_probability: float = P(
        0.1, 0.0, 1.0, unit="per tie per month", description="Chance a tie is used in a month."
    )
    mixing: Literal["network", "full"] = Field(
        "network",
        description="'network' uses the ties; 'full' mixes every facility of a country.",
    )
    full_mixing_rate: float = P(
        0.3,
        0.0,
        10.0,
        unit="per month",
        description="With full mixing: contact rate with the users of a practice (Bass q).",
    )


class LearningSessions(Channel):
    """District learning sessions: facilities meet and share (horizontal)."""

    interval_months: int = P(
        3, 1, 120, unit="months", description="Months between sessions.", source=FRAMEWORK
    )
    attendance: float = P(
        0.5, 0.0, 1.0, description="Share of a district's facilities invited to a session."
    )
    capacity: int = P(40, 0, 100000, unit="facilities", description="Most facilities per session.")
    intensity: float = P(
        0.4, 0.0, 20.0, description="Strength of exposure to practices presented at a session."
    )


class MessagingGroup(Channel):
    """A low-tech continuous channel (WhatsApp-style district group)."""

    enabled: bool = Field(False, description="Whether the district runs a messaging group.")
    fidelity: float = P(0.3, 0.0, 1.0, description="Chance a story survives a message.")
    membership: float = P(0.6, 0.0, 1.0, description="Share of district facilities in the group.")
    capacity: int = P(250, 0, 100000, unit="members", description="Most members per group.")
    intensity: float = P(0.3, 0.0, 20.0, description="Strength of exposure to posted practices.")


class ExchangeVisits(Channel):
    """One facility's staff visit another facility (horizontal, high fidelity)."""

    enabled: bool = Field(False, description="Whether exchange visits are funded.")
    fidelity: float = P(0.9, 0.0, 1.0, description="Chance a story survives a visit.")
    capacity: int = P(
        2, 0, 10000, unit="visits per district per month", description="Visits funded."
    )
    cross_district_share: float = P(
        0.2, 0.0, 1.0, description="Share of visits to a facility in another district."
    )


class Coaching(Channel):
    """District coaches visit facilities (vertical down) and back implementation."""

    fidelity: float = P(0.9, 0.0, 1.0, description="Chance a story survives a coaching visit.")
    capacity: int = P(
        4, 0, 10000, unit="visits per district per month", description="Coaching visits."
    )
    intensity: float = P(
        0.5, 0.0, 20.0, description="Strength of exposure to what the coach brings."
    )
    implementation_support: float = P(
        0.7, 0.0, 1.0, description="Cut in no-story implementation failure at coached facilities."
    )
    support_months: int = P(
        6, 0, 60, unit="months", description="Months a coaching visit keeps backing implementation."
    )


class UpwardReporting(Channel):
    """Facility to district to learning centre / national: data always, stories if written."""

    fidelity: float = P(0.7, 0.0, 1.0, description="Chance a written story survives the report.")


class DistrictExchange(Channel):
    """District health offices meet peer districts (horizontal between districts)."""

    interval_months: int = P(6, 1, 120, unit="months", description="Months between meetings.")
    fidelity: float = P(0.6, 0.0, 1.0, description="Chance a story survives the meeting.")
    peers: int = P(2, 0, 100, unit="districts", description="Peer districts met per meeting.")


class Guidance(Channel):
    """National guidance and standards flowing down to facilities."""

    fidelity: float = P(0.6, 0.0, 1.0, description="Chance guidance carries a usable how-to.")
    reach: float = P(
        0.1,
        0.0,
        1.0,
        unit="per month",
        description="Chance a facility takes in current guidance in a month (Bass p).",
    )


class CommunityOfPractice(Channel):
    """The learning centre's community of practice across districts."""

    interval_months: int = P(3, 1, 120, unit="months", description="Months between meetings.")
    fidelity: float = P(0.9, 0.0, 1.0, description="Chance a packaged story survives.")
    reach: float = P(0.5, 0.0, 1.0, description="Share of districts that take part.")


class Channels(Section):
    """Every channel of the model, each with on/off, schedule, reach, fidelity, capacity."""

    internal: Internal = Field(default_factory=Internal)
    peer_network: PeerNetwork = Field(default_factory=PeerNetwork)
    learning_sessions: LearningSessions = Field(default_factory=LearningSessions)
    messaging_group: MessagingGroup = Field(default_factory=MessagingGroup)
    exchange_visits: ExchangeVisits = Field(default_factory=ExchangeVisits)
    coaching: Coaching = Field(default_factory=Coaching)
    upward_reporting: UpwardReporting = Field(default_factory=UpwardReporting)
    district_exchange: DistrictExchange = Field(default_factory=DistrictExchange)
    guidance: Guidance = Field(default_factory=Guidance)
    community_of_practice: CommunityOfPractice = Field(default_factory=CommunityOfPractice)


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


class LearningCentres(Section):
    """Universities or implementing partners that collect, synthesise and package lessons."""

    count: int = P(0, 0, 100, unit="centres", description="Learning centres in the country.")
    capacity: int = P(
        100, 0, 10_000_000, unit="items per month", description="Items a centre processes a month."
    )
    ready_threshold: int = P(
        3,
        1,
        1000,
        unit="lessons",
        description="Success reports with stories before a practice is 'ready to scale'.",
    )
    data_quality_gain: float = P(
        0.05,
        0.0,
        1.0,
        unit="per year",
        description="Yearly rise in facility data quality from operational research.",
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
    innovation: Innovation = Field(default_factory=Innovation)
    trials: Trials = Field(default_factory=Trials)
    turnover: Turnover = Field(default_factory=Turnover)
    blame: Blame = Field(default_factory=Blame)
    channels: Channels = Field(default_factory=Channels)
    national: National = Field(default_factory=National)
    learning_centres: LearningCentres = Field(default_factory=LearningCentres)

    @model_validator(mode="after")
    def _enough_facilities(self) -> Country:
        if self.facility_file is None and self.facilities < self.districts:
            raise ValueError(
                f"facilities ({self.facilities}) must be at least districts ({self.districts})"
            )
        if self.edge_file is not None and self.facility_file is None:
            raise ValueError("edge_file needs facility_file")
        return self


class Loops(Section):
    """Single, double and triple learning loops (WHO flagship report)."""

    single: bool = Field(True, description="Facilities keep or drop practices from their data.")
    double: bool = Field(
        True, description="Districts shift effort to the support that moved QoC; guidance revised."
    )
    triple: bool = Field(
        True, description="A yearly review reads the loss ledger and changes the learning system."
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


class GlobalLearning(Section):
    """Country-to-country learning between linked national bodies."""

    enabled: bool = Field(True, description="Linked national bodies share guidance.")
    interval_months: int = P(6, 1, 120, unit="months", description="Months between exchanges.")
    fidelity: float = P(
        0.8, 0.0, 1.0, description="Chance a partner's guidance item is taken over at an exchange."
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


ILLUSTRATIVE = "illustrative: no costing study in the project's sources; replace with local figures"


def C(default: float | None, *, unit: str, description: str) -> Any:  # noqa: N802
    """Declare one unit cost: non-negative, null when the activity is not costed."""
    return P(default, 0.0, None, unit=unit, description=description, source=ILLUSTRATIVE)


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
        "is set above its default.",
    )
    blame_free_programme_per_facility_year: float | None = C(
        100.0,
        unit="per facility per year",
        description="A blame-free culture programme, charged where facility blame culture "
        "is set below its default.",
    )


class Scenario(Section):
    """A whole scenario: one world of one or more countries."""

    name: str = Field(description="Scenario name; names the results folder.")
    description: str = Field("", description="What the scenario represents and assumes.")
    seed: int = P(12345, 0, 2**63 - 1, description="Root seed of every random stream.")
    months: int = P(60, 1, 1200, unit="months", description="Simulated months.")
    replicates: int = P(10, 1, 100_000, unit="replicates", description="Default replicates.")
    practices: PracticeCatalogue = Field(default_factory=PracticeCatalogue)
    countries: list[Country] = Field(min_length=1, description="The countries of the world.")
    global_links: list[tuple[str, str]] = Field(
        default_factory=list, description="Pairs of countries whose national bodies learn together."
    )
    global_learning: GlobalLearning = Field(default_factory=GlobalLearning)
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
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --------------------------------------------------------------------------- introspection
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


def iter_parameters(
    model: type[BaseModel] = Country, prefix: str = "", *, nested: bool = True
) -> Iterator[ParameterInfo]:
    """Yield every scalar parameter of ``model`` (and, if ``nested``, of its sections).

    Examples:
        >>> paths = [p.path for p in iter_parameters(Country)]
        >>> "turnover.annual" in paths
        True
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
        )


def parameter_table(
    model: type[BaseModel] = Country, prefix: str = "", *, nested: bool = True
) -> str:
    """Render the parameters of ``model`` as a Markdown table (used by docs/model.md)."""
    rows = ["| key | default | range | unit | description | source |", "|---|---|---|---|---|---|"]
    for p in iter_parameters(model, prefix, nested=nested):
        if p.low is None and p.high is None:
            span = "true / false" if isinstance(p.default, bool) else "-"
        else:
            span = f"{_fmt(p.low)} to {_fmt(p.high)}"
        rows.append(
            f"| `{p.path}` | {_fmt(p.default)} | {span} | {p.unit or '-'} | "
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
