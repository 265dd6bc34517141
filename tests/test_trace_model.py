"""The model's decision trace: the terms of every decision kind sum to its utilities, the
probabilities are the logit of lambda x utility, and a traced run is the same run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agents.incentives import action_utilities
from agents.terms import action_terms
from batches.explain import check_trace
from results.tables import events_table
from simulation.model import CSTOModel
from simulation.trace import Trace

REPLICATIONS = 150
SEED = 20221211
EVERY_KIND = {
    "posture",
    "diplomacy",
    "summit",
    "article4_request",
    "article4_response",
    "freeze_participation",
    "exit_alliance",
}


@pytest.fixture(scope="module")
def traced():
    """history-2022 with every decision traced, and the same run untraced."""
    trace = Trace()
    plain = CSTOModel("history-2022", replications=REPLICATIONS, rng=SEED).run()
    record = CSTOModel("history-2022", replications=REPLICATIONS, rng=SEED, trace=trace).run()
    return trace.frame(), plain, record


def test_every_decision_kind_of_history_2022_is_traced_and_its_arithmetic_holds(traced):
    frame, _, _ = traced
    kinds = set(frame["decision"].unique())
    assert kinds >= EVERY_KIND
    for kind in sorted(kinds):
        rows = frame[frame["decision"] == kind]
        violations = check_trace(rows, atol=1e-9, rtol=1e-9)
        assert violations.empty, (kind, violations.head())


def test_the_terms_are_named_by_decision_kind(traced):
    frame, _, _ = traced
    terms = frame.groupby("decision", observed=True)["term"].unique()
    posture = {"affinity", "trade", "security", "legitimacy", "loyalty", "cost"}
    actions = posture | {"stakes", "fatigue", "deterrence"}
    assert set(terms["posture"]) == posture
    assert set(terms["diplomacy"]) == actions
    assert set(terms["article4_request"]) == actions | {"help"}
    assert set(terms["article4_response"]) == actions | {"abandonment", "entrapment"}


def test_a_traced_run_is_the_same_run(traced):
    _, plain, record = traced
    pd.testing.assert_frame_equal(events_table(plain), events_table(record))
    for name, values in plain.metrics.items():
        np.testing.assert_array_equal(values, record.metrics[name])
    for name, values in plain.agents.items():
        np.testing.assert_array_equal(values, record.agents[name])


def test_the_chosen_options_are_the_events(traced):
    """Every diplomatic event of the run is the chosen option of a traced decision."""
    frame, _, record = traced
    events = events_table(record)
    chosen = frame[frame["chosen"] & (frame["decision"] == "diplomacy")]
    chosen = chosen.drop_duplicates(["run", "month", "agent", "decision"])
    taken = chosen[chosen["option"] != "none"]
    keys = set(zip(taken["run"], taken["month"], taken["agent"], taken["option"], strict=True))
    diplomatic = events[events["action"].isin(set(taken["option"]))]
    for row in diplomatic.itertuples():
        assert (row.run, row.month, row.actor, row.action) in keys


def test_the_trace_keeps_only_the_selected_runs_months_and_agents():
    trace = Trace(runs=[3, 7], months=[2], agents=["BLR"])
    CSTOModel("history-2022", replications=10, rng=1, run_offset=0, trace=trace).run()
    frame = trace.frame()
    assert set(frame["run"]) <= {3, 7} and set(frame["month"]) == {2}
    assert set(frame["agent"]) == {"BLR"}
    assert len(frame) > 0


def test_run_offset_numbers_the_traced_runs_globally():
    trace = Trace(runs=[102], agents=["GEO"], months=[0])
    CSTOModel("history-2022", replications=5, rng=1, run_offset=100, trace=trace).run()
    assert set(trace.frame()["run"]) == {102}


@pytest.mark.parametrize("varying", [None, {"actions.side_with.goldstein": np.linspace(2, 6, 8)}])
def test_action_terms_sum_to_action_utilities(varying):
    """The split of the fused product, for every agent's menus after a few months, with shared
    and with per-replication menu numbers."""
    extra = {} if varying is None else {"varying": varying}
    model = CSTOModel("history-2022", replications=8, rng=3, **extra)
    for _ in range(4):
        model.step()
    for country in model.countries:
        menus = [country.diplomacy_menu, country.summit_menu, country.request_menu]
        menus += list(country.membership_menus.values())
        for menu in menus:
            utilities = action_utilities(
                model.params, model.state, country.index, menu, model.reaction
            )
            terms = action_terms(model.params, model.state, country.index, menu, model.reaction)
            assert all(value.shape == utilities.shape for value in terms.values())
            np.testing.assert_allclose(sum(terms.values()), utilities, rtol=1e-12, atol=1e-12)


def test_a_rejoin_decision_is_traced_for_the_eligible_runs_only():
    """history-2022 rarely has a frozen member aligned with Moscow: make some, and review."""
    from simulation.record import Status

    trace = Trace()
    model = CSTOModel("history-2022", replications=20, rng=1, trace=trace)
    for _ in range(3):
        model.step()
    armenia = next(country for country in model.countries if country.code == "ARM")
    model.state.status[:8, armenia.index] = Status.frozen
    model.state.posture[:8, armenia.index] = 1
    armenia.review_membership()
    rows = trace.frame()
    rows = rows[(rows["decision"] == "rejoin") & (rows["month"] == model.month)]
    assert set(rows["run"]) == set(range(8))
    assert set(rows["option"]) == {"none", "rejoin"}
    assert check_trace(rows).empty
