"""Population state: arrays indexed by the stable facility, district and country numbers.

Arrays are created once and updated in place; agents and mechanisms read and write
them through these objects, never through copies.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from sim.model.practices import Catalogue
from sim.model.schema import Scenario
from sim.model.world import World

__all__ = [
    "CountryValues",
    "Knowledge",
    "Population",
    "Source",
    "Stage",
    "WorkArrays",
    "in_use",
]


class Stage(IntEnum):
    """Where a facility stands with a practice."""

    UNKNOWN = 0
    AWARE = 1
    TRIAL = 2
    ADOPTED = 3
    INSTITUTIONALISED = 4
    REJECTED = 5
    LOST = 6


#: Stages from which a facility can start a trial when it hears of a practice.
OPEN_STAGES = (Stage.UNKNOWN, Stage.AWARE, Stage.LOST)


class Source(IntEnum):
    """How a facility first heard of a practice (the channel that carried it)."""

    NONE = 0
    INITIAL = 1
    INNOVATION = 2
    PEER_NETWORK = 3
    LEARNING_SESSIONS = 4
    MESSAGING_GROUP = 5
    EXCHANGE_VISITS = 6
    COACHING = 7
    GUIDANCE = 8


def in_use(stage: np.ndarray) -> np.ndarray:
    """Cells where a practice is in use (adopted or institutionalised)."""
    return (stage == int(Stage.ADOPTED)) | (stage == int(Stage.INSTITUTIONALISED))


def is_open(stage: np.ndarray) -> np.ndarray:
    """Cells where a facility could still start a trial."""
    return (stage <= int(Stage.AWARE)) | (stage == int(Stage.LOST))


class WorkArrays:
    """Large work arrays kept from month to month, one per use, written over each time.

    A fresh large array costs more than its size suggests: the operating system
    hands its memory over as it is first written, zero-filled (2 MB at a time where
    transparent huge pages are on), and the kernels write a few entries into each of
    their blocks of rows, so a month would pay for zeroing most of the array.

    Examples:
        >>> work = WorkArrays()
        >>> a = work.get("trials", 10, np.int64)
        >>> b = work.get("trials", 8, np.int64)
        >>> b.size, np.shares_memory(a, b), np.shares_memory(a, work.get("trials", 40, np.int64))
        (8, True, False)
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype: type) -> np.ndarray:
        """``size`` entries of ``dtype`` for ``name`` (contents left over).

        A view of the array kept under ``name``; one that has to grow is made a quarter
        larger than asked, so that a slowly growing need does not make a new one each
        month.
        """
        array = self._arrays.get(name)
        if array is None or array.dtype != np.dtype(dtype):
            array = self._arrays[name] = np.empty(size, dtype=dtype)
        elif array.size < size:
            array = self._arrays[name] = np.empty(size + size // 4, dtype=dtype)
        return array[:size]


@dataclass
class Population:
    """Facility x practice state.

    Attributes:
        stage: :class:`Stage` code per facility and practice.
        holders: Staff holding a practice in use.
        story: The facility holds the how-to story of the practice.
        knows_failure: The facility has heard (or found) that the practice fails.
        failure_reports: Failure reports heard so far (summed intensity).
        success_reports: Success reports heard so far (summed intensity).
        trial_left: Months left in a running trial.
        trial_story: The running trial has a how-to story behind it.
        first_source: :class:`Source` of the first news of the practice.
        local_effect: True effect of the practice at the facility ("learning is local").
        coached_until: Month until which a facility has coaching support.
        attended: The facility attended a learning session in the current review period.
        coached: The facility was coached in the current review period.
        trial_cells: The cells in trial (flat ``facility * K + practice``, ascending):
            a trial is started only by :func:`sim.model.adoption.start_trials` and ends only
            in :func:`sim.model.kernels.finish_trials`, which keep this list, so trials are
            found without looking at every cell.
    """

    stage: np.ndarray
    holders: np.ndarray
    story: np.ndarray
    knows_failure: np.ndarray
    failure_reports: np.ndarray
    success_reports: np.ndarray
    trial_left: np.ndarray
    trial_story: np.ndarray
    first_source: np.ndarray
    local_effect: np.ndarray
    coached_until: np.ndarray
    attended: np.ndarray
    coached: np.ndarray
    trial_cells: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def empty(cls, world: World, catalogue: Catalogue, rng: np.random.Generator) -> Population:
        """All practices unknown everywhere; local effects drawn around each mean."""
        n, k = world.n_facilities, catalogue.size
        local = rng.standard_normal((n, k), dtype=np.float32)  # then scaled in place
        local *= catalogue.context_spread.astype(np.float32)[None, :]
        local += catalogue.effect.astype(np.float32)[None, :]
        return cls(
            stage=np.zeros((n, k), dtype=np.int8),
            holders=np.zeros((n, k), dtype=np.int16),
            story=np.zeros((n, k), dtype=bool),
            knows_failure=np.zeros((n, k), dtype=bool),
            failure_reports=np.zeros((n, k), dtype=np.float32),
            success_reports=np.zeros((n, k), dtype=np.float32),
            trial_left=np.zeros((n, k), dtype=np.int8),
            trial_story=np.zeros((n, k), dtype=bool),
            first_source=np.zeros((n, k), dtype=np.int8),
            local_effect=local,
            coached_until=np.full(n, -1, dtype=np.int32),
            attended=np.zeros(n, dtype=bool),
            coached=np.zeros(n, dtype=bool),
        )


@dataclass
class Knowledge:
    """What districts, learning centres and national bodies know, per practice.

    Attributes:
        district_story: A district knows a success with its story.
        district_success: A district knows of a success (with or without story).
        district_failure: A district knows the practice failed somewhere.
        district_success_reports: Success reports that reached the district (counts).
        district_failure_reports: Failure reports that reached the district (counts).
        evidence_story: Success reports with stories processed nationally, per country.
        evidence_success: Success reports processed nationally, per country.
        evidence_failure: Failure reports processed nationally, per country.
        centre_story: Success reports with stories processed by the learning centre(s).
        centre_success: Success reports processed by the learning centre(s).
        centre_failure: Failure reports processed by the learning centre(s).
        package: The learning centre has packaged the practice (high-fidelity how-to).
        guidance: National guidance in force.
        withdrawn: Guidance withdrawn after it failed (double loop).
        failure_found: Some facility of the country has found the practice to fail.
    """

    district_story: np.ndarray
    district_success: np.ndarray
    district_failure: np.ndarray
    district_success_reports: np.ndarray
    district_failure_reports: np.ndarray
    evidence_story: np.ndarray
    evidence_success: np.ndarray
    evidence_failure: np.ndarray
    centre_story: np.ndarray
    centre_success: np.ndarray
    centre_failure: np.ndarray
    package: np.ndarray
    guidance: np.ndarray
    withdrawn: np.ndarray
    failure_found: np.ndarray

    def district_judgement(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What each district presents: successes with story, without, and failures.

        A district weighs the reports that reached it: it presents a practice as a
        success while its success reports are at least as many as its failure reports,
        and as a failure while they are at most as many.
        """
        net = self.district_success_reports - self.district_failure_reports
        success = self.district_success & (net >= 0)
        failure = self.district_failure & (net <= 0)
        story = success & self.district_story
        return story, success & ~story, failure

    @classmethod
    def empty(cls, world: World, catalogue: Catalogue) -> Knowledge:
        """Nothing known anywhere except the guidance in force at month 0."""
        d, c, k = world.n_districts, world.n_countries, catalogue.size
        return cls(
            district_story=np.zeros((d, k), dtype=bool),
            district_success=np.zeros((d, k), dtype=bool),
            district_failure=np.zeros((d, k), dtype=bool),
            district_success_reports=np.zeros((d, k), dtype=np.int64),
            district_failure_reports=np.zeros((d, k), dtype=np.int64),
            evidence_story=np.zeros((c, k), dtype=np.int64),
            evidence_success=np.zeros((c, k), dtype=np.int64),
            evidence_failure=np.zeros((c, k), dtype=np.int64),
            centre_story=np.zeros((c, k), dtype=np.int64),
            centre_success=np.zeros((c, k), dtype=np.int64),
            centre_failure=np.zeros((c, k), dtype=np.int64),
            package=np.zeros((c, k), dtype=bool),
            guidance=np.repeat(catalogue.in_guidance[None, :], c, axis=0).copy(),
            withdrawn=np.zeros((c, k), dtype=bool),
            failure_found=np.zeros((c, k), dtype=bool),
        )


@dataclass
class CountryValues:
    """Per-country parameter values as arrays, read by dotted path.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="x", countries=[{"name": "A"},
        ...              {"name": "B", "turnover": {"annual": 0.3}}])
        >>> CountryValues.of(s)["turnover.annual"].tolist()
        [0.15, 0.3]
    """

    scenario: Scenario
    _cache: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, scenario: Scenario) -> CountryValues:
        """Values of ``scenario``'s countries."""
        return cls(scenario)

    def __getitem__(self, path: str) -> np.ndarray:
        if path not in self._cache:
            getter = operator.attrgetter(path)
            values = [getter(country) for country in self.scenario.countries]
            self._cache[path] = np.array(values)
        return self._cache[path]
