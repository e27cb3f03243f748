"""Trials and the single loop: trials are read from local data, lessons born.

Trials whose time is up are read. Without a story behind the trial, the practice is
implemented wrongly with chance ``complexity`` (cut by ``implementation_support`` while
the facility is coached) and then shows no effect. The observed effect is the realised
effect plus noise that shrinks with data quality. With ``loops.single`` on, a trial
succeeds when the observed effect exceeds ``success_threshold``; with it off, every
trial ends in adoption (nobody reads the data). Success: adopted, ``team_size`` holders,
a story if the news that led to the trial carried one or if the facility documents it.
Failure: rejected, and the country records the practice as found to fail. Each result
becomes a lesson, which the facility keeps to itself with the blame filter's chance
(lost to blame at once). The month's results (facility and success of every trial
read) are handed to :mod:`.support_requests` through the month's context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit, prange

from sim.model.kernels import (
    ADOPTED,
    PRANGE_ONLY,
    REJECTED,
    block_bounds,
    block_stream,
    compact,
    one_at_a_time,
)
from sim.model.ledger import Cause
from sim.model.mechanisms.base import Mechanism, per_country
from sim.model.parameters import P, Section
from sim.model.rules import telling_chances
from sim.model.state import Source, Stage

if TYPE_CHECKING:
    from sim.model.model import LearningHealthSystem

__all__ = [
    "TrialRates",
    "Trials",
    "TrialsParameters",
    "close_never_cells",
    "finish_trials",
    "trial_rates",
]


class TrialsParameters(Section):
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
        plausible=(0.5, 1.5),
    )
    success_threshold: float = P(
        0.3,
        -5.0,
        5.0,
        unit="QoC points",
        description="Observed improvement above which a trial is judged to have worked.",
        plausible=(0.1, 0.5),
    )
    uptake_with_story: float = P(
        0.5,
        0.0,
        1.0,
        description="Chance that a success heard with its story starts a trial.",
        plausible=(0.27, 0.7),
        source="assumption; the published patterns leave it wide "
        "(pattern fit, calibration/patterns.yaml: 90 % 0.27-0.7)",
    )
    uptake_without_story: float = P(
        0.2,
        0.0,
        1.0,
        description="Chance that a success heard without a story starts a trial.",
        plausible=(0.1, 0.3),
    )
    failure_heeded: float = P(
        0.8,
        0.0,
        1.0,
        description="How much failure reports (as a share of all reports heard) cut the "
        "hazard of trying a practice.",
        plausible=(0.6, 0.95),
    )
    team_size: int = P(
        3, 1, 100, unit="staff", description="Staff holding a newly adopted practice."
    )
    never_share: float = P(
        0.0,
        0.0,
        1.0,
        description="Share of facility-practice pairs where the practice is never taken up "
        "(it does not fit there, or is resisted): the facility never hears of it, tries it "
        "or takes in its guidance. 1 minus it is the Bass market potential.",
        source="assumption: 0 keeps every facility open to every practice; Bass fits with "
        "a free market potential (shared data facts, CKM) and McGlynn et al. 2003 (10-79 % "
        "of recommended care by condition) say a ceiling below 1 is common",
    )
    lesson_shelf_life: int = P(
        12,
        1,
        120,
        unit="months",
        description="Months a lesson waits at a facility or district pool before it fades.",
    )


@dataclass(frozen=True)
class TrialRates:
    """Per-facility trial parameters, from each facility's country (read by several mechanisms)."""

    uptake_with_story: np.ndarray
    uptake_without_story: np.ndarray
    failure_heeded: np.ndarray
    months: np.ndarray
    noise: np.ndarray
    success_threshold: np.ndarray
    team_size: np.ndarray


