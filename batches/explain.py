"""Why an agent chose what it chose: the utility terms behind its logit choices.

Every decision of the model is a logit choice P(k) = exp(lambda U_k) / sum_k' exp(lambda U_k')
over the open options (McKelvey & Palfrey 1995), where U_k is the sum of named incentive terms
(affinity, trade, security, legitimacy, loyalty, cost, and the Article 4 stakes: MODEL section 4).
A decision trace (`simulation.trace`, one row per decision x option x term) holds each term, U_k,
lambda, P(k) and the chosen option. This module analyses traces; it never runs the model:

* `check_trace`: the terms sum to each option's utility and the probabilities are the logit of
  lambda x utility over the decision's options;
* `decision_table` and `deciding_term`: one decision as options x terms, and the term that decided
  it, i.e. contributed most to the chosen option's margin over the runner-up (the best other
  option by utility); the margin is the change in utility it would have taken to tip the choice;
* `ensemble_attribution`: across runs, the mean contribution of each term to an event's margin
  where it happened, and to what held it back where it was open and did not happen, with
  percentile bootstrap intervals over runs (Efron & Tibshirani 1993);
* the checks of the `explain` command's inputs (`ExplainInputError`), and the plan of a replay.

How the model records a trace (the model side)
----------------------------------------------
`model.trace` is a `simulation.trace.Trace` or None (the default: no cost when off). At each
decision site, only when `model.trace is not None and model.trace.wants(code, model.month)`, the
agent splits its (R, K) utilities into named terms and calls

    model.trace.record(decision, code, model.month, options, targets, terms, utilities,
                       probabilities, chosen, rationality, runs_mask,
                       open_mask=mask, run_offset=model.run_offset)

* decision: one of `simulation.trace.DECISIONS`; month: `model.month` during the step (the
  `month` of the events table); options: `POSTURE_OPTIONS` ("-1", "0", "+1") or the menu's action
  names, targets the menu's target codes ("" where none), for the whole menu;
* terms: name -> array broadcastable to (R, K) that sum to `utilities`. Posture: the six functions
  of `agents.incentives` (affinity, trade, security, legitimacy, loyalty, cost = switching).
  Actions: `action_utilities`' single product split by its left factor: the warmth weights of
  `warmth_weights` into trade, security and loyalty, then affinity, fatigue, legitimacy, stakes and
  cost (`agents.terms`); Article 4 adds help (request), abandonment and entrapment (response);
* probabilities: `agents.logit.logit_probabilities(utilities, rationality, mask)`; chosen: the
  sampled index into the whole menu (a choice over a subset of open options is mapped back);
  rationality: lambda, a scalar or per replication; runs_mask: the replications where the decision
  was actually taken (attacked members for a request, members in a summit month, the eligible
  for a membership choice ...); open_mask: the options open in each replication.

Decisions a scenario forces (a fixed posture, an `article4_policy` other than "choose", forced
events) are not logit choices and are not recorded. The collector keeps only the traced runs
(`Trace(runs=...)`, global indices), months and agents, as a few small arrays per call; `frame()`
builds the table once. Recording draws no random numbers, so a traced run is the same run.

How a run is replayed
---------------------
A run folder's manifest holds the resolved scenario, `seed`, `runs`, `months` and `chunk_size`
(`folder_info`). The scenario is `Scenario.model_validate(manifest["resolved_scenario"])`,
checked against `scenario_sha256` as a resume does. Run K lies in chunk K // chunk_size, whose
seed is child (chunk,) of SeedSequence(seed) (`batches.chunks.chunk_seed`, `plan_chunks`; see
`replay_chunk`). Replaying that whole chunk (same size, offset and seed, so every random stream,
including any per-replication parameter draws, is the same) with `Trace(runs=[K], months=...,
agents=...)` on the model reproduces run K with its decisions recorded; tracing only one run keeps
the cost to that run's rows. A folder written by another package version may not replay exactly
(`FolderInfo.package_version`). The replay is checked against the folder: the replayed events of
run K must equal `results.store.read_table(folder, "events")` filtered to run K
(`event_differences` lists every difference; empty means the replay is exact), and the command
should refuse to explain a replay that differs.

A sweep folder's run is run K of design point P (`--point`). Its manifest rebuilds the batch's
tasks (`batches.runner.manifest_tasks`: the design's lock-step chunks across points, its chunks of
one model per point, or the point x chunk tasks of a sweep written before designs, with any
posterior draws) and their scenarios (`point_plan`). The task holding row (P, K) carries the
row's parameter values, its counter-based stream and the stream seed; a row's trajectory depends
only on those (`batches.design`), so the row is replayed alone (`row_task`), and a task without
streams (a sweep written before designs) is replayed whole. The replay is checked against the
folder's events of point P and run K. A sensitivity folder is a design too: its points are
design.parquet's and its tasks are rebuilt as its resumption rebuilds them (`_analysis_tasks`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from results.compare import bootstrap_means, percentile_interval
from simulation.calendar import month_index, month_label, parse_month
from simulation.schema import ACTION_NAMES
from simulation.trace import DECISION_KEY, DECISIONS, OPTION_KEY, conform_trace

if TYPE_CHECKING:
    from batches.chunks import Chunk
    from batches.executors import Task

TERM_ORDER: tuple[str, ...] = (
    "affinity",
    "trade",
    "security",
    "legitimacy",
    "loyalty",
    "stakes",
    "fatigue",
    "deterrence",
    "cost",
    "help",
    "abandonment",
    "entrapment",
)
"""Display order of the known terms; any other term follows, in order of appearance."""

GROUPS: tuple[str, ...] = ("happened", "not_happened")
ATTRIBUTION_COLUMNS: tuple[str, ...] = ("group", "term", "mean", "ci_low", "ci_high", "runs")
VIOLATION_COLUMNS: tuple[str, ...] = (*OPTION_KEY, "check", "expected", "actual")
TABLE_COLUMNS: tuple[str, ...] = ("option", "target", "utility", "probability", "chosen")
"""The non-term columns of a decision table (terms come between target and utility)."""

BOOTSTRAP_DRAWS = 1000
CONFIDENCE = 0.95


class ExplainInputError(ValueError):
    """A bad value of one of `explain`'s inputs: names the option and what was expected."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


class TraceError(ValueError):
    """A trace that breaks its own arithmetic (terms, utilities, logit probabilities)."""


# --- the trace's arithmetic --------------------------------------------------------------------


def ordered_terms(terms: Iterable[str]) -> list[str]:
    """Terms in display order: those of `TERM_ORDER` first, then the rest as they come."""
    if isinstance(terms, pd.Series):
        terms = terms.unique()  # in order of appearance
    seen = list(dict.fromkeys(terms))
    known = [term for term in TERM_ORDER if term in seen]
    return known + [term for term in seen if term not in TERM_ORDER]


