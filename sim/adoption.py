"""What facilities do with practices: hear, innovate, trial, adopt, teach, lose.

Every function works on whole arrays: the cells (facility, practice) concerned are
found with a mask, drawn for in one call, and written back in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.channels import Exposure
from sim.state import Population, Source, Stage, in_use, is_open

__all__ = [
    "FacilityRates",
    "TrialOutcomes",
    "innovate",
    "institutionalise",
    "lose_holders",
    "receive",
    "resolve_trials",
    "review_in_use",
    "teach_colleagues",
]


@dataclass
class FacilityRates:
    """Per-facility behaviour parameters, broadcast from each facility's country."""

    uptake_with_story: np.ndarray
    uptake_without_story: np.ndarray
    failure_heeded: np.ndarray
    trial_months: np.ndarray
    trial_noise: np.ndarray
    success_threshold: np.ndarray
    team_size: np.ndarray


def _start_trials(
    pop: Population, f: np.ndarray, k: np.ndarray, story: np.ndarray, months: np.ndarray
) -> None:
    pop.stage[f, k] = Stage.TRIAL
    pop.trial_left[f, k] = months
    pop.trial_story[f, k] = story


def receive(
    pop: Population,
    exposure: Exposure,
    rates: FacilityRates,
    facility_country: np.ndarray,
    failure_found: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, int]:
    """Apply one channel's exposure to the facilities it reached.

    A failure heard stops a facility from trying the practice (with chance
    ``failure_heeded``). A success heard makes the facility aware, and starts a trial
    with hazard ``uptake_with_story * story + uptake_without_story * plain``. A trial
    of a practice some facility of the country already found to fail is counted as
    duplication waste.

    Returns:
        Counts: ``trials`` started, ``aware`` newly aware, ``failures_heeded``,
        ``duplication`` (duplicated trials).
    """
    counts = {"trials": 0, "aware": 0, "failures_heeded": 0, "duplication": 0}
    if exposure.empty:
        return counts
    rows = exposure.rows
    stage = pop.stage[rows]
    open_cells = is_open(stage)

    fail_cells = open_cells & (exposure.failure > 0)
    ri, k = np.nonzero(fail_cells)
    if ri.size:
        f = rows[ri]
        p = rates.failure_heeded[f] * -np.expm1(-exposure.failure[ri, k])
        heeded = rng.random(ri.size) < p
        newly = heeded & ~pop.knows_failure[f, k]
        pop.knows_failure[f[heeded], k[heeded]] = True
        counts["failures_heeded"] = int(newly.sum())

    hear = open_cells & ((exposure.story + exposure.plain) > 0)
    ri, k = np.nonzero(hear)
    if ri.size == 0:
        return counts
    f = rows[ri]
    s, pl = exposure.story[ri, k], exposure.plain[ri, k]
    drive = rates.uptake_with_story[f] * s + rates.uptake_without_story[f] * pl
    p_trial = -np.expm1(-drive)
    p_aware = np.maximum(-np.expm1(-(s + pl)), p_trial)
    u = rng.random(ri.size)
    story_draw = rng.random(ri.size)
    blocked = pop.knows_failure[f, k]
    trial = (u < p_trial) & ~blocked
    aware = (u < p_aware) & ~trial

    was_unknown = pop.stage[f, k] == Stage.UNKNOWN
    first = was_unknown & (trial | aware)
    pop.first_source[f[first], k[first]] = exposure.source

    became_aware = aware & was_unknown
    pop.stage[f[became_aware], k[became_aware]] = Stage.AWARE
    counts["aware"] = int(became_aware.sum())

    if trial.any():
        ft, kt = f[trial], k[trial]
        with_story = story_draw[trial] * drive[trial] < rates.uptake_with_story[ft] * s[trial]
        _start_trials(pop, ft, kt, with_story, rates.trial_months[ft])
        counts["trials"] = int(trial.sum())
        counts["duplication"] = int(failure_found[facility_country[ft], kt].sum())
    return counts


def innovate(
    pop: Population,
    qi_team: np.ndarray,
    rate: np.ndarray,
    rates: FacilityRates,
    facility_country: np.ndarray,
    failure_found: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, int]:
    """Facilities with a QI team may start a trial of a practice nobody told them about.

    ``rate`` is each facility's monthly chance, already lowered by fear of failure.
    The practice is drawn at random; nothing happens if the facility already knows it.
    """
    n, k = pop.stage.shape
    draw = rng.random(n)
    choice = rng.integers(0, k, n)
    f = np.flatnonzero(qi_team & (draw < rate))
    kk = choice[f]
    fresh = pop.stage[f, kk] == Stage.UNKNOWN
    f, kk = f[fresh], kk[fresh]
    pop.first_source[f, kk] = Source.INNOVATION
    _start_trials(pop, f, kk, np.ones(f.size, dtype=bool), rates.trial_months[f])
    return {
        "innovations": int(f.size),
        "duplication": int(failure_found[facility_country[f], kk].sum()),
    }


@dataclass
class TrialOutcomes:
    """Trials finished this month, cell by cell."""

    facility: np.ndarray
    practice: np.ndarray
    success: np.ndarray
    implementation_failed: np.ndarray


