"""Passing on: lessons of facilities that spoke through a horizontal channel pass on.

A facility that spoke this month (told peers along a tie, attended a session, posted in
its group, hosted a visit) passes on the lessons it still holds, at the highest fidelity
among the channels it spoke through, under the no-story rule
(:func:`sim.model.rules.pass_with_story_check`): a success whose story did not travel is
lost for want of a story with chance equal to its practice's complexity.
"""

from __future__ import annotations

from sim.model.ledger import Cause, Location
from sim.model.mechanisms.base import Mechanism
from sim.model.rules import pass_with_story_check

__all__ = ["PassingOn"]


class PassingOn(Mechanism):
    """Lessons held at facilities that spoke this month pass on."""

    name = "passing_on"
    outputs = ("lessons_passed_facilities",)
    loss_cause = Cause.NO_STORY
    decisions = ("story", "hard")

    def step(self) -> None:
        """Settle the lessons of the facilities that spoke."""
        m = self.model
        ledger, month = m.ledger, m.month_context
        mask = (ledger.location == Location.FACILITY) & month.spoke[ledger.facility]
        if not mask.any():
            return
        passed = pass_with_story_check(
            ledger,
            mask,
            month.spoke_fidelity[ledger.facility],
            m.catalogue.complexity,
            m.streams.lesson_uniforms("passing_on", "story", ledger),
            m.streams.lesson_uniforms("passing_on", "hard", ledger),
        )
        self.count("lessons_passed_facilities", passed)