def _options(trace: pd.DataFrame) -> pd.DataFrame:
    """One row per decision option: the sum of its terms and the spread of its recorded values."""
    grouped = trace.groupby(list(OPTION_KEY), sort=False, observed=True)
    options = grouped.agg(
        terms=("value", "sum"),
        utility=("utility", "first"),
        utility_max=("utility", "max"),
        utility_min=("utility", "min"),
        probability=("probability", "first"),
        probability_max=("probability", "max"),
        probability_min=("probability", "min"),
        chosen=("chosen", "first"),
        chosen_any=("chosen", "max"),
        chosen_all=("chosen", "min"),
        rationality=("rationality", "first"),
        rationality_max=("rationality", "max"),
        rationality_min=("rationality", "min"),
    ).reset_index()
    options["utility_spread"] = options.pop("utility_max") - options.pop("utility_min")
    options["probability_spread"] = options.pop("probability_max") - options.pop("probability_min")
    options["chosen_mixed"] = options.pop("chosen_any") != options.pop("chosen_all")
    options["rationality_spread"] = options.pop("rationality_max") - options.pop("rationality_min")
    return options


def _violations(options: pd.DataFrame, bad: pd.Series, check: str, expected, actual):
    rows = options.loc[bad, list(OPTION_KEY)].copy()
    rows["check"] = check
    rows["expected"] = np.asarray(expected, dtype=float)[bad.to_numpy()]
    rows["actual"] = np.asarray(actual, dtype=float)[bad.to_numpy()]
    return rows


def check_trace(trace: pd.DataFrame, *, atol: float = 1e-9, rtol: float = 1e-9) -> pd.DataFrame:
    """The rows of `trace` that break its arithmetic; empty when the trace is consistent.

    Checks, per option: the terms sum to the utility (`terms_sum`); utility, probability, chosen
    and lambda are the same on all its term rows (`option_rows`); the probability is the logit of
    lambda x utility over the decision's options (`probability`). Per decision: exactly one option
    is chosen (`one_chosen`) and lambda is one value (`rationality`). Columns:
    `VIOLATION_COLUMNS`, with `expected` and `actual` the numbers compared.
    """
    trace = conform_trace(trace)
    if trace.empty:
        return pd.DataFrame(columns=list(VIOLATION_COLUMNS))
    options = _options(trace)
    found = []
    tolerance = atol + rtol * options["utility"].abs()
    gap = (options["terms"] - options["utility"]).abs()
    found.append(
        _violations(options, gap > tolerance, "terms_sum", options["utility"], options["terms"])
    )
    mixed = (options["utility_spread"] > tolerance) | (options["probability_spread"] > atol)
    mixed |= options["chosen_mixed"] | (options["rationality_spread"] > atol)
    found.append(_violations(options, mixed, "option_rows", np.zeros(len(options)), mixed))
    by_decision = options.groupby(list(DECISION_KEY), sort=False, observed=True)
    lam = by_decision["rationality"]
    spread = lam.transform("max") - lam.transform("min")
    found.append(_violations(options, spread > atol, "rationality", options["rationality"], spread))
    scaled = options["rationality"] * options["utility"]
    weights = np.exp(scaled - scaled.groupby([options[k] for k in DECISION_KEY]).transform("max"))
    expected = weights / weights.groupby([options[k] for k in DECISION_KEY]).transform("sum")
    off = (options["probability"] - expected).abs() > atol + rtol * expected
    found.append(_violations(options, off, "probability", expected, options["probability"]))
    chosen = by_decision["chosen"].transform("sum")
    first = ~options.duplicated(list(DECISION_KEY))
    one = _violations(options, first & (chosen != 1), "one_chosen", np.ones(len(options)), chosen)
    found.append(one.assign(option="", target=""))  # a decision's check: no option to name
    result = pd.concat(found, ignore_index=True)
    return result.loc[:, list(VIOLATION_COLUMNS)]


def validate_trace(trace: pd.DataFrame, **tolerances: float) -> None:
    """Raise TraceError describing the first violations of `check_trace`, if any."""
    violations = check_trace(trace, **tolerances)
    if violations.empty:
        return
    first = violations.iloc[0]
    raise TraceError(
        f"{len(violations)} violation(s) of the trace's arithmetic; first: {first['check']} in "
        f"run {first['run']}, month {first['month']}, {first['agent']} {first['decision']}, "
        f"option {option_label(first['option'], first['target'])}: expected "
        f"{first['expected']:.6g}, got {first['actual']:.6g}"
    )


# --- one decision ------------------------------------------------------------------------------


def option_label(option: str, target: str | None) -> str:
    """ "side_with->AZE" for an option with a target, else the option alone ("+1", "none")."""
    return f"{option}->{target}" if isinstance(target, str) and target else str(option)


@dataclass(frozen=True)
class DecidingTerm:
    """What decided a choice.

    term: the term contributing most to the margin (in its direction; None if no alternative);
    contribution: that term's value for the chosen option minus its value for the runner-up;
    margin: U_chosen - U_runner_up (negative: chosen against the odds);
    runner_up: the label of the best other option by utility (None if none was open);
    tip: the change in utility that would have reversed the two, |margin|;
    chosen, probability: the chosen option's label and its logit probability.
    """

    term: str | None
    contribution: float
    margin: float
    runner_up: str | None
    tip: float
    chosen: str
    probability: float

    @property
    def against_odds(self) -> bool:
        """Whether a better option (by utility) was passed over: a draw against the odds."""
        return self.margin < 0


def deciding_term(table: pd.DataFrame) -> DecidingTerm:
    """The term that decided the decision of `table` (see `decision_table`), and its margin.

    The runner-up is the best other option by utility; each term's contribution to the margin
    U_chosen - U_runner_up is its value for the chosen option minus its value for the runner-up
    (the contributions sum to the margin). The deciding term is the one contributing most in the
    margin's direction: the largest positive contribution when the chosen option was the best, the
    most negative one when the logit draw went against the odds (it names what favoured the
    runner-up).
    """
    terms = table_terms(table)
    return _decide(
        [str(label) for label in table.index],
        table["utility"].to_numpy(dtype=float),
        table["probability"].to_numpy(dtype=float),
        table["chosen"].to_numpy(dtype=bool),
        np.column_stack([table[term].to_numpy(dtype=float) for term in terms]),
        terms,
    )


