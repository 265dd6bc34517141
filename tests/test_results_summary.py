"""Tests of results.summary: per-month quantiles over runs and event frequencies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from results.summary import event_frequencies, summary_table
from results.synthetic import synthetic_record
from results.tables import events_table, metrics_table
from simulation.record import METRIC_NAMES

RUNS, MONTHS = 7, 3


@pytest.fixture
def metrics() -> pd.DataFrame:
    return metrics_table(synthetic_record(RUNS, MONTHS, start="2022-12", seed=3))


def test_one_row_per_month_and_metric_in_order(metrics: pd.DataFrame) -> None:
    summary = summary_table(metrics)
    assert list(summary.columns) == ["month", "date", "metric", "mean", "p05", "p50", "p95"]
    assert summary["metric"].tolist() == list(METRIC_NAMES) * MONTHS
    assert summary["month"].tolist() == [m for m in range(MONTHS) for _ in METRIC_NAMES]
    assert summary["date"].unique().tolist() == ["2022-12", "2023-01", "2023-02"]


def test_quantiles_equal_numpy(metrics: pd.DataFrame) -> None:
    summary = summary_table(metrics).set_index(["month", "metric"])
    for month in range(MONTHS):
        for metric in METRIC_NAMES:
            values = metrics.loc[metrics["month"] == month, metric].to_numpy()
            row = summary.loc[(month, metric)]
            assert row["mean"] == pytest.approx(values.mean(), rel=1e-15)
            assert row["p05"] == np.quantile(values, 0.05)
            assert row["p50"] == np.quantile(values, 0.50)
            assert row["p95"] == np.quantile(values, 0.95)


def test_quantiles_on_known_numbers() -> None:
    rec = synthetic_record(5, 1, seed=0)
    rec.metrics["cohesion"][:, 0] = [0.0, 0.1, 0.2, 0.3, 1.0]
    row = summary_table(metrics_table(rec)).iloc[0]
    assert row["metric"] == "cohesion"
    assert row["mean"] == pytest.approx(0.32)
    assert row["p50"] == pytest.approx(0.2)
    assert row["p05"] == pytest.approx(0.02)  # linear: 0.05 * 4 = 0.2 of the way from 0 to 0.1
    assert row["p95"] == pytest.approx(0.86)  # 0.8 of the way from 0.3 to 1.0


def test_nan_values_are_ignored() -> None:
    rec = synthetic_record(4, 1, seed=0)
    rec.metrics["k_cred"][:, 0] = [np.nan, 0.2, 0.4, 0.6]
    rec.metrics["k_sim"][:, 0] = np.nan
    summary = summary_table(metrics_table(rec)).set_index("metric")
    assert summary.loc["k_cred", "mean"] == pytest.approx(0.4)
    assert summary.loc["k_cred", "p50"] == pytest.approx(0.4)
    assert np.isnan(summary.loc["k_sim", ["mean", "p05", "p50", "p95"]].astype(float)).all()


def test_points_are_summarised_separately() -> None:
    low = metrics_table(synthetic_record(4, 2, seed=1), point=0)
    high = metrics_table(synthetic_record(4, 2, seed=2), point=1)
    high[list(METRIC_NAMES)] += 10.0
    summary = summary_table(pd.concat([high, low], ignore_index=True))
    assert list(summary.columns)[0] == "point"
    assert summary["point"].tolist() == [0] * 10 + [1] * 10
    assert (summary.loc[summary["point"] == 0, "p95"] < 1).all()
    assert (summary.loc[summary["point"] == 1, "p05"] > 10).all()


def test_empty_metrics_give_an_empty_summary() -> None:
    summary = summary_table(metrics_table(synthetic_record(0, 3, events=0)))
    assert summary.empty
    assert list(summary.columns) == ["month", "date", "metric", "mean", "p05", "p50", "p95"]


def events_frame(rows: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    """An events table from (run, actor, action, target) rows, all in month 0."""
    rec = synthetic_record(1, 1, events=0)
    template = events_table(rec)
    df = pd.DataFrame(rows, columns=["run", "actor", "action", "target"])
    df["month"], df["date"], df["goldstein"] = 0, "2024-01", 1.0
    return df[list(template.columns)].astype(template.dtypes.to_dict())


def test_event_frequencies_on_a_hand_made_frame() -> None:
    events = events_frame(
        [
            (0, "ARM", "protest", "RUS"),
            (0, "ARM", "protest", "RUS"),
            (1, "ARM", "protest", "RUS"),
            (1, "BLR", "reassure", ""),
            (3, "ARM", "protest", "WEST"),
        ]
    )
    freq = event_frequencies(events, runs=4)
    assert list(freq.columns) == [
        "actor",
        "action",
        "target",
        "count",
        "runs_with",
        "share_of_runs",
    ]
    assert freq.values.tolist() == [
        ["ARM", "protest", "RUS", 3, 2, 0.5],
        ["ARM", "protest", "WEST", 1, 1, 0.25],
        ["BLR", "reassure", "", 1, 1, 0.25],
    ]


def test_event_frequencies_of_no_events_and_bad_runs() -> None:
    freq = event_frequencies(events_frame([]), runs=3)
    assert freq.empty
    assert "share_of_runs" in freq.columns
    with pytest.raises(ValueError, match="runs"):
        event_frequencies(events_frame([]), runs=0)
