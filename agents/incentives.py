"""The incentive terms of every decision (MODEL section 5), for all replications at once.

Each function returns utilities with the replication axis first. The terms and their sources:
- affinity: the landscape energy of Axelrod & Bennett (1993): -beta_A sum_j s_j rho_ij d(x, x_j);
- trade: trade-weighted approval of partners (w_ij from sourced trade);
- security: credibility-weighted protection, c_iP s_P (Morrow 1991), scaled by the threat felt;
- legitimacy: public lean or regime protection, weighted by regime insecurity q_i (David 1991,
  "omnibalancing": leaders align against the threat to their rule);
- loyalty: Russia's favour, the currency of loyalty signals;
- stakes: trade and ties with each disputant relative to the others (Aydin 2008; `agents.stakes`);
- cost: switching posture (kappa) or the action's direct cost.
"""

from __future__ import annotations

import numpy as np

from agents.catalogue import Menu
from agents.signals import is_signal, menu_discount
from agents.stakes import stake_utilities
from simulation.parameters import Parameters
from simulation.state import WorldState

POSTURES = np.array([-1, 0, 1])


def distance(x: np.ndarray | int, y: np.ndarray | int) -> np.ndarray:
    """d(x, y) = |x - y| / 2, the posture distance in [0, 1]."""
    return np.abs(np.asarray(x, dtype=float) - np.asarray(y, dtype=float)) / 2.0


def posture_affinity(params: Parameters, state: WorldState, i: int) -> np.ndarray:
    """(R, 3) affinity term: -beta_A sum_j s_j rho_ij d(x, x_j) (Axelrod & Bennett 1993)."""
    weights = params.size * state.relation[:, i, :]  # (R, A), rho_ii = 0
    gaps = distance(POSTURES[None, :, None], state.posture[:, None, :])  # (R, 3, A)
    return -params.beta_affinity[:, i, None] * np.einsum("ra,rxa->rx", weights, gaps)


def posture_trade(params: Parameters, i: int) -> np.ndarray:
    """(L, 3) trade term: beta_T sum_j w_ij (1 - d(x, pi_j,i)) over partners with a preference.

    It does not depend on the state: `build_parameters` computes it once (`trade_terms`).
    """
    return params.trade_term[:, i]


def posture_security(params: Parameters, state: WorldState, i: int) -> np.ndarray:
    """(R, 3) security term: beta_S sigma_i sum over patrons of x of c_iP s_P (Morrow 1991).

    Patrons: +1 the alliance's patron (its protection discounted by overstretch), -1 the agent's
    alternative pole, 0 half of each.
    """
    by_patron, by_pole = params.protection(state.credibility[:, i], i)
    protection = np.empty((len(by_patron), 3))
    protection[:, 0] = by_pole
    protection[:, 1] = (by_pole + by_patron) / 2.0
    protection[:, 2] = by_patron
    return params.beta_security[:, i, None] * state.threat[:, i, None] * protection


def posture_legitimacy(params: Parameters, state: WorldState, i: int) -> np.ndarray:
    """(R, 3) legitimacy term: beta_G [(1 - q_i)(-d(x, mu_i)) + q_i g(x)] (David 1991).

    g(x) = (1 + x) / 2: the regime protection Moscow offers an insecure leadership (the January
    2022 CSTO deployment to Kazakhstan is the precedent).
    """
    insecurity = params.insecurity[:, i, None]
    public = -distance(POSTURES[None, :], state.public_lean[:, i, None])
    regime = (1.0 + POSTURES[None, :]) / 2.0
    return params.beta_legitimacy[:, i, None] * ((1.0 - insecurity) * public + insecurity * regime)


def posture_loyalty(params: Parameters, state: WorldState, i: int) -> np.ndarray:
    """(R, 3) loyalty term: beta_L x D_i (1 + L_i) / 2, the favour at stake in a posture."""
    stake = params.dependence[:, i, None] * (1.0 + state.standing[:, i, None]) / 2.0
    return params.beta_loyalty[:, i, None] * POSTURES[None, :] * stake


def posture_switching(params: Parameters, state: WorldState, i: int) -> np.ndarray:
    """(R, 3) switching cost: -kappa 1[x != x_i(t-1)]."""
    changed = POSTURES[None, :] != state.posture[:, i, None]  # x_i(t-1): not yet re-chosen
    return -params.switching_cost[:, i, None] * changed


def posture_utilities(params: Parameters, state: WorldState, i: int) -> np.ndarray:
    """(R, 3) utilities of postures -1, 0, +1 for agent i: the sum of the six terms."""
    return (
        posture_affinity(params, state, i)
        + posture_trade(params, i)
        + posture_security(params, state, i)
        + posture_legitimacy(params, state, i)
        + posture_loyalty(params, state, i)
        + posture_switching(params, state, i)
    )