def _decide(
    labels: list[str],
    utility: np.ndarray,
    probability: np.ndarray,
    chosen: np.ndarray,
    values: np.ndarray,
    terms: list[str],
) -> DecidingTerm:
    """`deciding_term` on the columns of a decision table (values: options x terms)."""
    picked = np.flatnonzero(chosen)
    if len(picked) != 1:
        raise TraceError(f"a decision needs exactly one chosen option, found {len(picked)}")
    at = int(picked[0])
    if len(labels) == 1:
        return DecidingTerm(None, 0.0, math.inf, None, math.inf, labels[at], float(probability[at]))
    others = np.where(np.arange(len(labels)) == at, -np.inf, utility)
    runner = int(np.argmax(others))  # the first of equal bests, in the recorded order
    gaps = values[at] - values[runner]
    margin = float(utility[at] - utility[runner])
    pick = int(np.argmin(gaps) if margin < 0 else np.argmax(gaps))
    return DecidingTerm(
        terms[pick],
        float(gaps[pick]),
        margin,
        labels[runner],
        abs(margin),
        labels[at],
        float(probability[at]),
    )


def decision_table(
    trace: pd.DataFrame, run: int, month: int, agent: str, decision: str
) -> pd.DataFrame:
    """One decision: options as rows (labelled), terms as columns, utility, probability, chosen.

    Columns: option, target, the terms (in `ordered_terms` order; a term an option lacks is 0),
    utility, probability, chosen; rows in the recorded order. `attrs` holds the decision's run,
    month, agent, decision, rationality and terms. Raises LookupError if it is not in the trace.
    """
    trace = conform_trace(trace)
    rows = trace[
        (trace["run"] == run)
        & (trace["month"] == month)
        & (trace["agent"] == agent)
        & (trace["decision"] == decision)
    ]
    if rows.empty:
        raise LookupError(f"no {decision} decision of {agent} in run {run}, month {month}")
    return next(_tables(rows))[0]


def table_terms(table: pd.DataFrame) -> list[str]:
    """The term columns of a decision table."""
    if "terms" in table.attrs:
        return list(table.attrs["terms"])
    return [column for column in table.columns if column not in TABLE_COLUMNS]


def _wide(rows: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    """One row per decision option, in recorded order: the option keys, each term (0 where an
    option lacks it), utility, probability, chosen and lambda."""
    values = rows.pivot_table(
        index=list(OPTION_KEY),
        columns="term",
        values="value",
        aggfunc="sum",
        fill_value=0.0,
        sort=False,
        observed=True,
    ).reindex(columns=terms, fill_value=0.0)
    meta = rows.groupby(list(OPTION_KEY), sort=False, observed=True)[
        ["utility", "probability", "chosen", "rationality"]
    ].first()
    wide = pd.concat([values, meta], axis=1).reset_index()
    wide.columns = [str(name) for name in wide.columns]
    wide["chosen"] = wide["chosen"].astype(bool)
    return wide


def _tables(rows: pd.DataFrame) -> Iterator[tuple[pd.DataFrame, DecidingTerm]]:
    """The decision table of each decision in `rows` and what decided it, in order of first
    appearance.

    One pivot for all decisions, then a slice each: a decision's columns are the terms recorded
    for it.
    """
    terms = ordered_terms(rows["term"])
    wide = _wide(rows, terms)
    decision = wide.groupby(list(DECISION_KEY), sort=False, observed=True).ngroup().to_numpy()
    keys = wide.loc[~wide.duplicated(list(DECISION_KEY)), list(DECISION_KEY)]
    recorded = rows.pivot_table(
        index=list(DECISION_KEY),
        columns="term",
        values="value",
        aggfunc="size",
        fill_value=0,
        sort=False,
        observed=True,
    )
    has_term = (
        recorded.reindex(
            index=pd.MultiIndex.from_frame(keys), columns=terms, fill_value=0
        ).to_numpy()
        > 0
    )
    order = np.argsort(decision, kind="stable")
    bounds = np.flatnonzero(np.diff(decision[order])) + 1
    labels = np.array(
        [option_label(o, t) for o, t in zip(wide["option"], wide["target"], strict=True)],
        dtype=object,
    )
    columns = {name: wide[name].to_numpy() for name in wide.columns}
    for number, positions in enumerate(np.split(order, bounds)):
        used = [term for term, present in zip(terms, has_term[number], strict=True) if present]
        first = positions[0]
        table = pd.DataFrame(
            {
                name: columns[name][positions]
                for name in ["option", "target", *used, "utility", "probability", "chosen"]
            },
            index=pd.Index(labels[positions], name="label"),
        )
        table.attrs.update(
            run=int(columns["run"][first]),
            month=int(columns["month"][first]),
            agent=str(columns["agent"][first]),
            decision=str(columns["decision"][first]),
            rationality=float(columns["rationality"][first]),
            terms=used,
        )
        values = np.column_stack([columns[term][positions] for term in used])
        deciding = _decide(
            list(labels[positions]),
            columns["utility"][positions],
            columns["probability"][positions],
            columns["chosen"][positions],
            values,
            used,
        )
        yield table, deciding


@dataclass(frozen=True)
class ExplainedDecision:
    """One decision of a trace, as a table, with what decided it."""

    run: int
    month: int
    agent: str
    decision: str
    table: pd.DataFrame
    deciding: DecidingTerm


def explain_decisions(
    trace: pd.DataFrame,
    run: int | None = None,
    month: int | None = None,
    agent: str | None = None,
) -> Iterator[ExplainedDecision]:
    """Each decision of the selection (None: any), by run and month, in the recorded order."""
    rows = conform_trace(trace)
    for column, value in (("run", run), ("month", month), ("agent", agent)):
        if value is not None:
            rows = rows[rows[column] == value]
    if rows.empty:
        return
    rows = rows.sort_values(["run", "month"], kind="stable")  # stable: the recorded order
    for table, deciding in _tables(rows):
        attrs = table.attrs
        yield ExplainedDecision(
            attrs["run"], attrs["month"], attrs["agent"], attrs["decision"], table, deciding
        )


# --- across the ensemble -----------------------------------------------------------------------


def _best(utility: pd.Series, allowed: pd.Series, decision: pd.Series) -> pd.Series:
    """Per decision id, the row position of the highest utility among `allowed` rows (-1: none)."""
    masked = utility.where(allowed, -np.inf)
    position = masked.groupby(decision).idxmax()
    has_any = allowed.groupby(decision).any()
    return position.where(has_any, -1)


def _matches(rows: pd.DataFrame, action: str, target: str | None) -> pd.Series:
    match = rows["option"] == action
    if target:
        match &= rows["target"] == target
    return match.fillna(False).astype(bool)


def _first_per_run(decisions: pd.DataFrame) -> pd.DataFrame:
    """The first decision of each run: by month, then the phase order of `DECISIONS`."""
    phase = decisions["decision"].map({name: i for i, name in enumerate(DECISIONS)})
    ordered = decisions.assign(_phase=phase.fillna(len(DECISIONS)).to_numpy())
    ordered = ordered.sort_values(["run", "month", "_phase"], kind="stable")
    return ordered.drop_duplicates("run").drop(columns="_phase")


def _sample_runs(runs: np.ndarray, sample: int | None, rng: np.random.Generator) -> np.ndarray:
    if sample is None or len(runs) <= sample:
        return runs
    return np.sort(rng.choice(runs, size=sample, replace=False))


def _summarise(
    group: str,
    values: np.ndarray,
    terms: list[str],
    rng: np.random.Generator,
    n_boot: int,
) -> pd.DataFrame:
    """Mean and percentile-bootstrap interval (resampling runs) of each term's contribution."""
    runs = values.shape[0]
    if runs == 0:
        nan = np.full(len(terms), np.nan)
        mean, low, high = nan, nan, nan
    else:
        mean = values.mean(axis=0)
        low, high = percentile_interval(bootstrap_means(values, rng, draws=n_boot), CONFIDENCE)
    return pd.DataFrame(
        {"group": group, "term": terms, "mean": mean, "ci_low": low, "ci_high": high, "runs": runs}
    )


def ensemble_attribution(
    trace: pd.DataFrame,
    actor: str,
    action: str,
    target: str | None = None,
    *,
    sample: int | None = None,
    seed: int,
    n_boot: int = BOOTSTRAP_DRAWS,
) -> pd.DataFrame:
    """Which terms made `actor` take `action` (toward `target`; None: any), across runs.

    happened: runs where the actor chose the action; in each, its first such decision (by month,
    then phase), and each term's contribution to the chosen option's margin over the best
    alternative (U_chosen - U_best other; a decision with no alternative is left out).
    not_happened: runs where the action was open to the actor and never chosen; in each decision
    where it was open, each term's contribution to U_action - U_chosen (the action's best open
    target when `target` is None), averaged over the run's decisions: negative terms held it back.
    Each run counts once. `sample` caps the runs of each group (a seeded random subset). Means
    come with a 95% percentile bootstrap interval over runs, seeded by `seed` (`n_boot` draws).
    Columns: `ATTRIBUTION_COLUMNS`; `attrs` holds the event and the decisions used.
    """
    trace = conform_trace(trace)
    rows = trace[trace["agent"] == actor]
    open_keys = rows.loc[_matches(rows, action, target), list(DECISION_KEY)].drop_duplicates()
    rows = rows.merge(open_keys, on=list(DECISION_KEY), how="inner", sort=False)
    terms = ordered_terms(rows["term"])
    wide = _wide(rows, terms)
    decision = wide.groupby(list(DECISION_KEY), sort=False, observed=True).ngroup()
    match = _matches(wide, action, target)
    chosen_count = wide["chosen"].groupby(decision).sum()
    if (chosen_count != 1).any():
        raise TraceError("every decision needs exactly one chosen option")
    chosen = _best(wide["utility"], wide["chosen"], decision)
    best_other = _best(wide["utility"], ~wide["chosen"], decision)
    keys = wide.loc[chosen.to_numpy(), list(DECISION_KEY)].reset_index(drop=True)
    keys["chosen"] = chosen.to_numpy()
    keys["other"] = best_other.to_numpy()
    keys["matched"] = _best(wide["utility"], match, decision).to_numpy()
    keys["happened"] = match.to_numpy()[keys["chosen"].to_numpy()]
    term_values = wide[terms].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)

    happened = _first_per_run(keys[keys["happened"]])
    happened = happened[happened["other"] >= 0]
    happened = happened[happened["run"].isin(_sample_runs(happened["run"].unique(), sample, rng))]
    margins = term_values[happened["chosen"].to_numpy()] - term_values[happened["other"].to_numpy()]

    held = keys[~keys["run"].isin(keys.loc[keys["happened"], "run"])]
    held = held[held["run"].isin(_sample_runs(held["run"].unique(), sample, rng))]
    gaps = term_values[held["matched"].to_numpy()] - term_values[held["chosen"].to_numpy()]
    per_run = pd.DataFrame(gaps, columns=terms).groupby(held["run"].to_numpy()).mean()

    result = pd.concat(
        [
            _summarise("happened", margins, terms, rng, n_boot),
            _summarise("not_happened", per_run.to_numpy(), terms, rng, n_boot),
        ],
        ignore_index=True,
    ).loc[:, list(ATTRIBUTION_COLUMNS)]
    result.attrs.update(
        actor=actor,
        action=action,
        target=target,
        happened_decisions=len(happened),
        not_happened_decisions=len(held),
    )
    return result


