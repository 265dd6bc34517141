"""Aggregates over runs: metric quantiles per month, and how often each kind of event occurs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from results.schema import POINT, conform, empty_table
from simulation.record import METRIC_NAMES

QUANTILES: dict[str, float] = {"p05": 0.05, "p50": 0.50, "p95": 0.95}
EVENT_KEYS: tuple[str, ...] = ("actor", "action", "target")


def _stats(values: np.ndarray) -> dict[str, float]:
    """Mean and quantiles of `values` ignoring NaN (numpy's default linear interpolation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN or empty: the result is NaN
        stats = {"mean": float(np.nanmean(values)) if values.size else np.nan}
        for column, q in QUANTILES.items():
            stats[column] = float(np.nanquantile(values, q)) if values.size else np.nan
    return stats


def _metric_rows(group: pd.DataFrame) -> list[dict[str, object]]:
    """The summary rows of one month (of one point): one per metric, in METRIC_NAMES order."""
    first = group.iloc[0]
    keys = {col: first[col] for col in (POINT, "month", "date") if col in group.columns}
    return [{**keys, "metric": m, **_stats(group[m].to_numpy(dtype=float))} for m in METRIC_NAMES]


def summary_table(metrics_df: pd.DataFrame) -> pd.DataFrame:
    """Per month × metric, the mean and 5th, 50th and 95th percentiles over runs.

    Columns: [point,] month, date, metric, mean, p05, p50, p95; rows ordered by [point,] month,
    then metric in the order cohesion, k_align, k_cred, k_part, k_sim. NaN values are ignored.
    """
    metrics_df = conform(metrics_df, "metrics")
    with_point = POINT in metrics_df.columns
    keys = [POINT, "month"] if with_point else ["month"]
    if metrics_df.empty:
        return empty_table("summary", with_point)
    rows = [row for _, group in metrics_df.groupby(keys, sort=True) for row in _metric_rows(group)]
    return conform(pd.DataFrame(rows), "summary")


def event_frequencies(events_df: pd.DataFrame, runs: int) -> pd.DataFrame:
    """How often each (actor, action, target) occurs, and in what share of the `runs` runs.

    Columns: [point,] actor, action, target, count, runs_with, share_of_runs, sorted by those
    keys. `runs_with` counts distinct runs with at least one such event; `share_of_runs` is
    runs_with / runs. With a `point` column, `runs` is the number of runs per point.
    """
    if runs <= 0:
        raise ValueError(f"runs must be positive, got {runs}")
    events_df = conform(events_df, "events")
    keys = [POINT, *EVENT_KEYS] if POINT in events_df.columns else list(EVENT_KEYS)
    grouped = events_df.groupby(keys, sort=True, observed=True)["run"]
    table = pd.DataFrame(
        {
            "count": grouped.size().astype(np.int64),
            "runs_with": grouped.nunique().astype(np.int64),
        }
    ).reset_index()
    table["share_of_runs"] = table["runs_with"] / float(runs)
    return table.astype({col: events_df[col].dtype for col in keys})