def warmth_weights(
    params: Parameters, state: WorldState, i: int, reaction: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """(R, A) how much i values each actor's warmth toward it: trade, security and loyalty.

    trade: beta_T w_ij, and security: beta_S sigma_i x the protection each patron offers, both
    times (1 - rho_ji): the value of warmth is concave (V(rho) = rho - rho^2/2), so a partner who
    is already warm is worth little more courting. loyalty: beta_L D_i (1 - L_i) (1 + x_i)/2 x
    standing reaction x (1 + overstretch): Russia's favour moves with its warmth, is worth more
    the lower it is, matters to a client aligned with Moscow (half to a hedger, nothing to one
    aligned elsewhere), and an overstretched Russia at war pays more for loyalty.
    `reaction` is (eta target, standing reaction), each (L,).
    """
    standing_reaction = reaction[1]
    trade = params.beta_trade[:, i, None] * params.trade_weight[:, i]
    weights = np.empty((state.replications, trade.shape[1]))
    weights[:] = trade
    by_patron, by_pole = params.protection(state.credibility[:, i], i)
    weights[:, params.patron] += params.beta_security[:, i] * state.threat[:, i] * by_patron
    pole = params.alternative_pole[i]
    if pole >= 0:
        weights[:, pole] += params.beta_security[:, i] * state.threat[:, i] * by_pole
    weights *= 1.0 - state.relation[:, :, i]  # concave: warmth is worth less the warmer j is
    alignment = (1.0 + state.posture[:, i]) / 2.0  # loyalty is what aligned clients trade in
    need = params.dependence[:, i] * (1.0 - state.standing[:, i]) * alignment
    favour = standing_reaction * (1.0 + params.overstretch)
    weights[:, params.patron] += params.beta_loyalty[:, i] * need * favour
    weights[:, i] = 0.0
    return weights


def action_utilities(
    params: Parameters,
    state: WorldState,
    i: int,
    menu: Menu,
    reaction: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """(R, K) utilities of the options of `menu` for agent i: one-step look-ahead (MODEL 5.2).

    U = sum_j u_ij d rho_ji(a)      (trade, loyalty and security weights, `warmth_weights`)
      + beta_A sum_k rho_ik g_k/10  (affinity: helping friends, hurting foes)
      + beta_G [(1 - q_i) mu_i m_a + q_i v_a]  (legitimacy: public approval of the act's
        Moscow-ward content m_a, or visibility v_a for an insecure regime)
      + beta_T sum_k s_ik g_k/10    (stakes: trade relative to the disputants, `agents.stakes`)
      - cost_a
    `reaction` is (eta target, eta observer, standing reaction), each (L,).
    """
    target_eta, observer_eta, standing_reaction = reaction
    weights = warmth_weights(params, state, i, (target_eta, standing_reaction))  # (R, A)
    weighted_relation = np.einsum("rj,rjk->rk", weights, state.relation)  # sum_j u_ij rho_jk
    insecurity, legitimacy = params.insecurity[:, i, None], params.beta_legitimacy[:, i, None]
    # One product for all terms: [per-actor weights | public | visibility] @ [g/10 | m | v]
    per_actor = (
        target_eta[:, None] * weights
        + observer_eta[:, None] * weighted_relation
        + params.beta_affinity[:, i, None] * state.relation[:, i, :]
    )
    public = legitimacy * (1.0 - insecurity) * state.public_lean[:, i, None]
    left = np.empty((state.replications, per_actor.shape[1] + 2))
    left[:, :-2] = per_actor
    left[:, -2:-1] = public
    left[:, -1:] = legitimacy * insecurity
    fatigue = signal_fatigue(params, state, i, menu, per_actor, (public, left[:, -1:]))
    stakes = dispute_stakes(params, i, menu) + fatigue
    if not (menu.goldstein.shape[0] > 1 or menu.visibility.shape[0] > 1):
        right = np.vstack([menu.goldstein[0].T / 10.0, menu.alignment[0], menu.visibility[0]])
        return left @ right + stakes - menu.cost
    # the menu's numbers vary by replication: one product per row
    rows, options = state.replications, len(menu)
    right = np.concatenate(
        [
            np.broadcast_to(menu.goldstein / 10.0, (rows, options, menu.goldstein.shape[2])),
            np.broadcast_to(menu.alignment, (rows, options))[:, :, None],
            np.broadcast_to(menu.visibility, (rows, options))[:, :, None],
        ],
        axis=2,
    )  # (R, K, A + 2)
    return np.einsum("rj,rkj->rk", left, right) + stakes - menu.cost


def signal_fatigue(
    params: Parameters,
    state: WorldState,
    i: int,
    menu: Menu,
    per_actor: np.ndarray,
    legitimacy: tuple[np.ndarray, np.ndarray],
) -> np.ndarray | float:
    """(R, K) the value a repeated signal no longer earns (Fearon 1997; `agents.signals`):
    (discount - 1) x [its favour with the addressee t, per_actor[t] g_t/10, + its domestic value,
    the option's legitimacy term public m_a + regime v_a, `legitimacy` = (public, regime) (R, 1)
    weights], each counted where it is a gain: what a repetition wears out is the news, not the
    disapproval of a public that dislikes the act. Computed for the signal options only.
    """
    signal = is_signal(params, i, menu.targets, menu.weight)
    if not signal.any():
        return 0.0
    discount = menu_discount(params, state, i, menu.actions, signal)
    options = np.flatnonzero(signal.any(axis=0))
    addressees = menu.targets[options]
    favour = per_actor[:, addressees] * menu.goldstein[:, options, addressees] / 10.0
    public, regime = legitimacy
    domestic = public * menu.alignment[:, options] + regime * menu.visibility[:, options]
    fatigue = np.zeros((per_actor.shape[0], len(menu)))
    gains = np.maximum(favour, 0.0) + np.maximum(domestic, 0.0)
    fatigue[:, options] = (discount[:, options] - 1.0) * gains
    return fatigue


def dispute_stakes(params: Parameters, i: int, menu: Menu) -> np.ndarray:
    """(L, K) stakes term: i's trade and ties with each disputant relative to the others
    (Aydin 2008).

    Applies to the options whose menu names the disputants (`Menu.parties`): 0 for the others.
    """
    flows = params.trade_weight[..., i, :]
    return stake_utilities(params.beta_trade[..., i], flows, menu.parties, menu.goldstein)
