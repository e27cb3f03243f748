"""The learning-health-system model: a :class:`mesa.Model` whose step is one month.

The population's state lives in arrays (:mod:`sim.model.state`); Mesa agents
(:mod:`sim.model.agents`) give every facility, district, learning centre and national body
an identity and a view on those arrays. Each month runs, in this order (the ODD
schedule, see ``docs/model.md``):

1. turnover: staff leave; practices whose last holder left are lost; lessons
   still held at their facility may leave with their carrier;
2. innovation: QI teams start trials of practices nobody told them about;
3. channels: peer network, learning sessions, messaging group, exchange visits,
   coaching and guidance expose facilities to what others use and found to fail;
   each exposure may start trials, make facilities aware, or stop a trial of a
   practice known to fail;
4. lesson routes: lessons of facilities that spoke pass on; coaching and upward
   reporting move lessons to district pools; districts exchange with peers (free
   routing), take part in the community of practice, and forward pooled lessons
   to a learning centre or the national queue; centres and the national body
   process their queues, build evidence, package practices and issue guidance;
   linked national bodies share guidance;
5. trials: trials whose time is up are read from local data (the single loop)
   and their lessons recorded, with the blame filter;
6. internal learning: holders teach colleagues; practices become institutionalised;
7. single loop review: facilities drop practices in use that their data show fail;
8. double and triple loops, on review months;
9. lessons past their shelf life fade; everything held ages a month;
10. metrics are recorded.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.model import adoption, channels, kernels, routing
from sim.model.agents import District, Facility, LearningCentre, NationalBody
from sim.model.ledger import CAUSES, LessonLedger, Location
from sim.model.practices import build_catalogue
from sim.model.recorder import MonthlyRecorder
from sim.model.schema import Scenario
from sim.model.state import CountryValues, Knowledge, Population, Source, Stage, WorkArrays
from sim.model.streams import Streams
from sim.model.world import build_world, pick_within

__all__ = ["UNLIMITED", "LearningHealthSystem"]

#: Capacity used for "unlimited" queues.
UNLIMITED = np.iinfo(np.int64).max // 4


class LearningHealthSystem(mesa.Model):
    """One replicate of a scenario.

    Args:
        scenario: A validated scenario.
        replicate: Replicate index; with the scenario seed it fixes every random stream.

    Examples:
        >>> from sim.model.schema import Scenario
        >>> s = Scenario(name="tiny", months=3,
        ...              countries=[{"name": "A", "districts": 2, "facilities": 40}])
        >>> model = LearningHealthSystem(s, replicate=0)
        >>> model.run()
        >>> len(model.recorder.rows), model.ledger.conserved()
        (3, True)
    """

    def __init__(self, scenario: Scenario, replicate: int = 0) -> None:
        super().__init__(rng=np.random.SeedSequence(scenario.seed, spawn_key=(replicate, 999)))
        self.config = scenario
        self.replicate = replicate
        self.streams = Streams(scenario.seed, replicate)
        self.values = CountryValues.of(scenario)
        self.catalogue = build_catalogue(scenario.practices, self.streams["practices"])
        self.world = build_world(scenario, self.streams)
        self.population = Population.empty(
            self.world, self.catalogue, self.streams.get("practices", 1)
        )
        self.knowledge = Knowledge.empty(self.world, self.catalogue)
        self.ledger = LessonLedger(self.world.n_countries)
        self._set_up_runtime()
        self._seed_initial_use()
        self._create_agents()
        self.recorder = MonthlyRecorder(self)
        self.qoc_at_review = self.recorder.facility_qoc().copy()
        self.activity: dict[str, float] = {}

    # ------------------------------------------------------------------ set-up
    def _per_facility(self, path: str) -> np.ndarray:
        """The value of a country parameter for every facility (cached, read-only)."""
        cache = self.__dict__.setdefault("_facility_values", {})
        values = cache.get(path)
        if values is None:
            values = cache[path] = self.values[path][self.world.facility_country]
            values.setflags(write=False)
        return values

    def _set_up_runtime(self) -> None:
        """Arrays the loops may change during a run, and fixed per-facility rates."""
        v, w = self.values, self.world
        c = w.n_countries
        self.session_interval = v["channels.learning_sessions.interval_months"].astype(np.int64)
        self.routing_free = v["national.routing"] == "free"
        self.messaging_on = v["channels.messaging_group.enabled"].astype(bool)
        self.blame_facility = v["blame.facility"].astype(float).copy()
        self.blame_district = v["blame.district"].astype(float).copy()
        self.blame_national = v["blame.national"].astype(float).copy()
        self.coaching_weight = np.ones(w.n_districts)
        capacity = np.array(
            [UNLIMITED if x is None else x for x in v["national.capacity"]], dtype=np.int64
        )
        self.national_capacity = capacity
        self.centre_capacity = v["learning_centres.count"].astype(np.int64) * v[
            "learning_centres.capacity"
        ].astype(np.int64)
        self.has_centre = v["learning_centres.count"] > 0
        self.monthly_turnover = 1.0 - (1.0 - v["turnover.annual"].astype(float)) ** (1 / 12)
        self.rates = adoption.FacilityRates(
            uptake_with_story=self._per_facility("trials.uptake_with_story"),
            uptake_without_story=self._per_facility("trials.uptake_without_story"),
            failure_heeded=self._per_facility("trials.failure_heeded"),
            trial_months=self._per_facility("trials.months").astype(np.int8),
            trial_noise=self._per_facility("trials.noise"),
            success_threshold=self._per_facility("trials.success_threshold"),
            team_size=self._per_facility("trials.team_size").astype(np.int64),
        )
        rng = self.streams.get("messaging_group", 1)
        n_fac, n_dis = w.n_facilities, w.n_districts
        membership = self._per_facility("channels.messaging_group.membership")
        self.group_member = _capped(
            rng.random(n_fac) < membership,
            w.facility_district,
            n_dis,
            v["channels.messaging_group.capacity"][w.district_country],
            rng,
        )
        cop_reach = v["channels.community_of_practice.reach"][w.district_country]
        self.cop_member = self.streams.get("community_of_practice", 1).random(n_dis) < cop_reach
        self.shelf_life = v["trials.lesson_shelf_life"].astype(np.int64)
        self.work = WorkArrays()
        self.ties_per_country = np.bincount(
            w.facility_country, weights=np.diff(w.ties.indptr), minlength=c
        ).astype(np.int64)
        self.qoc_at_review = np.zeros(n_fac)
        self.lost_at_review = np.zeros((c, len(CAUSES)), dtype=np.int64)
        self.best_possible = np.maximum(self.population.local_effect, 0).sum(axis=1)
        self.best_possible = np.maximum(self.best_possible, 1e-9)
        # facilities grouped by district, and districts by country, for random picks
        self.district_order = np.argsort(w.facility_district, kind="stable")
        self.district_size = np.bincount(w.facility_district, minlength=n_dis)
        self.district_start = np.concatenate([[0], np.cumsum(self.district_size)[:-1]])
        self.country_districts = np.bincount(w.district_country, minlength=c)
        self.country_size = np.bincount(w.facility_country, minlength=c)
        self.country_first_district = np.concatenate([[0], np.cumsum(self.country_districts)[:-1]])

    def _seed_initial_use(self) -> None:
        """Effective practices already used by a share of facilities at month 0."""
        share = self.config.practices.initial_adoption
        if share <= 0:
            return
        rng = self.streams.get("practices", 2)
        pop, w = self.population, self.world
        effective = np.flatnonzero(self.catalogue.effect > 0)
        chosen = rng.random((w.n_facilities, effective.size)) < share
        f, j = np.nonzero(chosen)
        k = effective[j]
        pop.stage[f, k] = Stage.ADOPTED
        pop.holders[f, k] = w.staff[f]
        pop.story[f, k] = rng.random(f.size) < w.documentation[f]
        pop.first_source[f, k] = Source.INITIAL

    def _create_agents(self) -> None:
        w = self.world
        self.national_bodies = NationalBody.create_agents(
            self, w.n_countries, index=list(range(w.n_countries))
        )
        self.districts = District.create_agents(
            self, w.n_districts, index=list(range(w.n_districts))
        )
        self.facilities = Facility.create_agents(
            self, w.n_facilities, index=list(range(w.n_facilities))
        )
        self.district_agents = self.districts.to_list()
        self.national_agents = self.national_bodies.to_list()
        counts = self.values["learning_centres.count"]
        centre_country = np.repeat(np.arange(w.n_countries), counts)
        self.learning_centres = LearningCentre.create_agents(
            self, int(centre_country.size), country_index=centre_country.tolist()
        )

    # ------------------------------------------------------------------ schedule
    @property
    def month(self) -> int:
        """The month being (or last) simulated, from 1."""
        return int(self.steps)

    def run(self) -> None:
        """Simulate every month of the scenario."""
        for _ in range(self.config.months):
            self.step()

    def step(self) -> None:
        """Simulate one month (the schedule is in the module docstring)."""
        self.activity = dict.fromkeys(ACTIVITY_COLUMNS, 0.0)
        self.events = {
            "practices_lost_turnover": 0,
            "trials_started": 0,
            "innovations": 0,
            "duplication_waste": 0,
            "implementation_failures_no_story": 0,
            "single_loop_drops": 0,
            "institutionalised": 0,
            "guidance_withdrawn": 0,
            "double_loop_shifts": 0,
            "triple_loop_changes": 0,
            "items_expired": 0,
        }
        self._turnover()
        self._innovation()
        spoke, spoke_fidelity, presented = self._channels()
        self._lesson_routes(spoke, spoke_fidelity, presented)
        self._trials()
        self._internal_learning()
        if self.config.loops.single:
            self._single_loop()
        if self.month % self.config.loops.review_interval_months == 0:
            if self.config.loops.double:
                self._double_loop()
            if self.config.loops.triple:
                self._triple_loop()
        routing.fade(self.ledger, self.shelf_life)
        self.ledger.age_one_month()
        self.recorder.record()

    # ------------------------------------------------------------------ 1-2
    def _turnover(self) -> None:
        w = self.world
        if not self.monthly_turnover.any():
            return
        monthly = self.monthly_turnover[w.facility_country]
        leavers = adoption.staff_departures(w.staff, monthly, self.streams["turnover"])
        self.events["practices_lost_turnover"] += adoption.lose_holders(
            self.population,
            w.staff,
            leavers,
            self.streams.kernel_blocks("turnover", w.n_facilities),
        )
        routing.lose_to_turnover(
            self.ledger, leavers / np.maximum(w.staff, 1), self.streams.get("turnover", 2)
        )

    def _innovation(self) -> None:
        w = self.world
        if not (self.values["innovation.rate"].any() and w.qi_team.any()):
            return
        fear = self._per_facility("innovation.fear_of_failure")
        blame = self.blame_facility[w.facility_country]
        rate = self._per_facility("innovation.rate") * (1.0 - fear * blame)
        counts = adoption.innovate(
            self.population,
            w.qi_team,
            rate,
            self.rates,
            w.facility_country,
            self._known_to_fail(),
            self.streams["innovation"],
        )
        self.events["innovations"] += counts["innovations"]
        self.events["trials_started"] += counts["innovations"]
        self.events["duplication_waste"] += counts["duplication"]

    # ------------------------------------------------------------------ 3 channels
    def _offers(self) -> channels.Offers:
        pop = self.population
        success_factor = self.values["blame.success_factor"]
        return channels.Offers(
            stage=pop.stage,
            story=pop.story,
            country=self.world.facility_country,
            tell_success=1.0 - self.blame_facility * success_factor,
            tell_failure=1.0 - self.blame_facility,
        )

    def _in_countries(self, countries: np.ndarray) -> np.ndarray:
        """Facilities of the countries marked in ``countries`` (a per-country mask).

        When every country (or none) is marked, a shared read-only array is returned
        instead of a new one.
        """
        if countries.all() or not countries.any():
            cache = self.__dict__.setdefault("_everywhere", {})
            value = bool(countries.all())
            if value not in cache:
                cache[value] = np.full(self.world.n_facilities, value)
                cache[value].setflags(write=False)
            return cache[value]
        return countries[self.world.facility_country]

    def _active(self, path: str, interval: np.ndarray | None = None) -> np.ndarray:
        """Per country: whether the channel at ``path`` runs this month."""
        enabled = self.values[f"{path}.enabled"].astype(bool)
        if interval is None:
            interval = self.values[f"{path}.interval_months"].astype(np.int64)
        return enabled & (self.month % interval == 0)

    def _known_to_fail(self) -> np.ndarray:
        """Per country and practice: truly ineffective, and found to fail somewhere there.

        A trial of such a practice is duplication waste.
        """
        return self.knowledge.failure_found & self.catalogue.ineffective[None, :]

    def _receive_all(self, exposures: list[channels.Exposure]) -> None:
        counts = adoption.receive(
            self.population,
            exposures,
            self.rates,
            self.world.facility_country,
            self._known_to_fail(),
            self.streams["receive"],
            self.streams.blocks("receive", self.world.n_facilities),
            self.work,
        )
        self.events["trials_started"] += counts["trials"]
        self.events["duplication_waste"] += counts["duplication"]

    def _channels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run every channel; return who spoke, with what fidelity, and which districts met."""
        w, v, k = self.world, self.values, self.knowledge
        n = w.n_facilities
        offers = self._offers()
        heard: list[channels.Exposure] = []
        spoke = np.zeros(n, dtype=bool)
        spoke_fidelity = np.zeros(n)
        presented = np.zeros(w.n_districts, dtype=bool)
        fc, fd = w.facility_country, w.facility_district

        def spoken(who: np.ndarray, fidelity: np.ndarray) -> None:
            np.logical_or(spoke, who, out=spoke)
            np.maximum(spoke_fidelity, fidelity, out=spoke_fidelity, where=who)

        # peer network
        active = self._active("channels.peer_network")
        if active.any():
            fid = self._per_facility("channels.peer_network.fidelity")
            full = v["channels.peer_network.mixing"] == "full"
            if (active & full).any():
                exposure = channels.full_mixing_exposure(
                    offers,
                    fc,
                    w.n_countries,
                    v["channels.peer_network.full_mixing_rate"].astype(float),
                    fid,
                    self._in_countries(active & full),
                )
                heard.append(exposure)
                spoken(self._in_countries(active & full) & offers.any, fid)
            if (active & ~full).any():
                exposure, who, used = channels.peer_network_exposure(
                    w.ties,
                    self.ties_per_country,
                    offers,
                    np.where(active & ~full, v["channels.peer_network.contact_probability"], 0.0),
                    fid,
                    self.streams["peer_network"],
                )
                heard.append(exposure)
                spoken(who, fid)
                self.activity["peer_contacts"] += float(used)

        # learning sessions
        active = self._active("channels.learning_sessions", self.session_interval)
        if active.any():
            rng = self.streams["learning_sessions"]
            weight = (2.0 - self.coaching_weight)[fd]
            invited = (
                rng.random(n) < self._per_facility("channels.learning_sessions.attendance") * weight
            ) & active[fc]
            attendees = _capped(
                invited,
                fd,
                w.n_districts,
                v["channels.learning_sessions.capacity"][w.district_country],
                rng,
            )
            fid = self._per_facility("channels.learning_sessions.fidelity")
            heard.append(
                self._district_meeting(
                    Source.LEARNING_SESSIONS, "learning_sessions", attendees, offers
                )
            )
            spoken(attendees, fid)
            held = np.bincount(fd[attendees], minlength=w.n_districts) > 0
            presented |= held
            self.population.attended |= attendees
            self.activity["sessions_held"] += float(held.sum())
            self.activity["session_attendees"] += float(np.count_nonzero(attendees))

        # messaging group
        active = self.messaging_on & (
            self.month % v["channels.messaging_group.interval_months"].astype(np.int64) == 0
        )
        if active.any():
            members = self.group_member & active[fc]
            fid = self._per_facility("channels.messaging_group.fidelity")
            heard.append(
                self._district_meeting(Source.MESSAGING_GROUP, "messaging_group", members, offers)
            )
            posting = members & offers.any
            spoken(posting, fid)
            presented |= np.bincount(fd[members], minlength=w.n_districts) > 0
            self.activity["messages"] += float(np.count_nonzero(posting))
            self.activity["group_months"] += float(
                (np.bincount(fd[members], minlength=w.n_districts) > 0).sum()
            )

        # exchange visits
        active = self._active("channels.exchange_visits")
        if active.any():
            visitors, hosts = self._exchange_pairs(active)
            if visitors.size:
                fid = self._per_facility("channels.exchange_visits.fidelity")
                heard.append(channels.exchange_visit_exposure(visitors, hosts, offers, fid))
                host = np.zeros(n, dtype=bool)
                host[hosts] = True
                spoken(host, fid)
                self.activity["exchange_visits"] += float(visitors.size)

        # coaching
        active = self._active("channels.coaching")
        self.coached_now = np.zeros(n, dtype=bool)
        if active.any():
            coached = self._coaching_visits(active)
            if coached.size:
                fid = self._per_facility("channels.coaching.fidelity")
                heard.append(
                    channels.coaching_exposure(
                        coached,
                        fd,
                        fc,
                        *k.district_judgement(),
                        k.package,
                        fid,
                        self._per_facility("channels.coaching.intensity"),
                        1.0 - self.blame_district[w.district_country],
                    )
                )
                self.coached_now[coached] = True
                self.population.coached[coached] = True
                support = self._per_facility("channels.coaching.support_months")[coached]
                self.population.coached_until[coached] = self.month + support
                presented[np.unique(fd[coached])] = True
                self.activity["coaching_visits"] += float(coached.size)

        # guidance
        active = self._active("channels.guidance")
        if active.any() and (k.guidance.any() or k.withdrawn.any()):
            fid = np.where(
                k.package,
                v["channels.community_of_practice.fidelity"][:, None],
                v["channels.guidance.fidelity"][:, None],
            )
            heard.append(
                channels.guidance_exposure(
                    active[fc],
                    fc,
                    k.guidance,
                    k.withdrawn,
                    v["channels.guidance.reach"].astype(float),
                    fid,
                )
            )
            self.activity["guidance_items"] += float((k.guidance & active[:, None]).sum())
        self.activity["qi_team_months"] += float(np.count_nonzero(w.qi_team))
        self._receive_all(heard)
        return spoke, spoke_fidelity, presented

    def _district_meeting(
        self, source: Source, channel: str, members: np.ndarray, offers: channels.Offers
    ) -> channels.Exposure:
        """Exposure of ``members`` at a district meeting of ``channel`` (sessions, group).

        Members hear each other, and the district presents its pool of lessons (its
        failures only as far as its blame culture lets it).
        """
        w = self.world
        story, plain, failure = self.knowledge.district_judgement()
        return channels.group_exposure(
            source,
            members,
            w.facility_district,
            w.n_districts,
            offers,
            self._per_facility(f"channels.{channel}.intensity"),
            self._per_facility(f"channels.{channel}.fidelity"),
            (story | plain).astype(np.float32),
            story.astype(np.float32),
            failure * (1.0 - self.blame_district[w.district_country])[:, None],
        )

    def _exchange_pairs(self, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Visitors and hosts: ``capacity`` visits per district of an active country."""
        w, v = self.world, self.values
        rng = self.streams["exchange_visits"]
        districts = np.flatnonzero(active[w.district_country])
        per = v["channels.exchange_visits.capacity"][w.district_country[districts]].astype(np.int64)
        origin = np.repeat(districts, per)
        if origin.size == 0:
            return origin, origin
        start, size = self.district_start, self.district_size
        visitors = self.district_order[pick_within(start[origin], size[origin], rng)]
        cross = (
            rng.random(origin.size)
            < v["channels.exchange_visits.cross_district_share"][w.district_country[origin]]
        )
        country = w.district_country[origin]
        random_district = pick_within(
            self.country_first_district[country], self.country_districts[country], rng
        )
        host_district = np.where(cross, random_district, origin)
        hosts = self.district_order[pick_within(start[host_district], size[host_district], rng)]
        valid = (size[origin] > 0) & (size[host_district] > 0) & (hosts != visitors)
        return visitors[valid], hosts[valid]

    def _coaching_visits(self, active: np.ndarray) -> np.ndarray:
        """Facilities visited by coaches: ``capacity * coaching weight`` per district."""
        w, v = self.world, self.values
        rng = self.streams["coaching"]
        districts = np.flatnonzero(active[w.district_country])
        capacity = v["channels.coaching.capacity"][w.district_country[districts]]
        expected = capacity * self.coaching_weight[districts]
        per = np.floor(expected + rng.random(districts.size)).astype(np.int64)
        origin = np.repeat(districts, per)
        origin = origin[self.district_size[origin] > 0]
        picks = pick_within(self.district_start[origin], self.district_size[origin], rng)
        return self.district_order[picks]

    # ------------------------------------------------------------------ 4 lesson routes
    def _lesson_routes(
        self, spoke: np.ndarray, spoke_fidelity: np.ndarray, presented: np.ndarray
    ) -> None:
        w, v, k = self.world, self.values, self.knowledge
        ledger = self.ledger
        complexity = self.catalogue.complexity
        rng = self.streams["lessons"]
        routing.pass_spoken(ledger, spoke, spoke_fidelity, complexity, rng)

        coach_fid = self._per_facility("channels.coaching.fidelity")
        self._learn_in_districts(routing.report_up(ledger, self.coached_now, coach_fid, rng))
        reporting = self._active("channels.upward_reporting")
        self.activity["reports"] += float((reporting * self.country_size).sum())
        self._learn_in_districts(
            routing.report_up(
                ledger,
                self._in_countries(reporting),
                self._per_facility("channels.upward_reporting.fidelity"),
                rng,
            )
        )

        self._district_exchange()
        self._community_of_practice()

        exchange_on = v["channels.district_exchange.enabled"].astype(bool)
        direct = self.routing_free & ~self.has_centre & exchange_on
        meeting = direct & (
            self.month % v["channels.district_exchange.interval_months"].astype(np.int64) == 0
        )
        if meeting.any():
            shared = routing.pass_between_districts(
                ledger,
                meeting,
                1.0 - self.blame_district,
                1.0 - self.blame_district * v["blame.success_factor"],
                v["channels.district_exchange.fidelity"],
                complexity,
                rng,
            )
            self._add_evidence(shared)
        forwarding = v["channels.upward_reporting.enabled"].astype(bool) & ~direct
        self.activity["items_forwarded"] += routing.forward_from_districts(
            ledger,
            forwarding,
            self.routing_free & self.has_centre,
            1.0 - self.blame_district,
            1.0 - self.blame_district * v["blame.success_factor"],
            rng,
        )
        session_fid = v["channels.learning_sessions.fidelity"][w.district_country]
        stay = presented & ~forwarding[w.district_country]
        routing.pass_from_districts(ledger, stay, session_fid, complexity, rng)

        centre = routing.process_centres(ledger, self.centre_capacity)
        self.activity["centre_items_processed"] += centre.size
        cells = (centre.country, centre.practice)
        np.add.at(k.centre_story, cells, centre.success & centre.story)
        np.add.at(k.centre_success, cells, centre.success)
        np.add.at(k.centre_failure, cells, ~centre.success)
        enough = k.centre_story >= v["learning_centres.ready_threshold"][:, None]
        k.package |= enough & (k.centre_success > k.centre_failure) & ~k.withdrawn
        self._share_down(centre)

        processed, expired = routing.process_national(
            ledger,
            self.national_capacity,
            v["national.time_to_live"].astype(np.int64),
            1.0 - self.blame_national,
            rng,
        )
        self.events["items_expired"] += expired
        self.activity["national_items_processed"] += processed.size
        self._add_evidence(processed)
        self._share_down(processed)
        self._issue_guidance()
        self._global_learning()

    def _add_evidence(self, processed: routing.Processed) -> None:
        """Processed lessons join the national evidence base of their country."""
        k = self.knowledge
        cells = (processed.country, processed.practice)
        np.add.at(k.evidence_success, cells, processed.success)
        np.add.at(k.evidence_story, cells, processed.success & processed.story)
        np.add.at(k.evidence_failure, cells, ~processed.success)

    def _learn_in_districts(self, moved: dict[str, np.ndarray]) -> None:
        k = self.knowledge
        d, p, s, story = moved["district"], moved["practice"], moved["success"], moved["story"]
        np.add.at(k.district_success_reports, (d[s], p[s]), 1)
        np.add.at(k.district_failure_reports, (d[~s], p[~s]), 1)
        k.district_success[d[s], p[s]] = True
        k.district_story[d[s & story], p[s & story]] = True
        k.district_failure[d[~s], p[~s]] = True

    def _share_down(self, processed: routing.Processed) -> None:
        """Processed lessons reach every district of their country (vertical down)."""
        if processed.size == 0:
            return
        w, k = self.world, self.knowledge
        c = w.n_countries
        success = np.zeros((c, self.catalogue.size), dtype=bool)
        story = np.zeros_like(success)
        failure = np.zeros_like(success)
        s = processed.success
        success[processed.country[s], processed.practice[s]] = True
        story[processed.country[s & processed.story], processed.practice[s & processed.story]] = (
            True
        )
        failure[processed.country[~s], processed.practice[~s]] = True
        successes = np.zeros((c, self.catalogue.size), dtype=np.int64)
        failures = np.zeros_like(successes)
        np.add.at(successes, (processed.country[s], processed.practice[s]), 1)
        np.add.at(failures, (processed.country[~s], processed.practice[~s]), 1)
        k.district_success_reports += successes[w.district_country]
        k.district_failure_reports += failures[w.district_country]
        k.district_success |= success[w.district_country]
        k.district_story |= story[w.district_country]
        k.district_failure |= failure[w.district_country]

    def _issue_guidance(self) -> None:
        k, v = self.knowledge, self.values
        enough = k.evidence_story >= v["national.evidence_threshold"][:, None]
        mostly_works = k.evidence_success > k.evidence_failure
        new = ((enough & mostly_works) | k.package) & ~k.guidance & ~k.withdrawn
        k.guidance |= new
        self.activity["guidance_issued"] += float(new.sum())

    def _district_exchange(self) -> None:
        """Districts meet peer districts directly, under free routing only."""
        w, v, k = self.world, self.values, self.knowledge
        active = self._active("channels.district_exchange") & self.routing_free
        if not active.any():
            return
        rng = self.streams["district_exchange"]
        districts = np.flatnonzero(active[w.district_country])
        peers = v["channels.district_exchange.peers"][w.district_country[districts]].astype(int)
        dst = np.repeat(districts, peers)
        country = w.district_country[dst]
        src = pick_within(
            self.country_first_district[country], self.country_districts[country], rng
        )
        src_valid = src != dst
        dst, src = dst[src_valid], src[src_valid]
        fid = v["channels.district_exchange.fidelity"][w.district_country[dst]][:, None]
        shape = (dst.size, self.catalogue.size)
        story = k.district_story[src] & (rng.random(shape) < fid)
        tell_failure = (1.0 - self.blame_district[w.district_country[src]])[:, None]
        failure = k.district_failure[src] & (rng.random(shape) < tell_failure)
        np.logical_or.at(k.district_story, dst, story)
        np.logical_or.at(k.district_success, dst, k.district_success[src])
        np.logical_or.at(k.district_failure, dst, failure)
        self.activity["district_meetings"] += float(dst.size)

    def _community_of_practice(self) -> None:
        """The learning centre shares packages and its evidence with member districts."""
        w, v, k = self.world, self.values, self.knowledge
        active = self._active("channels.community_of_practice") & self.has_centre
        if not active.any():
            return
        members = self.cop_member & active[w.district_country]
        c = w.district_country[members]
        k.district_story[members] |= k.package[c] | (k.centre_story[c] > 0)
        k.district_success[members] |= k.package[c] | (k.centre_story[c] > 0)
        gain = v["learning_centres.data_quality_gain"][w.facility_country] / 12.0
        gain = gain * v["channels.community_of_practice.interval_months"][w.facility_country]
        in_member = members[w.facility_district]
        w.data_quality[in_member] = np.minimum(1.0, w.data_quality[in_member] + gain[in_member])
        self.activity["cop_meetings"] += float(members.sum())

    def _global_learning(self) -> None:
        """Linked national bodies adopt each other's guidance and withdrawals."""
        g = self.config.global_learning
        if not g.enabled or not self.config.global_links or self.month % g.interval_months:
            return
        k = self.knowledge
        names = list(self.world.country_names)
        rng = self.streams["global_learning"]
        for a_name, b_name in self.config.global_links:
            a, b = names.index(a_name), names.index(b_name)
            for src, dst in ((a, b), (b, a)):
                taken = k.guidance[src] & ~k.guidance[dst] & ~k.withdrawn[dst]
                taken &= rng.random(taken.size) < g.fidelity
                k.guidance[dst] |= taken
                k.withdrawn[dst] |= k.withdrawn[src]
                k.guidance[dst] &= ~k.withdrawn[dst]
                self.activity["global_exchanges"] += 1.0

    # ------------------------------------------------------------------ 5-7
    def _trials(self) -> None:
        w, pop = self.world, self.population
        outcome = adoption.resolve_trials(
            pop,
            self.catalogue.complexity,
            w.data_quality,
            w.documentation,
            pop.coached_until,
            self.month,
            self._per_facility("channels.coaching.implementation_support"),
            self.rates,
            w.staff,
            self.config.loops.single,
            self.streams.kernel_blocks("trials", self.world.n_facilities),
            self.work,
        )
        self.events["implementation_failures_no_story"] += int(outcome.implementation_failed.sum())
        f, kk, success = outcome.facility, outcome.practice, outcome.success
        self.knowledge.failure_found[w.facility_country[f[~success]], kk[~success]] = True
        blame = self.blame_facility[w.facility_country[f]]
        factor = self.values["blame.success_factor"][w.facility_country[f]]
        share = np.where(success, 1.0 - blame * factor, 1.0 - blame)
        routing.record_lessons(
            self.ledger,
            f,
            kk,
            success,
            pop.story[f, kk],
            w.facility_district,
            w.facility_country,
            share,
            self.streams["lessons"],
        )

    def _internal_learning(self) -> None:
        w, pop = self.world, self.population
        if not self.values["channels.internal.enabled"].any():
            return
        enabled = self._per_facility("channels.internal.enabled").astype(bool)
        boost = np.where(w.qi_team, self._per_facility("channels.internal.qi_team_multiplier"), 1.0)
        rate = self._per_facility("channels.internal.spread_rate") * boost * enabled
        base = self._per_facility("channels.internal.institutionalisation_rate") * enabled
        support = (1.0 + w.qi_team + w.leadership + w.documentation) / 2.0
        self.events["institutionalised"] += adoption.learn_internally(
            pop,
            w.staff,
            rate,
            base * support,
            self.streams.kernel_blocks("internal", w.n_facilities),
        )

    def _single_loop(self) -> None:
        f, k = adoption.review_in_use(
            self.population,
            self.config.loops.review_share,
            self.world.data_quality,
            self.rates,
            self.streams.kernel_blocks("loops", self.world.n_facilities),
            self.work,
        )
        self.events["single_loop_drops"] += int(f.size)
        self.knowledge.failure_found[self.world.facility_country[f], k] = True

    # ------------------------------------------------------------------ 8 loops
    def _double_loop(self) -> None:
        """Districts shift effort to the support that moved QoC; failed guidance withdrawn."""
        w, pop, k = self.world, self.population, self.knowledge
        qoc = self.recorder.facility_qoc()
        gain = qoc - self.qoc_at_review
        shift = self.config.loops.effort_shift
        d = w.facility_district
        coached = np.bincount(d[pop.coached], weights=gain[pop.coached], minlength=w.n_districts)
        n_coached = np.bincount(d[pop.coached], minlength=w.n_districts)
        only_sessions = pop.attended & ~pop.coached
        sessions = np.bincount(
            d[only_sessions], weights=gain[only_sessions], minlength=w.n_districts
        )
        n_sessions = np.bincount(d[only_sessions], minlength=w.n_districts)
        both = (n_coached > 0) & (n_sessions > 0)
        mean_c = np.divide(coached, n_coached, out=np.zeros(w.n_districts), where=n_coached > 0)
        mean_s = np.divide(sessions, n_sessions, out=np.zeros(w.n_districts), where=n_sessions > 0)
        direction = np.sign(mean_c - mean_s) * both
        spread = self.config.loops.coaching_weight_range
        self.coaching_weight = np.clip(
            self.coaching_weight + shift * direction, 1.0 - spread, 1.0 + spread
        )
        self.events["double_loop_shifts"] += int((direction != 0).sum())
        reported_failing = (k.evidence_failure > k.evidence_success) | (
            k.centre_failure > k.centre_success
        )
        failing = k.guidance & reported_failing
        k.guidance &= ~failing
        k.package &= ~failing
        k.withdrawn |= failing
        self.events["guidance_withdrawn"] += int(failing.sum())
        self.qoc_at_review = qoc
        pop.attended[:] = False
        pop.coached[:] = False

    def _triple_loop(self) -> None:
        """The learning centre (or national body) reads the loss ledger and changes the system.

        For each country, the causes' shares of the lessons lost since the last review
        drive at most one change each: stories lost (shorter session interval and
        documentation templates); bottleneck (free routing); no channel (a messaging
        group); blame (a small step towards a blame-free culture).
        """
        w = self.world
        lost = self.ledger.lost - self.lost_at_review
        self.lost_at_review = self.ledger.lost.copy()
        total = lost.sum(axis=1)
        loops = self.config.loops
        gain, trigger, step = (
            loops.documentation_template_gain,
            loops.loss_share_trigger,
            loops.blame_step,
        )
        for c in np.flatnonzero(total > 0):
            share = dict(zip(CAUSES, lost[c] / total[c], strict=True))
            if share["no_story"] >= trigger:
                if self.session_interval[c] > 1:
                    self.session_interval[c] -= 1
                    self.events["triple_loop_changes"] += 1
                members = w.facility_country == c
                w.documentation[members] = np.minimum(1.0, w.documentation[members] + gain)
                self.events["triple_loop_changes"] += 1
            if share["bottleneck"] >= trigger and not self.routing_free[c]:
                self.routing_free[c] = True
                self.events["triple_loop_changes"] += 1
            if share["no_channel"] >= trigger and not self.messaging_on[c]:
                self.messaging_on[c] = True
                self.events["triple_loop_changes"] += 1
            if share["blame"] >= trigger and step > 0:
                self.blame_facility[c] = max(0.0, self.blame_facility[c] - step)
                self.blame_district[c] = max(0.0, self.blame_district[c] - step)
                self.events["triple_loop_changes"] += 1

    # ------------------------------------------------------------------ inspection
    def queue_length(self) -> np.ndarray:
        """Items waiting in each country's national queue."""
        return self.ledger.held_at(Location.NATIONAL_QUEUE)


#: Activity counts recorded every month (the basis of costs).
ACTIVITY_COLUMNS = (
    "peer_contacts",
    "sessions_held",
    "session_attendees",
    "messages",
    "group_months",
    "exchange_visits",
    "coaching_visits",
    "reports",
    "items_forwarded",
    "national_items_processed",
    "centre_items_processed",
    "guidance_items",
    "guidance_issued",
    "district_meetings",
    "cop_meetings",
    "global_exchanges",
    "qi_team_months",
)


def _capped(
    chosen: np.ndarray,
    district: np.ndarray,
    n_districts: int,
    capacity: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Keep at most ``capacity[d]`` of the chosen facilities of each district, at random."""
    rows = np.flatnonzero(chosen)
    if rows.size == 0:
        return chosen
    d = district[rows]
    if not (np.bincount(d, minlength=n_districts) > capacity).any():
        return chosen
    kept = chosen.copy()
    kept[rows[kernels.turn_away(d, capacity.astype(np.int64), rng)]] = False
    return kept
