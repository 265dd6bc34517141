"""Tests of results.tables: layout, values and dtypes of the tables built from a RunRecord."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import INTERFACE_COLUMNS
from hypothesis import given, settings
from hypothesis import strategies as st

from results.synthetic import synthetic_record
from results.tables import (
    agents_table,
    all_tables,
    code_labels,
    events_table,
    metrics_table,
    relations_table,
)
from simulation.record import METRIC_NAMES, STATUS_NAMES, RunRecord

R, T, N, A = 3, 4, 5, 7
OFFSET = 10

METRICS_COLUMNS = INTERFACE_COLUMNS["metrics"]
AGENTS_COLUMNS = INTERFACE_COLUMNS["agents"]
RELATIONS_COLUMNS = INTERFACE_COLUMNS["relations"]
EVENTS_COLUMNS = INTERFACE_COLUMNS["events"]


@pytest.fixture
def record() -> RunRecord:
    """3 runs × 4 months from 2023-11, run offset 10, with four hand-made events."""
    rec = synthetic_record(R, T, run_offset=OFFSET, start="2023-11", seed=7)
    rec.events = {
        "run": np.array([0, 0, 2, 1], dtype=np.int32),
        "month": np.array([1, 1, 3, 0], dtype=np.int16),
        "actor": np.array([0, 4, 1, 3], dtype=np.int16),  # BLR, GEO, RUS, ARM
        "action": np.array([2, 0, 1, 3], dtype=np.int16),
        "target": np.array([5, -1, 6, 1], dtype=np.int16),  # WEST, none, TUR, RUS
        "goldstein": np.array([-1.5, 0.25, 3.0, -7.0]),
    }
    return rec


def test_metrics_columns_rows_and_dtypes(record: RunRecord) -> None:
    df = metrics_table(record)
    assert list(df.columns) == METRICS_COLUMNS
    assert len(df) == R * T
    assert df["run"].dtype == np.int64
    assert df["month"].dtype in (np.int16, np.int32)
    assert all(df[m].dtype == np.float64 for m in METRIC_NAMES)
    assert df.index.equals(pd.RangeIndex(R * T))


def test_metrics_values_land_in_their_run_and_month(record: RunRecord) -> None:
    df = metrics_table(record).set_index(["run", "month"])
    for r in range(R):
        for t in range(T):
            row = df.loc[(OFFSET + r, t)]
            for metric in METRIC_NAMES:
                assert row[metric] == record.metrics[metric][r, t]


def test_dates_follow_the_start_month_across_the_year_end(record: RunRecord) -> None:
    df = metrics_table(record)
    assert df["date"].tolist()[:T] == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert (df.groupby("month")["date"].nunique() == 1).all()


def test_agents_rows_and_values(record: RunRecord) -> None:
    df = agents_table(record)
    assert list(df.columns) == AGENTS_COLUMNS
    assert len(df) == R * T * N
    assert df["posture"].dtype == np.int8
    assert set(df["status"]) <= set(STATUS_NAMES)
    indexed = df.set_index(["run", "month", "agent"])
    for i, code in enumerate(record.agent_codes):
        row = indexed.loc[(OFFSET + 2, 3, code)]
        assert row["posture"] == record.agents["posture"][2, 3, i]
        assert row["alignment"] == record.agents["alignment"][2, 3, i]
        assert row["threat"] == record.agents["threat"][2, 3, i]
        assert row["status"] == STATUS_NAMES[record.agents["status"][2, 3, i]]
        assert row["date"] == "2024-02"


def test_agents_status_names_match_codes(record: RunRecord) -> None:
    record.agents["status"][:] = 0
    record.agents["status"][1, 2, 3] = 2
    df = agents_table(record)
    exited = df[df["status"] == "exited"]
    assert exited[["run", "month", "agent"]].values.tolist() == [[OFFSET + 1, 2, "ARM"]]
    assert (df["status"] != "exited").sum() == R * T * N - 1


def test_relations_cover_ordered_pairs_without_the_diagonal(record: RunRecord) -> None:
    df = relations_table(record)
    assert list(df.columns) == RELATIONS_COLUMNS
    assert len(df) == R * T * A * (A - 1)
    assert df["relation"].dtype == np.float32
    assert not (df["source"] == df["target"]).any()
    pairs = df[(df["run"] == OFFSET) & (df["month"] == 0)][["source", "target"]]
    assert len(pairs.drop_duplicates()) == A * (A - 1)
    assert set(pairs["source"]) == set(record.actor_codes)


def test_relation_values_land_in_their_pair(record: RunRecord) -> None:
    df = relations_table(record).set_index(["run", "month", "source", "target"])
    codes = record.actor_codes
    for r, t, i, j in [(0, 0, 0, 1), (1, 2, 1, 0), (2, 3, 6, 5), (2, 1, 3, 4)]:
        assert (
            df.loc[(OFFSET + r, t, codes[i], codes[j]), "relation"] == record.relations[r, t, i, j]
        )


def test_events_rows_in_record_order(record: RunRecord) -> None:
    df = events_table(record)
    assert list(df.columns) == EVENTS_COLUMNS
    assert df["run"].tolist() == [OFFSET, OFFSET, OFFSET + 2, OFFSET + 1]
    assert df["month"].tolist() == [1, 1, 3, 0]
    assert df["date"].tolist() == ["2023-12", "2023-12", "2024-02", "2023-11"]
    assert df["actor"].tolist() == ["BLR", "GEO", "RUS", "ARM"]
    assert df["action"].tolist() == [record.action_names[k] for k in (2, 0, 1, 3)]
    assert df["target"].tolist() == ["WEST", "", "TUR", "RUS"]
    assert df["goldstein"].tolist() == [-1.5, 0.25, 3.0, -7.0]


@pytest.mark.parametrize("events", ["none", "zero-length"])
def test_empty_events_have_columns_and_dtypes(record: RunRecord, events: str) -> None:
    full = events_table(record)
    record.events = {} if events == "none" else {k: v[:0] for k, v in record.events.items()}
    df = events_table(record)
    assert len(df) == 0
    assert list(df.columns) == EVENTS_COLUMNS
    assert df.dtypes.equals(full.dtypes)


def test_point_column_comes_first_and_is_constant(record: RunRecord) -> None:
    for name, df in all_tables(record, point=4).items():
        plain = all_tables(record)[name]
        assert list(df.columns) == ["point", *plain.columns], name
        assert df["point"].dtype == np.int64
        assert (df["point"] == 4).all()
        pd.testing.assert_frame_equal(df.drop(columns="point"), plain)
    record.events = {}
    assert list(events_table(record, point=4).columns)[0] == "point"


def test_point_must_be_an_integer(record: RunRecord) -> None:
    with pytest.raises(TypeError):
        metrics_table(record, point=1.5)  # type: ignore[arg-type]


def test_wrong_shapes_and_codes_are_rejected(record: RunRecord) -> None:
    record.metrics["k_sim"] = record.metrics["k_sim"][:, :-1]
    with pytest.raises(ValueError, match="k_sim"):
        metrics_table(record)
    record.agents["status"][0, 0, 0] = 9
    with pytest.raises(ValueError, match="codes"):
        agents_table(record)
    record.events["target"][0] = -2
    with pytest.raises(ValueError, match="codes"):
        events_table(record)


def test_code_labels_maps_codes_to_names() -> None:
    labels = code_labels(np.array([2, 0, 2, 1]), ["a", "b", "c"])
    assert list(labels) == ["c", "a", "c", "b"]


@settings(max_examples=25, deadline=None)
@given(
    runs=st.integers(1, 4),
    months=st.integers(1, 14),
    offset=st.integers(0, 10_000),
)
def test_every_run_month_appears_once(runs: int, months: int, offset: int) -> None:
    rec = synthetic_record(runs, months, run_offset=offset, events=0)
    df = metrics_table(rec)
    expected = pd.MultiIndex.from_product([range(offset, offset + runs), range(months)])
    assert pd.MultiIndex.from_frame(df[["run", "month"]]).equals(expected)
    agents = agents_table(rec)
    assert len(agents.drop_duplicates(["run", "month", "agent"])) == runs * months * N