# --- the command's inputs ----------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """An event to explain: `actor` chose `action` (toward `target`, or any target if None)."""

    actor: str
    action: str
    target: str | None = None

    @property
    def label(self) -> str:
        return ":".join(part for part in (self.actor, self.action, self.target) if part)


def parse_event(text: str, actors: Sequence[str] | None = None) -> Event:
    """ACTOR:ACTION[:TARGET], e.g. "BLR:side_with:AZE"; codes checked against `actors` if given."""
    parts = str(text).strip().split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise ExplainInputError(
            "--event", f"expected ACTOR:ACTION[:TARGET] (e.g. BLR:side_with:AZE), got {text!r}"
        )
    actor, action = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if action not in ACTION_NAMES:
        raise ExplainInputError(
            "--event", f"unknown action {action!r}; expected one of {', '.join(ACTION_NAMES)}"
        )
    for role, code in (("actor", actor), ("target", target)):
        if code is not None and actors is not None and code not in actors:
            raise ExplainInputError(
                "--event", f"unknown {role} {code!r}; expected one of {', '.join(actors)}"
            )
    return Event(actor, action, target)


def validate_run(run: Any, runs: int) -> int:
    """The run index `run` if it is one of the folder's runs 0..runs-1."""
    try:
        index = int(str(run).strip())
    except ValueError:
        raise ExplainInputError("--run", f"expected a run number, got {run!r}") from None
    if not 0 <= index < runs:
        raise ExplainInputError(
            "--run", f"run {index} is not in the folder; expected 0..{runs - 1}"
        )
    return index


def validate_point(point: Any, points: int) -> int:
    """The design point `point` if it is one of the sweep's points 0..points-1."""
    try:
        index = int(str(point).strip())
    except ValueError:
        raise ExplainInputError(
            "--point", f"expected a point number 0..{points - 1}, got {point!r}"
        ) from None
    if not 0 <= index < points:
        raise ExplainInputError(
            "--point", f"point {index} is not one of the folder's points; expected 0..{points - 1}"
        )
    return index


def validate_month(label: str, start: str, months: int) -> int:
    """The month index of a YYYY-MM `label` within the horizon start .. start + months - 1."""
    last = month_label(start, months - 1)
    try:
        parse_month(label)
    except ValueError as error:
        raise ExplainInputError("--month", str(error)) from None
    index = month_index(start, label)
    if not 0 <= index < months:
        raise ExplainInputError(
            "--month", f"{label} is outside the horizon; expected {start} .. {last}"
        )
    return index


