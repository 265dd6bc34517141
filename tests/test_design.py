"""Designs run as one batch: a design's tables are, point by point, those of one model per point
with the same values and random streams, whatever the chunk size, executor or workers."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from batches import executors
from batches.design import (
    Design,
    DesignError,
    design_record,
    design_tables,
    design_tasks,
    fixed_keys,
    iter_design,
)
from results.schema import sort_keys
from results.synthetic import synthetic_record
from results.tables import all_tables
from simulation.model import CSTOModel
from simulation.scenario import load_scenario
from simulation.varying import VaryingError

MONTHS = 10
SHOCK_MONTHS = 12  # west-offer-armenia's shocks run to 2022-12
RUNS = 5
SEED = 11
KEYS = ("agents.BLR.beta_loyalty", "dynamics.standing_decay")
TABLES = ("metrics", "events", "agents")


def _points(rows: list[tuple[float, ...]], keys=KEYS) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(keys))
    frame.insert(0, "point", np.arange(len(rows)))
    return frame


@pytest.fixture(scope="module")
def base():
    return load_scenario("baseline", months=MONTHS)


@pytest.fixture(scope="module")
def design(base):
    points = _points([(0.5, 0.01), (1.5, 0.05), (2.5, 0.1)])
    return Design(base, points, runs=RUNS, seed=SEED, months=MONTHS)


@pytest.fixture(scope="module")
def reference(design):
    return design_tables(design, chunk_size=4)


def _sorted(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    keys = sort_keys(name, with_point="point" in frame.columns)
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _of_point(tables: dict[str, pd.DataFrame], name: str, point: int) -> pd.DataFrame:
    frame = tables[name]
    return frame[frame["point"] == point].reset_index(drop=True)


def test_a_design_is_point_by_point_one_model_per_point(base, design, reference):
    for point in range(design.size):
        varying = {key: np.full(RUNS, design.values(key)[point]) for key in KEYS}
        model = CSTOModel(
            base,
            replications=RUNS,
            rng=99,
            months=MONTHS,
            varying=varying,
            streams=np.arange(RUNS),
            stream_seed=SEED,
        )
        single = all_tables(model.run(), point, TABLES)
        for name in TABLES:
            pd.testing.assert_frame_equal(
                _of_point(reference, name, point), _sorted(single[name], name)
            )
    low = _of_point(reference, "agents", 0).drop(columns="point")
    assert not low.equals(_of_point(reference, "agents", 2).drop(columns="point"))  # values act
    assert set(reference["metrics"]["run"]) == set(range(RUNS))
    assert len(reference["metrics"]) == design.size * RUNS * MONTHS


@pytest.mark.parametrize("chunk_size", [1, 7, 15, 2000])
def test_tables_do_not_depend_on_the_chunk_size(design, reference, chunk_size):
    tables = design_tables(design, chunk_size=chunk_size)
    for name in TABLES:
        pd.testing.assert_frame_equal(tables[name], reference[name])


def test_tables_do_not_depend_on_the_workers(design, reference, monkeypatch):
    monkeypatch.setattr(executors, "SERIAL_BELOW", 0)  # small as it is, use the process pool
    tables = design_tables(design, chunk_size=4, workers=2)
    for name in TABLES:
        pd.testing.assert_frame_equal(tables[name], reference[name])


def test_tables_do_not_depend_on_the_executor(design, reference):
    pytest.importorskip("distributed")
    tables = design_tables(design, chunk_size=4, workers=2, executor="dask")
    for name in TABLES:
        pd.testing.assert_frame_equal(tables[name], reference[name])


def test_chunks_cut_across_points_and_carry_their_rows(design):
    tasks = design_tasks(design, chunk_size=4)
    assert [t.part for t in tasks] == [0, 1, 2, 3]
    assert [t.chunk.size for t in tasks] == [4, 4, 4, 3]
    second = tasks[1]  # rows 4..7: point 0 run 4, point 1 runs 0..2
    assert second.point is None
    np.testing.assert_array_equal(second.point_ids, [0, 1, 1, 1])
    np.testing.assert_array_equal(second.run_ids, [4, 0, 1, 2])
    np.testing.assert_array_equal(second.streams, [4, 0, 1, 2])
    np.testing.assert_array_equal(second.varying[KEYS[0]], [0.5, 1.5, 1.5, 1.5])
    assert second.stream_seed == SEED
    copy = pickle.loads(pickle.dumps(second))
    np.testing.assert_array_equal(copy.streams, second.streams)
    record = design_record(design, chunk_size=4)
    assert record["rows_per_chunk"] == [4, 4, 4, 3] and record["fallback"] is None


def test_common_random_numbers_make_equal_points_equal(base):
    same = _points([(1.5, 0.05), (1.5, 0.05)])
    crn = design_tables(Design(base, same, runs=RUNS, seed=SEED, months=MONTHS))
    independent = design_tables(Design(base, same, runs=RUNS, seed=SEED, months=MONTHS, crn=False))
    for name in TABLES:
        first = _of_point(crn, name, 0).drop(columns="point")
        pd.testing.assert_frame_equal(first, _of_point(crn, name, 1).drop(columns="point"))
    first = _of_point(independent, "agents", 0).drop(columns="point")
    second = _of_point(independent, "agents", 1).drop(columns="point")
    assert not first.equals(second)
    without = design_tasks(Design(base, same, runs=RUNS, seed=SEED, months=MONTHS, crn=False))
    np.testing.assert_array_equal(without[0].streams, np.arange(2 * RUNS))


def test_a_structural_key_falls_back_to_one_model_per_point(base):
    points = _points(
        [(1.0, 4), (1.0, 9)], keys=("agents.BLR.beta_loyalty", "alliance.summit_month")
    )
    design = Design(base, points, runs=3, seed=SEED, months=MONTHS)
    assert fixed_keys(design) == ["alliance.summit_month"]
    tasks = design_tasks(design, chunk_size=2)
    assert [(t.part, t.point, t.chunk.size) for t in tasks] == [
        (0, 0, 2),
        (1, 0, 1),
        (2, 1, 2),
        (3, 1, 1),
    ]
    record = design_record(design, chunk_size=2)
    assert record["fallback"]["keys"] == ["alliance.summit_month"]
    assert record["rows_per_chunk"] == [2, 1, 2, 1]
    tables = design_tables(design, chunk_size=2)
    for point, month in enumerate((4, 9)):
        scenario = load_scenario(
            "baseline", {"agents.BLR.beta_loyalty": 1.0, "alliance.summit_month": month}, MONTHS
        )
        model = CSTOModel(
            scenario, replications=3, months=MONTHS, streams=np.arange(3), stream_seed=SEED
        )
        single = all_tables(model.run(), point, TABLES)
        for name in TABLES:
            pd.testing.assert_frame_equal(
                _of_point(tables, name, point), _sorted(single[name], name)
            )


def test_a_shock_that_sets_a_varied_key_acts_in_every_replication():
    scenario = load_scenario("west-offer-armenia", months=SHOCK_MONTHS)  # the offer: 2022-10
    key = "agents.ARM.pole_credibility"
    points = _points([(0.1,), (0.3,)], keys=(key,))
    tables = design_tables(Design(scenario, points, runs=RUNS, seed=SEED, months=SHOCK_MONTHS))
    for point, value in enumerate((0.1, 0.3)):
        model = CSTOModel(
            scenario,
            replications=RUNS,
            months=SHOCK_MONTHS,
            varying={key: np.full(RUNS, value)},
            streams=np.arange(RUNS),
            stream_seed=SEED,
        )
        single = all_tables(model.run(), point, TABLES)
        for name in TABLES:
            pd.testing.assert_frame_equal(
                _of_point(tables, name, point), _sorted(single[name], name)
            )


def test_iter_design_yields_records_that_name_their_points_and_runs(design):
    results = list(iter_design(design, chunk_size=6))
    assert [task.part for task, _ in results] == [0, 1, 2]
    task, record = results[1]
    np.testing.assert_array_equal(record.point_ids, [1, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(record.run_ids, [1, 2, 3, 4, 0, 1])


def test_a_record_with_point_and_run_ids_writes_them():
    record = synthetic_record(3, 2, events=6, seed=1)
    record.point_ids = np.array([4, 4, 5])
    record.run_ids = np.array([8, 9, 0])
    tables = all_tables(record)
    assert list(tables["metrics"]["point"]) == [4, 4, 4, 4, 5, 5]
    assert list(tables["metrics"]["run"]) == [8, 8, 9, 9, 0, 0]
    events = tables["events"]
    local = np.asarray(record.events["run"])
    assert list(events["point"]) == list(record.point_ids[local])
    assert list(events["run"]) == list(record.run_ids[local])
    relations = tables["relations"]
    assert relations.groupby("run")["point"].first().to_dict() == {0: 5, 8: 4, 9: 4}
    assert set(all_tables(record, point=2)["agents"]["point"]) == {2}  # an explicit point wins


def test_bad_designs_are_refused(base):
    with pytest.raises(DesignError, match="'point' column"):
        Design(base, pd.DataFrame({KEYS[0]: [1.0]}), runs=1, seed=1, months=1)
    with pytest.raises(DesignError, match="0..1 in order"):
        Design(base, pd.DataFrame({"point": [1, 0], KEYS[0]: [1.0, 2.0]}), 1, 1, 1)
    with pytest.raises(DesignError, match="runs: expected a positive integer"):
        Design(base, _points([(1.0, 0.1)]), runs=0, seed=1, months=1)
    out_of_range = Design(base, _points([(1.0, -0.5)]), runs=2, seed=1, months=MONTHS)
    with pytest.raises(VaryingError, match="dynamics.standing_decay"):
        design_tasks(out_of_range)
