"""The mechanisms of the model, one module per submodel of ``docs/model.md`` section 7.

:data:`SCHEDULE` is the order in which they run each month: the process schedule of the
ODD. Programmes first mark the districts they fund this month. Channels (peer network
to guidance) only compute what reached whom; receiving
applies all of the month's exposures at once, so their order among themselves does not
matter. Lessons then move (passing on to global learning), trials are read, facilities
that keep failing ask their district for support (answered by next month's coaching),
staff teach each other, and the loops review.
"""

from __future__ import annotations

from sim.model.mechanisms.base import Mechanism
from sim.model.mechanisms.coaching import Coaching
from sim.model.mechanisms.community_of_practice import CommunityOfPractice
from sim.model.mechanisms.district_exchange import DistrictExchange
from sim.model.mechanisms.district_pools import DistrictPools
from sim.model.mechanisms.double_loop import DoubleLoop
from sim.model.mechanisms.exchange_visits import ExchangeVisits
from sim.model.mechanisms.fading import Fading
from sim.model.mechanisms.global_learning import GlobalLearning
from sim.model.mechanisms.guidance import Guidance
from sim.model.mechanisms.guidance_issuance import GuidanceIssuance
from sim.model.mechanisms.innovation import Innovation
from sim.model.mechanisms.internal_learning import InternalLearning
from sim.model.mechanisms.learning_centre import LearningCentre
from sim.model.mechanisms.learning_sessions import LearningSessions
from sim.model.mechanisms.messaging_group import MessagingGroup
from sim.model.mechanisms.national_queue import NationalQueue
from sim.model.mechanisms.passing_on import PassingOn
from sim.model.mechanisms.peer_network import PeerNetwork
from sim.model.mechanisms.programmes import Programmes
from sim.model.mechanisms.receiving import Receiving
from sim.model.mechanisms.single_loop import SingleLoop
from sim.model.mechanisms.support_requests import SupportRequests
from sim.model.mechanisms.trials import Trials
from sim.model.mechanisms.triple_loop import TripleLoop
from sim.model.mechanisms.turnover import Turnover
from sim.model.mechanisms.upward_reporting import UpwardReporting

__all__ = ["SCHEDULE", "SETUP_DECISIONS", "Mechanism", "random_decisions"]

#: The monthly schedule: every mechanism, in the order it runs.
SCHEDULE: tuple[type[Mechanism], ...] = (
    Programmes,
    Turnover,
    Innovation,
    PeerNetwork,
    LearningSessions,
    MessagingGroup,
    ExchangeVisits,
    Coaching,
    Guidance,
    Receiving,
    PassingOn,
    UpwardReporting,
    DistrictExchange,
    CommunityOfPractice,
    DistrictPools,
    LearningCentre,
    NationalQueue,
    GuidanceIssuance,
    GlobalLearning,
    Trials,
    SupportRequests,
    InternalLearning,
    SingleLoop,
    DoubleLoop,
    TripleLoop,
    Fading,
)

#: Random decisions taken when the model is built, outside the mechanisms.
SETUP_DECISIONS: tuple[tuple[str, str], ...] = (
    ("world", "layout"),
    ("world", "capabilities"),
    ("practices", "catalogue"),
    ("practices", "local effects"),
    ("practices", "initial use"),
    ("posterior", "row"),
    ("programmes", "targets"),
    ("programmes", "roll-out order"),
)


def random_decisions() -> list[tuple[str, str]]:
    """Every random decision of the model, as (mechanism, decision), each its own stream."""
    declared = [(m.name, d) for m in SCHEDULE for d in m.decisions]
    return list(SETUP_DECISIONS) + declared