def resolve_trials(
    pop: Population,
    complexity: np.ndarray,
    data_quality: np.ndarray,
    documentation: np.ndarray,
    supported: np.ndarray,
    support_strength: np.ndarray,
    rates: FacilityRates,
    staff: np.ndarray,
    single_loop: bool,
    rng: np.random.Generator,
) -> TrialOutcomes:
    """Finish the trials whose time is up and read the result from local data.

    Without a how-to story a complex practice is often implemented wrongly (chance
    ``complexity``, cut by coaching support) and then shows no effect. The observed
    effect is the realised effect plus noise that shrinks with data quality. With the
    single loop on, a practice that seemed to work is adopted and one that did not is
    rejected; with it off, every trial ends in adoption (nobody reads the data).
    An adopter holds a written story when it documents the practice (chance
    ``documentation``) or was handed one with the news that led to its trial.
    """
    trialling = pop.stage == Stage.TRIAL
    pop.trial_left[trialling] -= 1
    f, k = np.nonzero(trialling & (pop.trial_left <= 0))
    if f.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return TrialOutcomes(empty, empty, np.zeros(0, bool), np.zeros(0, bool))
    p_fail = complexity[k] * (1.0 - np.where(supported[f], support_strength[f], 0.0))
    implementation_failed = ~pop.trial_story[f, k] & (rng.random(f.size) < p_fail)
    realised = np.where(implementation_failed, 0.0, pop.local_effect[f, k])
    noise = rates.trial_noise[f] * (1.0 - data_quality[f]) * rng.standard_normal(f.size)
    observed = realised + noise
    success = observed > rates.success_threshold[f] if single_loop else np.ones(f.size, bool)
    fs, ks = f[success], k[success]
    pop.stage[fs, ks] = Stage.ADOPTED
    pop.holders[fs, ks] = np.minimum(rates.team_size[fs], staff[fs])
    handed = pop.trial_story[fs, ks] & (pop.first_source[fs, ks] != Source.INNOVATION)
    pop.story[fs, ks] = handed | (rng.random(fs.size) < documentation[fs])
    ff, kf = f[~success], k[~success]
    pop.stage[ff, kf] = Stage.REJECTED
    pop.knows_failure[ff, kf] = True
    pop.holders[ff, kf] = 0
    return TrialOutcomes(f, k, success, implementation_failed)


def teach_colleagues(
    pop: Population, staff: np.ndarray, rate: np.ndarray, rng: np.random.Generator
) -> None:
    """Holders teach colleagues: each non-holder learns with hazard ``rate * share held``.

    ``rate`` is per facility (zero where the internal channel is off) and already
    includes the speed-up of a QI team.
    """
    f, k = np.nonzero(pop.stage == Stage.ADOPTED)
    if f.size == 0:
        return
    held = pop.holders[f, k].astype(np.int64)
    total = staff[f].astype(np.int64)
    p = -np.expm1(-rate[f] * held / total)
    learners = rng.binomial(np.maximum(total - held, 0), p)
    pop.holders[f, k] = np.minimum(held + learners, total)


def institutionalise(
    pop: Population, staff: np.ndarray, rate: np.ndarray, rng: np.random.Generator
) -> int:
    """A practice held widely enough becomes part of how the facility works.

    Monthly chance ``rate * share of staff holding it``; ``rate`` is per facility and
    grows with a QI team, leadership support and documentation. Institutionalised
    practices no longer depend on who stays.
    """
    f, k = np.nonzero(pop.stage == Stage.ADOPTED)
    if f.size == 0:
        return 0
    share = pop.holders[f, k] / staff[f]
    done = rng.random(f.size) < rate[f] * share
    pop.stage[f[done], k[done]] = Stage.INSTITUTIONALISED
    pop.holders[f[done], k[done]] = staff[f[done]]
    return int(done.sum())


def lose_holders(
    pop: Population, monthly_turnover: np.ndarray, rng: np.random.Generator
) -> int:
    """Staff leave; holders of adopted (not institutionalised) practices may be among them.

    Each holder leaves with the facility's monthly attrition and is replaced by a
    newcomer who does not hold the practice. When the last holder leaves, the
    practice is lost (stage ``LOST``, which behaves as aware).

    Returns:
        The number of practices lost.
    """
    f, k = np.nonzero(pop.stage == Stage.ADOPTED)
    if f.size == 0:
        return 0
    stay = rng.binomial(pop.holders[f, k].astype(np.int64), 1.0 - monthly_turnover[f])
    pop.holders[f, k] = stay
    gone = stay == 0
    pop.stage[f[gone], k[gone]] = Stage.LOST
    pop.story[f[gone], k[gone]] = False
    return int(gone.sum())


def review_in_use(
    pop: Population,
    review_share: float,
    data_quality: np.ndarray,
    rates: FacilityRates,
    rng: np.random.Generator,
) -> int:
    """Single loop: facilities re-read their data on practices in use and drop failures.

    Each cell in use is reviewed with chance ``review_share * data quality`` a month;
    a practice whose observed effect falls below the success threshold is rejected.
    """
    f, k = np.nonzero(in_use(pop.stage))
    if f.size == 0 or review_share <= 0:
        return 0
    reviewed = rng.random(f.size) < review_share * data_quality[f]
    f, k = f[reviewed], k[reviewed]
    noise = rates.trial_noise[f] * (1.0 - data_quality[f]) * rng.standard_normal(f.size)
    drop = pop.local_effect[f, k] + noise <= rates.success_threshold[f]
    fd, kd = f[drop], k[drop]
    pop.stage[fd, kd] = Stage.REJECTED
    pop.knows_failure[fd, kd] = True
    pop.holders[fd, kd] = 0
    return int(drop.sum())
