"""What facilities do with practices: hear, innovate, trial, adopt, teach, lose.

Every function works on whole arrays: the cells (facility, practice) concerned are
found with a mask, drawn for in one call, and written back in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.channels import Exposure
from sim.sampling import bernoulli_successes
from sim.state import Population, Source, Stage, in_use, is_open

__all__ = [
    "FacilityRates",
    "adopted_cells",
    "TrialOutcomes",
    "innovate",
    "institutionalise",
    "lose_holders",
    "receive",
    "resolve_trials",
    "staff_departures",
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
    pop.trial_left[f, k] = months + 1
    pop.trial_story[f, k] = story


def receive(
    pop: Population,
    exposures: list[Exposure],
    rates: FacilityRates,
    facility_country: np.ndarray,
    known_to_fail: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, int]:
    """Apply the month's exposures, from every channel at once, to every facility.

    Intensities add up across channels. Facilities weigh what they have heard: the
    reports of failure and of success accumulate, and the hazard of trying a practice
    is cut by ``failure_heeded`` times the failures' share of those reports (a
    practice that failed in one place may work in another, and many reports of
    success outweigh one of failure). A success heard makes the facility
    aware with hazard ``heard`` (successes, with or without story), and starts a trial
    with hazard ``uptake_with_story * story + uptake_without_story * (heard - story)``.
    The first news of a practice is credited to the channel that contributed most to
    it. A trial of a practice in ``known_to_fail`` (per country) is counted as
    duplication waste.

    One uniform number is drawn per facility and practice each month, whatever the
    channels, so scenarios that differ in their channels share random numbers.

    Returns:
        Counts: ``trials`` started, ``aware`` newly aware, ``failures_heard``,
        ``duplication`` (duplicated trials).
    """
    counts = {"trials": 0, "aware": 0, "failures_heard": 0, "duplication": 0}
    n, k = pop.stage.shape
    heard, story, failure = _total_exposure(exposures, n, k)
    threshold = rng.random((n, k), dtype=np.float32)
    np.negative(threshold, out=threshold)
    np.log1p(threshold, out=threshold)
    np.negative(threshold, out=threshold)  # -log(1 - u): an exponential waiting "time"
    open_cells = is_open(pop.stage)

    warned = failure > 0
    warned &= open_cells
    warned &= ~pop.knows_failure
    counts["failures_heard"] = int(np.count_nonzero(warned))
    pop.knows_failure |= warned
    pop.failure_reports += failure
    pop.success_reports += heard

    # drive = a * story + b * (heard - story) = b * heard + (a - b) * story
    with_story = rates.uptake_with_story.astype(np.float32)[:, None]
    without_story = rates.uptake_without_story.astype(np.float32)[:, None]
    drive = heard * without_story
    drive += story * (with_story - without_story)
    # Deterrence only lowers the drive, so it is applied to the open cells that would
    # start a trial without it; the others cannot start one anyway.
    candidate = threshold < drive
    candidate &= open_cells
    cells = np.flatnonzero(candidate)
    kept = threshold.reshape(-1)[cells] < _deterred(
        drive.reshape(-1)[cells], cells, pop, rates.failure_heeded
    )
    trial = cells[kept]
    ti, tk = np.divmod(trial, k)
    aware = threshold < heard
    aware &= pop.stage == Stage.UNKNOWN
    aware.reshape(-1)[trial] = False  # starting a trial comes before mere awareness

    ai, ak = np.divmod(np.flatnonzero(aware), k)
    reached = np.concatenate([trial, np.flatnonzero(aware)])
    reached = reached[pop.stage.reshape(-1)[reached] == Stage.UNKNOWN]
    rf, rk = np.divmod(reached, k)
    pop.first_source.reshape(-1)[reached] = _main_source(exposures, rf, rk, n)
    pop.stage[ai, ak] = Stage.AWARE
    counts["aware"] = int(ai.size)
    if ti.size:
        with_story_drive = story[ti, tk] * rates.uptake_with_story[ti]
        plain_drive = (heard[ti, tk] - story[ti, tk]) * rates.uptake_without_story[ti]
        share_story = with_story_drive / (with_story_drive + plain_drive)
        started_with_story = rng.random(ti.size) < share_story
        _start_trials(pop, ti, tk, started_with_story, rates.trial_months[ti])
        counts["trials"] = int(ti.size)
        counts["duplication"] = int(np.count_nonzero(known_to_fail[facility_country[ti], tk]))
    return counts


def _total_exposure(
    exposures: list[Exposure], n: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heard, story and failure intensities summed over channels, as (n, k) float32.

    The sums start from the first two channels that reach everybody (added in one
    pass); the others are added to the rows they reach.
    """
    full = [e for e in exposures if e.rows.size == n]
    partial = [e for e in exposures if e.rows.size and e.rows.size != n]
    if len(full) >= 2:
        first, second = full[0], full[1]
        totals = [
            np.add(a, b, dtype=np.float32)
            for a, b in zip(_parts(first), _parts(second), strict=True)
        ]
        full = full[2:]
    elif full:
        totals = [np.array(part, dtype=np.float32) for part in _parts(full[0])]
        full = full[1:]
    else:
        totals = [np.zeros((n, k), dtype=np.float32) for _ in range(3)]
    for e in full:
        for total, part in zip(totals, _parts(e), strict=True):
            total += part
    for e in partial:
        for total, part in zip(totals, _parts(e), strict=True):
            total[e.rows] += part
    return totals[0], totals[1], totals[2]


