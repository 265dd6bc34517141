"""The text reports the `csto` commands print: a finished run's summary, compare and history tables.

* `run_report`: the short summary after `csto run` or `csto sweep`: cohesion at the first and
  last month (per point for a sweep) and how often each of the `KEY_EVENTS` occurred.
* `format_compare`: the tables `csto compare` prints (cohesion differences, outcomes).
* `history_table`: the table `csto history` prints.

Functions return text; printing it is the caller's business. The command line imports this module
at start-up, so only the standard library is imported at the top: pandas and the result store are
imported by the functions that read tables.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

KEY_EVENTS: tuple[str, ...] = (
    "attack",
    "invoke_article4",
    "honour_article4",
    "partial_response",
    "refuse_article4",
    "visit_breakaway",
    "recognize_breakaway",
    "summon_ambassador",
    "recall_ambassador",
    "court_west",
    "refuse_declaration",
    "boycott_summit",
    "freeze_participation",
    "exit_alliance",
)
"""Actions summarised after a run: how many runs saw one, and how many per run."""


# --- after a run or sweep ----------------------------------------------------------------------


def read_summary(folder: Path) -> pd.DataFrame:
    """The summary table (metric quantiles per month) of a finished run or sweep folder."""
    from results.store import read_table

    return read_table(folder, "summary")


def cohesion_lines(summary: pd.DataFrame) -> list[str]:
    """Cohesion at the first and last month: median and 5-95% band."""
    rows = summary[summary["metric"] == "cohesion"].sort_values("month")
    if rows.empty:
        return []
    picks = [rows.iloc[0]] if len(rows) == 1 else [rows.iloc[0], rows.iloc[-1]]
    lines = ["cohesion (median, 5-95% of runs):"]
    for row in picks:
        lines.append(
            f"  {row['date']} (month {int(row['month'])}): {row['p50']:.2f}  "
            f"[{row['p05']:.2f}, {row['p95']:.2f}]"
        )
    return lines


def event_rates(events: pd.DataFrame, runs: int) -> pd.DataFrame:
    """Per key action that occurred: share of runs with at least one, and mean count per run."""
    import pandas as pd

    events = events[events["action"].isin(KEY_EVENTS)]
    grouped = events.groupby("action", observed=True)["run"]
    table = pd.DataFrame({"count": grouped.size(), "runs_with": grouped.nunique()})
    table["share"] = table["runs_with"] / runs
    table["mean"] = table["count"] / runs
    order = {name: i for i, name in enumerate(KEY_EVENTS)}
    table["order"] = [order[name] for name in table.index]
    return table.sort_values(["share", "order"], ascending=[False, True]).drop(columns="order")


def event_lines(events: pd.DataFrame, runs: int) -> list[str]:
    """Key events, most common first: share of runs with at least one, and mean per run."""
    rates = event_rates(events, runs)
    if rates.empty:
        return ["key events: none occurred"]
    width = max(len(str(name)) for name in rates.index)
    lines = ["key events (share of runs with at least one, mean per run):"]
    for name, row in rates.iterrows():
        lines.append(f"  {name:<{width}}  {row['share']:6.1%}  {row['mean']:6.2f}")
    return lines


def key_events(folder: Path) -> pd.DataFrame:
    """The key events of a run folder (`run`, `action`), read part by part.

    In a sweep folder, `run` is made unique across points. The events table of a large batch
    does not fit in memory; its key events do.
    """

    from results.compare import read_filtered

    events = read_filtered(
        folder, "events", ["run", "action"], lambda part: part["action"].isin(KEY_EVENTS)
    )
    if "point" in events.columns:
        events = events.assign(run=events["point"].astype("int64") * 2**32 + events["run"])
    return events


def sweep_cohesion_lines(summary: pd.DataFrame) -> list[str]:
    """Cohesion at the last month per sweep point (median and 5-95%)."""
    rows = summary[summary["metric"] == "cohesion"]
    last = rows[rows["month"] == rows["month"].max()]
    if last.empty:
        return []
    lines = [f"cohesion in {last['date'].iloc[0]} by point (median, 5-95% of runs):"]
    for row in last.itertuples():
        lines.append(f"  point {row.point}: {row.p50:.2f}  [{row.p05:.2f}, {row.p95:.2f}]")
    return lines


def report_warnings(folder: Path) -> list[str]:
    """Warning lines for what `run_report` leaves out: the key events, without an events table."""
    from results.layout import has_table, missing_table_note

    if has_table(folder, "events"):
        return []
    return [missing_table_note(folder, "events", "the key events of the report")]


def run_report(folder: Path, runs: int, seconds: float, plots: bool) -> str:
    """The short summary printed after a run or sweep (key events only if events were written)."""
    from results.layout import has_table

    summary = read_summary(folder)
    lines = [f"run folder: {folder}  ({seconds:.1f} s)"]
    if "point" in summary.columns:
        lines += sweep_cohesion_lines(summary)
    else:
        lines += cohesion_lines(summary)
    if has_table(folder, "events"):
        lines += event_lines(key_events(folder), runs)
    if plots:
        lines.append(f"plots: {folder / 'plots'}")
    return "\n".join(lines)


# --- csto compare ------------------------------------------------------------------------------


def format_compare(table: pd.DataFrame, outcomes: pd.DataFrame, kind: str, dates: list[str]) -> str:
    """The printed tables: each metric's mean and difference with its CI, the range of the
    runs' own differences and, for batches nested in posterior draws, of the draws' mean
    differences; the outcomes."""
    nested = bool(table["draws_low"].notna().any())
    draws_header = "  90% of draws" if nested else ""
    lines = [
        f"{kind:<28} {'metric':<9} {'date':>7} {'mean':>7} {'diff':>8}  95% CI{'':<10}  "
        f"90% of runs{'':<6}{draws_header}"
    ]
    for row in table[table["metric"] == "cohesion"].itertuples(index=False):
        group = str(getattr(row, kind))[:28]
        draws = f"  [{row.draws_low:+.3f}, {row.draws_high:+.3f}]" if nested else ""
        lines.append(
            f"{group:<28} {row.metric:<9} {dates[row.month]:>7} {row.mean:7.3f} {row.diff:+8.3f}  "
            f"[{row.ci_low:+.3f}, {row.ci_high:+.3f}]  [{row.runs_low:+.3f}, {row.runs_high:+.3f}]"
            f"{draws}"
        )
    lines.append("")
    lines.append(f"{kind:<28} {'outcome':<28} {'prob.':>6}  95% CI")
    for row in outcomes.itertuples(index=False):
        group = str(getattr(row, kind))[:28]
        lines.append(
            f"{group:<28} {row.outcome:<28} {row.probability:6.3f}  "
            f"[{row.ci_low:.3f}, {row.ci_high:.3f}]"
        )
    return "\n".join(lines)


# --- csto history ------------------------------------------------------------------------------


def _marks() -> tuple[str, str]:
    """✓/✗ when stdout can encode them, else yes/no."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "yes", "no"
    return "✓", "✗"


def history_table(rows: list[dict[str, Any]]) -> str:
    """The history check as an aligned table, then how many events were reproduced."""
    yes, no = _marks()
    header = ("event", "window", "probability", "target", "met")
    cells = [
        (
            str(row["event"]),
            str(row["window"]),
            f"{float(row['probability']):.3f}",
            str(row.get("target", "")),
            yes if row.get("met") else no,
        )
        for row in rows
    ]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    right = {2}  # numbers right-aligned

    def line(row: tuple[str, ...]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    met = sum(1 for row in rows if row.get("met"))
    lines = [line(header), "  ".join("-" * w for w in widths)]
    lines += [line(row) for row in cells]
    lines.append(f"{met} of {len(rows)} events reproduced")
    return "\n".join(lines)