def validate_agent(code: str, agents: Sequence[str]) -> str:
    """`code` if it is one of the scenario's agents (the countries that decide)."""
    if code not in agents:
        raise ExplainInputError(
            "--agent", f"unknown agent {code!r}; expected one of {', '.join(agents)}"
        )
    return code


@dataclass(frozen=True)
class FolderInfo:
    """What `explain` needs from a run folder's manifest."""

    scenario: dict[str, Any]
    seed: int
    runs: int
    months: int
    start: str
    chunk_size: int
    agents: tuple[str, ...]
    actors: tuple[str, ...]
    package_version: str | None = None
    posterior: dict[str, Any] | None = None  # the manifest's posterior record (posterior runs)
    points: tuple[dict[str, Any], ...] | None = None  # a sweep's points (None: a run folder)
    manifest: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def is_sweep(self) -> bool:
        """Whether the folder is a design's (a sweep or a sensitivity analysis): its runs are
        those of each of its design points."""
        return self.points is not None

    @property
    def kind(self) -> str:
        """ "run", "sweep" or "sensitivity": what made the folder."""
        if self.points is None:
            return "run"
        return "sensitivity" if (self.manifest or {}).get("sensitivity") else "sweep"

    @property
    def points_file(self) -> str:
        """The file of the folder that lists its points' values."""
        return "design.parquet" if self.kind == "sensitivity" else "points.parquet"


def folder_info(folder: str | os.PathLike[str]) -> FolderInfo:
    """Read a run folder's manifest; ExplainInputError("RUN_DIR", ...) if it cannot be used."""
    from results.manifest import read_manifest

    try:
        manifest = read_manifest(folder)
    except FileNotFoundError:
        raise ExplainInputError("RUN_DIR", f"{folder} holds no manifest.json") from None
    except OSError as error:
        raise ExplainInputError("RUN_DIR", f"cannot read {folder}/manifest.json: {error}") from None
    except ValueError as error:
        raise ExplainInputError(
            "RUN_DIR", f"{folder}/manifest.json is unreadable: {error}"
        ) from None
    return manifest_info(manifest, folder)


def manifest_info(
    manifest: dict[str, Any], folder: str | os.PathLike[str] = "RUN_DIR"
) -> FolderInfo:
    """The `FolderInfo` of a manifest (see `folder_info`); a sweep's also holds its points."""
    keys = ("resolved_scenario", "seed", "runs", "months", "start", "chunk_size")
    missing = [key for key in keys if key not in manifest]
    if missing:
        raise ExplainInputError("RUN_DIR", f"{folder}/manifest.json lacks {', '.join(missing)}")
    scenario = manifest["resolved_scenario"]
    if not isinstance(scenario, dict) or not scenario.get("agents"):
        raise ExplainInputError("RUN_DIR", f"{folder}/manifest.json: its scenario has no agents")
    agents = tuple(scenario["agents"])
    return FolderInfo(
        scenario=scenario,
        seed=int(manifest["seed"]),
        runs=int(manifest["runs"]),
        months=int(manifest["months"]),
        start=str(manifest["start"]),
        chunk_size=int(manifest["chunk_size"]),
        agents=agents,
        actors=agents + tuple(scenario.get("poles", {})),
        package_version=manifest.get("package_version"),
        posterior=manifest.get("posterior") or None,
        points=_sweep_points(manifest, folder),
        manifest=manifest,
    )


def _sweep_points(
    manifest: dict[str, Any], folder: str | os.PathLike[str]
) -> tuple[dict[str, Any], ...] | None:
    """The points of a sweep manifest (`sweep.points`, one {key: value} each), or None."""
    sweep = manifest.get("sweep")
    if not sweep:
        return None
    points = sweep.get("points") if isinstance(sweep, dict) else None
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
        raise ExplainInputError(
            "RUN_DIR", f"{folder}/manifest.json: its sweep entry lists no points"
        )
    return tuple(points)


# --- replay ------------------------------------------------------------------------------------


