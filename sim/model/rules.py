"""Rules several mechanisms share, written once: the blame filter and the no-story rule.

*Blame filter.* Under a blame culture ``b`` (facility, district or national), a failure
is told with chance ``1 - b`` and a success with chance ``1 - b * success_factor``:
failures are shared less, successes a little less too. Facilities offering news,
facilities recording their lessons, districts forwarding and exchanging lessons, coaches
and district meetings passing on failures, and the national body acting on failures
all apply it through :func:`telling_chances` and :func:`hidden_by_blame`.

*No-story rule.* A success lesson passed on arrives with its story if it had one and
the story survived the channel (its fidelity); without it, receivers hear of the
practice but, with chance equal to its complexity, cannot reproduce it: the lesson is
lost for want of a story (:func:`lost_for_want_of_story`).
"""

from __future__ import annotations

import numpy as np

from sim.model.ledger import Cause, LessonLedger
from sim.model.parameters import P, Section

__all__ = [
    "Blame",
    "hidden_by_blame",
    "lost_for_want_of_story",
    "pass_with_story_check",
    "telling_chances",
]


class Blame(Section):
    """Blame culture b in [0, 1]: failures are shared with chance about 1 - b."""

    facility: float = P(
        0.61,
        0.0,
        1.0,
        description="Blame culture inside facilities.",
        source="fitted to the pattern failures_reaching_district (Hibbert et al. 2023: "
        "incident reporting finds 4-25 % of adverse events; calibration/patterns.yaml): "
        "posterior median 0.61, 90 % 0.36-0.87",
        plausible=(0.36, 0.87),
    )
    district: float = P(
        0.5, 0.0, 1.0, description="Blame culture of district health offices.", plausible=(0.3, 0.8)
    )
    national: float = P(
        0.5, 0.0, 1.0, description="Blame culture of the national body.", plausible=(0.3, 0.8)
    )
    success_factor: float = P(
        0.2,
        0.0,
        1.0,
        description="How much blame also holds back successes (times b).",
        plausible=(0.05, 0.4),
    )


def telling_chances(blame: np.ndarray, success_factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chances that a success and a failure are told under ``blame`` (the blame filter).

    Examples:
        >>> success, failure = telling_chances(np.array([0.0, 0.5, 1.0]), np.array(0.2))
        >>> success.tolist(), failure.tolist()
        ([1.0, 0.9, 0.8], [1.0, 0.5, 0.0])
    """
    return 1.0 - blame * success_factor, 1.0 - blame


def hidden_by_blame(
    ledger: LessonLedger,
    mask: np.ndarray,
    tell_failure: np.ndarray,
    tell_success: np.ndarray,
    uniform: np.ndarray,
) -> np.ndarray:
    """Lessons of ``mask`` kept back (per-country chances of telling; one uniform per lesson)."""
    country = ledger.country
    p = np.where(ledger.success, tell_success[country], tell_failure[country])
    return mask & (uniform >= p)


def lost_for_want_of_story(
    ledger: LessonLedger,
    fidelity: np.ndarray,
    complexity: np.ndarray,
    story_uniform: np.ndarray,
    hard_uniform: np.ndarray,
) -> np.ndarray:
    """Successes lost for want of a story (the no-story rule), one uniform of each per lesson.

    The story does not travel (it survives with ``fidelity``, per lesson) and the practice
    is too complex to reproduce without it (chance ``complexity`` of the practice).
    """
    story_travels = ledger.story & (story_uniform < fidelity)
    hard = hard_uniform < complexity[ledger.practice]
    return ledger.success & ~story_travels & hard


def pass_with_story_check(
    ledger: LessonLedger,
    mask: np.ndarray,
    fidelity: np.ndarray,
    complexity: np.ndarray,
    story_uniform: np.ndarray,
    hard_uniform: np.ndarray,
) -> int:
    """Pass the lessons in ``mask`` on, except the successes lost for want of a story.

    Returns:
        How many lessons passed on.
    """
    no_story = mask & lost_for_want_of_story(
        ledger, fidelity, complexity, story_uniform, hard_uniform
    )
    return ledger.settle(passed=mask & ~no_story, lost={Cause.NO_STORY: no_story})
