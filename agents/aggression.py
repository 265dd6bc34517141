"""Aggression (MODEL section 6): a superiority threshold, as in GeoSim (Cederman 1997).

P(attack by A on V this month) = ceiling x logistic(kappa_a (R_AV - tau))
    x (1 - posture_scale (1 + x_A) / 2)        (an attacker aligned with Moscow holds back)
    x (1 - negotiation_damping)                 (if the rivals negotiated in the last 3 months)
with the power ratio R_AV = (s_A + c_A,P s_P) / (s_V + c_V s_RUS (1 - overstretch)): the attacker's
capability plus its patron's backing, over the victim's plus the alliance's discounted protection.
"""

from __future__ import annotations

import numpy as np

from agents.catalogue import conflicts_of
from simulation.parameters import Parameters
from simulation.record import Status
from simulation.schema import Scenario
from simulation.state import WorldState

NEGOTIATION_MEMORY = 3


def power_ratio(params: Parameters, state: WorldState, attacker: int, victim: int) -> np.ndarray:
    """(R,) R_AV: attacker's backed capability over the victim's protected capability."""
    size = params.size
    pole = params.alternative_pole[attacker]
    backing = params.pole_credibility[:, attacker] * size[:, pole] if pole >= 0 else 0.0
    protected = state.status[:, victim] == Status.member
    cover = state.credibility[:, victim] * size[:, params.patron] * (1.0 - params.overstretch)
    return (size[:, attacker] + backing) / (size[:, victim] + np.where(protected, cover, 0.0))


def attack_probability(
    params: Parameters, state: WorldState, scenario: Scenario, attacker: int, month: int
) -> np.ndarray:
    """(R,) monthly probability that `attacker` attacks its rival."""
    spec = params.aggression
    victim = params.rival[attacker]
    ratio = power_ratio(params, state, attacker, victim)
    base = spec.ceiling / (1.0 + np.exp(-spec.steepness * (ratio - spec.threshold)))
    posture = state.posture[:, attacker].astype(float)
    restraint = 1.0 - spec.posture_scale * (1.0 + posture) / 2.0
    conflict = [a for a, _ in conflicts_of(scenario)].index(attacker)
    negotiated = month - state.last_negotiation[:, conflict] <= NEGOTIATION_MEMORY
    damping = np.where(negotiated, 1.0 - spec.negotiation_damping, 1.0)
    return base * restraint * damping
