"""Why did it do that, in the dashboard: one event's decision in the single run, and an event's
attribution across the ensemble (`batches.explain`: the logit choice's terms, McKelvey & Palfrey
1995, and their contributions to the margin of the choice)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from batches.explain import ensemble_attribution, event_decision, trace_chunk
from dashboard.ensemble import Ensemble, top_events
from results.explain_report import format_attribution, format_decision
from results.tables import events_table
from simulation.model import CSTOModel
from simulation.trace import Trace

NOT_CHOSEN = "attack"
"""An attack is drawn with a probability, not chosen by utility: it has no decision to show."""


def single_run_trace(model: CSTOModel) -> pd.DataFrame:
    """The decisions the single-run model has traced so far (empty if it traces none)."""
    trace = getattr(model, "trace", None)
    return trace.frame() if trace is not None else Trace().frame()


def explain_single_event(
    model: CSTOModel, month: int, actor: str, action: str, target: str = ""
) -> str:
    """The decision table behind one event of the single run, with its deciding term."""
    if action == NOT_CHOSEN:
        return f"{actor} {action}: drawn with the aggression probability, not chosen by utility"
    found = event_decision(single_run_trace(model), 0, month, actor, action, target)
    if found is None:
        return f"{actor} {action}: forced by the scenario (a shock), not the agent's choice"
    return format_decision(found.table, found.deciding, model.spec.start)


def event_key(actor: str, action: str, target: str = "") -> str:
    """ACTOR:ACTION[:TARGET], the form `csto explain --event` takes."""
    return ":".join(part for part in (actor, action, target) if part)


def event_choices(ensemble: Ensemble, n: int = 12) -> list[str]:
    """The ensemble's most frequent chosen events, as ACTOR:ACTION[:TARGET]."""
    table = top_events(ensemble.record, n + 4)
    table = table[table["action"] != NOT_CHOSEN]
    return [event_key(row.actor, row.action, row.target) for row in table.head(n).itertuples()]


@dataclass(frozen=True)
class Why:
    """An event's attribution across an ensemble, and the text that shows it."""

    event: str
    attribution: pd.DataFrame
    text: str


def explain_ensemble_event(ensemble: Ensemble, event: str, sample: int = 200) -> Why:
    """Re-run the ensemble (same scenario, seed and chunk: the same runs) with the actor's
    decisions traced in up to `sample` runs, and attribute `event` to its terms."""
    from batches.chunks import plan_chunks

    actor, action, *rest = event.split(":")
    target = rest[0] if rest else None
    (chunk,) = plan_chunks(ensemble.runs, ensemble.seed)
    runs = range(min(sample, ensemble.runs))
    trace = Trace(runs=runs, agents=[actor])
    events = trace_chunk(ensemble.scenario, ensemble.months, chunk, trace)
    recorded = events_table(ensemble.record)
    if not events.equals(recorded):
        raise RuntimeError("the traced ensemble differs from the one shown")
    attribution = ensemble_attribution(trace.frame(), actor, action, target, seed=ensemble.seed)
    return Why(event, attribution, format_attribution(attribution, event))
