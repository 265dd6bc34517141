"""Economic stakes in the parties to a dispute: which side a third party's trade pulls it to.

Aydin (2008, "Choosing Sides: Economic Interdependence and Interstate Disputes", Journal of
Politics 70(4):1098) finds that a third state sides with the disputant in which it has the larger
economic stake: what decides is the stake in one party *relative to* the other, not the share
either holds of the third state's whole trade. The stake form follows the trade-share logic of
Polachek (1980, "Conflict and Trade", JCR 24:55) and Oneal & Russett (1997, "The Classical Liberals
Were Right", ISQ 41:267): a partner's weight is its share of the flows, here taken over the parties
of the dispute only,

    s_ik = w_ik / sum_{k' in parties} w_ik'        (0 for every party when i trades with none)

with w_ik the goods trade plus energy and arms ties of i with k (any common scale: the ratio does
not depend on it). An option a that moves the parties' warmth by Goldstein weights g_a,k (Goldstein
1992, -10..+10) is worth

    U_stake(a) = beta_T_i sum_{k in parties} s_ik g_a,k / 10

to i: siding with one party (+g to it, -g to the other) is worth beta_T g/10 (s_side - s_other),
which depends on the ratio of the two stakes alone (4:1 gives s = 0.8 against 0.2 whatever the
absolute shares), is zero for equal stakes, and is scaled by how much trade matters to i (beta_T).
Mediating (+g to both) is worth beta_T g/10 when i trades with either party: a stake in both
parties favours settlement, as Aydin finds for states tied to both disputants. The parties' combined
share of i's trade is deliberately left out: Belarus's trade with Azerbaijan and Armenia together is
about 1% of its total, and the article's point is the ratio between them.
"""

from __future__ import annotations

import numpy as np


def relative_stakes(flows: np.ndarray, parties: np.ndarray) -> np.ndarray:
    """(..., K, A) s_ik: each party's share of the chooser's flows with the parties of option k.

    flows: (..., A) the chooser's trade and ties with every actor (non-negative; any scale).
    parties: (K, A) bool, the parties of the dispute each option weighs (none for most options).
    Zero for every party of an option whose parties the chooser has no flows with.
    """
    flows = np.asarray(flows, dtype=float)
    masked = flows[..., None, :] * np.asarray(parties, dtype=bool)
    total = masked.sum(axis=-1, keepdims=True)
    return np.divide(masked, total, out=np.zeros_like(masked), where=total > 0)


def stake_utilities(
    beta_trade: np.ndarray | float,
    flows: np.ndarray,
    parties: np.ndarray,
    goldstein: np.ndarray,
) -> np.ndarray:
    """(..., K) U_stake(a) = beta_T sum_k s_ik g_a,k / 10 for every option of a menu (Aydin 2008).

    beta_trade: the chooser's trade weight (a scalar, or one per leading index of `flows`);
    flows: (..., A); parties: (K, A) bool; goldstein: (K, A) the options' Goldstein weights.
    """
    shares = relative_stakes(flows, parties)
    weighted = (shares * np.asarray(goldstein, dtype=float) / 10.0).sum(axis=-1)
    return np.asarray(beta_trade, dtype=float)[..., None] * weighted
