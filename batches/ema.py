"""The EMA Workbench client: csto as an `ema_workbench.Model` (exploratory modelling, PRIM).

    from ema_workbench import perform_experiments
    from batches.ema import ema_model
    experiments, outcomes = perform_experiments(ema_model("history-2022", runs=200), 100)

The model's uncertainties are the free parameters of scenarios/sensitivity/parameters.toml
(uniform ones as `RealParameter`, log-uniform ones as `RealParameter.from_dist` with
`scipy.stats.loguniform`), named by their dotted key with `__` for the dots
(`agents__BLR__beta_loyalty`); its outcomes are the columns of `batches.sensitivity.
point_outcomes` made identifiers (`cohesion@2024-12` -> `cohesion_2024_12`). One experiment is one
point: `runs` replications of the scenario with the point's values, reduced to its outcomes.

Every experiment is run from the same seed with common random numbers (run k of every experiment
draws the same numbers: differences between experiments come from their parameters, not from their
draws), so results do not depend on the evaluator or the order of the experiments.

The Workbench's evaluators run one experiment at a time (`ExperimentRunner.run_experiment` calls
the model's function once per experiment, here a one-point design). `BatchEvaluator` instead
receives the whole list of experiments (`BaseEvaluator.evaluate_experiments` is handed the
experiment generator) and hands it to `Simulation.batch` at once: the whole set of experiments
runs as one lock-step design batch (`batches.design`), experiments x runs replications in chunks
of 2,000, and gives the same outcomes as the sequential evaluator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats
from ema_workbench import Constant, Model, RealParameter, ScalarOutcome
from ema_workbench.em_framework.evaluators import BaseEvaluator
from ema_workbench.em_framework.points import Experiment

from batches.sensitivity import COUNT, DEFAULT_SEED, outcome_names, point_outcomes
from results.schema import POINT
from simulation.calendar import month_labels
from simulation.free_parameters import FreeParameter, check_free_parameters, load_free_parameters
from simulation.scenario import load_scenario
from simulation.schema import Scenario

SEED = "seed"
"""Name of the model's constant holding the seed of every experiment."""

Simulate = Callable[..., dict[str, float]]
"""simulate(scenario, values, *, runs, months, seed, outcome_months) -> outcome column -> value."""


def uncertainty_name(key: str) -> str:
    """agents.BLR.beta_loyalty -> agents__BLR__beta_loyalty (a Python identifier)."""
    return key.replace(".", "__")


def key_of(name: str) -> str:
    """agents__BLR__beta_loyalty -> agents.BLR.beta_loyalty."""
    return name.replace("__", ".")


def outcome_identifier(column: str) -> str:
    """An outcome column as an identifier: cohesion@2024-12 -> cohesion_2024_12,
    rate.BLR.signal_loyalty -> rate_BLR_signal_loyalty."""
    return re.sub(r"[^0-9A-Za-z_]", "_", column)


def uncertainties(params: Sequence[FreeParameter]) -> list[RealParameter]:
    """The free parameters as Workbench uncertainties (log-uniform: sampled in log space)."""
    result = []
    for param in params:
        name = uncertainty_name(param.key)
        if param.log:
            dist = scipy.stats.loguniform(param.low, param.high)
            result.append(RealParameter.from_dist(name, dist))
        else:
            result.append(RealParameter(name, param.low, param.high))
    return result


