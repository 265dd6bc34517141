"""The text `csto explain` prints: decisions as small tables with the term that decided them.

* `format_decision`: one decision, its options with their terms, utility and logit probability
  (P(k) = exp(lambda U_k) / sum exp(lambda U_k'), McKelvey & Palfrey 1995), the chosen option
  marked, and one line naming the deciding term and the margin it would have taken to tip it;
* `format_run`: the decisions of a run (or of one month or agent of it), one table each;
* `format_attribution`: an event's terms across the ensemble, where it happened and where not;
* `trace_to_records` and `records_text`: the trace for `--format csv|json`.

A decision table (options as rows; columns option, target, the terms, utility, probability,
chosen; `attrs` with run, month, agent, decision, rationality and terms) and what decided it (an
object with term, contribution, margin, runner_up, tip, chosen, probability) are computed by the
caller; functions here only lay them out and return text.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from typing import Any, Protocol

import pandas as pd

from simulation.calendar import month_label
from simulation.trace import TRACE_COLUMNS

RECORD_COLUMNS: tuple[str, ...] = tuple(c for c in TRACE_COLUMNS if c != "rationality")
"""The columns of `--format csv|json` (the trace without lambda, which `format_run` prints)."""

RECORD_FORMATS: tuple[str, ...] = ("csv", "json")
CHOSEN_MARK = "*"
_NON_TERMS = ("option", "target", "utility", "probability", "chosen")


class Deciding(Protocol):
    """What decided a choice (see the module docstring)."""

    term: str | None
    contribution: float
    margin: float
    runner_up: str | None
    tip: float
    chosen: str
    probability: float


class Explained(Protocol):
    """One decision with its table and what decided it."""

    table: pd.DataFrame
    deciding: Deciding


def _month_text(month: int, start: str | None) -> str:
    return month_label(start, month) if start else f"month {month}"


def _signed(value: float) -> str:
    """ "+1.23"; a value that rounds to zero prints "+0.00", never "-0.00"."""
    return f"{round(value, 2) + 0.0:+.2f}"


def decision_heading(table: pd.DataFrame, start: str | None = None) -> str:
    """ "run 17, 2022-03, BLR, diplomacy (lambda 2.00)" from the table's attrs."""
    attrs = table.attrs
    parts = []
    if "run" in attrs:
        parts.append(f"run {attrs['run']}")
    if "month" in attrs:
        parts.append(_month_text(int(attrs["month"]), start))
    parts += [str(attrs[key]) for key in ("agent", "decision") if key in attrs]
    heading = ", ".join(parts) or "decision"
    if "rationality" in attrs:
        heading += f" (lambda {float(attrs['rationality']):.2f})"
    return heading


def _terms(table: pd.DataFrame) -> list[str]:
    if "terms" in table.attrs:
        return list(table.attrs["terms"])
    return [column for column in table.columns if column not in _NON_TERMS]


def decided_line(deciding: Deciding) -> str:
    """The one line saying which term decided the choice and what it would have taken to tip it."""
    if deciding.runner_up is None or not math.isfinite(deciding.margin):
        return f"{deciding.chosen} was the only open option"
    if deciding.margin < 0:
        return (
            f"chosen against the odds (probability {deciding.probability:.3f}): "
            f"{deciding.runner_up} was better by {-deciding.margin:.2f}, mostly for "
            f"{deciding.term} ({deciding.contribution:+.2f}); it would have taken a change of "
            f"{deciding.tip:.2f} in utility to make {deciding.chosen} the best"
        )
    return (
        f"decided by {deciding.term} ({deciding.contribution:+.2f} of a margin of "
        f"{deciding.margin:.2f} over {deciding.runner_up}); it would have taken a change of "
        f"{deciding.tip:.2f} in utility to tip it"
    )


