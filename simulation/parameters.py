"""Parameters as arrays: what the model reads each month, derived from a validated Scenario.

Rebuilt whenever a shock changes the scenario, so the scenario (and, beside it, the per-replication
values of varying keys) stays the single source of truth.
Index order: the N countries in scenario order, then the P poles (A = N + P actors).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
from pydantic import BaseModel

from simulation.calendar import month_index
from simulation.schema import AggressionSpec, AllianceSpec, DynamicsSpec, Scenario
from simulation.varying import Numbers

ARTICLE4_POLICIES = ("choose", "honour", "partial", "refuse")
STRUCTURAL_FIELDS = frozenset(
    {
        "agent_codes",
        "actor_codes",
        "preferred",
        "has_preference",
        "pole_posture",
        "alternative_pole",
        "rival",
        "fixed_posture",
        "article4_policy",
        "patron",
    }
)
"""Parameters shared by every replication: no leading replication axis."""


@dataclass
class Parameters:
    """Arrays of the scenario's parameters, indexed by agent (N) or actor (A).

    Every numeric array has a leading replication axis of length L: 1 when its inputs are shared
    by every replication, R when one of them varies (`simulation.varying`), so that broadcasting
    computes both cases with the same code. Codes, indices and flags have no such axis.
    """

    agent_codes: list[str]
    actor_codes: list[str]
    size: np.ndarray  # (L, A) s_i: mean of GDP share and military-expenditure share
    trade_weight: np.ndarray  # (L, N, A) w_ij: (trade + ties) / total trade of i
    trade_term: np.ndarray  # (L, N, 3) beta_T sum_j w_ij (1 - d(x, pi_j,i)) for x = -1, 0, +1
    propensity: np.ndarray  # (L, A, A) p_ij, symmetric, zero diagonal
    preferred: np.ndarray  # (A, A) pi_j,i: posture j prefers for i (0 where no preference)
    has_preference: np.ndarray  # (A, A) bool
    pole_posture: np.ndarray  # (P,) fixed postures of the poles
    rationality: np.ndarray  # (L, N) lambda_i
    beta_affinity: np.ndarray  # (L, N)
    beta_trade: np.ndarray
    beta_security: np.ndarray
    beta_legitimacy: np.ndarray
    beta_loyalty: np.ndarray
    switching_cost: np.ndarray
    insecurity: np.ndarray  # q_i
    public_lean: np.ndarray  # mu_i at month 0 (the level it relaxes to)
    dependence: np.ndarray  # D_i
    standing: np.ndarray  # L_i at month 0: the level Russia's favour fades back to
    threat: np.ndarray  # sigma_i at month 0
    prior_mean: np.ndarray  # mean of the credibility prior
    prior_strength: np.ndarray  # alpha + beta of the credibility prior
    pole_credibility: np.ndarray  # belief in the alternative pole's protection
    alternative_pole: np.ndarray  # (N,) actor index of the alternative pole, -1 if none
    rival: np.ndarray  # (N,) agent index of the rival, -1 if none
    fixed_posture: np.ndarray  # (N,) bool
    intervention_cost: np.ndarray  # (L, N)
    article4_policy: np.ndarray  # (N,) index into ARTICLE4_POLICIES
    patron: int
    overstretch: np.ndarray  # (L,)
    dynamics: SimpleNamespace  # every number of DynamicsSpec, each (L,)
    aggression: SimpleNamespace  # every number of AggressionSpec, each (L,)
    alliance: SimpleNamespace  # the numbers of AllianceSpec, each (L,); levels (L, 3)

    @property
    def agents(self) -> int:
        return len(self.agent_codes)

    @property
    def actors(self) -> int:
        return len(self.actor_codes)

    def rows(self, runs: np.ndarray) -> Parameters:
        """The parameters of replications `runs` (numbers shared by all stay as they are)."""

        def take(value):
            if isinstance(value, SimpleNamespace):
                return SimpleNamespace(**{k: take(v) for k, v in vars(value).items()})
            if isinstance(value, np.ndarray) and len(value) > 1:
                return value[runs]
            return value

        return Parameters(
            **{
                name: getattr(self, name)
                if name in STRUCTURAL_FIELDS
                else take(getattr(self, name))
                for name in self.__dataclass_fields__
            }
        )

    def protection(self, credibility: np.ndarray, agent: int) -> tuple[np.ndarray, np.ndarray]:
        """(protection by the patron (R,), protection by the alternative pole (L,)) for `agent`.

        Credibility-weighted capability (Morrow 1991): c_i s_RUS (1 - overstretch) for the patron,
        pole credibility x pole size for the alternative pole (0 without one).
        """
        by_patron = credibility * self.size[:, self.patron] * (1.0 - self.overstretch)
        pole = self.alternative_pole[agent]
        by_pole = np.zeros(1)
        if pole >= 0:
            by_pole = self.pole_credibility[:, agent] * self.size[:, pole]
        return by_patron, by_pole


def capability_shares(scenario: Scenario, numbers: Numbers | None = None) -> np.ndarray:
    """s_i: mean of GDP share and military-expenditure share over agents and engaged poles.

    (A,) for a scenario alone; (L, A) when read through `numbers`.
    """
    flat = numbers is None
    numbers = numbers or Numbers(scenario)
    agents, poles = list(scenario.agents), list(scenario.poles)
    gdp = numbers.vector([f"agents.{c}.gdp" for c in agents])
    milex = numbers.vector([f"agents.{c}.milex" for c in agents])
    engagement = numbers.vector([f"poles.{c}.engagement" for c in poles])
    pole_gdp = numbers.vector([f"poles.{c}.gdp" for c in poles]) * engagement
    pole_milex = numbers.vector([f"poles.{c}.milex" for c in poles]) * engagement
    gdp_arr, milex_arr = _side_by_side(gdp, pole_gdp), _side_by_side(milex, pole_milex)
    shares = (
        gdp_arr / gdp_arr.sum(axis=-1, keepdims=True)
        + milex_arr / milex_arr.sum(axis=-1, keepdims=True)
    ) / 2.0
    return shares[0] if flat else shares


def _side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    rows = max(len(left), len(right))
    parts = [np.broadcast_to(part, (rows, part.shape[1])) for part in (left, right)]
    return np.concatenate(parts, axis=-1)


def pair_matrix(
    table: dict[str, dict[str, float]], codes: list[str], numbers: Numbers | None = None
) -> np.ndarray:
    """A symmetric (A, A) matrix from a table that names each pair in one direction.

    With `numbers` (and its table's name as `table`), (L, A, A) with the varying pairs too.
    """
    index = {code: k for k, code in enumerate(codes)}
    if numbers is None:
        matrix = np.zeros((len(codes), len(codes)))
        for source, row in table.items():
            for target, value in row.items():
                matrix[index[source], index[target]] = value
                matrix[index[target], index[source]] = value
        return matrix
    name = str(table)
    rows = getattr(numbers.scenario, name)
    pairs = {(s, t) for s, row in rows.items() for t in row}
    for key in numbers.varying:
        parts = key.split(".")
        if parts[0] == name:
            pairs.add((parts[1], parts[2]))
    length = numbers.length if numbers.varies(name + ".") else 1
    matrix = np.zeros((length, len(codes), len(codes)))
    for source, target in sorted(pairs):
        value = numbers.value(f"{name}.{source}.{target}")
        matrix[:, index[source], index[target]] = value
        matrix[:, index[target], index[source]] = value
    return matrix


def build_parameters(
    scenario: Scenario, varying: dict[str, np.ndarray] | None = None
) -> Parameters:
    """Derive the parameter arrays of a validated scenario (and of its varying keys)."""
    numbers = Numbers(scenario, varying)
    agents = list(scenario.agents.values())
    agent_codes = list(scenario.agents)
    actor_codes = scenario.actor_codes
    index = {code: k for k, code in enumerate(actor_codes)}
    flows = pair_matrix("trade", actor_codes, numbers) + pair_matrix("ties", actor_codes, numbers)
    totals = numbers.vector([f"agents.{c}.total_trade" for c in agent_codes])
    preferred = np.zeros((len(actor_codes),) * 2)
    has_preference = np.zeros_like(preferred, dtype=bool)
    specs = [*agents, *scenario.poles.values()]
    for j, spec in enumerate(specs):
        for other, posture in spec.prefers.items():
            preferred[j, index[other]] = posture
            has_preference[j, index[other]] = True

    def vector(field: str) -> np.ndarray:
        return numbers.vector([f"agents.{code}.{field}" for code in agent_codes])

    trade_weight = flows[:, : len(agents)] / totals[:, :, None]
    beta_trade = vector("beta_trade")
    return Parameters(
        agent_codes=agent_codes,
        actor_codes=actor_codes,
        size=capability_shares(scenario, numbers),
        trade_weight=trade_weight,
        trade_term=trade_terms(beta_trade, trade_weight, preferred, has_preference),
        propensity=pair_matrix("propensity", actor_codes, numbers),
        preferred=preferred,
        has_preference=has_preference,
        pole_posture=np.array([p.posture for p in scenario.poles.values()], dtype=np.int8),
        rationality=vector("rationality"),
        beta_affinity=vector("beta_affinity"),
        beta_trade=beta_trade,
        beta_security=vector("beta_security"),
        beta_legitimacy=vector("beta_legitimacy"),
        beta_loyalty=vector("beta_loyalty"),
        switching_cost=vector("switching_cost"),
        insecurity=vector("insecurity"),
        public_lean=vector("public_lean"),
        dependence=vector("dependence"),
        standing=vector("standing"),
        threat=vector("threat"),
        prior_mean=vector("credibility_prior.mean"),
        prior_strength=vector("credibility_prior.strength"),
        pole_credibility=vector("pole_credibility"),
        alternative_pole=np.array(
            [index[a.alternative_pole] if a.alternative_pole else -1 for a in agents]
        ),
        rival=np.array([index[a.rival] if a.rival else -1 for a in agents]),
        fixed_posture=np.array([a.fixed_posture for a in agents]),
        intervention_cost=vector("intervention_cost"),
        article4_policy=np.array([ARTICLE4_POLICIES.index(a.article4_policy) for a in agents]),
        patron=index[scenario.world.patron],
        overstretch=numbers.value("world.overstretch"),
        dynamics=_numbers_of(numbers, "dynamics", DynamicsSpec),
        aggression=_numbers_of(numbers, "aggression", AggressionSpec),
        alliance=_alliance_numbers(numbers),
    )


def trade_terms(
    beta_trade: np.ndarray,
    trade_weight: np.ndarray,
    preferred: np.ndarray,
    has_preference: np.ndarray,
) -> np.ndarray:
    """(L, N, 3) the posture trade term beta_T sum_j w_ij (1 - d(x, pi_j,i)) (MODEL 4.1).

    It does not depend on the state, so it is computed once, row by row with the same product
    for a shared and a varying parameter (distinct rows only).
    """
    agents = trade_weight.shape[1]
    rows = max(trade_weight.shape[0], np.atleast_2d(beta_trade).shape[0])
    beta = np.broadcast_to(beta_trade, (rows, agents))
    trade_weight = np.broadcast_to(trade_weight, (rows, *trade_weight.shape[1:]))
    out = np.zeros((rows, agents, 3))
    postures = np.array([-1, 0, 1])
    for i in range(agents):
        weights = trade_weight[:, i] * has_preference[:, i]
        approval = 1.0 - np.abs(postures[:, None] - preferred[None, :, i].astype(float)) / 2.0
        keys = np.concatenate([beta[:, i, None], weights], axis=1)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        terms = np.array([row[0] * approval @ row[1:] for row in unique])
        out[:, i] = terms[inverse.reshape(-1)]
    return out


def _numbers_of(numbers: Numbers, table: str, spec: type[BaseModel]) -> SimpleNamespace:
    """Every numeric field of a section (dynamics, aggression) as an (L,) array."""
    return SimpleNamespace(
        **{
            name: numbers.value(f"{table}.{name}")
            for name, field in spec.model_fields.items()
            if field.annotation in (float, int)
        }
    )


def _alliance_numbers(numbers: Numbers) -> SimpleNamespace:
    values = _numbers_of(numbers, "alliance", AllianceSpec)
    values.levels = numbers.vector(
        [f"alliance.response_levels.{name}" for name in ("honour", "partial", "refuse")]
    )
    weights = "alliance.observer_weights"
    values.requester = numbers.value(f"{weights}.requester")
    values.member = numbers.value(f"{weights}.member")
    values.non_member = numbers.value(f"{weights}.non_member")
    return values


def chair_at(scenario: Scenario, month: int) -> int:
    """Agent index of the alliance chair in `month` (-1: none or an unmodelled member)."""
    current = -1
    codes = list(scenario.agents)
    terms = sorted(scenario.alliance.chairs, key=lambda term: term.from_month)
    for term in terms:
        if month_index(scenario.start, term.from_month) <= month:
            current = codes.index(term.agent) if term.agent in codes else -1
    return current
