"""The incentive terms of each decision, split by name: what the decision trace records.

The model's fast path computes a decision's utilities as one sum (`agents.incentives`:
`posture_utilities`, `action_utilities`'s single matrix product). When a decision is traced
(`model.trace`, see `simulation.trace`), the functions here compute the same utilities as named
terms (MODEL section 5), each an (R, K) array, whose sum equals the fast path's utilities to
floating-point tolerance. They are called only while tracing, so an untraced run never pays for
them, and they draw no random numbers.

* posture (MODEL 5.1): affinity, trade, security, legitimacy, loyalty, cost (switching);
* actions (MODEL 5.2): the warmth weights u_ij of `warmth_weights` split into trade (beta_T w_ij),
  security (protection by patron and pole) and loyalty (the patron's favour: the rest of the
  weights), each carried through the target and observer reactions; then affinity (beta_A
  rho_ik g_k/10), fatigue (the gains a repeated signal to a power no longer earns, Fearon
  1997: `signal_fatigue`), legitimacy (public approval and visibility), stakes (Aydin 2008) and
  cost;
* Article 4: help (a request: the allies' expected help), abandonment and entrapment (a
  response, Snyder 1984).

`record_choice` hands one decision to the trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.catalogue import Menu
from agents.incentives import (
    dispute_stakes,
    posture_affinity,
    posture_legitimacy,
    posture_loyalty,
    posture_security,
    posture_switching,
    posture_trade,
    signal_fatigue,
    warmth_weights,
)
from agents.logit import logit_probabilities
from simulation.parameters import Parameters
from simulation.state import WorldState

if TYPE_CHECKING:
    from agents.country import Country

POSTURE_TERMS = ("affinity", "trade", "security", "legitimacy", "loyalty", "cost")


def posture_terms(params: Parameters, state: WorldState, i: int) -> dict[str, np.ndarray]:
    """The six terms of `posture_utilities` by name, each (R, 3) (cost: switching, -kappa)."""
    shape = (state.replications, 3)
    return {
        "affinity": posture_affinity(params, state, i),
        "trade": np.broadcast_to(posture_trade(params, i), shape),
        "security": posture_security(params, state, i),
        "legitimacy": posture_legitimacy(params, state, i),
        "loyalty": posture_loyalty(params, state, i),
        "cost": posture_switching(params, state, i),
    }


def warmth_terms(
    params: Parameters, state: WorldState, i: int, reaction: tuple[np.ndarray, np.ndarray]
) -> dict[str, np.ndarray]:
    """`warmth_weights` split into trade, security and loyalty, each (R, A); they sum to it.

    trade: beta_T w_ij (1 - rho_ji); security: beta_S sigma_i x protection (1 - rho_ji) for the
    patron and the alternative pole; loyalty: the rest (the patron's favour, MODEL 5.2).
    """
    total = warmth_weights(params, state, i, reaction)
    replications = state.replications
    concave = 1.0 - state.relation[:, :, i]
    trade = np.empty_like(total)
    trade[:] = params.beta_trade[:, i, None] * params.trade_weight[:, i]
    trade *= concave
    security = np.zeros_like(total)
    by_patron, by_pole = params.protection(state.credibility[:, i], i)
    felt = params.beta_security[:, i] * state.threat[:, i]
    security[:, params.patron] = np.broadcast_to(felt * by_patron, (replications,))
    pole = params.alternative_pole[i]
    if pole >= 0:
        security[:, pole] = np.broadcast_to(felt * by_pole, (replications,))
    security *= concave
    trade[:, i] = 0.0
    security[:, i] = 0.0
    return {"trade": trade, "security": security, "loyalty": total - trade - security}


def _by_option(per_actor: np.ndarray, menu: Menu) -> np.ndarray:
    """(R, K) sum_k per_actor_k g_a,k / 10 over the menu's Goldstein weights (L, K, A)."""
    goldstein = menu.goldstein / 10.0
    if goldstein.shape[0] == 1:
        return per_actor @ goldstein[0].T
    return np.einsum("ra,rka->rk", per_actor, goldstein)


def action_terms(
    params: Parameters,
    state: WorldState,
    i: int,
    menu: Menu,
    reaction: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> dict[str, np.ndarray]:
    """`action_utilities` of `menu` split into named (R, K) terms that sum to it (MODEL 5.2).

    trade, security, loyalty: the warmth weights (`warmth_terms`) through the target's and the
    observers' reactions, eta_T u_ij + eta_O sum_j u_ij rho_jk; affinity: beta_A rho_ik g_k/10;
    fatigue: `signal_fatigue` of the favour with the addressee and the legitimacy term;
    legitimacy: beta_G [(1 - q_i) mu_i m_a + q_i v_a]; stakes: `dispute_stakes`; cost: -cost_a.
    """
    target_eta, observer_eta, standing_reaction = reaction
    shape = (state.replications, len(menu))
    terms: dict[str, np.ndarray] = {}
    per_actor_total = np.zeros((shape[0], state.relation.shape[1]))
    for name, weights in warmth_terms(params, state, i, (target_eta, standing_reaction)).items():
        weighted = np.einsum("rj,rjk->rk", weights, state.relation)
        per_actor = target_eta[:, None] * weights + observer_eta[:, None] * weighted
        per_actor_total += per_actor
        terms[name] = _by_option(per_actor, menu)
    affinity = params.beta_affinity[:, i, None] * state.relation[:, i, :]
    per_actor_total += affinity
    terms["affinity"] = _by_option(np.broadcast_to(affinity, (shape[0], affinity.shape[1])), menu)
    insecurity, legitimacy = params.insecurity[:, i, None], params.beta_legitimacy[:, i, None]
    public = legitimacy * (1.0 - insecurity) * state.public_lean[:, i, None]
    regime = legitimacy * insecurity
    terms["legitimacy"] = public * menu.alignment + regime * menu.visibility
    terms["fatigue"] = signal_fatigue(params, state, i, menu, per_actor_total, (public, regime))
    terms["stakes"] = dispute_stakes(params, i, menu)
    terms["cost"] = -menu.cost
    return {name: np.broadcast_to(value, shape) for name, value in terms.items()}


def option_labels(agent: Country, menu: Menu) -> tuple[list[str], list[str]]:
    """A menu's option names and target codes ("" where an option has no target)."""
    codes = agent.model.params.actor_codes
    names = list(menu.names)
    targets = [codes[t] if t >= 0 else "" for t in menu.targets.tolist()]
    return names, targets


def record_choice(
    agent: Country,
    decision: str,
    options: tuple[list[str], list[str]],
    terms: dict[str, np.ndarray],
    utilities: np.ndarray,
    choice: np.ndarray,
    runs_mask: np.ndarray | None = None,
    open_mask: np.ndarray | None = None,
    rationality: float | np.ndarray | None = None,
) -> None:
    """Hand one logit decision of `agent` this month to `model.trace` (draws no random number).

    options: (names, targets) of the K options; terms: name -> (R, K) arrays summing to
    `utilities`; choice: (R,) the option chosen; runs_mask: (R,) where the decision was taken;
    open_mask: (R, K) the open options; rationality: lambda (default the agent's).
    """
    model = agent.model
    lam = agent.rationality if rationality is None else rationality
    probabilities = logit_probabilities(utilities, lam, open_mask)
    names, targets = options
    model.trace.record(
        decision,
        agent.code,
        model.month,
        names,
        targets,
        terms,
        utilities,
        probabilities,
        choice,
        lam,
        runs_mask,
        open_mask=open_mask,
        run_offset=model.run_offset,
    )


def record_membership(
    agent: Country,
    decision: str,
    menu: Menu,
    runs: np.ndarray,
    utilities: np.ndarray,
    choice: np.ndarray,
    where: np.ndarray,
) -> None:
    """Trace a membership choice whose utilities were computed for the eligible `runs` only.

    The terms are computed for those replications and placed in (R, K) arrays (0 elsewhere:
    `where` leaves the other replications out of the trace).
    """
    model = agent.model
    params, state = model.rows(runs)
    part = action_terms(params, state, agent.index, menu.rows(runs), model.reaction_at(runs))
    shape = (model.replications, len(menu))
    terms = {}
    for name, value in part.items():
        terms[name] = np.zeros(shape)
        terms[name][runs] = value
    full = np.zeros(shape)
    full[runs] = utilities
    record_choice(agent, decision, option_labels(agent, menu), terms, full, choice, where)
