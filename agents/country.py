"""Country agents: each decides for itself, for all replications at once, in one method per phase.

A Country is a Mesa agent whose state lives in the model's arrays (column `index`), so one agent
carries R replications. Its methods are the phases of MODEL section 4 in which it acts:
`consider_attack` (2), `consider_request` and `respond_to_request` (3), `decide_posture` (4: one
country at a time, in the countries' fixed order), `choose_summit`, `choose_diplomacy` and
`carry_out` (5: the summit, then one diplomatic action, each a round of simultaneous choices,
`CSTOModel.simultaneously`), `review_membership` (6). Every choice is a logit choice over the
incentive terms of `agents.incentives`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa
import numpy as np

from agents.aggression import attack_probability
from agents.catalogue import RESPONSE_ACTIONS, SUMMIT_ACTIONS, Menu
from agents.deterrence import protest_deterrence
from agents.incentives import POSTURES, action_utilities, posture_utilities
from agents.logit import logit_probabilities, sample_from_probabilities, sample_logit
from agents.terms import (
    action_terms,
    option_labels,
    posture_terms,
    record_choice,
    record_membership,
)
from simulation.alliance import credibility_loss_if_refused
from simulation.parameters import ARTICLE4_POLICIES
from simulation.record import Status
from simulation.trace import POSTURE_OPTIONS

POLICY_ACTION = {
    "honour": "honour_article4",
    "partial": "partial_response",
    "refuse": "refuse_article4",
}
"""The response a forced `article4_policy` stands for."""

if TYPE_CHECKING:
    from simulation.model import CSTOModel


@dataclass(frozen=True)
class Plan:
    """A choice made, not yet carried out: the menu, each replication's option, where it holds,
    and whether its protests answer offences."""

    menu: Menu
    choice: np.ndarray
    where: np.ndarray
    answers: bool = False


class Country(mesa.Agent):
    """A country (BLR, RUS, AZE, ARM, GEO, or any a scenario adds), acting on its incentives."""

    def __init__(self, model: CSTOModel, code: str, index: int):
        super().__init__(model)
        self.code = code
        self.index = index
        self.build_menus()

    def build_menus(self) -> None:
        """Resolve this agent's menus from the model's catalogue (again after a catalogue shock)."""
        catalogue, index = self.model.catalogue, self.index
        self.diplomacy_menu = catalogue.diplomacy_menu(index)
        self.summit_menu = catalogue.menu(index, SUMMIT_ACTIONS)
        self.request_menu = catalogue.menu(index, ("invoke_article4",))
        self.membership_menus = {
            name: catalogue.menu(index, (name,))
            for name in ("freeze_participation", "exit_alliance", "rejoin")
        }
        self.attack_menu = catalogue.menu(index, ("attack",))

    # -- helpers -----------------------------------------------------------------------------
    @property
    def params(self):
        return self.model.params

    @property
    def state(self):
        return self.model.state

    def utilities(self, menu: Menu) -> np.ndarray:
        """(R, K) utilities of a menu's options (MODEL 5.2), a warned offender's included."""
        utilities = action_utilities(self.params, self.state, self.index, menu, self.model.reaction)
        return utilities + self.deterrence(menu)

    def deterrence(self, menu: Menu) -> np.ndarray | float:
        """(R, K) what the protests this agent has drawn make a repeated offence cost
        (`agents.deterrence`); 0.0 when deterrence is off."""
        if not self.params.dynamics.protest_deterrence.any():
            return 0.0
        warnings, answered = self.model.protest_warnings(self.index)
        return protest_deterrence(self.params, menu, warnings, answered)

    @property
    def rationality(self) -> float | np.ndarray:
        """lambda_i: one number, or one per replication when it varies."""
        values = self.params.rationality[:, self.index]
        return float(values[0]) if len(values) == 1 else values

    def uniforms(self, kind: str, other: int = 0) -> np.ndarray:
        """(R,) uniforms for this agent's decision `kind` this month (`CSTOModel.uniforms`)."""
        return self.model.uniforms(decision_site(kind, self.index, other))

    def choose(
        self,
        menu: Menu,
        kind: str,
        mask: np.ndarray | None = None,
        where: np.ndarray | None = None,
    ) -> np.ndarray:
        """Sample a logit choice over `menu` for every replication (traced where `where`)."""
        utilities = self.utilities(menu)
        choice = sample_logit(self.uniforms(kind), utilities, self.rationality, mask)
        if self.traced():
            terms = self.action_terms(menu)
            record_choice(self, kind, self.labels(menu), terms, utilities, choice, where, mask)
        return choice

    # -- the decision trace (only when `model.trace` wants this agent and month) -------------
    def traced(self) -> bool:
        """Whether this month's decisions of this agent are recorded (`simulation.trace`)."""
        trace = self.model.trace
        return trace is not None and trace.wants(self.code, self.model.month)

    def action_terms(self, menu: Menu) -> dict[str, np.ndarray]:
        """`utilities` of `menu` split into named terms (`agents.terms.action_terms`)."""
        terms = action_terms(self.params, self.state, self.index, menu, self.model.reaction)
        shape = terms["cost"].shape
        terms["deterrence"] = np.broadcast_to(self.deterrence(menu), shape)
        return terms

    def labels(self, menu: Menu) -> tuple[list[str], list[str]]:
        return option_labels(self, menu)

    def act(self, menu: Menu, choice: np.ndarray, where: np.ndarray) -> None:
        """Carry out the chosen options where `where` holds (and the choice is not `none`)."""
        self.model.carry_out(self.index, menu, choice, where & (choice > 0))

    @property
    def is_member(self) -> np.ndarray:
        return self.state.status[:, self.index] == Status.member

    # -- phase 2: aggression -----------------------------------------------------------------
    def consider_attack(self) -> None:
        """Attack the rival with the GeoSim-style probability of `attack_probability`."""
        rival = self.params.rival[self.index]
        if rival < 0:
            return
        model = self.model
        probability = attack_probability(
            model.params, model.state, model.spec, self.index, model.month
        )
        attacks = self.uniforms("attack") < probability
        attacks |= model.forced_now("attack", self.index)
        choice = attacks.astype(int)
        if len(self.attack_menu) > 1:
            self.act(self.attack_menu, choice, attacks)
        model.register_attack(self.index, rival, attacks)

    # -- phase 3: Article 4 ------------------------------------------------------------------
    def consider_request(self) -> np.ndarray:
        """(R,) bool: invoke Article 4 where attacked this month while a member.

        Utility: the generic terms of `invoke_article4` plus the help it may bring,
        beta_S sigma_i c_i sum of the other members' sizes.
        """
        attacked = (self.state.attacked_by[:, self.index] >= 0) & self.is_member
        if not attacked.any() or len(self.request_menu) < 2:
            return np.zeros(self.model.replications, dtype=bool)
        utilities = self.utilities(self.request_menu)
        allies = [m for m in self.model.catalogue.members if m != self.index]
        help_expected = (
            self.params.beta_security[:, self.index]
            * self.state.threat[:, self.index]
            * self.state.credibility[:, self.index]
            * self.params.size[:, allies].sum(axis=1)
        )
        utilities[:, 1] += help_expected
        choice = sample_logit(self.uniforms("request"), utilities, self.rationality)
        if self.traced():
            terms = self.action_terms(self.request_menu)
            terms["help"] = np.zeros_like(utilities)
            terms["help"][:, 1] = help_expected
            labels = self.labels(self.request_menu)
            record_choice(self, "article4_request", labels, terms, utilities, choice, attacked)
        invoked = attacked & (choice == 1)
        self.act(self.request_menu, choice, invoked)
        return invoked

    def respond_to_request(self, requester: int, aggressor: int, open_: np.ndarray) -> np.ndarray:
        """(R,) index into (honour, partial, refuse) where a request is open.

        U(r) = generic terms of the response toward the requester (collateral: the aggressor)
             + f_r [abandonment stake - entrapment cost]   (Snyder 1984)
        abandonment stake: beta_S x weight x the size-weighted credibility members lose on a
        refusal;
        entrapment: intervention cost x (1 + overstretch for the patron) + the aggressor's patron's
        deterrence (its size x the aggressor's belief in it).
        """
        params, state, model = self.params, self.state, self.model
        policy = ARTICLE4_POLICIES[params.article4_policy[self.index]]
        menu = model.catalogue.response_menu(self.index, requester, aggressor)
        if policy != "choose":
            forced = RESPONSE_ACTIONS.index(POLICY_ACTION[policy])
            choice = np.full(model.replications, forced)
        else:
            levels = params.alliance.levels  # (L, 3)
            utilities = self.utilities(menu)
            members = model.catalogue.members
            weights = model.observer_weights_for(requester)[:, members]
            loss = credibility_loss_if_refused(
                state.credibility_alpha[:, members], state.credibility_beta[:, members], weights
            )
            stake = (
                params.alliance.abandonment_weight
                * params.beta_security[:, self.index]
                * (loss * params.size[:, members]).sum(axis=1)
            )
            entrapment = params.intervention_cost[:, self.index] * (
                1.0 + (params.overstretch if self.index == params.patron else 0.0)
            )
            patron_of_aggressor = params.alternative_pole[aggressor]
            if patron_of_aggressor >= 0:
                entrapment = entrapment + (
                    params.size[:, patron_of_aggressor] * params.pole_credibility[:, aggressor]
                )
            utilities += levels * (stake[:, None] - entrapment[:, None])
            uniforms = self.uniforms("respond", requester)
            choice = sample_logit(uniforms, utilities, self.rationality)
            if self.traced():
                terms = self.action_terms(menu)
                terms["abandonment"] = levels * stake[:, None]
                terms["entrapment"] = -levels * np.asarray(entrapment)[..., None]
                labels = self.labels(menu)
                record_choice(self, "article4_response", labels, terms, utilities, choice, open_)
        self.model.carry_out(self.index, menu, choice, open_, include_first=True)
        return choice

    # -- phase 4: posture --------------------------------------------------------------------
    def decide_posture(self) -> None:
        """Re-choose posture by logit over the six incentive terms (MODEL 5.1) and take it."""
        self.adopt_posture(self.choose_posture())

    def choose_posture(self) -> tuple[np.ndarray, np.ndarray] | None:
        """A posture chosen by logit over the six incentive terms (MODEL 5.1) on the current
        state: (choice, probabilities), None for a fixed posture (`adopt_posture` takes it)."""
        state, i = self.state, self.index
        if self.params.fixed_posture[i]:
            return None
        utilities = posture_utilities(self.params, state, i)
        probabilities = logit_probabilities(utilities, self.rationality)
        choice = sample_from_probabilities(self.uniforms("posture"), probabilities)
        if self.traced():
            options = (list(POSTURE_OPTIONS), [""] * len(POSTURE_OPTIONS))
            terms = posture_terms(self.params, state, i)
            record_choice(self, "posture", options, terms, utilities, choice)
        return choice, probabilities

    def adopt_posture(self, chosen: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Take the posture `choose_posture` chose; the alignment is its expected value."""
        state, i = self.state, self.index
        if chosen is None:
            state.alignment[:, i] = state.posture[:, i]
            return
        choice, probabilities = chosen
        state.posture[:, i] = POSTURES[choice]
        state.alignment[:, i] = probabilities @ POSTURES

    # -- phase 5: summit and diplomacy -------------------------------------------------------
    def choose_summit(self) -> Plan | None:
        """Sign, refuse the declaration, or boycott: members, in summit months only."""
        held = self.model.summit_held() & self.is_member
        if not held.any() or len(self.summit_menu) < 2:
            return None
        mask = np.ones((self.model.replications, len(self.summit_menu)), dtype=bool)
        mask[:, 0] = False
        choice = self.choose(self.summit_menu, "summit", mask, held)
        return Plan(self.summit_menu, choice, held)

    def choose_diplomacy(self) -> Plan | None:
        """Choose at most one diplomatic action among those open (MODEL 5.2)."""
        menu = self.diplomacy_menu
        if len(menu) < 2:
            return None
        mask = self.model.available(self.index, menu)
        open_options = np.flatnonzero(mask.any(axis=0))  # skip options closed in every run
        local = self.choose(menu.subset(open_options), "diplomacy", mask[:, open_options])
        choice = open_options[local]
        return Plan(menu, choice, np.ones(self.model.replications, dtype=bool), answers=True)

    def carry_out(self, plan: Plan | None) -> None:
        """Carry out a chosen plan; a protest answers its offence (the escalation ladder)."""
        if plan is None:
            return
        self.act(plan.menu, plan.choice, plan.where)
        if plan.answers:
            self.model.answer_offences(self.index, plan.menu, plan.choice)

    # -- phase 6: membership ----------------------------------------------------------------
    def review_membership(self) -> None:
        """Freeze, exit or rejoin where eligible (MODEL section 8), each a logit choice.

        Utilities are computed for the eligible replications only; the uniforms are drawn for
        all of them (so the random stream does not depend on how many are eligible).
        """
        state, i, alliance = self.state, self.index, self.params.alliance
        status = state.status[:, i]
        eligible = {
            "freeze_participation": (status == Status.member)
            & (state.months_not_aligned[:, i] >= alliance.freeze_after_months)
            & (state.credibility[:, i] < alliance.freeze_credibility),
            "exit_alliance": (status == Status.frozen)
            & (state.months_frozen[:, i] >= alliance.exit_after_months)
            & (state.posture[:, i] == -1),
            "rejoin": (status == Status.frozen) & (state.posture[:, i] == 1),
        }
        new_status = {
            "freeze_participation": Status.frozen,
            "exit_alliance": Status.exited,
            "rejoin": Status.member,
        }
        for name, where in eligible.items():
            menu = self.membership_menus[name]
            if not where.any() or len(menu) < 2:
                continue
            uniforms = self.uniforms(name)
            runs = np.flatnonzero(where)
            params, state_rows = self.model.rows(runs)
            utilities = action_utilities(
                params, state_rows, i, menu.rows(runs), self.model.reaction_at(runs)
            )
            rationality = params.rationality[:, i]
            lam = float(rationality[0]) if len(rationality) == 1 else rationality
            choice = np.zeros(self.model.replications, dtype=int)
            choice[runs] = sample_logit(uniforms[runs], utilities, lam)
            if self.traced():
                record_membership(self, name, menu, runs, utilities, choice, where)
            taken = where & (choice == 1)
            self.act(menu, choice, taken)
            state.status[taken, i] = new_status[name]
            state.months_frozen[taken, i] = 0


SITE_KINDS = (
    "attack",
    "request",
    "respond",
    "posture",
    "summit",
    "diplomacy",
    "freeze_participation",
    "exit_alliance",
    "rejoin",
)
"""The decisions that draw random numbers; with the agent, they name a draw's site."""


def decision_site(kind: str, agent: int, other: int = 0) -> int:
    """A stable small integer naming a decision: its kind, the deciding agent, another actor."""
    return (SITE_KINDS.index(kind) + 1) << 16 | agent << 8 | other
