"""Alliance cohesion and its four components (MODEL section 10), per replication.

Over the members at month 0 other than the patron (an exited member counts 0 for alignment and
participation): k_align = mean (1 + E[x_i]) / 2; k_cred = mean c_i; k_part = mean participation
(member 1, frozen 1/2, exited 0); k_sim = mean over pairs of those members and the patron of
(1 + (rho_ij + rho_ji) / 2) / 2, a pair with an exited member counting 0. cohesion = the geometric
mean of the four, so the collapse of any one shows.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from simulation.record import Status
from simulation.state import WorldState

PARTICIPATION = {Status.member: 1.0, Status.frozen: 0.5, Status.exited: 0.0, Status.non_member: 0.0}


def participation(status: np.ndarray) -> np.ndarray:
    """Participation weight of each status code: member 1, frozen 0.5, exited or non-member 0."""
    table = np.array([PARTICIPATION[s] for s in Status])
    return table[status]


def cohesion_components(
    state: WorldState, members: list[int], patron: int
) -> dict[str, np.ndarray]:
    """The five metrics, each (R,), for the month-0 `members` (patron excluded) and `patron`."""
    replications = state.replications
    if not members:
        zeros = np.zeros(replications)
        return {
            "cohesion": zeros,
            "k_align": zeros,
            "k_cred": zeros,
            "k_part": zeros,
            "k_sim": zeros,
        }
    status = state.status[:, members]
    present = status != Status.exited
    k_align = np.mean(np.where(present, (1.0 + state.alignment[:, members]) / 2.0, 0.0), axis=1)
    k_cred = np.mean(state.credibility[:, members], axis=1)
    k_part = np.mean(participation(status), axis=1)
    k_sim = relation_similarity(state, [*members, patron])
    components = np.stack([k_align, k_cred, k_part, k_sim])
    cohesion = np.exp(np.mean(np.log(np.clip(components, 1e-12, None)), axis=0))
    return {
        "cohesion": cohesion,
        "k_align": k_align,
        "k_cred": k_cred,
        "k_part": k_part,
        "k_sim": k_sim,
    }


def relation_similarity(state: WorldState, group: list[int]) -> np.ndarray:
    """(R,) mean over pairs of `group` of (1 + (rho_ij + rho_ji)/2)/2; exited pairs count 0."""
    pairs = list(combinations(group, 2))
    if not pairs:
        return np.ones(state.replications)
    present = state.status != Status.exited
    values = []
    for i, j in pairs:
        mean_relation = (state.relation[:, i, j] + state.relation[:, j, i]) / 2.0
        values.append(np.where(present[:, i] & present[:, j], (1.0 + mean_relation) / 2.0, 0.0))
    return np.mean(values, axis=0)
