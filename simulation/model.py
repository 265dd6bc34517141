"""CSTOModel: the Mesa model that advances R replications of the scenario in lock-step.

One step is one calendar month; `step` runs the phases of MODEL section 4 in order. The countries
decide in their own methods (agents/country.py); the model owns the world's arrays, the calendar,
the alliance's collective response, decay and recording.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
from threadpoolctl import threadpool_limits

from agents.catalogue import ACTION_ID, CatalogueBuilder, Menu
from agents.country import Country
from agents.deterrence import warnings_from
from agents.pole import Pole
from agents.reactions import apply_action
from agents.signals import (
    discount_toward_targets,
    is_signal,
    remember_signals,
    signal_discount,
    signal_retention,
)
from simulation.alliance import collective_response, update_credibility
from simulation.calendar import calendar_month, month_index
from simulation.metrics import cohesion_components
from simulation.parameters import Parameters, build_parameters, chair_at
from simulation.record import RunRecord, Status
from simulation.recorder import Recorder
from simulation.scenario import apply_overrides, load_scenario
from simulation.schema import ACTION_NAMES, ActionSpec, Scenario, Shock
from simulation.state import NEVER, initial_state
from simulation.streams import counter_uniforms
from simulation.varying import Numbers, VaryingError, check_values

if TYPE_CHECKING:
    from simulation.trace import Trace


def mean_cohesion(model: CSTOModel) -> float:
    """Cohesion of the last recorded month, averaged over replications (a Mesa reporter)."""
    return model.latest_metric("cohesion")


def mean_alignment(model: CSTOModel) -> float:
    return model.latest_metric("k_align")


def mean_credibility(model: CSTOModel) -> float:
    return model.latest_metric("k_cred")


def mean_participation(model: CSTOModel) -> float:
    return model.latest_metric("k_part")


def mean_similarity(model: CSTOModel) -> float:
    return model.latest_metric("k_sim")


MODEL_REPORTERS = {
    "cohesion": mean_cohesion,
    "k_align": mean_alignment,
    "k_cred": mean_credibility,
    "k_part": mean_participation,
    "k_sim": mean_similarity,
}


def overrides_from_keywords(keywords: dict[str, Any]) -> dict[str, Any]:
    """Keyword overrides use `__` for the dots of a scenario key: world__overstretch=0.2."""
    return {key.replace("__", "."): value for key, value in keywords.items()}


class CSTOModel(mesa.Model):
    """The CSTO alliance model over `replications` lock-step replications.

    Args:
        scenario: a shipped scenario name, a path to a TOML file, or a validated Scenario.
        replications: R, the length of the replication axis (1 is an ordinary single run).
        rng: seed or Generator, passed to mesa.Model (an int seeds model.rng and model.random).
        months: the horizon; defaults to the scenario's `months`.
        run_offset: global index of replication 0 (for batches cut into chunks).
        varying: dotted scenario keys -> (R,) arrays: one value per replication
            (`simulation.varying`; VaryingError for a structural key or a value out of range).
        streams: (R,) int64 stream ids: draw from counter-based streams, row r's uniform at a
            decision being a function of (stream_seed, streams[r], month, decision) only.
            None (the default) draws everything from `model.rng`.
        stream_seed: the seed of the counter-based streams.
        trace: a `simulation.trace.Trace` that records the decisions it selects, split into
            their utility terms (None, the default: nothing is recorded and nothing is paid).
            Recording draws no random numbers: a traced run is the same run.
        **overrides: scenario keys with `__` for dots, e.g. `agents__BLR__beta_loyalty=2.0`.
    """

    def __init__(
        self,
        scenario: str | Scenario = "baseline",
        replications: int = 1,
        rng: Any = None,
        months: int | None = None,
        run_offset: int = 0,
        varying: dict[str, Any] | None = None,
        streams: np.ndarray | None = None,
        stream_seed: int = 0,
        trace: Trace | None = None,
        **overrides: Any,
    ):
        super().__init__(rng=rng)
        if replications < 1:
            raise ValueError(f"replications must be >= 1, got {replications}")
        self.spec = self._resolve(scenario, overrides, months)
        self.months = months if months is not None else self.spec.months
        self.replications = replications
        self.run_offset = run_offset
        self.month = 0
        self.trace = trace
        self.varying = _checked_varying(self.spec, varying or {}, replications)
        self.streams = _checked_streams(streams, replications)
        self.stream_seed = int(stream_seed)
        self.params = build_parameters(self.spec, self.varying)
        self.catalogue = CatalogueBuilder(self.spec, Numbers(self.spec, self.varying))
        self.state = initial_state(self.spec, self.params, replications)
        self.countries = Country.create_agents(
            self, self.params.agents, self.params.agent_codes, list(range(self.params.agents))
        )
        codes = self.params.actor_codes[self.params.agents :]
        self.poles = Pole.create_agents(
            self, len(codes), codes, list(range(self.params.agents, self.params.actors))
        )
        self.shocks = self._schedule(self.spec.active_shocks())
        self._check_shocks_on_varying()
        self._forced: set[tuple[str, int]] = set()
        self.recorder = Recorder(replications, self.months, self.params.agents, self.params.actors)
        self.datacollector = mesa.DataCollector(model_reporters=MODEL_REPORTERS)
        self.running = True

    # -- construction ------------------------------------------------------------------------
    @staticmethod
    def _resolve(scenario: str | Scenario, overrides: dict, months: int | None) -> Scenario:
        if isinstance(scenario, Scenario):
            return apply_overrides(scenario, overrides_from_keywords(overrides), months)
        return load_scenario(scenario, overrides_from_keywords(overrides), months)

    def _schedule(self, shocks: list[Shock]) -> dict[int, list[Shock]]:
        schedule: dict[int, list[Shock]] = {}
        for shock in shocks:
            schedule.setdefault(month_index(self.spec.start, shock.month), []).append(shock)
        return schedule

    @property
    def reaction(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(eta target, eta observer, standing reaction) of MODEL 5.2, each (L,)."""
        d = self.params.dynamics
        return d.reaction_target, d.reaction_observer, d.standing_reaction

    def reaction_at(self, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`reaction` for replications `runs`."""
        return tuple(value if len(value) == 1 else value[runs] for value in self.reaction)

    def rows(self, runs: np.ndarray):
        """(parameters, state) of replications `runs`: for utilities on a subset."""
        return self.params.rows(runs), self.state.rows(runs)

    @property
    def response_levels(self) -> np.ndarray:
        """(L, 3) levels of honour, partial response and refusal (MODEL section 7)."""
        return self.params.alliance.levels

    # -- random numbers ----------------------------------------------------------------------
    def uniforms(self, site: int) -> np.ndarray:
        """(R,) uniform numbers in [0, 1) for the decision `site` this month.

        Every random draw of the model comes through here. By default from `model.rng`, in the
        order the decisions are taken; with `streams`, row r's number is a pure function of
        (stream_seed, streams[r], month, site) (counter-based: common random numbers).
        """
        if self.streams is None:
            return self.rng.random(self.replications)
        return counter_uniforms(self.stream_seed, self.streams, self.month, site)

    def simultaneously(self, choose: str, carry_out: str) -> None:
        """Every country chooses (`choose`) on the same state, then the choices take effect
        (`carry_out`), in the countries' fixed order.

        Synchronous updating within a round (the summit, diplomacy): no country sees another's
        choice of the same month before making its own, and nothing depends on an order of
        moves. (An order drawn once per month would be shared by every replication of a
        lock-step batch, so that the ensemble's frequencies would depend on that one draw:
        measured, Armenia's summons of February-March 2022 happened in 0.11 of 1,000 runs with
        one seed and 0.92 with another.) Postures are re-chosen one country at a time in the
        countries' fixed order instead (`Country.decide_posture`): single-site logit updates in
        any order, a fixed one included, keep the Gibbs distribution of the posture game
        invariant (Blume 1993; MODEL 5.1), simultaneous ones do not.
        """
        chosen = [(country, getattr(country, choose)()) for country in self.countries]
        for country, choice in chosen:
            getattr(country, carry_out)(choice)

    # -- the schedule ------------------------------------------------------------------------
    def step(self) -> None:
        """One month: the phases of MODEL section 4, in order."""
        if self.month >= self.months:
            raise RuntimeError(f"the horizon of {self.months} months is reached")
        self.apply_calendar()  # 1. calendar and shocks
        self.countries.do("consider_attack")  # 2. aggression
        self.resolve_requests()  # 3. Article 4, collective response, credibility
        self.countries.do("decide_posture")  # 4. posture, one country at a time
        self.simultaneously("choose_summit", "carry_out")  # 5. summit
        self.simultaneously("choose_diplomacy", "carry_out")  # 5. diplomacy
        self.countries.do("review_membership")  # 6. membership
        self.decay()  # 7. decay
        self.record()  # 7. record
        self.month += 1
        self.running = self.month < self.months

    def run(self) -> RunRecord:
        """Run to the horizon and return the record.

        BLAS is held to one thread: the products are small and many, and threads only add
        overhead (and compete with other worker processes).
        """
        with threadpool_limits(limits=1):
            while self.running:
                self.step()
        return self.to_record()

    # -- phase 1 -----------------------------------------------------------------------------
    def apply_calendar(self) -> None:
        """Apply this month's shocks: parameter changes, then forced events."""
        self._forced = set()
        self.state.attacked_by[:] = -1
        self.state.request[:] = False
        shocks = self.shocks.get(self.month, [])
        if any(s.set or s.add for s in shocks):
            self._change_parameters(shocks)
        for shock in shocks:
            if shock.event is not None:
                self._force(shock)

    def _change_parameters(self, shocks: list[Shock]) -> None:
        """A shock's `set` and `add`: on the scenario for shared keys, on the per-replication
        arrays for varying ones (set: every replication gets the value; add: each its own + the
        addend, checked against the key's range)."""
        data = self.spec.model_dump(by_alias=True)
        varying = dict(self.varying)
        for shock in shocks:
            for key, value in shock.set.items():
                if key in varying:
                    varying[key] = self._shocked(shock, key, np.full(self.replications, value))
                else:
                    _set_path(data, key, value)
            for key, value in shock.add.items():
                if key in varying:
                    varying[key] = self._shocked(shock, key, varying[key] + value)
                else:
                    _set_path(data, key, _get_path(data, key) + value)
        self.spec = Scenario.model_validate(data)
        self.varying = varying
        before = self.params
        self.params = build_parameters(self.spec, self.varying)
        self._shift_levels(before, self.params)
        changed = [key for shock in shocks for key in (*shock.set, *shock.add)]
        if any(key.startswith("actions.") for key in changed):
            self.catalogue = CatalogueBuilder(self.spec, Numbers(self.spec, self.varying))
            for country in self.countries:
                country.build_menus()

    def _shift_levels(self, before: Parameters, after: Parameters) -> None:
        """A shock to the level a state fades back to (an agent's `standing`, Moscow's favour,
        or `public_lean`) moves the current value by as much: the change is news this month, and
        what it fades back to from now on."""
        self.state.standing += after.standing - before.standing
        self.state.public_lean += after.public_lean - before.public_lean
        np.clip(self.state.standing, -1.0, 1.0, out=self.state.standing)
        np.clip(self.state.public_lean, -1.0, 1.0, out=self.state.public_lean)

    def _check_shocks_on_varying(self) -> None:
        """Apply the schedule's set/add to copies of the varying arrays now, so that a value a
        shock would push out of range is refused before the run starts."""
        varying = dict(self.varying)
        for month in sorted(self.shocks):
            for shock in self.shocks[month]:
                for key, value in shock.set.items():
                    if key in varying:
                        varying[key] = self._shocked(shock, key, np.full(self.replications, value))
                for key, value in shock.add.items():
                    if key in varying:
                        varying[key] = self._shocked(shock, key, varying[key] + value)

    def _shocked(self, shock: Shock, key: str, values: np.ndarray) -> np.ndarray:
        try:
            return check_values(self.spec, key, values, self.replications)
        except VaryingError as error:
            name = f" {shock.id!r}" if shock.id else ""
            message = f"after the shock{name} of {shock.month}: {error.message}"
            raise VaryingError(key, message) from None

    def _force(self, shock: Shock) -> None:
        event = shock.event
        index = self.params.actor_codes.index(event.actor)
        if event.action == "attack":
            self._forced.add(("attack", index))
            return
        target = self.params.actor_codes.index(event.target) if event.target else -1
        spec = self.spec.actions.get(event.action)
        if spec is None:
            raise ValueError(f"forced action {event.action!r} is not in the catalogue")
        option = self.catalogue.vector(event.action, index, target)
        weight = self.catalogue.number(event.action, "goldstein", spec.goldstein)
        menu = _single_option_menu(event.action, target, option, weight, spec)
        everywhere = np.ones(self.replications, dtype=bool)
        self.carry_out(index, menu, np.ones(self.replications, dtype=int), everywhere)

    def forced_now(self, action: str, actor: int) -> bool:
        """Whether a shock forces `actor` to take `action` this month."""
        return (action, actor) in self._forced

    # -- phase 2 -----------------------------------------------------------------------------
    def register_attack(self, attacker: int, victim: int, attacks: np.ndarray) -> None:
        """An attack raises the victim's threat (its allies' a little) and marks the conflict."""
        if not attacks.any():
            return
        state, spec = self.state, self.params.aggression
        state.attacked_by[attacks, victim] = attacker
        state.threat[attacks, victim] = np.maximum(
            state.threat[attacks, victim], _where(spec.victim_threat, attacks)
        )
        allies = [m for m in self.catalogue.members if m != victim]
        shielded = attacks & (state.status[:, victim] == Status.member)
        for ally in allies:
            raised = state.threat[shielded, ally] + _where(spec.ally_threat, shielded)
            state.threat[shielded, ally] = np.minimum(raised, 1.0)
        conflict = [a for a, _ in self.catalogue.conflicts].index(attacker)
        state.last_attack[attacks, conflict] = self.month

    # -- phase 3 -----------------------------------------------------------------------------
    def resolve_requests(self) -> None:
        """Article 4: requests, the members' responses, the collective response, credibility."""
        for country in self.countries:
            invoked = country.consider_request()
            if invoked.any():
                self._respond(country.index, invoked)

    def _respond(self, requester: int, invoked: np.ndarray) -> None:
        state = self.state
        aggressor = int(np.max(state.attacked_by[invoked, requester]))
        responders = [
            c
            for c in self.countries
            if c.index not in (requester, aggressor) and c.index in self.catalogue.members
        ]
        levels = np.ones((self.replications, len(responders)))
        weights = np.zeros_like(levels)
        for column, responder in enumerate(responders):
            member = state.status[:, responder.index] == Status.member
            choice = responder.respond_to_request(requester, aggressor, invoked & member)
            level = np.take_along_axis(
                np.broadcast_to(self.response_levels, (self.replications, 3)),
                choice[:, None],
                axis=1,
            )[:, 0]
            levels[:, column] = np.where(member, level, 1.0)
            weights[:, column] = np.where(member, self.params.size[:, responder.index], 0.0)
        response = collective_response(levels, weights, self.spec.alliance.decision_rule)
        before = state.credibility[:, requester].copy()
        omega = self.observer_weights_for(requester) * invoked[:, None]
        state.credibility_alpha, state.credibility_beta = update_credibility(
            state.credibility_alpha, state.credibility_beta, response[:, None], omega, 1.0
        )
        surprise = (response - before) * self.params.dynamics.public_reaction
        lean = state.public_lean[:, requester] + np.where(invoked, surprise, 0.0)
        state.public_lean[:, requester] = np.clip(lean, -1.0, 1.0)
        state.request[:, requester] |= invoked
        state.request_month[invoked] = self.month

    def observer_weights_for(self, requester: int) -> np.ndarray:
        """(R, N) omega of the credibility update: requester, members, non-members (MODEL 7)."""
        weights = self.params.alliance
        status = self.state.status
        in_alliance = (status == Status.member) | (status == Status.frozen)
        omega = np.where(in_alliance, weights.member[:, None], weights.non_member[:, None])
        omega[:, requester] = weights.requester
        return omega

    # -- phase 5 -----------------------------------------------------------------------------
    def summit_held(self) -> np.ndarray:
        """(R,) bool: the annual summit month, or the month after an Article 4 request."""
        alliance = self.spec.alliance
        if calendar_month(self.spec.start, self.month) == alliance.summit_month:
            return np.ones(self.replications, dtype=bool)
        if alliance.extraordinary_session:
            return self.state.request_month == self.month - 1
        return np.zeros(self.replications, dtype=bool)

    def chair(self) -> int:
        """Agent index of this month's alliance chair (-1 if none is modelled)."""
        return chair_at(self.spec, self.month)

    def available(self, actor: int, menu: Menu) -> np.ndarray:
        """(R, K) which options of `menu` meet their preconditions this month."""
        state, month, memory = self.state, self.month, self.params.dynamics
        mask = np.ones((self.replications, len(menu)), dtype=bool)
        for k in range(1, len(menu)):
            target = menu.targets[k]
            if menu.needs_offence[k]:
                since = month - state.last_offence[:, actor, target].astype(int)
                mask[:, k] &= since <= memory.offence_memory
            if menu.rung[k] > 0:
                mask[:, k] &= self.on_ladder(actor, target, int(menu.rung[k]))
            if np.isfinite(menu.relation_below[:, k]).any():
                mask[:, k] &= state.relation[:, actor, target] < menu.relation_below[:, k]
            if menu.conflict[k] >= 0:
                since = month - state.last_attack[:, menu.conflict[k]].astype(int)
                mask[:, k] &= since <= memory.conflict_memory
            if menu.needs_chair[k] and self.chair() != actor:
                mask[:, k] = False
            if menu.once[k] and (actor, menu.actions[k], target) in state.done_once:
                mask[:, k] &= ~state.done_once[(actor, menu.actions[k], target)]
            if menu.needs_membership[k]:
                mask[:, k] &= state.status[:, actor] == Status.member
        return mask

    def _remembered(self, rungs: np.ndarray, months: np.ndarray) -> np.ndarray:
        """`rungs` where their protest (in `months`) lies within `escalation_memory`, else 0."""
        memory = self.params.dynamics.escalation_memory
        memory = memory.reshape((-1,) + (1,) * (rungs.ndim - 1))
        return np.where(self.month - months.astype(int) <= memory, rungs, 0)

    def ladder_rungs_against(self, offender: int) -> np.ndarray:
        """(R, A) the rung each actor stands on toward `offender`: that of its last protest
        against it, or 0 (the foot) once `escalation_memory` months have passed without one."""
        state = self.state
        return self._remembered(
            state.protest_rung[:, :, offender], state.protest_month[:, :, offender]
        )

    def ladder_rung(self, actor: int, target: int) -> np.ndarray:
        """(R,) the rung `actor` stands on toward `target` (`ladder_rungs_against`)."""
        state = self.state
        return self._remembered(
            state.protest_rung[:, actor, target], state.protest_month[:, actor, target]
        )

    def protest_warnings(self, offender: int) -> tuple[np.ndarray, np.ndarray]:
        """The warnings each actor's protests have given `offender` (`agents.deterrence`): (R, A)
        |g|/10 of the rung it would climb to at a new offence, 0 where it has not protested
        within the memory; (R, A) the action its last protest answered."""
        warnings = warnings_from(self.catalogue.rung_weights, self.ladder_rungs_against(offender))
        return warnings, self.state.protest_action[:, :, offender]

    def on_ladder(self, actor: int, target: int, rung: int) -> np.ndarray:
        """(R,) whether a protest of `rung` is open to `actor` toward `target` (Kahn 1965): the
        next rung above the last one used within the memory; the top rung may be repeated."""
        current = self.ladder_rung(actor, target)
        top = max(self.catalogue.rungs.values(), default=0)
        return (current == rung - 1) | ((rung == top) & (current == top))

    def answer_offences(self, actor: int, menu: Menu, choice: np.ndarray) -> None:
        """An offence answered (a summons, a recall) is not answered again; the protest's rung
        and month are remembered for the escalation ladder (`on_ladder`)."""
        answered = menu.needs_offence[choice] & (choice > 0)
        runs = np.nonzero(answered)[0]
        targets = menu.targets[choice[runs]]
        state = self.state
        state.protest_action[runs, actor, targets] = state.offence_action[runs, actor, targets]
        state.last_offence[runs, actor, targets] = NEVER
        state.protest_rung[runs, actor, targets] = menu.rung[choice[runs]]
        state.protest_month[runs, actor, targets] = self.month

    def carry_out(
        self,
        actor: int,
        menu: Menu,
        choice: np.ndarray,
        where: np.ndarray,
        include_first: bool = False,
    ) -> None:
        """Apply the chosen options where `where` holds: reactions, once-flags, the event log."""
        if not include_first:
            where = where & (choice > 0)
        if not where.any():
            return
        runs = np.flatnonzero(where)
        picked = choice[runs]
        goldstein = menu.number("goldstein", runs, picked)
        targets = menu.targets[picked]
        signal = is_signal(self.params, actor, targets, menu.number("weight", runs, picked))
        if signal.any():
            actions = menu.actions[picked]
            discount = signal_discount(self.params, self.state, actor, actions, runs)
            discount_toward_targets(goldstein, targets, signal, discount)
            remember_signals(self.params, self.state, actor, actions, signal, runs)
        apply_action(
            self.params,
            self.state,
            actor,
            goldstein,
            self.month,
            self.reaction,
            menu.favour_act,
            runs,
            menu.offends[picked],
            menu.actions[picked],
        )
        self.recorder.record_events(
            runs,
            self.month,
            actor,
            menu.actions[picked],
            menu.targets[picked],
            menu.number("weight", runs, picked),
        )
        self._remember(actor, menu, choice, where)

    def _remember(self, actor: int, menu: Menu, choice: np.ndarray, where: np.ndarray) -> None:
        state = self.state
        for k in menu.remembered:
            taken = where & (choice == k)
            if not taken.any():
                continue
            if menu.once[k]:
                key = (actor, int(menu.actions[k]), int(menu.targets[k]))
                state.done_once[key] = state.done_once.get(key, np.zeros_like(taken)) | taken
            if menu.actions[k] == ACTION_ID["negotiate"]:
                for number, pair in enumerate(self.catalogue.conflicts):
                    if actor in pair and menu.targets[k] in pair:
                        state.last_negotiation[taken, number] = self.month

    # -- phase 7 -----------------------------------------------------------------------------
    def decay(self) -> None:
        """Threat decays, relations relax toward propensity, standing and beliefs fade."""
        state, params = self.state, self.params
        d = params.dynamics
        state.threat *= 1.0 - d.threat_decay[:, None]
        state.relation += d.relation_decay[:, None, None] * (params.propensity - state.relation)
        fading = np.minimum(1.0, d.standing_decay * (1.0 + params.overstretch))[:, None]
        state.standing += fading * (params.standing - state.standing)
        lean = d.public_lean_decay[:, None]
        state.public_lean += lean * (params.public_lean - state.public_lean)
        discount = params.alliance.credibility_discount[:, None]
        state.credibility_alpha *= discount
        state.credibility_beta *= discount
        state.signals *= signal_retention(params)[:, None, None]
        posture = state.posture[:, : params.agents]
        state.months_not_aligned = np.where(posture <= 0, state.months_not_aligned + 1, 0).astype(
            np.int16
        )
        frozen = state.status == Status.frozen
        state.months_frozen = np.where(frozen, state.months_frozen + 1, 0).astype(np.int16)

    def record(self) -> None:
        """Compute this month's metrics and store the month; collect the Mesa reporters."""
        members = [m for m in self.catalogue.members if m != self.params.patron]
        metrics = cohesion_components(self.state, members, self.params.patron)
        self.recorder.record_month(self.month, self.state, metrics, self.params.agents)
        self._latest = {name: float(values.mean()) for name, values in metrics.items()}
        self.datacollector.collect(self)

    def latest_metric(self, name: str) -> float:
        """Mean over replications of a metric in the last recorded month (nan before any)."""
        return getattr(self, "_latest", {}).get(name, float("nan"))

    def to_record(self) -> RunRecord:
        """The RunRecord of the months simulated so far."""
        return self.recorder.to_record(
            self.spec.start,
            self.month,
            self.run_offset,
            self.params.agent_codes,
            self.params.actor_codes,
            list(ACTION_NAMES),
        )


def _single_option_menu(
    action: str, target: int, vector: np.ndarray, weight: np.ndarray, spec: ActionSpec
) -> Menu:
    """A two-option menu (none, the action) for carrying out a forced event.

    `vector` is the action's (L, A) Goldstein weights, `weight` its (L,) weight to the target.
    """
    length, actors = vector.shape
    return Menu(
        actions=np.array([ACTION_ID["none"], ACTION_ID[action]]),
        targets=np.array([-1, target]),
        goldstein=np.stack([np.zeros((length, actors)), vector], axis=1),
        weight=np.stack([np.zeros(len(weight)), weight], axis=1),
        cost=np.zeros((1, 2)),
        visibility=np.zeros((1, 2)),
        alignment=np.zeros((1, 2)),
        needs_offence=np.zeros(2, dtype=bool),
        relation_below=np.full((1, 2), np.inf),
        conflict=np.full(2, -1),
        needs_chair=np.zeros(2, dtype=bool),
        once=np.array([False, "once" in spec.requires]),
        needs_membership=np.zeros(2, dtype=bool),
        offends=np.array([False, spec.offends]),
        names=["none", action],
    )


def _where(value: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A shared (1,) number, or a per-replication (R,) one at the rows of mask `rows`."""
    return value if len(value) == 1 else value[rows]


def _checked_varying(
    scenario: Scenario, varying: dict[str, Any], replications: int
) -> dict[str, np.ndarray]:
    """The varying keys checked (VaryingError), their values as (R,) float arrays."""
    checked = {
        key: check_values(scenario, key, values, replications) for key, values in varying.items()
    }
    for key in checked:
        parts = key.split(".")
        if parts[0] in ("trade", "ties", "propensity"):
            mirrored = f"{parts[0]}.{parts[2]}.{parts[1]}"
            if mirrored in checked:
                raise VaryingError(key, f"the same pair as {mirrored}; give one of them")
    return checked


def _checked_streams(streams: np.ndarray | None, replications: int) -> np.ndarray | None:
    if streams is None:
        return None
    ids = np.asarray(streams)
    if ids.shape != (replications,) or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"streams: expected {replications} integer stream ids, got {ids.dtype} {ids.shape}"
        )
    return ids.astype(np.int64)


def _get_path(data: dict, key: str) -> Any:
    node = data
    for part in key.split("."):
        node = node[part]
    return node


def _set_path(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = copy.deepcopy(value)
