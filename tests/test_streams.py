"""Random streams: every draw goes through CSTOModel.uniforms; counter-based streams give a row the
same numbers wherever it runs (common random numbers), and those numbers are uniform."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_records_equal
from scipy import stats

from simulation.model import CSTOModel
from simulation.record import RunRecord
from simulation.streams import counter_uniforms

MONTHS = 12
KEY = "agents.BLR.beta_loyalty"


def row(record: RunRecord, run: int) -> dict[str, np.ndarray]:
    """Everything `record` holds about replication `run` (events renumbered to run 0)."""
    mine = record.events["run"] == run
    events = {name: values[mine] for name, values in record.events.items() if name != "run"}
    return {
        **{f"metric {k}": v[run] for k, v in record.metrics.items()},
        **{f"agent {k}": v[run] for k, v in record.agents.items()},
        "relations": record.relations[run],
        **{f"event {k}": v for k, v in events.items()},
    }


def assert_rows_equal(first: RunRecord, a: int, second: RunRecord, b: int) -> None:
    left, right = row(first, a), row(second, b)
    for name in left:
        np.testing.assert_array_equal(left[name], right[name], err_msg=name)


def run(streams, values, seed: int = 5, scenario: str = "history-2022", months=None) -> RunRecord:
    streams = np.asarray(streams, dtype=np.int64)
    return CSTOModel(
        scenario,
        replications=len(streams),
        rng=123,
        months=months,
        streams=streams,
        stream_seed=seed,
        varying={KEY: np.asarray(values, dtype=float)},
    ).run()


def test_rows_with_the_same_stream_and_parameters_are_identical():
    record = run([0, 1, 2, 0, 1, 2], [1.0, 1.0, 1.0, 1.0, 1.0, 3.0])
    assert len(record.events["run"]) > 0
    assert_rows_equal(record, 0, record, 3)
    assert_rows_equal(record, 1, record, 4)
    # another stream is another trajectory
    assert not np.array_equal(record.agents["posture"][0], record.agents["posture"][1])


def test_another_rows_parameters_do_not_change_a_row():
    first = run([7, 8, 9, 10], [1.0, 1.0, 0.0, 0.0])
    second = run([7, 8, 9, 10], [1.0, 1.0, 5.0, 9.0])
    assert_rows_equal(first, 0, second, 0)
    assert_rows_equal(first, 1, second, 1)
    assert not np.array_equal(first.events["action"], second.events["action"])


def test_a_row_does_not_depend_on_its_chunk_or_position():
    """Stream 42 alone, or third among others, or in another model seed: the same trajectory."""
    alone = run([42], [2.0])
    among = run([3, 4, 42, 5], [0.5, 1.0, 2.0, 3.0])
    assert_rows_equal(alone, 0, among, 2)


def test_the_model_rng_is_not_used_by_counter_streams():
    one = CSTOModel("baseline", replications=3, rng=1, months=MONTHS, streams=np.arange(3))
    two = CSTOModel("baseline", replications=3, rng=2, months=MONTHS, streams=np.arange(3))
    assert_records_equal(one.run(), two.run())
    other_seed = CSTOModel(
        "baseline", replications=3, rng=1, months=MONTHS, streams=np.arange(3), stream_seed=9
    )
    assert not np.array_equal(other_seed.run().agents["posture"], one.to_record().agents["posture"])


def test_default_mode_draws_from_the_model_rng():
    model = CSTOModel("baseline", replications=4, rng=77)
    expected = np.random.default_rng(77)  # mesa seeds model.rng from the integer
    assert model.streams is None
    np.testing.assert_array_equal(model.uniforms(123), expected.random(4))


def test_bad_stream_ids_are_refused():
    with pytest.raises(ValueError, match="streams"):
        CSTOModel("baseline", replications=3, streams=np.arange(2))
    with pytest.raises(ValueError, match="streams"):
        CSTOModel("baseline", replications=3, streams=np.array([0.5, 1.0, 2.0]))


def test_counter_uniforms_are_uniform_and_pure():
    streams = np.arange(100_000, dtype=np.int64)
    draws = counter_uniforms(2022, streams, 3, 65_793)
    assert draws.min() >= 0.0 and draws.max() < 1.0
    assert stats.kstest(draws, "uniform").pvalue > 1e-3
    np.testing.assert_array_equal(draws, counter_uniforms(2022, streams, 3, 65_793))
    # neighbouring months, sites and seeds give unrelated numbers
    for other in (
        counter_uniforms(2022, streams, 4, 65_793),
        counter_uniforms(2022, streams, 3, 65_794),
        counter_uniforms(2023, streams, 3, 65_793),
    ):
        assert abs(np.corrcoef(draws, other)[0, 1]) < 0.02
        assert stats.kstest(other, "uniform").pvalue > 1e-3
    # a row's number does not depend on the other rows
    np.testing.assert_array_equal(counter_uniforms(2022, streams[5:9], 3, 65_793), draws[5:9])
