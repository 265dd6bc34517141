"""Diminishing returns of repeated signals to the patron (Fearon 1997; Spence 1973).

A signal informs its receiver only as far as it is costly relative to what a client of another
type would pay (Spence 1973, "Job Market Signaling"; Fearon 1997, "Signaling Foreign Policy
Interests", J. Conflict Resolut. 41(1)): a pledge repeated every few months has become cheap and
expected, and tells its audiences less each time. The model counts each country's recent acts of
each kind addressed to a power with a positive weight (to the patron: a loyalty pledge, a visit
to a breakaway region, a recognition, a trade deal, a return to the alliance; to an outside pole:
courting the West) as a decaying count n (mean life `signal_memory` months) and discounts the
act's value by (1 - signal_fatigue)^n: the first signal in a while earns its full value, the k-th
in a burst (1 - f)^(k-1) of it. The discount applies to what the act says: its favour with the
addressee and its domestic value (public approval, visibility), both in the act's utility (the
look-ahead of MODEL 5.2, `agents.incentives.signal_fatigue`) and in its effect on the
addressee's warmth (hence the signaller's standing with the patron). What third parties make of
it (the collateral weights) is not discounted.
"""

from __future__ import annotations

import numpy as np

from simulation.parameters import Parameters
from simulation.state import WorldState


def is_signal(
    params: Parameters, actor: int, targets: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """(..., K) bool: acts of a client `actor` addressed to a power (the patron or an outside
    pole) with a positive weight.

    `targets` (K,) are the options' targets, `weight` (..., K) their weights toward the target.
    """
    client = actor != params.patron and actor < params.agents
    power = (targets == params.patron) | (targets >= params.agents)
    return client & power & (weight > 0)


def signal_discount(
    params: Parameters, state: WorldState, actor: int, actions: np.ndarray, runs: np.ndarray
) -> np.ndarray:
    """(n,) the factor (1 - f)^n on the favour of `actor`'s act `actions[m]` in row `runs[m]`,
    n being the decaying count of its recent acts of that kind (Fearon 1997)."""
    fatigue = params.dynamics.signal_fatigue
    fatigue = fatigue if len(fatigue) == 1 else fatigue[runs]
    return (1.0 - fatigue) ** state.signals[runs, actor, actions]


def menu_discount(
    params: Parameters, state: WorldState, actor: int, actions: np.ndarray, signal: np.ndarray
) -> np.ndarray:
    """(R, K) the discount of every option of a menu (1 where the option is not a signal):
    `actions` (K,) the options' action ids, `signal` (L, K) `is_signal` of each option."""
    fatigue = params.dynamics.signal_fatigue[:, None]
    discount = (1.0 - fatigue) ** state.signals[:, actor, actions]
    return np.where(signal, discount, 1.0)


def discount_toward_targets(
    goldstein: np.ndarray, targets: np.ndarray, signal: np.ndarray, discount: np.ndarray
) -> None:
    """Discount in place each signal's weight toward its addressee: goldstein (n, A), the n acts'
    `targets`, `signal` and `discount` (n,)."""
    rows = np.flatnonzero(signal)
    goldstein[rows, targets[rows]] *= discount[rows]


def remember_signals(
    params: Parameters,
    state: WorldState,
    actor: int,
    actions: np.ndarray,
    signal: np.ndarray,
    runs: np.ndarray,
) -> None:
    """Count the signals just sent: +1 for `actor`'s act `actions[m]` in row `runs[m]` where
    `signal[m]`."""
    if actor >= params.agents:
        return
    np.add.at(state.signals, (runs[signal], actor, actions[signal]), 1.0)


def signal_retention(params: Parameters) -> np.ndarray:
    """(L,) share of the count kept from one month to the next: exp(-1 / signal_memory)
    (0 when the memory is 0: only this month's signals count)."""
    memory = params.dynamics.signal_memory
    with np.errstate(divide="ignore"):
        return np.where(memory > 0, np.exp(-1.0 / np.where(memory > 0, memory, 1.0)), 0.0)