def format_decision(table: pd.DataFrame, deciding: Deciding, start: str | None = None) -> str:
    """One decision as a fixed-width table, the chosen option marked `*`, then what decided it.

    `start` (the scenario's first month, YYYY-MM) prints months as dates.
    """
    terms = _terms(table)
    labels = [str(label) for label in table.index]
    numbers = table[[*terms, "utility"]].to_numpy(dtype=float)
    cells = [[_signed(value) for value in row] for row in numbers.tolist()]
    probabilities = [f"{p:.3f}" for p in table["probability"].to_numpy(dtype=float).tolist()]
    header = ["option", *terms, "utility", "prob."]
    label_width = max(len(header[0]), *(len(label) for label in labels))
    widths = [
        max(len(name), *(len(row[i]) for row in cells)) for i, name in enumerate(header[1:-1])
    ]
    widths.append(max(len(header[-1]), *(len(p) for p in probabilities)))

    def line(mark: str, label: str, values: list[str]) -> str:
        numbers = "  ".join(v.rjust(w) for v, w in zip(values, widths, strict=True))
        return f"{mark} {label.ljust(label_width)}  {numbers}".rstrip()

    lines = [decision_heading(table, start), line(" ", header[0], header[1:])]
    chosen_rows = table["chosen"].to_numpy(dtype=bool).tolist()
    for label, row, chosen, probability in zip(
        labels, cells, chosen_rows, probabilities, strict=True
    ):
        lines.append(line(CHOSEN_MARK if chosen else " ", label, [*row, probability]))
    lines.append(decided_line(deciding))
    return "\n".join(lines)


def format_run(decisions: Iterable[Explained], start: str | None = None) -> str:
    """The decisions of a selection (a run, a month, an agent), one table each, blank-separated.

    `decisions` come in the order to print (by month, as recorded); each has `table` and
    `deciding`.
    """
    blocks = [format_decision(item.table, item.deciding, start) for item in decisions]
    if not blocks:
        return "no decision recorded for this selection"
    legend = f"{CHOSEN_MARK} marks the chosen option; prob. is its logit probability"
    return "\n\n".join([legend, *blocks])


def _interval(row: Any) -> str:
    if row is None or pd.isna(row.mean):
        return "-"
    return f"{row.mean:+.2f} [{row.ci_low:+.2f}, {row.ci_high:+.2f}]"


def format_attribution(frame: pd.DataFrame, event: str) -> str:
    """An event's terms across the ensemble (columns group, term, mean, ci_low, ci_high, runs).

    happened: mean contribution to the chosen option's margin over the best alternative (first
    time per run); not happened: mean contribution to U_event - U_chosen where it was open.
    """
    runs = frame.groupby("group")["runs"].first()
    happened, held = int(runs.get("happened", 0)), int(runs.get("not_happened", 0))
    lines = [
        f"{event}: happened in {happened} runs (the first time in each), open and not taken "
        f"in {held}"
    ]
    if happened == 0 and held == 0:
        lines.append("the event was never open to the actor in the traced runs")
        return "\n".join(lines)
    terms = list(dict.fromkeys(frame["term"]))
    by = {(row.group, row.term): row for row in frame.itertuples(index=False)}
    cells = [
        (term, _interval(by.get(("happened", term))), _interval(by.get(("not_happened", term))))
        for term in terms
    ]
    header = ("term", "happened: margin [95% CI]", "not happened: held back [95% CI]")
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(3)]
    for row in [header, *cells]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def trace_to_records(trace: pd.DataFrame) -> pd.DataFrame:
    """The trace as the rows `--format csv|json` writes: the columns of `RECORD_COLUMNS`."""
    missing = [column for column in RECORD_COLUMNS if column not in trace.columns]
    if missing:
        raise ValueError(f"a trace needs the columns {list(RECORD_COLUMNS)}; missing {missing}")
    records = trace.loc[:, list(RECORD_COLUMNS)].reset_index(drop=True)
    return records.astype({"run": "int64", "month": "int64", "chosen": "bool"})


def records_text(records: pd.DataFrame, fmt: str) -> str:
    """`records` as CSV (header row) or JSON (a list of objects, one per row)."""
    if fmt == "csv":
        buffer = io.StringIO()
        records.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()
    if fmt == "json":
        return records.to_json(orient="records", double_precision=15) + "\n"
    raise ValueError(f"format must be one of {RECORD_FORMATS}, got {fmt!r}")
