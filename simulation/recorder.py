"""Recording a model's months into preallocated arrays (no DataCollector deep copies, MODEL 9)."""

from __future__ import annotations

import numpy as np

from simulation.record import AGENT_FIELDS, EVENT_FIELDS, METRIC_NAMES, RunRecord
from simulation.state import WorldState

EVENT_DTYPES = {
    "run": np.int64,
    "month": np.int16,
    "actor": np.int16,
    "action": np.int16,
    "target": np.int16,
    "goldstein": np.float32,
}


class Recorder:
    """Holds the arrays of a RunRecord while the model runs, and the events as they happen."""

    def __init__(self, replications: int, months: int, agents: int, actors: int):
        self.months = months
        self.metrics = {name: np.zeros((replications, months)) for name in METRIC_NAMES}
        self.agents = {
            name: np.zeros(
                (replications, months, agents),
                dtype=np.int8 if name in ("posture", "status") else float,
            )
            for name in AGENT_FIELDS
        }
        self.relations = np.zeros((replications, months, actors, actors), dtype=np.float32)
        self._events: list[dict[str, np.ndarray]] = []

    def record_month(
        self, month: int, state: WorldState, metrics: dict[str, np.ndarray], agents: int
    ) -> None:
        """Store the end-of-month state and metrics of `month`."""
        for name, values in metrics.items():
            self.metrics[name][:, month] = values
        self.agents["posture"][:, month] = state.posture[:, :agents]
        self.agents["alignment"][:, month] = state.alignment
        self.agents["credibility"][:, month] = state.credibility
        self.agents["standing"][:, month] = state.standing
        self.agents["threat"][:, month] = state.threat
        self.agents["status"][:, month] = state.status
        self.relations[:, month] = state.relation

    def record_events(
        self,
        runs: np.ndarray,
        month: int,
        actor: int,
        actions: np.ndarray,
        targets: np.ndarray,
        goldstein: np.ndarray,
    ) -> None:
        """Append events: one per run in `runs`."""
        count = len(runs)
        self._events.append(
            {
                "run": runs,
                "month": np.full(count, month),
                "actor": np.full(count, actor),
                "action": actions,
                "target": targets,
                "goldstein": goldstein,
            }
        )

    def events(self) -> dict[str, np.ndarray]:
        """All events so far, in the order they happened, as typed columns."""
        return {
            name: np.concatenate([e[name] for e in self._events]).astype(EVENT_DTYPES[name])
            if self._events
            else np.zeros(0, dtype=EVENT_DTYPES[name])
            for name in EVENT_FIELDS
        }

    def to_record(
        self,
        start: str,
        months_done: int,
        run_offset: int,
        agent_codes: list[str],
        actor_codes: list[str],
        action_names: list[str],
    ) -> RunRecord:
        """The RunRecord of the months simulated so far (the arrays themselves once complete)."""
        if months_done == self.months:
            metrics, agents, relations = self.metrics, self.agents, self.relations
        else:
            cut = slice(0, months_done)
            metrics = {k: v[:, cut].copy() for k, v in self.metrics.items()}
            agents = {k: v[:, cut].copy() for k, v in self.agents.items()}
            relations = self.relations[:, cut].copy()
        return RunRecord(
            start=start,
            months=months_done,
            run_offset=run_offset,
            agent_codes=list(agent_codes),
            actor_codes=list(actor_codes),
            action_names=list(action_names),
            metrics=metrics,
            agents=agents,
            relations=relations,
            events=self.events(),
        )
