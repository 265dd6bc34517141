"""The decision-trace collector on synthetic arrays: which rows it keeps and what they hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulation.trace import (
    TRACE_COLUMNS,
    TRACE_DTYPES,
    Trace,
    conform_trace,
    empty_trace,
)

OPTIONS = ["none", "side_with", "side_with", "trade_deal"]
TARGETS = ["", "AZE", "ARM", "AZE"]


def synthetic(replications=6, k=4, seed=0):
    """Random terms (one broadcast from (K,)), their sum, some probabilities and choices."""
    rng = np.random.default_rng(seed)
    terms = {
        "affinity": rng.normal(size=(replications, k)),
        "trade": rng.normal(size=k),  # the same in every replication, as posture_trade
        "cost": -rng.random((replications, k)),
    }
    utilities = terms["affinity"] + terms["trade"][None, :] + terms["cost"]
    probabilities = rng.dirichlet(np.ones(k), size=replications)
    chosen = rng.integers(0, k, size=replications)
    return terms, utilities, probabilities, chosen


def record(trace, month=3, agent="BLR", **kwargs):
    terms, utilities, probabilities, chosen = synthetic()
    trace.record(
        "diplomacy",
        agent,
        month,
        OPTIONS,
        TARGETS,
        terms,
        utilities,
        probabilities,
        chosen,
        kwargs.pop("rationality", 2.0),
        kwargs.pop("runs_mask", None),
        **kwargs,
    )
    return terms, utilities, probabilities, chosen


def test_every_option_of_every_run_is_kept_once_per_term_with_its_values():
    trace = Trace()
    terms, utilities, probabilities, chosen = record(trace)
    frame = trace.frame()
    assert list(frame.columns) == list(TRACE_COLUMNS)
    assert len(frame) == len(trace) == 6 * 4 * 3
    for row in frame.itertuples(index=False):
        k = next(
            i
            for i, (o, t) in enumerate(zip(OPTIONS, TARGETS, strict=True))
            if (o, t) == (row.option, row.target)
        )
        value = np.broadcast_to(terms[row.term], (6, 4))[row.run, k]
        assert row.value == value
        assert row.utility == utilities[row.run, k]
        assert row.probability == probabilities[row.run, k]
        assert row.chosen == (chosen[row.run] == k)
        assert (row.month, row.agent, row.decision, row.rationality) == (3, "BLR", "diplomacy", 2.0)
    per_option = frame.groupby(["run", "option", "target"])["value"].sum()
    expected = {
        (r, o, t): utilities[r, k]
        for r in range(6)
        for k, (o, t) in enumerate(zip(OPTIONS, TARGETS, strict=True))
    }
    for key, total in per_option.items():
        assert total == pytest.approx(expected[key], abs=1e-12)


def test_the_trace_keeps_copies_of_the_arrays():
    trace = Trace()
    terms, utilities, probabilities, _ = record(trace)
    before = trace.frame()
    for array in (*terms.values(), utilities, probabilities):
        array += 1.0
    pd.testing.assert_frame_equal(trace.frame(), before)


def test_runs_are_global_indices_and_only_the_traced_ones_are_kept():
    trace = Trace(runs=[101, 104, 250])
    record(trace, run_offset=100)
    assert sorted(trace.frame()["run"].unique()) == [101, 104]


def test_runs_mask_and_open_mask_drop_runs_and_closed_options():
    trace = Trace()
    runs_mask = np.array([True, False, True, False, False, True])
    open_mask = np.ones((6, 4), dtype=bool)
    open_mask[0, 2] = False  # side_with->ARM closed in run 0
    open_mask[:, 3] = False  # trade_deal closed everywhere
    record(trace, runs_mask=runs_mask, open_mask=open_mask)
    frame = trace.frame()
    assert sorted(frame["run"].unique()) == [0, 2, 5]
    options = frame.drop_duplicates(["run", "option", "target"])
    assert len(options) == 2 + 3 + 3
    assert "trade_deal" not in set(frame["option"])
    run0 = options[options["run"] == 0]
    assert set(zip(run0["option"], run0["target"], strict=True)) == {
        ("none", ""),
        ("side_with", "AZE"),
    }


def test_months_and_agents_outside_the_selection_are_not_recorded():
    trace = Trace(months=[3], agents=["ARM"])
    assert trace.wants("ARM", 3)
    assert not trace.wants("BLR", 3)
    assert not trace.wants("ARM", 4)
    record(trace, month=3, agent="BLR")
    record(trace, month=4, agent="ARM")
    assert len(trace) == 0
    record(trace, month=3, agent="ARM")
    assert set(trace.frame()["agent"]) == {"ARM"}


def test_rationality_per_replication_is_kept_per_run():
    trace = Trace()
    lam = np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    record(trace, rationality=lam)
    by_run = trace.frame().groupby("run")["rationality"].unique()
    assert {run: values.tolist() for run, values in by_run.items()} == {
        r: [lam[r]] for r in range(6)
    }


def test_blocks_concatenate_in_recorded_order_with_the_trace_dtypes():
    trace = Trace()
    record(trace, month=1)
    record(trace, month=0, agent="ARM")
    frame = trace.frame()
    assert frame["month"].tolist()[:1] == [1] and frame["month"].tolist()[-1] == 0
    assert {name: frame[name].dtype for name in TRACE_COLUMNS} == TRACE_DTYPES


def test_an_empty_trace_has_the_columns_and_dtypes():
    frame = Trace().frame()
    assert frame.empty
    assert list(frame.columns) == list(TRACE_COLUMNS)
    assert {name: frame[name].dtype for name in TRACE_COLUMNS} == TRACE_DTYPES
    pd.testing.assert_frame_equal(frame, empty_trace())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "lunch"}, "decision must be one of"),
        ({"options": ["none", "x"]}, "4 options need 4"),
        ({"terms": {}}, "at least one term"),
        ({"utilities": np.zeros(4)}, "must be (R, K)"),
    ],
)
def test_bad_calls_are_refused(change, message):
    terms, utilities, probabilities, chosen = synthetic()
    call = {
        "decision": "diplomacy",
        "agent": "BLR",
        "month": 0,
        "options": OPTIONS,
        "targets": TARGETS,
        "terms": terms,
        "utilities": utilities,
        "probabilities": probabilities,
        "chosen": chosen,
        "rationality": 1.0,
    }
    call.update(change)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Trace().record(**call)


def test_conform_trace_names_missing_columns_and_casts():
    frame = empty_trace().drop(columns=["term"])
    with pytest.raises(ValueError, match=r"missing \['term'\]"):
        conform_trace(frame)
    trace = Trace()
    record(trace)
    loose = trace.frame().astype({"month": "int64", "agent": object})
    assert conform_trace(loose)["month"].dtype == TRACE_DTYPES["month"]
