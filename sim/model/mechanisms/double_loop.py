"""Double loop: districts and national bodies question their own support.

On review months, each district compares the mean QoC gain since the previous review of
its coached facilities with that of facilities that attended sessions without
coaching; if both groups exist, it moves its coaching weight by ``loops.effort_shift``
towards the better one, within ``1 -/+ loops.coaching_weight_range`` (coaching visits
scale with the weight, session invitations with ``2 - weight``). The first review
measures from month 0. Each national body withdraws its guidance (and the package) on
practices its evidence or its learning centres report failing more often than working.
The attended and coached marks then reset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.mechanisms.base import Mechanism

if TYPE_CHECKING:
    from sim.model.agents import District, NationalBody
    from sim.model.model import LearningHealthSystem

__all__ = ["DoubleLoop", "review_guidance", "review_support"]


def review_support(
    district: District, coached: np.ndarray, sessions: np.ndarray, shift: float, spread: float
) -> bool:
    """The district's decision: more coaching or more sessions, from the gains it saw.

    ``coached`` and ``sessions`` hold, per district, the mean QoC gain of the facilities
    coached and of those that only attended sessions (NaN where there were none).

    Returns:
        Whether the district moved its effort.
    """
    gain_coached, gain_sessions = coached[district.index], sessions[district.index]
    if np.isnan(gain_coached) or np.isnan(gain_sessions) or gain_coached == gain_sessions:
        return False
    direction = 1.0 if gain_coached > gain_sessions else -1.0
    before = district.coaching_weight
    district.coaching_weight = float(
        np.clip(before + shift * direction, 1.0 - spread, 1.0 + spread)
    )
    district.decide(
        "more coaching" if direction > 0 else "more learning sessions",
        f"QoC gain since the last review: coached facilities {gain_coached:+.4f}, "
        f"facilities at sessions only {gain_sessions:+.4f}; coaching weight "
        f"{before:.2f} -> {district.coaching_weight:.2f}",
    )
    return True


def review_guidance(body: NationalBody) -> int:
    """The national body's decision: withdraw guidance reported to fail more than work.

    Returns:
        The number of practices whose guidance was withdrawn.
    """
    k, c = body.model.knowledge, body.index
    evidence = k.evidence_failure[c] > k.evidence_success[c]
    centre = k.centre_failure[c] > k.centre_success[c]
    failing = k.guidance[c] & (evidence | centre)
    k.guidance[c] &= ~failing
    k.package[c] &= ~failing
    k.withdrawn[c] |= failing
    for practice in np.flatnonzero(failing):
        reason = []
        if evidence[practice]:
            reason.append(
                f"national evidence: {int(k.evidence_failure[c, practice])} failures against "
                f"{int(k.evidence_success[c, practice])} successes"
            )
        if centre[practice]:
            reason.append(
                f"learning centre: {int(k.centre_failure[c, practice])} failures against "
                f"{int(k.centre_success[c, practice])} successes"
            )
        body.decide(
            f"withdrew guidance on {body.model.catalogue.names[practice]}", "; ".join(reason)
        )
    return int(failing.sum())


class DoubleLoop(Mechanism):
    """Review months: districts rebalance their support; failing guidance is withdrawn."""

    name = "double_loop"
    outputs = ("double_loop_shifts", "guidance_withdrawn")

    def __init__(self, model: LearningHealthSystem) -> None:
        super().__init__(model)
        self.qoc_at_review = model.recorder.facility_qoc().copy()

    def step(self) -> None:
        """Run the review, on review months only."""
        m = self.model
        loops = m.config.loops
        if not loops.double or m.month % loops.review_interval_months:
            return
        w, pop = m.world, m.population
        qoc = m.recorder.facility_qoc()
        gain = qoc - self.qoc_at_review
        d = w.facility_district
        coached = _mean_by(d, pop.coached, gain, w.n_districts)
        sessions = _mean_by(d, pop.attended & ~pop.coached, gain, w.n_districts)
        shifts = m.districts.map(
            review_support, coached, sessions, loops.effort_shift, loops.coaching_weight_range
        )
        self.count("double_loop_shifts", sum(shifts))
        self.count("guidance_withdrawn", sum(m.national_bodies.map(review_guidance)))
        self.qoc_at_review = qoc
        pop.attended[:] = False
        pop.coached[:] = False


def _mean_by(group: np.ndarray, members: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Mean of ``values`` over the ``members`` of each group; NaN for a group without any."""
    sums = np.bincount(group[members], weights=values[members], minlength=n)
    counts = np.bincount(group[members], minlength=n)
    return np.divide(sums, counts, out=np.full(n, np.nan), where=counts > 0)
