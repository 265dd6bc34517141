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
    runs: np.ndarray | None = None,
    offends: np.ndarray | bool = True,
    actions: np.ndarray | None = None,
) -> None:
    """Apply the acts of `actor`: raw Goldstein rows `goldstein`, one per replication in `runs`
    (all R replications when `runs` is None; a zero row does nothing).

    `favour_act`: the patron's own favour instruments (`reward`, `pressure`) move their targets'
    standing directly. `offends` (per row or for all): whether the act's weights <= -3 are
    offences (a catalogue flag: an Article 4 refusal or a summit refusal is not answered by a
    summons). `actions` (per row, optional): the act's action id, remembered with the offence
    (what a protest of it will warn against, `agents.deterrence`).
    """
    if runs is None:
        runs = np.arange(state.replications)
    target_eta, observer_eta, standing_reaction = (_at(value, runs) for value in reaction)
    scaled = goldstein / 10.0
    relation = state.relation[runs]
    balance = np.einsum("rjk,rk->rj", relation, scaled)
    change = target_eta * scaled + observer_eta * balance  # (n, A): d rho_{j, actor}
    change[:, actor] = 0.0
    state.relation[runs, :, actor] = np.clip(relation[:, :, actor] + change, -1.0, 1.0)
    favour = standing_reaction * (1.0 + _at(params.overstretch, runs))
    if actor < params.agents and actor != params.patron:
        standing = state.standing[runs, actor] + favour[:, 0] * change[:, params.patron]
        state.standing[runs, actor] = np.clip(standing, -1.0, 1.0)
    if actor == params.patron and favour_act:
        clients = slice(0, params.agents)
        standing = state.standing[runs, clients] + favour * scaled[:, clients]
        state.standing[runs, clients] = np.clip(standing, -1.0, 1.0)
    offended = (goldstein <= OFFENCE_GOLDSTEIN) & np.reshape(offends, (-1, 1))  # (n, A)
    offended[:, params.agents :] = False
    rows, victims = np.nonzero(offended)
    state.last_offence[runs[rows], victims, actor] = month
    if actions is not None:
        state.offence_action[runs[rows], victims, actor] = np.asarray(actions)[rows]


def _at(value: float | np.ndarray, runs: np.ndarray) -> np.ndarray:
    """A number shared ((1,) or a float) or per replication ((R,)), as a column for `runs`."""
    value = np.asarray(value, dtype=float).reshape(-1)
    return (value if len(value) == 1 else value[runs])[:, None]
