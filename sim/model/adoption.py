"""What facilities do with practices: hear, innovate, trial, adopt, teach, lose.

Every function works on whole arrays: the cells (facility, practice) concerned are
found with a mask, drawn for in one call, and written back in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.model import kernels
from sim.model.channels import Exposure
from sim.model.sampling import uniform_blocks
from sim.model.state import Population, Source, Stage, WorkArrays

__all__ = [
    "FacilityRates",
    "learn_internally",
    "TrialOutcomes",
    "innovate",
    "lose_holders",
    "receive",
    "resolve_trials",
    "start_trials",
    "staff_departures",
    "review_in_use",
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


def start_trials(
    pop: Population, f: np.ndarray, k: np.ndarray, story: np.ndarray, months: np.ndarray
) -> None:
    """Facilities ``f`` start trials of practices ``k`` lasting ``months`` (the only way in).

    The cells must not be in trial already. They join ``pop.trial_cells`` by a merge of
    two sorted lists (a stable sort finds the two runs).
    """
    pop.stage[f, k] = Stage.TRIAL
    pop.trial_left[f, k] = months + 1
    pop.trial_story[f, k] = story
    started = np.sort(f * pop.stage.shape[1] + k)
    pop.trial_cells = np.sort(np.concatenate((pop.trial_cells, started)), kind="stable")


def receive(
    pop: Population,
    exposures: list[Exposure],
    rates: FacilityRates,
    facility_country: np.ndarray,
    known_to_fail: np.ndarray,
    rng: np.random.Generator,
    uniform_streams: tuple[np.random.Generator, ...],
    work: WorkArrays | None = None,
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
    duplication waste. The per-cell rules are :func:`sim.model.kernels.receive_cells`.

    One uniform number is drawn per facility and practice each month, whatever the
    channels, so scenarios that differ in their channels share random numbers: block
    ``b`` of facilities from ``uniform_streams[b]`` (:func:`sim.model.sampling.uniform_blocks`).
    ``rng`` draws whether each trial started carries its story. The uniforms and the
    kernel's outputs are arrays of ``work``, kept between months.

    Returns:
        Counts: ``trials`` started, ``aware`` newly aware, ``failures_heard``,
        ``duplication`` (duplicated trials).
    """
    n, k = pop.stage.shape
    work = WorkArrays() if work is None else work
    uniform = work.get("uniform", n * k, np.float32).reshape(n, k)
    uniform_blocks(uniform, uniform_streams)
    rows, table_row, scale, fidelity, source, tables = _stack(exposures, k, work)
    reached, start, order = kernels.rows_in_order(rows, n)
    trials = work.get("trials", n * k, np.int64)
    story_share = work.get("story_share", n * k, np.float64)
    news = work.get("news", n * k, np.int64)
    news_source = work.get("news_source", n * k, np.int8)
    n_trials, n_news, n_aware, n_warned = kernels.receive_cells(
        pop.stage,
        pop.knows_failure,
        pop.failure_reports,
        pop.success_reports,
        uniform,
        rates.uptake_with_story,
        rates.uptake_without_story,
        rates.failure_heeded,
        reached,
        start,
        order,
        table_row,
        scale,
        fidelity,
        source,
        tables[0],
        tables[1],
        tables[2],
        trials,
        story_share,
        news,
        news_source,
    )
    counts = {"trials": n_trials, "aware": n_aware, "failures_heard": n_warned, "duplication": 0}
    pop.first_source.reshape(-1)[news[:n_news]] = news_source[:n_news]
    ti, tk = np.divmod(trials[:n_trials], k)
    if ti.size:
        started_with_story = rng.random(ti.size) < story_share[:n_trials]
        start_trials(pop, ti, tk, started_with_story, rates.trial_months[ti])
        counts["duplication"] = int(np.count_nonzero(known_to_fail[facility_country[ti], tk]))
    return counts


Tables = tuple[np.ndarray, np.ndarray, np.ndarray]


def _stack(
    exposures: list[Exposure], k: int, work: WorkArrays
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, Tables]:
    """The channels' exposures as one list of entries over one set of stacked tables.

    Returns, per entry: facility, row of the stacked tables, scale, fidelity and
    source; then the stacked heard, story and failure tables (written into arrays of
    ``work``).
    """
    reached = [e for e in exposures if not e.empty]
    if not reached:
        empty = np.zeros(0, dtype=np.int64)
        no_table = np.zeros((1, k), dtype=np.float32)
        return (
            empty,
            empty,
            np.zeros(0, np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int8),
            (no_table, no_table, no_table),
        )
    if len(reached) == 1:
        e = reached[0]
        source = np.full(e.rows.size, int(e.source), np.int8)
        return e.rows, e.at, e.scale, e.fidelity, source, (e.heard, e.story, e.failure)
    offsets = np.cumsum([0] + [e.heard.shape[0] for e in reached[:-1]])
    return (
        np.concatenate([e.rows for e in reached]),
        np.concatenate([e.at + offset for e, offset in zip(reached, offsets, strict=True)]),
        np.concatenate([e.scale for e in reached]),
        np.concatenate([e.fidelity for e in reached]),
        np.concatenate([np.full(e.rows.size, int(e.source), np.int8) for e in reached]),
        (
            _stacked(reached, "heard", work),
            _stacked(reached, "story", work),
            _stacked(reached, "failure", work),
        ),
    )


