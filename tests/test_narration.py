from __future__ import annotations

import re

import numpy as np

from sim.model.ledger import CAUSES
from sim.model.model import LearningHealthSystem
from sim.model.state import Stage
from sim.reporting.palette import CAUSE_WORDS
from sim.trainer.narration import Narrator, facility_label, practice_label, practice_labels

from builders import small


def test_turnover_losses_are_narrated_for_the_facilities_that_lost_them() -> None:
    model = LearningHealthSystem(small({"turnover": {"annual": 0.9}}, months=18))
    narrator = Narrator(model, per_kind=1000)
    named = 0
    for _ in range(18):
        before = model.population.stage.copy()
        model.step()
        events = narrator.after_step()
        lost = (before == Stage.ADOPTED) & (model.population.stage == Stage.LOST)
        f, k = np.nonzero(lost)
        expected = {
            f"{facility_label(model, int(a))}: {practice_label(model, int(b))} lost: "
            "its last trained staff member left"
            for a, b in zip(f, k, strict=True)
        }
        said = {e.text for e in events if e.kind == "lost"}
        assert said == expected, f"month {model.month}: {said ^ expected}"
        named += len(said)
    assert named > 0, "a turnover of 90 % a year must lose some practices in 18 months"


def test_the_loss_lines_match_the_month_losses_cause_by_cause() -> None:
    model = LearningHealthSystem(small(months=6))
    narrator = Narrator(model)
    said_any = False
    for _ in range(6):
        lost_before = model.ledger.lost[0].copy()
        model.step()
        events = {e.cause: e for e in narrator.after_step() if e.kind == "losses"}
        for cause, n in zip(CAUSES, model.ledger.lost[0] - lost_before, strict=True):
            if n:
                assert events[cause].text.startswith(f"{n} lesson"), events[cause]
                assert events[cause].text.endswith(CAUSE_WORDS[cause])
                said_any = True
            else:
                assert cause not in events
    assert said_any, "six months lose some lessons"


def test_each_kind_names_at_most_per_kind_facilities_then_counts_the_rest() -> None:
    model = LearningHealthSystem(small(months=8))
    narrator = Narrator(model, per_kind=2)
    for _ in range(8):
        model.step()
        events = narrator.after_step()
        for kind in {e.kind for e in events if e.facility >= 0}:
            named = [e for e in events if e.kind == kind and e.facility >= 0]
            assert len(named) <= 2, f"{kind}: {len(named)} named"
            rest = [e for e in events if e.kind == kind and e.facility < 0]
            assert len(rest) <= 1


def test_labels_read_like_a_place_and_a_practice() -> None:
    model = LearningHealthSystem(small())
    label = facility_label(model, 0)
    assert re.fullmatch(r"(Hospital|Health centre|Health post) 1, District 1", label), label
    last = model.world.n_facilities - 1
    assert facility_label(model, last).endswith("District 10")
    assert practice_label(model, 3) == f"{model.catalogue.topics[3]} checklist (P04)"


def test_practice_labels_are_unique_and_say_their_topic() -> None:
    model = LearningHealthSystem(small(practices={"count": 24}))
    labels = [practice_label(model, k) for k in range(24)]
    assert len(set(labels)) == 24, labels
    for k, label in enumerate(labels):
        assert label.startswith(model.catalogue.topics[k]), label
        assert label.endswith(f"({model.catalogue.names[k]})")
    many = practice_labels(tuple(f"P{k + 1:02d}" for k in range(40)), ("a",) * 40)
    assert len(set(many)) == 40 and many[12] == "a checklist 2 (P13)"


def test_events_carry_their_place_practice_and_cause() -> None:
    model = LearningHealthSystem(small({"turnover": {"annual": 0.9}}, months=12))
    narrator = Narrator(model)
    events = []
    for _ in range(12):
        model.step()
        events += narrator.after_step()
    named = [e for e in events if e.facility >= 0]
    assert named
    for e in named:
        assert e.district == model.world.facility_district[e.facility]
        assert 0 <= e.practice < model.catalogue.size
        assert practice_label(model, e.practice) in e.text
    assert {e.cause for e in events if e.kind == "lost"} == {"turnover"}
