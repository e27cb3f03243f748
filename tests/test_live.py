from __future__ import annotations

import numpy as np
import pytest

from sim.model.schema import Scenario
from sim.model.state import Source
from sim.trainer.live import LiveRun, Lockstep

from builders import small


def _same_state(a: LiveRun, b: LiveRun) -> bool:
    pa, pb = a.model.population, b.model.population
    return bool(
        np.array_equal(pa.stage, pb.stage)
        and np.array_equal(pa.holders, pb.holders)
        and np.array_equal(a.model.ledger.lost, b.model.ledger.lost)
        and a.qoc == b.qoc
    )


def test_two_identical_copies_stay_identical_month_by_month() -> None:
    scenario = small(months=12)
    pair = Lockstep.lever(scenario, "turnover.annual", (0.15, 0.15))
    for _ in range(12):
        pair.step()
        a, b = pair.runs
        assert _same_state(a, b), f"copies diverged at month {pair.month}"
    assert [e.text for e in a.events] == [e.text for e in b.events]


def test_copies_differing_in_one_lever_share_everything_else() -> None:
    scenario = small(months=12)
    pair = Lockstep.lever(scenario, "channels.learning_sessions.interval_months", (3, 1))
    a, b = (run.model for run in pair.runs)
    assert np.array_equal(a.world.staff, b.world.staff)
    assert (a.world.ties != b.world.ties).nnz == 0
    assert np.array_equal(a.population.local_effect, b.population.local_effect)
    pair.step()
    # month 1: turnover runs first, on the same state with the same stream
    assert (
        a.recorder.rows[0]["practices_lost_turnover"]
        == b.recorder.rows[0]["practices_lost_turnover"]
    )
    for _ in range(11):
        pair.step()
    held = [sum(r["sessions_held"] for r in m.recorder.rows) for m in (a, b)]
    assert held[0] < held[1], f"monthly sessions must hold more sessions: {held}"


def test_a_live_run_records_what_a_batch_run_records() -> None:
    scenario = small(months=10)
    live = LiveRun(scenario)
    for _ in range(10):
        live.step()
    from sim.runs.simulation import run_replicate

    batch = run_replicate(scenario, 0)
    assert np.allclose(live.qoc[1:], batch.timeseries["qoc"].to_numpy()), "live run drifted"
    assert live.lost["blame"][-1] == batch.timeseries["lost_blame"].iloc[-1]
    assert live.finished


def test_flows_come_from_the_channel_that_first_brought_the_news() -> None:
    scenario = Scenario(
        name="flows", months=12, countries=[{"name": "A", "facilities": 200, "districts": 4}]
    )
    run = LiveRun(scenario)
    seen = 0
    for _ in range(12):
        before = run.model.population.first_source[:, run.practice].copy()
        run.step()
        flows = run.flows
        now = run.model.population.first_source[:, run.practice]
        assert np.all(before[flows.facility] == Source.NONE)
        assert np.array_equal(now[flows.facility], flows.source)
        peers = flows.peer[flows.peer >= 0]
        ties = run.model.world.ties
        for f, p in zip(flows.facility[flows.peer >= 0], peers, strict=True):
            assert ties[f, p] == 1, "a peer flow must follow a tie"
        seen += flows.facility.size
    assert seen > 0, "news of the best practice must reach someone in a year"


def test_news_flows_stay_on_the_map_for_the_chosen_months() -> None:
    from sim.trainer.view import TrainerView

    scenario = Scenario(
        name="flows", months=12, countries=[{"name": "A", "facilities": 200, "districts": 4}]
    )
    run = LiveRun(scenario)
    run.flow_months = 3
    view = TrainerView([run])
    months = []
    for _ in range(12):
        run.step()
        months.append(run.flows)
        recent = run.recent_flows()
        assert recent[0] is run.flows and len(recent) == min(3, len(months))
        assert recent == months[::-1][:3], "the last three months, newest first"
        view.update()
        drawn = view.flow_lines[0].get_segments()
        one_month = TrainerView([run])
        run.flow_months = 1
        one_month.update()
        single = one_month.flow_lines[0].get_segments()
        run.flow_months = 3
        assert len(drawn) >= len(single)
    colours = view.flow_lines[0].get_colors()
    assert len(colours) == len(view.flow_lines[0].get_segments())
    if len(colours):
        assert colours[:, 3].max() == pytest.approx(0.9)
    total = sum(f.facility.size for f in run.recent_flows())
    assert total > 0, "three months of the best practice's news reach someone"
