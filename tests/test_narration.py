from __future__ import annotations

import re

import numpy as np

from sim.model.model import LearningHealthSystem
from sim.model.state import Stage
from sim.trainer.narration import Narrator, facility_label, practice_label

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


def test_the_ledger_summary_matches_the_month_losses() -> None:
    model = LearningHealthSystem(small(months=6))
    narrator = Narrator(model)
    for _ in range(6):
        lost_before = model.ledger.lost.sum()
        model.step()
        events = [e for e in narrator.after_step() if e.kind == "losses"]
        lost_now = int(model.ledger.lost.sum() - lost_before)
        if lost_now:
            assert events and events[0].text.startswith(f"{lost_now} lesson"), events
        else:
            assert not events


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
    assert practice_label(model, 3) == f"P04 ({model.catalogue.topics[3]})"