def _parts(e: Exposure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return e.heard, e.story, e.failure


def _deterred(
    drive: np.ndarray, cells: np.ndarray, pop: Population, failure_heeded: np.ndarray
) -> np.ndarray:
    """``drive`` at the flat ``cells``, cut by the failures' share of the reports heard."""
    failures = pop.failure_reports.reshape(-1)[cells]
    reports = failures + pop.success_reports.reshape(-1)[cells]
    share = np.divide(failures, reports, out=np.zeros_like(reports), where=reports > 0)
    facility = cells // pop.stage.shape[1]
    return (drive * (1.0 - failure_heeded[facility] * share)).astype(np.float32)


def _main_source(
    exposures: list[Exposure], f: np.ndarray, k: np.ndarray, n_facilities: int
) -> np.ndarray:
    """For cells (f, k), the source of the exposure that contributed most."""
    best = np.full(f.size, -1.0)
    source = np.zeros(f.size, dtype=np.int8)
    for e in exposures:
        if e.rows.size == 0 or f.size == 0:
            continue
        if e.rows.size == n_facilities:  # every facility reached: rows are 0..n-1
            strength = e.heard[f, k]
        else:
            row_of = np.full(n_facilities, -1)
            row_of[e.rows] = np.arange(e.rows.size)
            position = row_of[f]
            strength = np.where(position >= 0, e.heard[position, k], -1.0)
        better = strength > best
        best[better] = strength[better]
        source[better] = e.source
    return source


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
    The practice is drawn at random; nothing happens if the facility already knows it
    or has heard that it fails.
    """
    n, k = pop.stage.shape
    if not (qi_team & (rate > 0)).any():
        return {"innovations": 0, "duplication": 0}
    draw = rng.random(n)
    choice = np.asarray(rng.integers(0, k, n))
    f = np.flatnonzero(qi_team & (draw < rate))
    kk = choice[f]
    fresh = (pop.stage[f, kk] == Stage.UNKNOWN) & ~pop.knows_failure[f, kk]
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
    k_count = pop.stage.shape[1]
    trialling = np.flatnonzero(pop.stage.reshape(-1) == int(Stage.TRIAL))
    left = pop.trial_left.reshape(-1)[trialling] - 1
    pop.trial_left.reshape(-1)[trialling] = left
    f, k = np.divmod(trialling[left <= 0], k_count)
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


def _cells(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the cells in ``mask`` and their facility (row) numbers."""
    flat = np.flatnonzero(mask)
    return flat, flat // mask.shape[1]


def adopted_cells(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices and facility numbers of the cells adopted, not yet institutionalised."""
    return _cells(pop.stage == Stage.ADOPTED)


def teach_colleagues(
    pop: Population,
    staff: np.ndarray,
    rate: np.ndarray,
    rng: np.random.Generator,
    adopted: tuple[np.ndarray, np.ndarray],
) -> None:
    """Holders teach colleagues: each non-holder learns with hazard ``rate * share held``.

    ``rate`` is per facility (zero where the internal channel is off) and already
    includes the speed-up of a QI team. ``adopted`` are the :func:`adopted_cells`.
    """
    holders = pop.holders.reshape(-1)
    flat, f = adopted
    held = holders[flat].astype(np.int64)
    total = staff[f].astype(np.int64)
    learning = (held < total) & (rate[f] > 0)
    flat, f, held, total = flat[learning], f[learning], held[learning], total[learning]
    if flat.size == 0:
        return
    p = -np.expm1(-rate[f] * held / total)
    learners = rng.binomial(total - held, p)
    holders[flat] = np.minimum(held + learners, total)


def institutionalise(
    pop: Population,
    staff: np.ndarray,
    rate: np.ndarray,
    rng: np.random.Generator,
    adopted: tuple[np.ndarray, np.ndarray],
) -> int:
    """A practice held widely enough becomes part of how the facility works.

    Monthly chance ``rate * share of staff holding it``; ``rate`` is per facility and
    grows with a QI team, leadership support and documentation. Institutionalised
    practices no longer depend on who stays. ``adopted`` are the :func:`adopted_cells`.
    """
    flat, f = adopted
    possible = rate[f] > 0
    flat, f = flat[possible], f[possible]
    if flat.size == 0:
        return 0
    share = pop.holders.reshape(-1)[flat] / staff[f]
    done = bernoulli_successes(rate[f] * share, rng)
    pop.stage.reshape(-1)[flat[done]] = Stage.INSTITUTIONALISED
    pop.holders.reshape(-1)[flat[done]] = staff[f[done]]
    return int(done.size)


def staff_departures(
    staff: np.ndarray, monthly_turnover: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """How many staff leave each facility this month: ``Binomial(staff, monthly_turnover)``.

    Drawn for every facility whatever the practices in use, so two scenarios with the
    same staff and turnover see the same departures (common random numbers).
    """
    return rng.binomial(staff.astype(np.int64), monthly_turnover)


def lose_holders(
    pop: Population, staff: np.ndarray, leavers: np.ndarray, rng: np.random.Generator
) -> int:
    """The month's leavers take with them what they held of adopted practices.

    At a facility where ``L`` of ``S`` staff leave, the holders of an adopted (not
    institutionalised) practice who leave are a hypergeometric draw (``L`` out of ``S``,
    ``H`` of them holders); each leaver is replaced by a newcomer who does not hold the
    practice. When the last holder leaves, the practice is lost (stage ``LOST``, which
    behaves as aware).

    Returns:
        The number of practices lost.
    """
    left = np.flatnonzero(leavers)
    if left.size == 0:
        return 0
    k = pop.stage.shape[1]
    cells = np.flatnonzero(pop.stage[left] == int(Stage.ADOPTED))
    if cells.size == 0:
        return 0
    f = left[cells // k]
    flat = f * k + cells % k
    holders = pop.holders.reshape(-1)
    held = holders[flat].astype(np.int64)
    total = staff[f].astype(np.int64)
    gone_holders = rng.hypergeometric(held, total - held, leavers[f])
    stay = held - gone_holders
    holders[flat] = stay
    gone = flat[stay == 0]
    pop.stage.reshape(-1)[gone] = Stage.LOST
    pop.story.reshape(-1)[gone] = False
    return int(gone.size)


def review_in_use(
    pop: Population,
    review_share: float,
    data_quality: np.ndarray,
    rates: FacilityRates,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Single loop: facilities re-read their data on practices in use and drop failures.

    Each cell in use is reviewed with chance ``review_share * data quality`` a month;
    a practice whose observed effect falls below the success threshold is rejected.

    Returns:
        The facilities and practices dropped.
    """
    flat, f = _cells(in_use(pop.stage))
    if f.size == 0 or review_share <= 0:
        return f[:0], f[:0]
    reviewed = bernoulli_successes((review_share * data_quality)[f], rng)
    f, k = np.divmod(flat[reviewed], pop.stage.shape[1])
    noise = rates.trial_noise[f] * (1.0 - data_quality[f]) * rng.standard_normal(f.size)
    drop = pop.local_effect[f, k] + noise <= rates.success_threshold[f]
    fd, kd = f[drop], k[drop]
    pop.stage[fd, kd] = Stage.REJECTED
    pop.knows_failure[fd, kd] = True
    pop.holders[fd, kd] = 0
    return fd, kd
