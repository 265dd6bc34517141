"""What an action does to the world: targets' and observers' relations, Russia's favour, offences.

MODEL 5.2: the target k moves rho_ki by eta g_k / 10; an observer j moves rho_ji by
eta_obs sum_k rho_jk g_k / 10 (balance: the friend of the one you hurt likes you less); Russia moves
the actor's standing L_i with its own warmth change, and Russia's own acts (reward, pressure) move
their targets' standing directly; both scale with (1 + overstretch). An act with Goldstein weight
<= -3 toward an agent is an offence that agent may answer (summon, recall) for `offence_memory`
months (a -2 such as courting the West is a cooling, not an insult).
"""

from __future__ import annotations

import numpy as np

from simulation.parameters import Parameters
from simulation.state import WorldState

OFFENCE_GOLDSTEIN = -3.0


def apply_action(
    params: Parameters,
    state: WorldState,
    actor: int,
    goldstein: np.ndarray,
    month: int,
    reaction: tuple[float, float, float],
    favour_act: bool = False,
) -> None:
    """Apply the acts of `actor` with raw Goldstein rows `goldstein` (R, A); zero rows do nothing.

    `favour_act`: the patron's own favour instruments (`reward`, `pressure`) move their targets'
    standing directly.
    """
    target_eta, observer_eta, standing_reaction = reaction
    scaled = goldstein / 10.0
    balance = np.einsum("rjk,rk->rj", state.relation, scaled)
    change = target_eta * scaled + observer_eta * balance  # (R, A): d rho_{j, actor}
    change[:, actor] = 0.0
    column = state.relation[:, :, actor]
    np.clip(column + change, -1.0, 1.0, out=column)
    state.relation[:, :, actor] = column
    favour = standing_reaction * (1.0 + params.overstretch)
    if actor < params.agents and actor != params.patron:
        standing = state.standing[:, actor] + favour * change[:, params.patron]
        state.standing[:, actor] = np.clip(standing, -1.0, 1.0)
    if actor == params.patron and favour_act:
        clients = slice(0, params.agents)
        standing = state.standing[:, clients] + favour * scaled[:, clients]
        state.standing[:, clients] = np.clip(standing, -1.0, 1.0)
    offended = goldstein <= OFFENCE_GOLDSTEIN  # (R, A)
    offended[:, params.agents :] = False
    rows, victims = np.nonzero(offended)
    state.last_offence[rows, victims, actor] = month

