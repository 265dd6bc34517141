"""The world's state: numpy arrays whose first axis is the replication (MODEL section 3, 9)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.parameters import Parameters
from simulation.record import Status
from simulation.schema import ACTION_NAMES, Scenario

NEVER = -10_000
"""Month stamp meaning 'never happened' (for offences, attacks, negotiations)."""


@dataclass
class WorldState:
    """State arrays over R replications, N countries, A actors (countries then poles)."""

    posture: np.ndarray  # (R, A) int8: x_i; poles keep their fixed posture
    alignment: np.ndarray  # (R, N): expected posture under the current logit probabilities
    threat: np.ndarray  # (R, N) sigma_i
    public_lean: np.ndarray  # (R, N) mu_i
    standing: np.ndarray  # (R, N) L_i
    credibility_alpha: np.ndarray  # (R, N)
    credibility_beta: np.ndarray  # (R, N)
    status: np.ndarray  # (R, N) int8 Status codes
    months_not_aligned: np.ndarray  # (R, N) int16: consecutive months with posture <= 0
    months_frozen: np.ndarray  # (R, N) int16
    relation: np.ndarray  # (R, A, A) rho_ij, zero diagonal
    last_offence: np.ndarray  # (R, A, A) int16: month j last offended i, at [r, i, j]
    offence_action: np.ndarray  # (R, A, A) int16: the action of that offence (0: none yet)
    last_attack: np.ndarray  # (R, C) int16: month of the last attack in each conflict
    last_negotiation: np.ndarray  # (R, C) int16
    attacked_by: np.ndarray  # (R, N) int16: this month's attacker of i, -1 if none
    request: np.ndarray  # (R, N) bool: i invoked Article 4 this month
    request_month: np.ndarray  # (R,) int16: month of the last Article 4 request
    protest_rung: np.ndarray  # (R, A, A) int8: rung of i's last protest against j, at [r, i, j]
    protest_month: np.ndarray  # (R, A, A) int16: month of that protest
    protest_action: np.ndarray  # (R, A, A) int16: the action of the offence it answered
    signals: np.ndarray  # (R, N, actions): decaying count of i's recent signals to a power
    done_once: dict[tuple[int, int, int], np.ndarray]  # (agent, action, target) -> (R,) bool

    @property
    def replications(self) -> int:
        return self.posture.shape[0]

    def rows(self, runs: np.ndarray) -> WorldState:
        """A copy of the state of replications `runs` (for computing utilities on a subset)."""
        arrays = {
            name: getattr(self, name)[runs]
            for name in self.__dataclass_fields__
            if name != "done_once"
        }
        return WorldState(**arrays, done_once={})

    @property
    def credibility(self) -> np.ndarray:
        """c_i = alpha / (alpha + beta), the Beta mean (MODEL section 7)."""
        return self.credibility_alpha / (self.credibility_alpha + self.credibility_beta)


def initial_state(scenario: Scenario, params: Parameters, replications: int) -> WorldState:
    """The month-0 state of every replication, from the scenario and its per-replication values."""
    agents = list(scenario.agents.values())
    n, a, r = params.agents, params.actors, replications
    conflicts = sum(1 for agent in agents if agent.rival is not None)

    def tile(values: list | np.ndarray, dtype=float) -> np.ndarray:
        values = np.asarray(values, dtype=dtype)
        return np.broadcast_to(values, (r, values.shape[-1])).copy()

    posture = tile([*[x.posture for x in agents], *params.pole_posture], np.int8)
    prior_mean, prior_strength = params.prior_mean, params.prior_strength
    status = [Status[x.status].value for x in agents]
    return WorldState(
        posture=posture,
        alignment=posture[:, :n].astype(float),
        threat=tile(params.threat),
        public_lean=tile(params.public_lean),
        standing=tile(params.standing),
        credibility_alpha=tile(prior_mean * prior_strength),
        credibility_beta=tile((1.0 - prior_mean) * prior_strength),
        status=tile(status, np.int8),
        months_not_aligned=np.zeros((r, n), dtype=np.int16),
        months_frozen=np.zeros((r, n), dtype=np.int16),
        relation=np.broadcast_to(params.propensity, (r, a, a)).copy(),
        last_offence=np.full((r, a, a), NEVER, dtype=np.int16),
        offence_action=np.zeros((r, a, a), dtype=np.int16),
        last_attack=np.full((r, conflicts), NEVER, dtype=np.int16),
        last_negotiation=np.full((r, conflicts), NEVER, dtype=np.int16),
        attacked_by=np.full((r, n), -1, dtype=np.int16),
        request=np.zeros((r, n), dtype=bool),
        request_month=np.full(r, NEVER, dtype=np.int16),
        protest_rung=np.zeros((r, a, a), dtype=np.int8),
        protest_month=np.full((r, a, a), NEVER, dtype=np.int16),
        protest_action=np.zeros((r, a, a), dtype=np.int16),
        signals=np.zeros((r, n, len(ACTION_NAMES))),
        done_once={},
    )
