"""The in-sample check of the 2022 story: how often `history-2022` reproduces each 2022 event.

Each check is a function of the events of a batch (one table of run, month, actor, action, target)
returning, per run, whether the event happened in its window; the probability is the share of runs
(or, for conditional checks, of the runs where the condition holds). The timeline and its sources
are in docs/MODEL.md ("The 2022 story"). Only exogenous events are forced in `history-2022`; every
response counted here is the agents' own choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from simulation.calendar import month_index
from simulation.record import RunRecord

HISTORY_SCENARIO = "history-2022"
HISTORY_MONTHS = 12
START = "2022-01"


@dataclass(frozen=True)
class HistoryEvent:
    """One event of the 2022 timeline, its window, and what counts as reproducing it."""

    event: str
    window: str
    expect_at_least_half: bool
    test: Callable[[pd.DataFrame, int], tuple[float, int]]

    @property
    def target(self) -> str:
        return ">= 0.5" if self.expect_at_least_half else "< 0.5"

    def met(self, probability: float) -> bool:
        return probability >= 0.5 if self.expect_at_least_half else probability < 0.5


def _month(label: str) -> int:
    return month_index(START, label)


def _runs_with(
    events: pd.DataFrame,
    actor: str,
    actions: tuple[str, ...],
    first: str,
    last: str,
    target: str | None = None,
) -> set[int]:
    chosen = events[
        (events["actor"] == actor)
        & events["action"].isin(actions)
        & events["month"].between(_month(first), _month(last))
    ]
    if target is not None:
        chosen = chosen[chosen["target"] == target]
    return set(chosen["run"].tolist())


def share_of_runs(
    actor: str, actions: tuple[str, ...], first: str, last: str, target: str | None = None
) -> Callable[[pd.DataFrame, int], tuple[float, int]]:
    """Check: the share of runs in which `actor` takes one of `actions` in [first, last]."""

    def test(events: pd.DataFrame, runs: int) -> tuple[float, int]:
        return len(_runs_with(events, actor, actions, first, last, target)) / runs, runs

    return test


def russia_does_not_honour(events: pd.DataFrame, runs: int) -> tuple[float, int]:
    """Share of runs with Russia answering Armenia partially or by refusal, and never honouring."""
    window = ("2022-09", "2022-10")
    short = _runs_with(events, "RUS", ("partial_response", "refuse_article4"), *window, "ARM")
    honoured = _runs_with(events, "RUS", ("honour_article4",), *window, "ARM")
    return len(short - honoured) / runs, runs


def georgia_summons_after_visit(events: pd.DataFrame, runs: int) -> tuple[float, int]:
    """Of the runs where Belarus visits Abkhazia in 2022, the share where Georgia summons the
    Belarusian ambassador within two months of the first visit."""
    visits = events[
        (events["actor"] == "BLR")
        & (events["action"] == "visit_breakaway")
        & (events["month"] < HISTORY_MONTHS)
    ]
    first_visit = visits.groupby("run")["month"].min()
    if first_visit.empty:
        return float("nan"), 0
    summons = events[
        (events["actor"] == "GEO")
        & (events["action"] == "summon_ambassador")
        & (events["target"] == "BLR")
    ]
    joined = summons.merge(first_visit.rename("visit"), left_on="run", right_index=True)
    answered = joined[joined["month"].between(joined["visit"], joined["visit"] + 2)]
    return answered["run"].nunique() / len(first_visit), len(first_visit)


def belarus_sides_with_azerbaijan(events: pd.DataFrame, runs: int) -> tuple[float, int]:
    """Of the runs where Belarus takes a side in the Armenia-Azerbaijan conflict in 2022, the share
    in which most of its sidings favour Azerbaijan."""
    sidings = events[
        (events["actor"] == "BLR")
        & (events["action"] == "side_with")
        & (events["month"] < HISTORY_MONTHS)
    ]
    if sidings.empty:
        return float("nan"), 0
    favour = sidings.assign(aze=sidings["target"] == "AZE").groupby("run")["aze"].mean()
    return float((favour > 0.5).mean()), len(favour)


HISTORY_EVENTS: tuple[HistoryEvent, ...] = (
    HistoryEvent(
        "Belarus makes a loyalty signal that hurts Armenia",
        "2022-01..03",
        True,
        share_of_runs("BLR", ("signal_loyalty",), "2022-01", "2022-03"),
    ),
    HistoryEvent(
        "Armenia summons the Belarusian ambassador",
        "2022-02..03",
        True,
        share_of_runs("ARM", ("summon_ambassador",), "2022-02", "2022-03", "BLR"),
    ),
    HistoryEvent(
        "Armenia invokes Article 4",
        "2022-09",
        True,
        share_of_runs("ARM", ("invoke_article4",), "2022-09", "2022-09"),
    ),
    HistoryEvent(
        "Russia does not honour it (partial response or refusal)",
        "2022-09..10",
        True,
        russia_does_not_honour,
    ),
    HistoryEvent(
        "Armenia courts the West",
        "2022-09..11",
        True,
        share_of_runs("ARM", ("court_west",), "2022-09", "2022-11"),
    ),
    HistoryEvent(
        "Belarus visits Abkhazia",
        "2022-08..10",
        True,
        share_of_runs("BLR", ("visit_breakaway",), "2022-08", "2022-10"),
    ),
    HistoryEvent(
        "Georgia summons the Belarusian ambassador after the visit",
        "visit month + 2 (runs with a 2022 visit)",
        True,
        georgia_summons_after_visit,
    ),
    HistoryEvent(
        "Georgia recalls its ambassador from Belarus",
        "2022",
        False,
        share_of_runs("GEO", ("recall_ambassador",), "2022-01", "2022-12", "BLR"),
    ),
    HistoryEvent(
        "Belarus recognises Abkhazia",
        "2022",
        False,
        share_of_runs("BLR", ("recognize_breakaway",), "2022-01", "2022-12"),
    ),
    HistoryEvent(
        "Armenia refuses the declaration or boycotts the November summit",
        "2022-11",
        True,
        share_of_runs("ARM", ("refuse_declaration", "boycott_summit"), "2022-11", "2022-11"),
    ),
    HistoryEvent(
        "Belarus, when it takes a side, mostly takes Azerbaijan's",
        "2022 (runs where Belarus takes a side)",
        True,
        belarus_sides_with_azerbaijan,
    ),
)


def named_events(records: list[RunRecord]) -> pd.DataFrame:
    """The events of several records as one table (codes and action names, global runs)."""
    from results.tables import events_table

    return pd.concat([events_table(record) for record in records], ignore_index=True)


def evaluate(events: pd.DataFrame, runs: int) -> list[dict]:
    """The history table: event, window, probability, target, met, and the runs it is over."""
    rows = []
    for check in HISTORY_EVENTS:
        probability, over = check.test(events, runs)
        rows.append(
            {
                "event": check.event,
                "window": check.window,
                "probability": round(float(probability), 4),
                "target": check.target,
                "met": bool(over > 0 and check.met(probability)),
                "runs": int(over),
            }
        )
    return rows


def check_history(
    runs: int = 1000,
    seed: int = 20221211,
    workers: int = 1,
    overrides: list[str] | None = None,
    posterior: str | None = None,
) -> list[dict]:
    """Run `history-2022` over 2022 and score each event of the timeline.

    `posterior` (a calibration folder, a posterior file or "shipped"): each replication draws the
    calibrated parameters from it (`batches.posterior`), so the probabilities include the
    parameter uncertainty."""
    records = history_records(runs, seed, HISTORY_MONTHS, workers, overrides, posterior)
    return evaluate(named_events(records), runs)


def history_records(
    runs: int,
    seed: int,
    months: int,
    workers: int = 1,
    overrides: list[str] | None = None,
    posterior: str | None = None,
) -> list[RunRecord]:
    """`runs` replications of `history-2022` over `months` months, in chunk order, at the
    scenario's values or (`posterior`) each drawing its parameters from a posterior."""
    from batches.chunks import iter_records, plan_chunks
    from simulation.scenario import load_scenario

    scenario = load_scenario(HISTORY_SCENARIO, overrides, months)
    chunks = plan_chunks(runs, seed)
    if posterior is None:
        return [r for _, r in iter_records(scenario, months, chunks, workers)]
    return _posterior_records(scenario, months, chunks, seed, workers, posterior, overrides)


def _posterior_records(
    scenario, months, chunks, seed, workers, posterior, overrides
) -> list[RunRecord]:
    """The chunks' records with posterior draws (in chunk order); a failed chunk raises."""
    from batches.executors import Failure, Task, iter_results
    from batches.posterior import fixed_keys, posterior_record, with_posterior

    record = posterior_record(posterior, scenario, fixed_keys(overrides))
    tasks = with_posterior([Task(c.index, c) for c in chunks], record, seed)
    results = dict(
        (task.part, result)
        for task, result in iter_results({None: scenario}, months, tasks, workers=workers)
    )
    for result in results.values():
        if isinstance(result, Failure):
            raise RuntimeError(result.traceback)
    return [results[part] for part in sorted(results)]
