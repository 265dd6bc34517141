"""The in-memory record of a batch of replications: what the model hands to the result store.

A `RunRecord` holds preallocated numpy arrays with the replication axis first. It is the only
contract between the simulation and `results/`: the store turns it into the tables of a run folder.
Months are counted from 0 (the scenario's start month); month t is recorded at the end of step t.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

METRIC_NAMES: tuple[str, ...] = ("cohesion", "k_align", "k_cred", "k_part", "k_sim")
AGENT_FIELDS: tuple[str, ...] = (
    "posture",
    "alignment",
    "credibility",
    "standing",
    "threat",
    "status",
)
EVENT_FIELDS: tuple[str, ...] = ("run", "month", "actor", "action", "target", "goldstein")


class Status(IntEnum):
    """CSTO status of an agent (MODEL section 3); stored as int8 codes in the arrays."""

    member = 0
    frozen = 1
    exited = 2
    non_member = 3


STATUS_NAMES: tuple[str, ...] = tuple(s.name for s in Status)


@dataclass
class RunRecord:
    """Everything one model (R replications in lock-step) produced over its horizon.

    Attributes:
        start: the scenario's first month, "YYYY-MM" (month 0).
        months: number of months simulated (T).
        run_offset: global index of this record's first replication (chunk index × chunk size),
            so that `run` columns are unique across the chunks of a batch.
        agent_codes: the N country codes, in array order.
        actor_codes: the A = N + P codes of countries then poles, in array order.
        action_names: action names; `events["action"]` indexes into it.
        metrics: name -> float array (R, T) for each of METRIC_NAMES.
        agents: name -> array (R, T, N) for each of AGENT_FIELDS; posture and status are int8.
        relations: float32 array (R, T, A, A); relations[r, t, i, j] is i's warmth toward j.
        events: name -> 1-D array for each of EVENT_FIELDS; `run` is local (0..R-1), `actor` and
            `target` index actor_codes (target -1: none), `goldstein` is the weight toward the
            target.
        run_ids: optional (R,) int array, the `run` of each replication when it is not
            `run_offset + r` (a design chunk numbers its runs within their points).
        point_ids: optional (R,) int array, the design point of each replication (a design
            chunk holds the runs of several points); None for a record of one scenario.
    """

    start: str
    months: int
    run_offset: int
    agent_codes: list[str]
    actor_codes: list[str]
    action_names: list[str]
    metrics: dict[str, np.ndarray]
    agents: dict[str, np.ndarray]
    relations: np.ndarray
    events: dict[str, np.ndarray] = field(default_factory=dict)
    run_ids: np.ndarray | None = None
    point_ids: np.ndarray | None = None

    @property
    def replications(self) -> int:
        return int(self.metrics["cohesion"].shape[0])
