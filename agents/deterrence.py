"""Deterrence by protest: a warned offender weighs the next rung (Schelling 1966; Kahn 1965).

A diplomatic protest is a warning. It tells the offender that the offended party is willing to
pay for its displeasure and that the next offence will be answered more sharply (Schelling 1966,
*Arms and Influence*, ch. 2-3: coercion works through the anticipation of the next step; Kahn
1965, *On Escalation*: the ladder is known to both sides, which is what makes each rung a
threat). The model's ladder (MODEL 5.3, `CSTOModel.on_ladder`) already makes a repeated offence
within `dynamics.escalation_memory` months climb a rung; here the offender looks one step ahead:
an option that would offend (a weight <= -3 toward, `agents.reactions.OFFENCE_GOLDSTEIN`) a party
that protested against the actor within that memory costs

    d x |g of the rung that party would climb to next| / 10

(d = `dynamics.protest_deterrence`), summed over the parties it would offend. With the two rungs
of `world-2022` (a summons at -2, a recall at -5), a second offence after a summons is weighed as
d x 0.5. A party that never protested, or whose protest is older than the memory, deters nothing:
the first offence is not deterred, only its repetition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.reactions import OFFENCE_GOLDSTEIN

if TYPE_CHECKING:
    from agents.catalogue import Menu
    from simulation.parameters import Parameters


def rung_weights(ladder: dict[str, int], goldstein: dict[str, np.ndarray]) -> np.ndarray:
    """(L, top + 1) the warning of each current rung: |g|/10 of the rung climbed next (the top
    rung repeats itself), 0 at the foot (no protest on record). `ladder` maps each protest action
    to its rung (`agents.catalogue.protest_ladder`), `goldstein` each to its (L,) weight."""
    top = max(ladder.values(), default=0)
    by_rung = {rung: goldstein[name] for name, rung in ladder.items()}
    length = max((len(v) for v in by_rung.values()), default=1)
    weights = np.zeros((length, top + 1))
    for current in range(1, top + 1):
        weights[:, current] = np.abs(by_rung[min(current + 1, top)]) / 10.0
    return weights


def warnings_from(weights: np.ndarray, rungs: np.ndarray) -> np.ndarray:
    """(R, A) the warning each party's current rung `rungs` (R, A) carries (`rung_weights`)."""
    if len(weights) == 1:
        return weights[0][rungs]
    return weights[np.arange(len(rungs))[:, None], rungs]


def protest_deterrence(params: Parameters, menu: Menu, warnings: np.ndarray) -> np.ndarray | float:
    """(R, K) -d x sum over the parties an option would offend of their warning (module doc).

    `warnings` (R, A) from `warnings_from`; 0.0 when no party has warned the actor."""
    if not warnings.any():
        return 0.0
    offences = (menu.goldstein <= OFFENCE_GOLDSTEIN) & menu.offends[None, :, None]  # (L, K, A)
    deterrence = params.dynamics.protest_deterrence[:, None]
    if len(offences) == 1:
        return -deterrence * (warnings @ offences[0].T)
    return -deterrence * np.einsum("ra,rka->rk", warnings, offences)