def _stacked(exposures: list[Exposure], table: str, work: WorkArrays) -> np.ndarray:
    """The exposures' ``table`` (heard, story or failure) one under the other, into ``work``."""
    parts = [getattr(e, table) for e in exposures]
    rows, k = sum(p.shape[0] for p in parts), parts[0].shape[1]
    out = work.get(f"stacked_{table}", rows * k, np.float32).reshape(rows, k)
    return np.concatenate(parts, out=out)


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
    start_trials(pop, f, kk, np.ones(f.size, dtype=bool), rates.trial_months[f])
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
    coached_until: np.ndarray,
    month: int,
    support_strength: np.ndarray,
    rates: FacilityRates,
    staff: np.ndarray,
    single_loop: bool,
    streams: Sequence[np.random.Generator],
    work: WorkArrays | None = None,
) -> TrialOutcomes:
    """Finish the trials whose time is up and read the result from local data.

    Without a how-to story a complex practice is often implemented wrongly (chance
    ``complexity``, cut by ``support_strength`` while the facility is coached, i.e. up to
    month ``coached_until``) and then shows no effect. The observed
    effect is the realised effect plus noise that shrinks with data quality. With the
    single loop on, a practice that seemed to work is adopted and one that did not is
    rejected; with it off, every trial ends in adoption (nobody reads the data).
    An adopter holds a written story when it documents the practice (chance
    ``documentation``) or was handed one with the news that led to its trial.
    One compiled pass: :func:`sim.model.kernels.finish_trials`, with one stream per block of
    rows (``streams``, from :meth:`sim.model.streams.Streams.blocks`), writing into arrays of
    ``work``.
    """
    work = WorkArrays() if work is None else work
    size = pop.trial_cells.size
    cells, success, implementation_failed, running = kernels.finish_trials(
        pop.trial_cells,
        pop.stage,
        pop.trial_left,
        pop.trial_story,
        pop.story,
        pop.knows_failure,
        pop.holders,
        pop.first_source,
        pop.local_effect,
        complexity,
        coached_until,
        month,
        support_strength,
        rates.trial_noise,
        data_quality,
        rates.success_threshold,
        rates.team_size,
        staff,
        documentation,
        single_loop,
        int(Source.INNOVATION),
        streams,
        work.get("finished", size, np.int64),
        work.get("finished_success", size, np.bool_),
        work.get("finished_wrong", size, np.bool_),
        work.get("still_running", size, np.int64),
    )
    pop.trial_cells = running
    f, k = np.divmod(cells, pop.stage.shape[1])
    return TrialOutcomes(f, k, success, implementation_failed)


def learn_internally(
    pop: Population,
    staff: np.ndarray,
    teach_rate: np.ndarray,
    institution_rate: np.ndarray,
    streams: Sequence[np.random.Generator],
) -> int:
    """Holders teach colleagues, and practices held widely become how the facility works.

    In every adopted cell, each non-holder learns with hazard ``teach_rate * share
    held`` (``teach_rate`` is per facility, zero where the internal channel is off, and
    includes the speed-up of a QI team). Then the practice is institutionalised with
    monthly chance ``institution_rate * share of staff holding it``
    (``institution_rate`` grows with a QI team, leadership support and documentation);
    institutionalised practices no longer depend on who stays. One compiled pass:
    :func:`sim.model.kernels.teach_and_institutionalise`, with one stream per block of rows
    (``streams``, from :meth:`sim.model.streams.Streams.blocks`).

    Returns:
        The number of practices institutionalised.
    """
    return int(
        kernels.teach_and_institutionalise(
            pop.stage,
            pop.holders,
            staff,
            teach_rate,
            institution_rate,
            streams,
        )
    )


def staff_departures(
    staff: np.ndarray, monthly_turnover: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """How many staff leave each facility this month: ``Binomial(staff, monthly_turnover)``.

    Drawn for every facility whatever the practices in use, so two scenarios with the
    same staff and turnover see the same departures (common random numbers).
    """
    return rng.binomial(staff.astype(np.int64), monthly_turnover)


def lose_holders(
    pop: Population,
    staff: np.ndarray,
    leavers: np.ndarray,
    streams: Sequence[np.random.Generator],
) -> int:
    """The month's leavers take with them what they held of adopted practices.

    At a facility where ``L`` of ``S`` staff leave, the holders of an adopted (not
    institutionalised) practice who leave are a hypergeometric draw (``L`` out of ``S``,
    ``H`` of them holders); each leaver is replaced by a newcomer who does not hold the
    practice. When the last holder leaves, the practice is lost (stage ``LOST``, which
    behaves as aware). One compiled pass, :func:`sim.model.kernels.lose_holders`, with one
    stream per block of rows (``streams``, from :meth:`sim.model.streams.Streams.blocks`).

    Returns:
        The number of practices lost.
    """
    if not leavers.any():
        return 0
    return kernels.lose_holders(pop.stage, pop.holders, pop.story, staff, leavers, streams)


def review_in_use(
    pop: Population,
    review_share: float,
    data_quality: np.ndarray,
    rates: FacilityRates,
    streams: Sequence[np.random.Generator],
    work: WorkArrays | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Single loop: facilities re-read their data on practices in use and drop failures.

    Each cell in use is reviewed with chance ``review_share * data quality`` a month;
    a practice whose observed effect (local effect plus the trial noise, which shrinks
    with data quality) falls to the success threshold or below is rejected. One
    compiled pass: :func:`sim.model.kernels.review_in_use`, with one stream per block of rows
    (``streams``, from :meth:`sim.model.streams.Streams.blocks`), writing into an array of
    ``work``.

    Returns:
        The facilities and practices dropped.
    """
    if review_share <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    work = WorkArrays() if work is None else work
    dropped, _ = kernels.review_in_use(
        pop.stage,
        pop.knows_failure,
        pop.holders,
        pop.local_effect,
        review_share * data_quality,
        rates.trial_noise * (1.0 - data_quality),
        rates.success_threshold,
        streams,
        work.get("dropped", pop.stage.size, np.int64),
    )
    f, k = np.divmod(dropped, pop.stage.shape[1])
    return f, k