def trial_rates(model: LearningHealthSystem) -> TrialRates:
    """The trial parameters of every facility of ``model``."""
    country = model.world.facility_country

    def of(values: np.ndarray) -> np.ndarray:
        out = values[country]
        out.setflags(write=False)
        return out

    return TrialRates(
        uptake_with_story=of(per_country(model, lambda c: c.trials.uptake_with_story)),
        uptake_without_story=of(per_country(model, lambda c: c.trials.uptake_without_story)),
        failure_heeded=of(per_country(model, lambda c: c.trials.failure_heeded)),
        months=of(per_country(model, lambda c: c.trials.months).astype(np.int8)),
        noise=of(per_country(model, lambda c: c.trials.noise)),
        success_threshold=of(per_country(model, lambda c: c.trials.success_threshold)),
        team_size=of(per_country(model, lambda c: c.trials.team_size).astype(np.int64)),
    )


def close_never_cells(model: LearningHealthSystem) -> None:
    """Close the cells where a practice is never taken up (``trials.never_share``).

    Set up once, from the stream ("practices", "never"), among the cells still unknown
    after the initial use (a facility already using a practice keeps it). A closed cell
    (stage ``NEVER``) never becomes aware, starts no trial and takes in no guidance; it
    stays in every denominator, so coverage levels off at 1 minus the share.
    """
    share = per_country(model, lambda c: c.trials.never_share)
    if not (share > 0).any():
        return
    pop, w = model.population, model.world
    drawn = model.streams.setup("practices", "never").random(pop.stage.shape, dtype=np.float32)
    never = (drawn < share[w.facility_country][:, None]) & (pop.stage == Stage.UNKNOWN)
    pop.stage[never] = Stage.NEVER


class Trials(Mechanism):
    """Finished trials are read; their lessons are recorded or kept back."""

    name = "trials"
    outputs = ("implementation_failures_no_story", "trial_failures")
    loss_cause = Cause.BLAME
    decisions = ("results", "blame")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.support = self.per_facility(lambda c: c.channels.coaching.implementation_support)

    def step(self) -> None:
        """Read the trials whose time is up; record their lessons."""
        m = self.model
        w, pop = m.world, m.population
        rates = m.trial_rates
        work = m.work
        size = pop.trial_cells.size
        cells, success, implementation_failed, running = finish_trials(
            pop.trial_cells,
            pop.stage,
            pop.trial_left,
            pop.trial_story,
            pop.story,
            pop.knows_failure,
            pop.holders,
            pop.first_source,
            pop.local_effect,
            m.catalogue.complexity,
            pop.coached_until,
            m.month,
            self.support,
            rates.noise,
            w.data_quality,
            rates.success_threshold,
            rates.team_size,
            w.staff,
            w.documentation,
            m.config.loops.single,
            int(Source.INNOVATION),
            m.streams.kernel_blocks("trials", "results", w.n_facilities),
            work.get("finished", size, np.int64),
            work.get("finished_success", size, np.bool_),
            work.get("finished_wrong", size, np.bool_),
            work.get("still_running", size, np.int64),
        )
        pop.trial_cells = running
        f, kk = np.divmod(cells, pop.stage.shape[1])
        self.count("implementation_failures_no_story", int(implementation_failed.sum()))
        self.count("trial_failures", int((~success).sum()))
        m.month_context.finished_facilities = f
        m.month_context.finished_success = success
        m.knowledge.failure_found[w.facility_country[f[~success]], kk[~success]] = True
        m.knowledge.success_found[w.facility_country[f[success]], kk[success]] = True
        country = w.facility_country[f]
        tell_success, tell_failure = telling_chances(
            m.month_context.facility_blame(f), m.system.success_factor[country]
        )
        share = np.where(success, tell_success, tell_failure)
        uid = m.ledger.uids(m.month, f, kk, pop.stage.shape[1])
        hidden = m.streams.keyed_uniforms("trials", "blame", uid) >= share
        told = ~hidden
        m.ledger.lose_at_source(country[hidden], Cause.BLAME, w.facility_district[f[hidden]])
        m.ledger.add(
            uid=uid[told],
            facility=f[told],
            practice=kk[told],
            district=w.facility_district[f[told]],
            country=country[told],
            success=success[told],
            story=(pop.story[f, kk] & success)[told],
        )