def simulate_points(
    scenario: Scenario,
    points: pd.DataFrame,
    *,
    runs: int,
    months: int,
    seed: int,
    outcome_months: Sequence[int | str] | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """The outcomes of many points at once, one row per row of `points` (dotted-key columns).

    All points run as one design batch (`batches.design`): `runs` replications each, side by
    side in lock-step chunks, with common random numbers (run k of every point draws the same
    numbers, from `seed`), so a point's outcomes depend on its values only, not on the other
    points of the batch. Reduced to one row per point by `point_outcomes`.
    """
    from batches.design import Design, design_tables

    frame = points.reset_index(drop=True).astype(float)
    frame.insert(0, POINT, np.arange(len(frame), dtype=np.int64))
    design = Design(scenario=scenario, points=frame, runs=runs, seed=seed, months=months)
    tables = design_tables(design, tables=("metrics", "events", "agents"), workers=workers)
    outcomes = point_outcomes(
        tables["metrics"],
        tables["events"],
        tables["agents"],
        months=outcome_months,
        runs_per_point=runs,
    )
    result = outcomes.drop(columns=[POINT, COUNT])
    result.index = points.index
    return result


def simulate_point(
    scenario: Scenario | str,
    values: dict[str, float],
    *,
    runs: int,
    months: int,
    seed: int,
    outcome_months: Sequence[int | str] | None = None,
) -> dict[str, float]:
    """The outcomes of one point: the one-point case of `simulate_points`."""
    resolved = load_scenario(scenario, months=months) if isinstance(scenario, str) else scenario
    frame = simulate_points(
        resolved,
        pd.DataFrame([values]),
        runs=runs,
        months=months,
        seed=seed,
        outcome_months=outcome_months,
    )
    return {name: float(value) for name, value in frame.iloc[0].items()}


@dataclass
class Simulation:
    """The callable the Workbench runs: keyword values (Workbench names) -> outcome identifiers.

    A module-level class (not a closure) so that the model pickles for process-pool evaluators.
    """

    scenario: Scenario
    runs: int
    months: int
    outcomes: list[str]
    names: dict[str, str]  # Workbench name -> dotted key
    simulate: Simulate = simulate_point
    outcome_months: Sequence[int | str] | None = None
    base_seed: int = DEFAULT_SEED

    def __call__(self, **kwargs: Any) -> dict[str, float]:
        values = {key: float(kwargs[name]) for name, key in self.names.items() if name in kwargs}
        seed = int(kwargs.get(SEED, self.base_seed))
        result = self.simulate(
            self.scenario,
            values,
            runs=self.runs,
            months=self.months,
            seed=seed,
            outcome_months=self.outcome_months,
        )
        return {outcome_identifier(c): result[c] for c in self.outcomes}

    def batch(self, points: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """The outcomes of many points at once: one row per row of `points` (dotted-key columns).

        With the default `simulate`, the whole set of points runs as one lock-step design batch
        (`simulate_points`); a replacement `simulate` is called once per point.
        """
        seed = self.base_seed if seed is None else seed
        if self.simulate is simulate_point:
            frame = simulate_points(
                self.scenario,
                points,
                runs=self.runs,
                months=self.months,
                seed=seed,
                outcome_months=self.outcome_months,
            )
            return pd.DataFrame(
                {outcome_identifier(c): frame[c] for c in self.outcomes}, index=points.index
            )
        rows = []
        for values in points.to_dict(orient="records"):
            result = self.simulate(
                self.scenario,
                {k: float(v) for k, v in values.items()},
                runs=self.runs,
                months=self.months,
                seed=seed,
                outcome_months=self.outcome_months,
            )
            rows.append({outcome_identifier(c): result[c] for c in self.outcomes})
        return pd.DataFrame(rows, index=points.index)


def ema_model(
    scenario: Scenario | str,
    *,
    runs: int = 100,
    months: int | None = None,
    simulate: Simulate | None = None,
    params: Sequence[FreeParameter] | None = None,
    seed: int = DEFAULT_SEED,
    outcome_months: Sequence[int | str] | None = None,
) -> Model:
    """`scenario` as an `ema_workbench.Model`.

    Uncertainties: `params` (default: the shipped free parameters, checked against the scenario);
    outcomes: `point_outcomes` at `outcome_months` (default: the last month); each experiment runs
    `runs` replications over `months` (default: the scenario's), from the constant `seed`.
    `simulate` replaces `simulate_point` (same signature).
    """
    resolved = load_scenario(scenario, months=months) if isinstance(scenario, str) else scenario
    horizon = months if months is not None else resolved.months
    params = list(params) if params is not None else load_free_parameters()
    check_free_parameters(params, resolved)
    columns = outcome_names(month_labels(resolved.start, horizon), outcome_months)
    function = Simulation(
        scenario=resolved,
        runs=runs,
        months=horizon,
        outcomes=columns,
        names={uncertainty_name(p.key): p.key for p in params},
        simulate=simulate or simulate_point,
        outcome_months=outcome_months,
        base_seed=seed,
    )
    model = Model(outcome_identifier(f"csto_{resolved.name or 'scenario'}"), function=function)
    model.uncertainties = uncertainties(params)
    model.outcomes = [ScalarOutcome(outcome_identifier(c)) for c in columns]
    model.constants = [Constant(SEED, seed)]
    return model


class BatchEvaluator(BaseEvaluator):
    """An evaluator that hands the model all its experiments at once (`Simulation.batch`).

    `BatchEvaluator(model).perform_experiments(n)` gives the same experiments and outcomes as the
    sequential evaluator, all experiments running as one lock-step design batch. Only models made
    by `ema_model` (a `Simulation` function) and no levers.
    """

    def initialize(self) -> None:
        """Nothing to set up: the batch runs in this process."""

    def finalize(self) -> None:
        """Nothing to tear down."""

    def evaluate_experiments(
        self, experiments: Iterable[Experiment], callback: Callable, **kwargs: Any
    ) -> None:
        experiments = list(experiments)
        for name in {e.model_name for e in experiments}:
            model = next(m for m in self._msis if m.name == name)
            function = model.function
            if not isinstance(function, Simulation):
                raise TypeError(f"model {name!r} was not made by ema_model")
            own = [e for e in experiments if e.model_name == name]
            points = pd.DataFrame(
                [{key: e.scenario[n] for n, key in function.names.items()} for e in own]
            )
            seed = {c.name: c.value for c in model.constants}.get(SEED)
            outcomes = function.batch(points, seed)
            for experiment, (_, row) in zip(own, outcomes.iterrows(), strict=True):
                callback(experiment, {o.name: float(row[o.name]) for o in model.outcomes})
