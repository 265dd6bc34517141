"""Parameters as arrays: what the model reads each month, derived from a validated Scenario.

Rebuilt whenever a shock changes the scenario, so the scenario stays the single source of truth.
Index order: the N countries in scenario order, then the P poles (A = N + P actors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.calendar import month_index
from simulation.schema import Scenario

ARTICLE4_POLICIES = ("choose", "honour", "partial", "refuse")


@dataclass
class Parameters:
    """Arrays of the scenario's parameters, indexed by agent (N) or actor (A)."""

    agent_codes: list[str]
    actor_codes: list[str]
    size: np.ndarray  # (A,) s_i: mean of GDP share and military-expenditure share
    trade_weight: np.ndarray  # (N, A) w_ij: (trade + ties) / total trade of i
    propensity: np.ndarray  # (A, A) p_ij, symmetric, zero diagonal
    preferred: np.ndarray  # (A, A) pi_j,i: posture j prefers for i (0 where no preference)
    has_preference: np.ndarray  # (A, A) bool
    pole_posture: np.ndarray  # (P,) fixed postures of the poles
    rationality: np.ndarray  # (N,) lambda_i
    beta_affinity: np.ndarray
    beta_trade: np.ndarray
    beta_security: np.ndarray
    beta_legitimacy: np.ndarray
    beta_loyalty: np.ndarray
    switching_cost: np.ndarray
    insecurity: np.ndarray  # q_i
    public_lean: np.ndarray  # mu_i at month 0 (the level it relaxes to)
    dependence: np.ndarray  # D_i
    standing: np.ndarray  # L_i at month 0: the level Russia's favour fades back to
    pole_credibility: np.ndarray  # belief in the alternative pole's protection
    alternative_pole: np.ndarray  # (N,) actor index of the alternative pole, -1 if none
    rival: np.ndarray  # (N,) agent index of the rival, -1 if none
    fixed_posture: np.ndarray  # (N,) bool
    intervention_cost: np.ndarray  # (N,)
    article4_policy: np.ndarray  # (N,) index into ARTICLE4_POLICIES
    patron: int
    overstretch: float

    @property
    def agents(self) -> int:
        return len(self.agent_codes)

    @property
    def actors(self) -> int:
        return len(self.actor_codes)

    def protection(self, credibility: np.ndarray, agent: int) -> tuple[np.ndarray, float]:
        """(protection by the patron (R,), protection by the alternative pole) for `agent`.

        Credibility-weighted capability (Morrow 1991): c_i s_RUS (1 - overstretch) for the patron,
        pole credibility x pole size for the alternative pole (0 without one).
        """
        by_patron = credibility * self.size[self.patron] * (1.0 - self.overstretch)
        pole = self.alternative_pole[agent]
        by_pole = self.pole_credibility[agent] * self.size[pole] if pole >= 0 else 0.0
        return by_patron, by_pole


def capability_shares(scenario: Scenario) -> np.ndarray:
    """s_i: mean of GDP share and military-expenditure share over agents and engaged poles."""
    gdp = [a.gdp for a in scenario.agents.values()]
    milex = [a.milex for a in scenario.agents.values()]
    gdp += [p.gdp * p.engagement for p in scenario.poles.values()]
    milex += [p.milex * p.engagement for p in scenario.poles.values()]
    gdp_arr, milex_arr = np.array(gdp), np.array(milex)
    return (gdp_arr / gdp_arr.sum() + milex_arr / milex_arr.sum()) / 2.0


def pair_matrix(table: dict[str, dict[str, float]], codes: list[str]) -> np.ndarray:
    """A symmetric (A, A) matrix from a table that names each pair in one direction."""
    index = {code: k for k, code in enumerate(codes)}
    matrix = np.zeros((len(codes), len(codes)))
    for source, row in table.items():
        for target, value in row.items():
            matrix[index[source], index[target]] = value
            matrix[index[target], index[source]] = value
    return matrix


def build_parameters(scenario: Scenario) -> Parameters:
    """Derive the parameter arrays of a validated scenario."""
    agents = list(scenario.agents.values())
    agent_codes = list(scenario.agents)
    actor_codes = scenario.actor_codes
    index = {code: k for k, code in enumerate(actor_codes)}
    flows = pair_matrix(scenario.trade, actor_codes) + pair_matrix(scenario.ties, actor_codes)
    totals = np.array([a.total_trade for a in agents])
    preferred = np.zeros((len(actor_codes),) * 2)
    has_preference = np.zeros_like(preferred, dtype=bool)
    specs = [*agents, *scenario.poles.values()]
    for j, spec in enumerate(specs):
        for other, posture in spec.prefers.items():
            preferred[j, index[other]] = posture
            has_preference[j, index[other]] = True

    def vector(field: str) -> np.ndarray:
        return np.array([getattr(a, field) for a in agents], dtype=float)

    return Parameters(
        agent_codes=agent_codes,
        actor_codes=actor_codes,
        size=capability_shares(scenario),
        trade_weight=flows[: len(agents)] / totals[:, None],
        propensity=pair_matrix(scenario.propensity, actor_codes),
        preferred=preferred,
        has_preference=has_preference,
        pole_posture=np.array([p.posture for p in scenario.poles.values()], dtype=np.int8),
        rationality=vector("rationality"),
        beta_affinity=vector("beta_affinity"),
        beta_trade=vector("beta_trade"),
        beta_security=vector("beta_security"),
        beta_legitimacy=vector("beta_legitimacy"),
        beta_loyalty=vector("beta_loyalty"),
        switching_cost=vector("switching_cost"),
        insecurity=vector("insecurity"),
        public_lean=vector("public_lean"),
        dependence=vector("dependence"),
        standing=vector("standing"),
        pole_credibility=vector("pole_credibility"),
        alternative_pole=np.array(
            [index[a.alternative_pole] if a.alternative_pole else -1 for a in agents]
        ),
        rival=np.array([index[a.rival] if a.rival else -1 for a in agents]),
        fixed_posture=np.array([a.fixed_posture for a in agents]),
        intervention_cost=vector("intervention_cost"),
        article4_policy=np.array([ARTICLE4_POLICIES.index(a.article4_policy) for a in agents]),
        patron=index[scenario.world.patron],
        overstretch=scenario.world.overstretch,
    )


def chair_at(scenario: Scenario, month: int) -> int:
    """Agent index of the alliance chair in `month` (-1: none or an unmodelled member)."""
    current = -1
    codes = list(scenario.agents)
    terms = sorted(scenario.alliance.chairs, key=lambda term: term.from_month)
    for term in terms:
        if month_index(scenario.start, term.from_month) <= month:
            current = codes.index(term.agent) if term.agent in codes else -1
    return current
