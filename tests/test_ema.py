"""The EMA Workbench client end to end: perform_experiments on a few small experiments, PRIM on
the result, and the batch evaluator giving the same outcomes as the sequential one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ema_workbench = pytest.importorskip("ema_workbench")

from ema_workbench import perform_experiments  # noqa: E402
from ema_workbench.analysis import prim  # noqa: E402

from batches.ema import (  # noqa: E402
    BatchEvaluator,
    ema_model,
    key_of,
    outcome_identifier,
    uncertainty_name,
)
from simulation.free_parameters import load_free_parameters, select_parameters  # noqa: E402

PARAMS = select_parameters(
    load_free_parameters(),
    ["agents.BLR.beta_loyalty", "agents.ARM.beta_legitimacy", "aggression.ceiling"],
)


def small_model():
    return ema_model("baseline", runs=4, months=3, params=PARAMS, seed=5)


def test_names_round_trip():
    assert uncertainty_name("agents.BLR.beta_loyalty") == "agents__BLR__beta_loyalty"
    assert key_of("agents__BLR__beta_loyalty") == "agents.BLR.beta_loyalty"
    assert outcome_identifier("cohesion@2022-02") == "cohesion_2022_02"
    assert outcome_identifier("rate.BLR.signal_loyalty") == "rate_BLR_signal_loyalty"


def test_model_declares_the_free_parameters_and_outcomes():
    model = ema_model("history-2022", runs=4)
    assert len(model.uncertainties) == len(load_free_parameters())
    names = [u.name for u in model.uncertainties]
    assert "agents__BLR__beta_loyalty" in names and "propensity__BLR__AZE" in names
    outcomes = [o.name for o in model.outcomes]
    assert outcomes[:2] == ["cohesion", "k_align"]
    assert "article4_honoured_by_russia" in outcomes and "rate_BLR_signal_loyalty" in outcomes
    loyalty = model.uncertainties["agents__BLR__beta_loyalty"]
    assert loyalty.lower_bound == pytest.approx(0.42) and loyalty.upper_bound == pytest.approx(3.75)


def test_perform_experiments_and_prim_end_to_end():
    model = small_model()
    experiments, outcomes = perform_experiments(model, 4, uncertainty_sampling_kwargs={"rng": 7})
    assert len(experiments) == 4
    for param in PARAMS:
        column = experiments[uncertainty_name(param.key)]
        assert column.between(param.low, param.high).all()
    cohesion = outcomes["cohesion"]
    assert cohesion.shape == (4,) and np.all((cohesion > 0) & (cohesion <= 1))
    assert np.all(outcomes["armenia_frozen_or_exited"] >= 0)
    # the same experiments again give the same outcomes (one seed for every experiment)
    again, repeated = perform_experiments(model, 4, uncertainty_sampling_kwargs={"rng": 7})
    x = experiments[[uncertainty_name(p.key) for p in PARAMS]]
    pd.testing.assert_frame_equal(x, again[x.columns])
    np.testing.assert_array_equal(cohesion, repeated["cohesion"])
    y = cohesion <= np.median(cohesion)
    analysis = prim.Prim(x, y, mass_min=0.25)
    box = analysis.find_box()
    assert box.peeling_trajectory["coverage"].iloc[0] == pytest.approx(1.0)
    trajectory = box.peeling_trajectory
    assert trajectory["mass"].iloc[-1] >= 0.25
    assert trajectory["density"].iloc[-1] >= trajectory["density"].iloc[0]


def test_batch_evaluator_matches_the_sequential_one():
    model = small_model()
    _, sequential = perform_experiments(model, 3, uncertainty_sampling_kwargs={"rng": 3})
    with BatchEvaluator(model) as evaluator:
        _, batched = evaluator.perform_experiments(3, uncertainty_sampling_kwargs={"rng": 3})
    for name in ("cohesion", "k_cred", "rate_BLR_signal_loyalty"):
        np.testing.assert_array_equal(sequential[name], batched[name])


def test_a_replacement_simulate_function_is_called_per_point():
    seen = []

    def fake(scenario, values, *, runs, months, seed, outcome_months):
        seen.append((dict(values), runs, months, seed))
        total = values["aggression.ceiling"]
        return {name: total for name in model_outcomes}

    model = ema_model("baseline", runs=2, months=3, params=PARAMS, simulate=fake, seed=9)
    model_outcomes = model.function.outcomes
    experiments, outcomes = perform_experiments(model, 2, uncertainty_sampling_kwargs={"rng": 1})
    assert [s[1:] for s in seen] == [(2, 3, 9), (2, 3, 9)]
    np.testing.assert_allclose(outcomes["cohesion"], experiments["aggression__ceiling"])


def test_the_batch_evaluator_runs_every_experiment_in_one_design(monkeypatch):
    import batches.design

    calls = []
    original = batches.design.design_tables

    def counting(design, **options):
        calls.append(design.size)
        return original(design, **options)

    monkeypatch.setattr(batches.design, "design_tables", counting)
    model = small_model()
    with BatchEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(
            5, uncertainty_sampling_kwargs={"rng": 4}
        )
    assert calls == [5] and len(outcomes["cohesion"]) == 5