def replay_chunk(info: FolderInfo, run: int) -> Chunk:
    """The chunk (index, offset, size, seed) that holds `run`: the one to replay for it."""
    from batches.chunks import plan_chunks

    run = validate_run(run, info.runs)
    return plan_chunks(info.runs, info.seed, info.chunk_size)[run // info.chunk_size]


EVENT_KEY: tuple[str, ...] = ("month", "actor", "action", "target")


def _event_counts(events: pd.DataFrame, run: int) -> pd.Series:
    rows = events[events["run"] == run].loc[:, list(EVENT_KEY)]
    rows = rows.astype({"target": object}).fillna({"target": ""})
    rows = rows.astype({"month": np.int64, "actor": str, "action": str, "target": str})
    return rows.value_counts()


def event_differences(replayed: pd.DataFrame, recorded: pd.DataFrame, run: int) -> pd.DataFrame:
    """Events of `run` that the replay and the folder do not share (empty: the replay is exact).

    Both tables have the events columns (run, month, actor, action, target ...). Columns:
    month, actor, action, target, recorded, replayed (how many times each holds the event).
    """
    both = pd.concat(
        {"recorded": _event_counts(recorded, run), "replayed": _event_counts(replayed, run)},
        axis=1,
    ).fillna(0)
    both = both.astype(np.int64)
    differ = both[both["recorded"] != both["replayed"]].reset_index()
    differ.columns = [*EVENT_KEY, "recorded", "replayed"]
    return differ.sort_values(list(EVENT_KEY), kind="stable").reset_index(drop=True)


# --- the command: replay a run, or the runs of an ensemble, with the trace on ------------------

UNSUPPORTED_KEYS: tuple[str, ...] = ("varying", "design", "free_parameters")
"""Manifest entries of batches whose replications carry their own parameters: not replayed yet.
A posterior run (`posterior` in the manifest) is replayed with its draws (`chunk_varying`), and
a sweep's `design` with its points' values (`point_tasks`)."""

DEFAULT_SAMPLE = 200
"""Runs `explain --event` replays by default (a seeded sample of the folder's runs)."""


class ReplayMismatchError(RuntimeError):
    """A replay whose events differ from the folder's: its decisions would explain another run."""

    def __init__(self, run: int, differences: pd.DataFrame):
        shown = "; ".join(
            f"{row.month} {row.actor} {row.action} {row.target or '-'}: folder {row.recorded}, "
            f"replay {row.replayed}"
            for row in differences.head(5).itertuples()
        )
        super().__init__(
            f"the replay of run {run} does not reproduce the folder's events "
            f"({len(differences)} differ; {shown}); the folder was made by another version "
            "of the model"
        )
        self.run = run
        self.differences = differences


@dataclass(frozen=True)
class ExplainResult:
    """A replayed run's decisions: the trace, each decision explained, and the replay's check."""

    info: FolderInfo
    run: int
    month: int | None
    agent: str | None
    trace: pd.DataFrame
    decisions: list[ExplainedDecision]
    events: pd.DataFrame  # the replayed events of the run
    checked: bool  # whether the folder's events table was there to check the replay against
    point: int | None = None  # the design point of a sweep folder's run (None: a run folder)


def _manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    from results.manifest import read_manifest

    try:
        return read_manifest(folder)
    except FileNotFoundError:
        raise ExplainInputError("RUN_DIR", f"{folder} holds no manifest.json") from None
    except (OSError, ValueError) as error:
        message = f"{folder}/manifest.json is unreadable: {error}"
        raise ExplainInputError("RUN_DIR", message) from None


def replay_info(folder: str | os.PathLike[str], point: Any = None) -> FolderInfo:
    """The `FolderInfo` of a finished run, sweep or sensitivity folder that can be replayed.

    ExplainInputError, one line: a sweep or sensitivity folder without `point` (the message gives
    the range), a `point` for a run folder, a batch whose replications carry their own parameters
    otherwise (`UNSUPPORTED_KEYS`), an unfinished folder or a scenario that does not match its
    hash. The point itself is checked by `validate_point`.
    """
    manifest = _manifest(folder)
    analysis = manifest.get("sensitivity")
    sweep = bool(manifest.get("sweep"))
    for key in UNSUPPORTED_KEYS:
        if manifest.get(key) and not (sweep and key == "design"):
            raise ExplainInputError(
                "RUN_DIR",
                f"{folder}: its runs have per-replication parameters ({key!r} in the manifest); "
                "explain does not replay those yet",
            )
    if manifest.get("status") not in (None, "complete"):
        command = "csto sensitivity --resume" if analysis else "csto run --resume"
        raise ExplainInputError(
            "RUN_DIR", f"{folder} is {manifest.get('status')}: resume it first ({command})"
        )
    info = manifest_info(manifest, folder)
    if analysis:
        info = _with_analysis_points(info, analysis, folder)
    if info.points is not None and point is None:
        count = len(info.points)
        raise ExplainInputError(
            "--point",
            f"{folder} is a {info.kind} folder of {count} point{'s' if count != 1 else ''}: "
            f"give --point P, one of 0..{count - 1} ({info.points_file} lists their values)",
        )
    if info.points is None and point is not None:
        raise ExplainInputError(
            "--point", f"{folder} is a run folder, not a sweep folder: leave out --point"
        )
    _check_scenario(info, manifest, folder)
    return info


def _with_analysis_points(info: FolderInfo, analysis: Any, folder) -> FolderInfo:
    """A sensitivity folder's info: its design's points (design.parquet) and runs per point."""
    from dataclasses import replace

    path = Path(folder) / "design.parquet"
    try:
        frame = pd.read_parquet(path)
        points = frame.drop(columns="point").to_dict("records")
        runs = int(analysis["runs_per_point"])
    except FileNotFoundError:
        raise ExplainInputError(
            "RUN_DIR", f"{path} is missing: the design cannot be rebuilt"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ExplainInputError("RUN_DIR", f"{path} cannot be read: {error}") from None
    if not points:
        raise ExplainInputError("RUN_DIR", f"{path} holds no points")
    return replace(info, points=tuple(points), runs=runs)


def _scenario(info: FolderInfo):
    from simulation.schema import Scenario

    return Scenario.model_validate(info.scenario)


def _check_scenario(info: FolderInfo, manifest: dict[str, Any], folder) -> None:
    from simulation.scenario import scenario_hash

    try:
        scenario = _scenario(info)
    except ValueError as error:
        first = str(error).splitlines()[0]
        raise ExplainInputError(
            "RUN_DIR", f"{folder}/manifest.json: its scenario does not validate ({first})"
        ) from None
    expected = manifest.get("scenario_sha256")
    if expected and scenario_hash(scenario) != expected:
        raise ExplainInputError(
            "RUN_DIR", f"{folder}/manifest.json: the scenario does not match its scenario_sha256"
        )


def trace_chunk(scenario, months: int, chunk: Chunk, trace, varying=None) -> pd.DataFrame:
    """Run `chunk` of a batch of `scenario` with `trace` on the model; the chunk's events table.

    The model is the batch's (`batches.chunks.run_chunk`): same scenario, size, seed, months,
    run offset and per-replication values (`varying`, a posterior run's draws), so every random
    stream and every parameter is the batch's.
    """
    from batches.chunks import run_chunk
    from results.tables import events_table

    return events_table(run_chunk(scenario, months, chunk, varying, trace=trace))


def chunk_varying(info: FolderInfo, chunk: Chunk) -> dict[str, Any] | None:
    """The per-replication values of `chunk` in the folder's batch: its posterior draws, drawn as
    the batch drew them (`batches.posterior.chunk_draws`), or None for a plain run."""
    if not info.posterior:
        return None
    from batches.errors import RunFolderError
    from batches.posterior import chunk_draws, verify_posterior

    try:
        verify_posterior(info.posterior)
    except RunFolderError as error:
        raise ExplainInputError("RUN_DIR", str(error)) from None
    return chunk_draws(info.posterior, info.seed, chunk)


def replay(info: FolderInfo, chunk: Chunk, trace) -> pd.DataFrame:
    """Replay `chunk` of the folder's batch with `trace` on (`trace_chunk`)."""
    return trace_chunk(_scenario(info), info.months, chunk, trace, chunk_varying(info, chunk))


# --- a sweep's design point: the tasks that hold its rows, replayed row by row -----------------


@dataclass(frozen=True)
class PointPlan:
    """How the runs of one design point of a sweep are replayed.

    tasks: the batch's tasks (`batches.runner.manifest_tasks`: lock-step chunks across points,
    one model per point, or the point x chunk layout of sweeps written before designs; with the
    posterior draws of a sweep under `--posterior`) that hold at least one of the point's rows;
    scenarios: each task's scenario by its `point` (the base, None, for lock-step chunks).
    """

    point: int
    tasks: tuple[Task, ...]
    scenarios: dict[int | None, Any]


def point_plan(info: FolderInfo, point: int) -> PointPlan:
    """The `PointPlan` of `point` of a sweep folder (ExplainInputError if it cannot be rebuilt)."""
    from batches.errors import RunFolderError
    from batches.runner import manifest_tasks
    from simulation.scenario import ScenarioError

    manifest = info.manifest or {}
    try:
        if manifest.get("sensitivity"):
            tasks, scenarios = _analysis_tasks(info, manifest["sensitivity"])
        else:
            tasks = manifest_tasks(manifest)
            scenarios = _design_scenarios(manifest, info)
    except (RunFolderError, ScenarioError) as error:
        raise ExplainInputError("RUN_DIR", str(error).splitlines()[0]) from None
    except (KeyError, TypeError, ValueError) as error:
        raise ExplainInputError(
            "RUN_DIR", f"manifest.json: the sweep's design cannot be rebuilt ({error})"
        ) from None
    held = tuple(task for task in tasks if point_rows(task, point).size)
    return PointPlan(point, held, scenarios)


def _analysis_tasks(info: FolderInfo, analysis: dict[str, Any]) -> tuple[list[Task], dict]:
    """A sensitivity folder's design tasks and scenarios, rebuilt as its resumption rebuilds
    them (`batches.sensitivity_run.resume_sensitivity`): design.parquet x runs per point."""
    from batches.design import Design, design_scenarios, design_tasks
    from batches.sweeps import points_frame

    design = Design(
        _scenario(info),
        points_frame(list(info.points or ())),
        runs=info.runs,
        seed=info.seed,
        months=info.months,
        crn=bool(analysis["crn"]),
    )
    return design_tasks(design, info.chunk_size), design_scenarios(design)


def _design_scenarios(manifest: dict[str, Any], info: FolderInfo) -> dict[int | None, Any]:
    """The scenario of each task's `point`, as the sweep ran them (`batches.plan` resume)."""
    if manifest.get("design"):
        from batches.design import design_scenarios
        from batches.runner import manifest_design

        return design_scenarios(manifest_design(manifest))
    from batches.sweeps import point_scenarios  # a sweep written before designs

    return dict(point_scenarios(_scenario(info), list(info.points or ()), info.months))


def point_rows(task: Task, point: int) -> np.ndarray:
    """The positions in `task` of the rows of design point `point` (point-major: contiguous)."""
    if task.point_ids is not None:
        return np.flatnonzero(np.asarray(task.point_ids) == point)
    if task.point == point:
        return np.arange(task.chunk.size)
    return np.arange(0)


def task_runs(task: Task) -> np.ndarray:
    """The run (within its point) of each row of `task`: `run_ids`, else offset + position."""
    if task.run_ids is not None:
        return np.asarray(task.run_ids, dtype=np.int64)
    return np.arange(task.chunk.offset, task.chunk.offset + task.chunk.size, dtype=np.int64)


def row_task(task: Task, positions: np.ndarray) -> Task:
    """The rows `positions` of a task whose rows draw from their own streams, as a task alone.

    With counter-based streams a row's trajectory depends only on its values and its stream
    (`batches.design`: the tables do not depend on the chunk size), so these rows replay alone
    as they ran in the chunk. A task without streams (one random generator for its whole chunk)
    is returned whole.
    """
    from dataclasses import replace

    from batches.chunks import Chunk

    if task.streams is None:
        return task
    positions = np.asarray(positions, dtype=np.int64)
    varying = task.varying
    return replace(
        task,
        chunk=Chunk(task.chunk.index, 0, len(positions), task.chunk.seed),
        varying=None
        if varying is None
        else {k: np.asarray(v)[positions] for k, v in varying.items()},
        streams=np.asarray(task.streams)[positions],
        point_ids=None if task.point_ids is None else np.asarray(task.point_ids)[positions],
        run_ids=task_runs(task)[positions],
    )


def trace_task(scenario, months: int, task: Task, runs: np.ndarray, trace_of) -> tuple:
    """Replay `task` with a trace on its rows of runs `runs` (runs within the point).

    `trace_of(model_runs)` makes the `Trace` for the model's run numbers. The task runs as the
    batch ran it (`batches.executors.run_task`: size, seed, offset, values, streams). Returns the
    task's events table (with its `point` column) and the trace, its `run` column the run
    within the point, as in the folder's tables.
    """
    from functools import partial

    from batches.chunks import run_chunk
    from batches.executors import Failure, run_task
    from results.tables import events_table

    ids = task_runs(task)
    model_runs = task.chunk.offset + np.flatnonzero(np.isin(ids, runs))
    trace = trace_of(model_runs)
    record = run_task(scenario, months, task, partial(run_chunk, trace=trace))
    if isinstance(record, Failure):
        raise RuntimeError(record.traceback)
    frame = trace.frame()
    frame["run"] = ids[frame["run"].to_numpy(dtype=np.int64) - task.chunk.offset]
    return events_table(record, task.point), frame


def replay_point_runs(
    plan: PointPlan, months: int, runs: np.ndarray, trace_of
) -> Iterator[tuple[np.ndarray, pd.DataFrame, pd.DataFrame]]:
    """Replay runs `runs` of the plan's point, task by task, only their rows where the rows
    have their own streams (`row_task`); yield (runs replayed, events, trace) per task."""
    runs = np.asarray(runs, dtype=np.int64)
    for task in plan.tasks:
        positions = point_rows(task, plan.point)
        inside = np.isin(task_runs(task)[positions], runs)
        if not inside.any():
            continue
        wanted = positions[inside]
        scenario = plan.scenarios[task.point]
        here = task_runs(task)[wanted]
        events, frame = trace_task(scenario, months, row_task(task, wanted), here, trace_of)
        yield here, events, frame


def _point_events(folder: str | os.PathLike[str], point: int | None) -> pd.DataFrame | None:
    """The folder's events (of `point` in a sweep folder), or None if it did not write them."""
    events = _folder_events(folder)
    if events is None or point is None:
        return events
    return events[events["point"] == point].reset_index(drop=True)


def event_decision(
    trace: pd.DataFrame, run: int, month: int, actor: str, action: str, target: str = ""
) -> ExplainedDecision | None:
    """The traced decision in which `actor` chose `action` (toward `target`) in that run and
    month; None if the event was no logit choice (an attack, an event a scenario forces)."""
    rows = conform_trace(trace)
    rows = rows[(rows["run"] == run) & (rows["month"] == month) & (rows["agent"] == actor)]
    chosen = rows[rows["chosen"] & (rows["option"] == action)]
    chosen = chosen[chosen["target"].fillna("") == (target or "")]
    if chosen.empty:
        return None
    decision = str(chosen["decision"].iloc[0])
    table = decision_table(rows, run, month, actor, decision)
    return ExplainedDecision(run, month, actor, decision, table, deciding_term(table))


def _folder_events(folder: str | os.PathLike[str]) -> pd.DataFrame | None:
    """The folder's events table, or None if the run did not write it (--tables)."""
    from results.layout import has_table
    from results.store import read_table

    if not has_table(folder, "events"):
        return None
    return read_table(folder, "events")


def _keyed_events(events: pd.DataFrame, runs: np.ndarray) -> pd.Series:
    """How many times each (run, month, actor, action, target) occurs among `runs`' events."""
    rows = events[events["run"].isin(runs)]
    columns = {
        "run": rows["run"].to_numpy(dtype=np.int64),
        "month": rows["month"].to_numpy(dtype=np.int64),
        **{
            name: rows[name].astype(object).fillna("").astype(str).to_numpy()
            for name in ("actor", "action", "target")
        },
    }
    return pd.DataFrame(columns).value_counts()


def _check_replay(replayed: pd.DataFrame, recorded: pd.DataFrame | None, runs) -> None:
    """Raise ReplayMismatchError for the first of `runs` whose replayed events differ."""
    if recorded is None:
        return
    runs = np.asarray(runs, dtype=np.int64)
    both = pd.concat(
        {"recorded": _keyed_events(recorded, runs), "replayed": _keyed_events(replayed, runs)},
        axis=1,
    ).fillna(0)
    differ = both[both["recorded"] != both["replayed"]]
    if not differ.empty:
        run = int(min(differ.index.get_level_values(0)))
        raise ReplayMismatchError(run, event_differences(replayed, recorded, run))


def explain_run(
    folder: str | os.PathLike[str],
    run: Any,
    month: str | None = None,
    agent: str | None = None,
    point: Any = None,
) -> ExplainResult:
    """Replay run `run` of a run folder with the trace on, check it, and explain its decisions.

    `month` (YYYY-MM) and `agent` (a country code) narrow the decisions traced. The run's chunk is
    replayed whole (`replay_chunk`), whatever executor or number of workers made the folder. In a
    sweep folder `point` (required there, refused elsewhere) is the design point and `run` the
    run within it: the task holding that row is found and, its rows drawing from their own
    streams, the row is replayed alone (`replay_point_runs`); the check is against the folder's
    events of that point and run.
    Raises ExplainInputError for a bad folder, point, run, month or agent, ReplayMismatchError
    when the replayed events differ from the folder's.
    """
    from simulation.trace import Trace

    info = replay_info(folder, point)
    index = validate_run(run, info.runs)
    month_number = None if month is None else validate_month(month, info.start, info.months)
    code = None if agent is None else validate_agent(agent, info.agents)

    def trace_of(runs: Iterable[int]) -> Trace:
        return Trace(
            runs=runs,
            months=None if month_number is None else [month_number],
            agents=None if code is None else [code],
        )

    if info.is_sweep:
        number = validate_point(point, len(info.points or ()))
        plan = point_plan(info, number)
        found = next(replay_point_runs(plan, info.months, np.array([index]), trace_of), None)
        if found is None:
            raise ExplainInputError(
                "RUN_DIR",
                f"{folder}: no chunk of the sweep's design holds point {number} run {index}",
            )
        _, replayed, frame = found
        recorded = _point_events(folder, number)
    else:
        number = None
        trace = trace_of([index])
        replayed = replay(info, replay_chunk(info, index), trace)
        frame = trace.frame()
        recorded = _folder_events(folder)
    _check_replay(replayed, recorded, [index])
    return ExplainResult(
        info=info,
        run=index,
        month=month_number,
        agent=code,
        trace=frame,
        decisions=list(explain_decisions(frame, index, month_number, code)),
        events=replayed[replayed["run"] == index].reset_index(drop=True),
        checked=recorded is not None,
        point=number,
    )


@dataclass(frozen=True)
class EventExplanation:
    """An event's attribution across the replayed runs of a folder."""

    info: FolderInfo
    event: Event
    runs: np.ndarray  # the runs replayed
    attribution: pd.DataFrame
    checked: bool
    point: int | None = None  # the design point of a sweep folder (None: a run folder)


def sample_runs(runs: int, sample: int | None, seed: int) -> np.ndarray:
    """The runs to replay: all of 0..runs-1, or a seeded random `sample` of them, sorted."""
    every = np.arange(runs)
    if sample is None or sample >= runs:
        return every
    if sample < 1:
        raise ExplainInputError("--sample", f"expected a number of runs >= 1, got {sample}")
    return np.sort(np.random.default_rng(seed).choice(every, size=sample, replace=False))


def explain_event(
    folder: str | os.PathLike[str],
    event: str,
    sample: int | None = DEFAULT_SAMPLE,
    seed: int | None = None,
    point: Any = None,
) -> EventExplanation:
    """Why `event` (ACTOR:ACTION[:TARGET]) happens in some runs of a folder and not in others.

    Replays the folder's runs (a seeded sample of `sample`; None: all), chunk by chunk, with the
    trace restricted to the actor; checks each replayed run against the folder's events; and
    returns `ensemble_attribution` of the traced decisions. `seed` (default the folder's) seeds
    the sample and the bootstrap. In a sweep folder `point` (required there) is the design point
    whose runs are replayed (only its rows of each chunk).
    """
    from batches.chunks import plan_chunks
    from simulation.trace import Trace

    info = replay_info(folder, point)
    number = None if point is None else validate_point(point, len(info.points or ()))
    parsed = parse_event(event, info.actors)
    if parsed.actor not in info.agents:
        raise ExplainInputError(
            "--event",
            f"{parsed.actor} decides nothing (a pole); expected one of the agents "
            f"{', '.join(info.agents)}",
        )
    if parsed.action == "attack":
        raise ExplainInputError("--event", "an attack is drawn, not chosen by utility")
    seed = info.seed if seed is None else int(seed)
    runs = sample_runs(info.runs, sample, seed)
    recorded = _point_events(folder, number)

    def trace_of(model_runs: Iterable[int]) -> Trace:
        return Trace(runs=model_runs, agents=[parsed.actor])

    frames = []
    if number is not None:
        plan = point_plan(info, number)
        for inside, replayed, frame in replay_point_runs(plan, info.months, runs, trace_of):
            _check_replay(replayed, recorded, inside)
            frames.append(frame)
    else:
        for chunk in plan_chunks(info.runs, info.seed, info.chunk_size):
            inside = runs[(runs >= chunk.offset) & (runs < chunk.offset + chunk.size)]
            if inside.size == 0:
                continue
            trace = trace_of(inside.tolist())
            replayed = replay(info, chunk, trace)
            _check_replay(replayed, recorded, inside)
            frames.append(trace.frame())
    frame = pd.concat(frames, ignore_index=True)
    attribution = ensemble_attribution(frame, parsed.actor, parsed.action, parsed.target, seed=seed)
    return EventExplanation(info, parsed, runs, attribution, recorded is not None, number)


def event_plot_path(folder: str | os.PathLike[str], event: Event, point: int | None = None) -> Path:
    """Where `explain --event` writes its plot: RUN_DIR/explain/<ACTOR-ACTION[-TARGET]>.png, or
    for a sweep folder's point P, SWEEP_DIR/explain/point-P/<ACTOR-ACTION[-TARGET]>.png."""
    base = Path(folder) / "explain"
    if point is not None:
        base = base / f"point-{point}"
    return base / f"{event.label.replace(':', '-')}.png"