@one_at_a_time
@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def finish_trials(
    trial_cells: np.ndarray,
    stage: np.ndarray,
    trial_left: np.ndarray,
    trial_story: np.ndarray,
    story: np.ndarray,
    knows_failure: np.ndarray,
    holders: np.ndarray,
    first_source: np.ndarray,
    local_effect: np.ndarray,
    complexity: np.ndarray,
    coached_until: np.ndarray,
    month: int,
    support: np.ndarray,
    trial_noise: np.ndarray,
    data_quality: np.ndarray,
    threshold: np.ndarray,
    team_size: np.ndarray,
    staff: np.ndarray,
    documentation: np.ndarray,
    read_results: bool,
    innovation: int,
    streams: Sequence[np.random.Generator],
    cells: np.ndarray,
    success: np.ndarray,
    wrong: np.ndarray,
    running: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count a month off every running trial and read those whose time is up.

    ``trial_cells`` lists the cells in trial (flat ``i * K + c``, ascending). Per
    finished trial (facility ``i``, practice ``c``):

    * without a story behind it, the practice is implemented wrongly with chance
      ``complexity[c] * (1 - support[i])`` while the facility is coached
      (``coached_until[i] >= month``), ``complexity[c]`` otherwise, and then shows no
      effect;
    * observed effect: ``realised + trial_noise[i] * (1 - data_quality[i]) * N(0, 1)``;
      a success when it exceeds ``threshold[i]`` (always, when ``read_results`` is
      off: nobody reads the data);
    * success: stage ``ADOPTED``, ``min(team_size[i], staff[i])`` holders, a story
      when the trial had one that did not come from the facility's own
      ``innovation``, or when the facility documents it (chance ``documentation[i]``);
    * failure: stage ``REJECTED``, ``knows_failure``, no holders.

    The facilities are cut into one block of rows per stream of ``streams`` (numpy
    Generators); the blocks' trials are read in parallel, in cell order, each block
    drawing from its own stream and writing its own stretch of the work arrays
    ``cells``, ``success``, ``wrong`` and ``running`` (as long as ``trial_cells``,
    compacted in block order afterwards): the results do not depend on the number of
    threads.

    Returns:
        Flat cells finished, whether each succeeded, whether it was implemented
        wrongly; and the cells still in trial.
    """
    n, k = stage.shape
    blocks = len(streams)
    bounds = np.searchsorted(trial_cells, block_bounds(n, blocks) * k)
    counts = np.zeros((blocks, 2), dtype=np.int64)
    for b in prange(blocks):
        rng = block_stream(streams, b)
        m = left = bounds[b]  # this block's stretch of the outputs
        for p in range(bounds[b], bounds[b + 1]):
            cell = trial_cells[p]
            i = cell // k
            c = cell - i * k
            trial_left[i, c] -= 1
            if trial_left[i, c] > 0:
                running[left] = cell
                left += 1
                continue
            cut = support[i] if coached_until[i] >= month else 0.0
            cells[m] = cell
            realised = float(local_effect[i, c])
            wrong[m] = False
            if not trial_story[i, c] and rng.random() < complexity[c] * (1.0 - cut):
                wrong[m] = True
                realised = 0.0
            noise = trial_noise[i] * (1.0 - data_quality[i]) * rng.standard_normal()
            success[m] = realised + noise > threshold[i] or not read_results
            if success[m]:
                stage[i, c] = ADOPTED
                holders[i, c] = min(team_size[i], staff[i])
                handed = trial_story[i, c] and first_source[i, c] != innovation
                story[i, c] = handed or rng.random() < documentation[i]
            else:
                stage[i, c] = REJECTED
                knows_failure[i, c] = True
                holders[i, c] = 0
            m += 1
        counts[b, 0] = m - bounds[b]
        counts[b, 1] = left - bounds[b]
    starts = bounds[:-1]
    m = compact(cells, starts, counts[:, 0])
    compact(success, starts, counts[:, 0])
    compact(wrong, starts, counts[:, 0])
    left = compact(running, starts, counts[:, 1])
    return cells[:m].copy(), success[:m].copy(), wrong[:m].copy(), running[:left].copy()
