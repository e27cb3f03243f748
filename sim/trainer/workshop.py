"""What the trainer's app does, without the widgets: load, set levers, step, show.

A :class:`Workshop` holds the scenario on screen, the levers moved so far, the runs
(one, or two in lockstep for side-by-side mode) and the view drawn from them. The
Solara page (:mod:`sim.trainer.app`) only turns clicks into calls on it and shows what it
returns, so everything here is tested without a browser.

Errors in a scenario file or a lever value never escape: they become
:attr:`Workshop.error`, a readable message the page shows.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.config.scenario import load_scenario
from sim.errors import SimError
from sim.model.schema import Scenario
from sim.trainer.districts import country_districts, fund_in_districts, funded_districts
from sim.trainer.levers import LEVER_LABELS, apply_levers, format_value, lever_value, levers
from sim.trainer.live import MAX_FLOW_MONTHS, LiveRun, Lockstep
from sim.trainer.narration import Event, district_label, facility_label, practice_labels
from sim.trainer.presets import Demonstration, Pause, pause_due
from sim.trainer.view import TrainerView

__all__ = ["SideBySide", "Workshop"]

log = logging.getLogger(__name__)

#: Size (pixels) and pixels per inch of the page's view, normally and in projector mode.
PAGE_SIZE, PAGE_DPI = (1280, 720), 100
PROJECTOR_SIZE, PROJECTOR_DPI = (1920, 1080), 150


@dataclass(frozen=True)
class SideBySide:
    """Side-by-side mode: the lever values in which the second copy differs.

    Attributes:
        changes: Lever values of the second copy, by key path inside a country; the
            first copy has the levers as set.
    """

    changes: Mapping[str, Any]

    @property
    def levers(self) -> list[str]:
        """The levers the copies differ in."""
        return list(self.changes)


class Workshop:
    """The state of one trainer's page.

    Args:
        scenario: A scenario file to open at once (optional).

    Examples:
        >>> w = Workshop()
        >>> w.load("no/such/file.yaml")
        >>> w.error.splitlines()[0]
        '1 problem found:'
        >>> w.runs
        []
    """

    def __init__(self, scenario: str | Path | None = None) -> None:
        self.path: Path | None = None
        self.scenario: Scenario | None = None
        self.error: str = ""
        self.changes: dict[str, Any] = {}
        #: Channels the trainer funds in chosen districts only, with those districts
        #: (by name), in the country the levers apply to.
        self.district_funding: dict[str, tuple[str, ...]] = {}
        self.countries: list[str] | None = None
        self.side_by_side: SideBySide | None = None
        self.demonstration: Demonstration | None = None
        #: The latest pause-and-explain of a demonstration (at most one a run).
        self.pause: Pause | None = None
        #: Whether the pause is on screen and waiting for the trainer.
        self.waiting = False
        #: Projector mode: the view drawn at 1920 x 1080 with large text.
        self.projector = False
        #: Months a second the page plays at (``None``: as fast as it can).
        self.speed: float | None = None
        #: Months a month's news flows stay on the map.
        self.flow_months = 1
        self.runs: list[LiveRun] = []
        self.pair: Lockstep | None = None
        self.view: TrainerView | None = None
        self._step_times: deque[float] = deque(maxlen=30)
        self._restarts = 0
        # the page steps in a background thread while people move levers
        self.lock = threading.RLock()
        if scenario is not None:
            self.load(scenario)

    # ------------------------------------------------------------------ set-up
    def load(self, path: str | Path) -> None:
        """Open a scenario file and reset the runs; problems go to :attr:`error`."""
        with self.lock:
            self.path = Path(path)
            self.changes = {}
            self.district_funding = {}
            self.countries = None
            self.side_by_side = None
            self.demonstration = None
            try:
                self.scenario = load_scenario(self.path)
            except (SimError, OSError) as error:
                self.scenario = None
                self.runs, self.view, self.pair = [], None, None
                self.error = str(error)
                return
            self.restart()

    def load_demonstration(self, demonstration: Demonstration) -> None:
        """Open a demonstration preset: its copies side by side, from month 0."""
        with self.lock:
            first = demonstration.copies[0]
            self.path = None
            self.scenario = first.scenario
            self.changes = {}
            self.district_funding = {}
            self.countries = None
            self.side_by_side = None
            self.demonstration = demonstration
            self.restart()

    def set_lever(self, path: str, value: Any) -> None:
        """Move a lever (for the chosen countries) and start again from month 0."""
        with self.lock:
            self.changes[path] = value
            self.restart()

    def fund_in_districts(self, channel: str, districts: list[str] | None) -> None:
        """Fund ``channel`` only in ``districts`` of the country the levers apply to.

        The channel is switched off for the country and funded in these districts from
        month 1 (an empty list: nowhere); ``None`` undoes the trainer's choice, so the
        scenario's own programmes and switch of the channel return. The run starts
        again from month 0.
        """
        with self.lock:
            if districts is None:
                self.district_funding.pop(channel, None)
            else:
                self.district_funding[channel] = tuple(districts)
            self.restart()

    def district_names(self) -> list[str]:
        """The districts of the country the levers apply to, by name (``D001`` ...)."""
        if self.scenario is None:
            return []
        return country_districts(self.scenario, self._country())

    def funded(self, channel: str) -> list[str]:
        """The districts ``channel`` is funded in by a programme (the first copy)."""
        if channel in self.district_funding:
            return list(self.district_funding[channel])
        if self.scenario is None:
            return []
        return funded_districts(self.scenario, channel, self._country())

    def set_countries(self, names: list[str] | None) -> None:
        """Apply the levers to these countries only (``None``: every country)."""
        with self.lock:
            self.countries = names
            self.restart()

    def set_side_by_side(self, choice: SideBySide | None) -> None:
        """Switch side-by-side mode on (with the lever taught) or off."""
        with self.lock:
            self.side_by_side = choice
            self.restart()

    def country_index(self) -> int:
        """Index of the country whose lever values the controls show (and funded districts)."""
        return self._country()

    def _country(self) -> int:
        """Index of the country whose lever values the controls show."""
        if self.scenario is None or not self.countries:
            return 0
        names = [c.name for c in self.scenario.countries]
        return names.index(self.countries[0])

    def setting(self, path: str) -> Any:
        """The value a lever is set to in the first copy (the trainer's, else the scenario's)."""
        if path in self.changes:
            return self.changes[path]
        if self.scenario is None:
            return None
        return lever_value(self.scenario, path, self._country())

    def value(self, path: str) -> Any:
        """The value a lever has now in the first run: its setting, or where the model put it."""
        with self.lock:
            if self.runs:
                return self.runs[0].lever_now(path, self._country())
            return self.setting(path)

    def moved(self, path: str) -> Event | None:
        """The model's latest move of lever ``path`` in the (first) run, if any."""
        with self.lock:
            if not self.runs:
                return None
            return self.runs[0].moved.get((self._country(), path))

    @property
    def revision(self) -> int:
        """Grows whenever the runs restart or the model moves a lever (the controls redraw)."""
        return self._restarts * 1_000_000 + sum(run.lever_moves for run in self.runs)

    def reset(self) -> None:
        """Back to month 0 with the scenario's own lever values (the trainer's changes undone).

        Channels funded in chosen districts return to the scenario's (or preset's) own.
        """
        with self.lock:
            self.changes = {}
            self.district_funding = {}
            self.restart()

    def back_to_defaults(self) -> None:
        """Back to month 0 with every lever at the parameter's documented default.

        Channels funded in chosen districts from the page are undone too.
        """
        with self.lock:
            self.changes = {lever.path: lever.default for lever in levers()}
            self.district_funding = {}
            self.restart()

    def restart(self) -> None:
        """Build the runs again from month 0 with the current levers."""
        with self.lock:
            self._restarts += 1
            self.runs, self.view, self.pair = [], None, None
            self.pause, self.waiting = None, False
            self._step_times.clear()
            if self.scenario is None:
                return
            try:
                copies = self._copies()
                if len(copies) == 1:
                    self.runs = [LiveRun(copies[0][1], label=copies[0][0])]
                else:
                    self.pair = Lockstep(copies)
                    self.runs = list(self.pair.runs)
                for run in self.runs:
                    run.flow_months = self.flow_months
                self.view = self._view()
                self.error = ""
            except SimError as error:
                self.runs, self.view, self.pair = [], None, None
                self.error = str(error)
            except Exception as error:  # shown in the page, never a crash
                log.exception("the model could not be built")
                self.runs, self.view, self.pair = [], None, None
                self.error = f"the model could not be built from this scenario: {error}"

    def _view(self) -> TrainerView:
        if self.projector:
            return TrainerView(self.runs, PROJECTOR_SIZE, PROJECTOR_DPI, blit=True, projector=True)
        return TrainerView(self.runs, PAGE_SIZE, PAGE_DPI, blit=True)

    def set_speed(self, months_per_second: float | None) -> None:
        """Play at this many months a second (``None``: as fast as it can)."""
        if months_per_second is not None and months_per_second <= 0:
            raise ValueError(f"a speed must be positive, got {months_per_second}")
        self.speed = months_per_second

    def wait_before_next(self, started: float) -> float:
        """Seconds the play loop waits after a month that began at ``started``.

        ``started`` is a :func:`time.perf_counter` reading; the wait keeps the pace of
        :attr:`speed` (zero when playing as fast as it can or when behind).
        """
        if self.speed is None:
            return 0.0
        return max(0.0, 1.0 / self.speed - (time.perf_counter() - started))

    def set_flow_months(self, months: int) -> None:
        """Keep each month's news flows on the map for ``months`` months (1 to 24)."""
        if not 1 <= months <= MAX_FLOW_MONTHS:
            raise ValueError(f"news flows stay 1 to {MAX_FLOW_MONTHS} months, got {months}")
        with self.lock:
            self.flow_months = months
            for run in self.runs:
                run.flow_months = months
            if self.view is not None:
                self.view.update()

    def set_projector(self, on: bool) -> None:
        """Switch projector mode on or off; the run goes on where it is."""
        with self.lock:
            self.projector = on
            if self.runs:
                self.view = self._view()

    def _copies(self) -> list[tuple[str, Scenario]]:
        """Each copy's label and scenario.

        The trainer's levers apply to every copy, except that a later copy keeps its own
        value of each lever it differs in.
        """
        if self.scenario is None:
            raise RuntimeError("the workshop has no scenario loaded yet")

        def levers_on(scenario: Scenario, changes: Mapping[str, Any]) -> Scenario:
            names = {c.name for c in scenario.countries}
            countries = None if self.countries is None else [
                n for n in self.countries if n in names
            ]  # fmt: skip
            return apply_levers(scenario, changes, countries)

        def funding_on(scenario: Scenario) -> Scenario:
            for channel, districts in self.district_funding.items():
                scenario = fund_in_districts(scenario, channel, districts, self._country())
            return scenario

        if self.demonstration is not None:
            copies = []
            for i, copy in enumerate(self.demonstration.copies):
                scenario = levers_on(copy.scenario, self.changes)
                if i > 0:
                    scenario = levers_on(scenario, copy.levers)
                copies.append((copy.label, funding_on(scenario)))
            return copies
        first = funding_on(levers_on(self.scenario, self.changes))
        if self.side_by_side is None:
            return [(first.name, first)]
        differing = self.side_by_side.changes
        second = levers_on(first, differing)
        country = self._country()

        def label(scenario: Scenario) -> str:
            return "; ".join(
                f"{LEVER_LABELS[path]}: {format_value(lever_value(scenario, path, country))}"
                for path in differing
            )

        return [(label(first), first), (label(second), second)]

    # ------------------------------------------------------------------ running

    @property
    def ready(self) -> bool:
        """Whether there is something to step."""
        return bool(self.runs) and self.view is not None

    @property
    def finished(self) -> bool:
        """Whether every month of the scenario is simulated."""
        return not self.ready or self.runs[0].finished

    @property
    def month(self) -> int:
        """Months simulated so far."""
        return self.runs[0].month if self.runs else 0

    def step(self) -> bool:
        """Simulate one month (both copies in side-by-side mode) and redraw.

        Returns:
            Whether a month was simulated (``False`` when finished or on error).
        """
        with self.lock:
            if self.finished or self.view is None:
                return False
            try:
                seen = [len(run.events) for run in self.runs]
                for run in self.runs:
                    run.step()
                self.view.update()
                self._check_pause(seen)
            except Exception as error:  # shown in the page, never a crash
                log.exception("a month failed")
                self.error = f"the run stopped at month {self.month + 1}: {error}"
                self.runs, self.view, self.pair = [], None, None
                return False
            self._step_times.append(time.perf_counter())
            return True

    def _check_pause(self, seen: list[int]) -> None:
        """Pause and explain on the first month that shows what the demonstration is about."""
        if self.demonstration is None or self.pause is not None:
            return
        pause = pause_due(self.demonstration.preset, self.runs, seen, self.month)
        if pause is not None:
            self.pause, self.waiting = pause, True

    def dismiss_pause(self) -> None:
        """The trainer has explained: the pause leaves the screen (it does not come back)."""
        with self.lock:
            self.waiting = False

    def set_practice(self, practice: int) -> None:
        """Show another practice on the maps."""
        with self.lock:
            for run in self.runs:
                run.set_practice(practice)
            if self.view is not None:
                self.view.update()

    def months_per_second(self) -> float:
        """Recent stepping speed (months a second over the last 30 months stepped)."""
        times = self._step_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def frame(self) -> bytes:
        """The view as JPEG bytes (empty when there is nothing to show)."""
        with self.lock:
            return self.view.jpeg() if self.view is not None else b""

    def events(
        self,
        limit: int | None = None,
        *,
        cause: str | None = None,
        district: int | None = None,
        practice: int | None = None,
    ) -> list[tuple[str, Event]]:
        """Events of the whole run, newest first, each with the label of its run.

        Args:
            limit: Most events returned (default: all).
            cause: Only events that show this loss-ledger cause (``turnover`` ...).
            district: Only events in this district (index).
            practice: Only events about this practice (index).
        """
        with self.lock:
            many = len(self.runs) > 1
            merged = [
                (run.label if many else "", event)
                for run in self.runs
                for event in run.events
                if (cause is None or event.cause == cause)
                and (district is None or event.district == district)
                and (practice is None or event.practice == practice)
            ]
        merged.sort(key=lambda item: item[1].month, reverse=True)
        return merged if limit is None else merged[:limit]

    def events_csv(self, **filters: Any) -> str:
        """The events of :meth:`events` (same filters) as CSV, oldest first.

        Columns: copy, month, kind, cause, country, district, facility, practice, text;
        places and practices by name, empty where an event has none.
        """
        with self.lock:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(
                ["copy", "month", "kind", "cause", "country", "district", "facility",
                 "practice", "text"]
            )  # fmt: skip
            if not self.runs:
                return buffer.getvalue()
            rows = list(reversed(self.events(**filters)))
            model = self.runs[0].model
            practices = practice_labels(model.catalogue.names, model.catalogue.topics)
            for label, e in rows:
                writer.writerow(
                    [
                        label,
                        e.month,
                        e.kind,
                        e.cause,
                        model.world.country_names[e.country] if e.country >= 0 else "",
                        district_label(model, e.district) if e.district >= 0 else "",
                        facility_label(model, e.facility) if e.facility >= 0 else "",
                        practices[e.practice] if e.practice >= 0 else "",
                        e.text,
                    ]
                )
            return buffer.getvalue()
