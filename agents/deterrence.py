"""Deterrence by protest: a warned offender weighs the next rung (Schelling 1966; Kahn 1965).

A diplomatic protest is a warning. It tells the offender that the offended party is willing to
pay for its displeasure and that the next offence of that kind will be answered more sharply
(Schelling 1966, *Arms and Influence*, ch. 2-3: coercion works through the anticipation of the
next step; Kahn 1965, *On Escalation*: the ladder is known to both sides, which is what makes
each rung a threat). The model's ladder (MODEL 4.2, `CSTOModel.on_ladder`) already makes a
repeated offence within `dynamics.escalation_memory` months climb a rung; here the offender looks
one step ahead: an option that repeats the act a party protested (the same action; its last
protest within that memory) and would offend that party again (a weight <= -3 toward it,
`agents.reactions.OFFENCE_GOLDSTEIN`) costs

    d x |g of the rung that party would climb to next| / 10

(d = `dynamics.protest_deterrence`), summed over the parties it would offend again. With the two
rungs of `world-2022` (a summons at -2, a recall at -5), a second pledge after a summons of the
first is weighed as d x 0.5. The warning is about the act protested: Armenia's summons of
February 2022 answered a pledge, so it deters the next pledge, not Belarus's siding with
Azerbaijan at the November summit. A party that never protested, or whose protest is older than
the memory, deters nothing: the first offence is not deterred, only its repetition.
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


def protest_deterrence(
    params: Parameters, menu: Menu, warnings: np.ndarray, answered: np.ndarray
) -> np.ndarray | float:
    """(R, K) -d x the warnings of the parties an option would offend again (module doc).

    `warnings` (R, A) from `warnings_from`; `answered` (R, A) the action each party's last
    protest answered: an option is deterred by a party only if it is that action again and
    would offend that party. 0.0 when no party has warned the actor."""
    parties = np.flatnonzero(warnings.any(axis=0))
    if not parties.size:
        return 0.0
    offences = (menu.goldstein[..., parties] <= OFFENCE_GOLDSTEIN) & menu.offends[None, :, None]
    deterrence = params.dynamics.protest_deterrence[:, None]
    cost = np.zeros((len(warnings), len(menu)))
    for column, party in enumerate(parties):  # the few parties that protested
        offending = offences[..., column]  # (L, K)
        options = np.flatnonzero(offending.any(axis=0))
        repeats = answered[:, party, None] == menu.actions[options]  # (R, k)
        hits = repeats & offending[:, options]
        cost[:, options] += warnings[:, party, None] * hits
    return -deterrence * cost
