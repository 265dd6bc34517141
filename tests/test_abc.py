"""ABC-SMC core (batches/abc.py) and the calibration folder, on toy batched simulators with
known posteriors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

pytest.importorskip("pyabc")

from batches.abc import (  # noqa: E402
    Prior,
    as_priors,
    calibrate,
    make_transition,
    pilot_scales,
)
from batches.calibration_folder import (  # noqa: E402
    calibrated_scenario_text,
    draw_posterior,
    posterior_sha256,
    posterior_summary,
    write_calibration_folder,
)
from batches.targets import load_targets  # noqa: E402
from simulation.scenario import ScenarioError, load_scenario  # noqa: E402

TRIALS = 20
SUCCESSES = {"p.one": 6, "p.two": 14}


def binomial_simulator(calls: list[int] | None = None):
    """Two independent binomial experiments of TRIALS trials: statistic = successes."""

    def simulate(thetas: pd.DataFrame, seed: int) -> pd.DataFrame:
        if calls is not None:
            calls.append(len(thetas))
        rng = np.random.default_rng(seed)
        return pd.DataFrame(
            {f"k.{key}": rng.binomial(TRIALS, thetas[key].to_numpy()) for key in SUCCESSES}
        )

    return simulate


OBSERVED = {f"k.{key}": float(k) for key, k in SUCCESSES.items()}
PRIORS = [("p.one", 0.0, 1.0, "uniform"), ("p.two", 0.0, 1.0)]


def weighted_cdf_distance(values: np.ndarray, weights: np.ndarray, cdf) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order] / weights.sum()
    empirical = np.cumsum(w)
    return float(np.max(np.abs(empirical - cdf(v))))


@pytest.fixture(scope="module")
def binomial_run(tmp_path_factory):
    calls: list[int] = []
    reports = []
    result = calibrate(
        PRIORS,
        OBSERVED,
        binomial_simulator(calls),
        population=100,
        generations=4,
        seed=11,
        db_path=tmp_path_factory.mktemp("abc") / "history.db",
        progress=reports.append,
    )
    return result, calls, reports


def test_recovers_the_beta_posterior(binomial_run):
    """A uniform prior and k successes in n trials: the posterior is Beta(k + 1, n - k + 1).
    ABC's posterior at epsilon > 0 is that one blurred by the tolerance: centred on it, a little
    wider, far narrower than the prior (sd 0.29)."""
    result, _, _ = binomial_run
    assert result.epsilons == sorted(result.epsilons, reverse=True)
    weights = result.posterior["weight"].to_numpy()
    for key, k in SUCCESSES.items():
        exact = stats.beta(k + 1, TRIALS - k + 1)
        values = result.posterior[key].to_numpy()
        mean = np.average(values, weights=weights)
        sd = np.sqrt(np.average((values - mean) ** 2, weights=weights))
        low, high = exact.ppf([0.05, 0.95])
        assert low < mean < high
        assert abs(mean - exact.mean()) < 0.05
        assert 0.8 * exact.std() < sd < 1.6 * exact.std()
        assert weighted_cdf_distance(values, weights, exact.cdf) < 0.2


def test_each_generation_reaches_the_simulator_in_one_batch(binomial_run):
    result, calls, _ = binomial_run
    per_generation = pd.Series([t for t, _ in result.batches]).value_counts()
    # the pilot, the calibration sample (t = -1), then each generation: mostly one call each
    assert len(calls) == 1 + len(result.batches)
    assert per_generation.loc[-1] == 1
    later = per_generation.drop(-1)
    assert later.max() <= 3 and (later == 1).sum() >= len(later) - 2
    assert sum(result.simulations) == sum(s for t, s in result.batches if t >= 0)


def test_progress_reports_every_generation(binomial_run):
    result, _, reports = binomial_run
    assert [r.generation for r in reports] == list(range(result.generations))
    assert [r.epsilon for r in reports] == result.epsilons
    totals = [r.total_simulations for r in reports]
    assert totals == list(np.cumsum(result.simulations))
    assert all(0 < r.acceptance_rate <= 1 for r in reports)
    assert all(b.elapsed >= a.elapsed for a, b in zip(reports, reports[1:], strict=False))


def test_same_seed_same_posterior_and_resume_equals_a_straight_run(tmp_path):
    kwargs = {"population": 40, "seed": 5}
    simulate = binomial_simulator()
    straight = calibrate(
        PRIORS, OBSERVED, simulate, generations=3, db_path=tmp_path / "a.db", **kwargs
    )
    again = calibrate(
        PRIORS, OBSERVED, simulate, generations=3, db_path=tmp_path / "b.db", **kwargs
    )
    pd.testing.assert_frame_equal(straight.posterior, again.posterior, check_exact=True)
    stopped = calibrate(
        PRIORS, OBSERVED, simulate, generations=1, db_path=tmp_path / "d.db", **kwargs
    )
    assert stopped.generations == 1
    other = calibrate(
        PRIORS, OBSERVED, simulate, generations=1, db_path=tmp_path / "c.db", population=40, seed=6
    )
    assert not other.posterior.equals(stopped.posterior)
    resumed = calibrate(
        PRIORS, OBSERVED, simulate, generations=3, db_path=tmp_path / "d.db", resume=True, **kwargs
    )
    assert resumed.epsilons == straight.epsilons
    assert resumed.simulations == straight.simulations
    pd.testing.assert_frame_equal(straight.posterior, resumed.posterior, check_exact=True)
    assert {t for t, _ in resumed.batches if t >= 0} == {1, 2}  # generation 0 was not redone


def test_pilot_scales():
    """MAD where the draws spread; the record's floor; weight 0 for a statistic nothing moves."""

    def simulate(thetas: pd.DataFrame, seed: int) -> pd.DataFrame:
        p = thetas["p.one"].to_numpy()
        return pd.DataFrame(
            {"spread": 10 * p, "mostly_zero": (p > 0.9).astype(float), "constant": 2.0 + 0 * p}
        )

    observed = {"spread": 3.0, "mostly_zero": 0.0, "constant": 1.0}
    scales = pilot_scales(
        [Prior("p.one", 0.0, 1.0)], observed, simulate, size=400, seed=1, floors={"spread": 4.0}
    )
    assert scales["spread"] == 4.0  # MAD of 10 x U(0, 1) is 2.5, below the floor
    assert 0.2 < scales["mostly_zero"] < 0.4  # MAD 0: the standard deviation, ~0.3
    assert scales["constant"] == np.inf
    unfloored = pilot_scales([Prior("p.one", 0.0, 1.0)], observed, simulate, size=400, seed=1)
    assert 2.2 < unfloored["spread"] < 2.8


def test_a_non_finite_statistic_is_an_error(tmp_path):
    def simulate(thetas: pd.DataFrame, seed: int) -> pd.DataFrame:
        return pd.DataFrame({name: np.full(len(thetas), np.nan) for name in OBSERVED})

    with pytest.raises(ValueError, match="non-finite 'k.p.one'"):
        calibrate(
            PRIORS, OBSERVED, simulate, population=10, generations=1, seed=1, db_path=tmp_path / "x"
        )


def test_resume_needs_a_database(tmp_path):
    with pytest.raises(ScenarioError, match="no calibration database"):
        calibrate(
            PRIORS,
            OBSERVED,
            binomial_simulator(),
            population=10,
            generations=2,
            seed=1,
            db_path=tmp_path / "missing.db",
            resume=True,
        )


@pytest.mark.parametrize(
    ("priors", "key", "message"),
    [
        ([("a", 1.0, 0.5)], "a", "low < high"),
        ([("a", 0.0, 1.0, "normal")], "a", "unknown prior"),
        ([("a", 0.0, 1.0, "log-uniform")], "a", "low > 0"),
        ([("a", 0.0, 1.0), ("a", 0.0, 2.0)], "a", "given twice"),
        ([("a", "x", 1.0)], "a", "numbers"),
        ([], "", "no free parameters"),
    ],
)
def test_bad_prior_is_one_clear_error(priors, key, message):
    with pytest.raises(ScenarioError, match=message) as error:
        as_priors(priors, source="parameters.toml")
    assert error.value.source == "parameters.toml"
    assert error.value.key == key


def test_free_parameter_like_objects_are_priors():
    class FreeParameter:
        key, low, high, prior, why = "agents.BLR.beta_loyalty", 0.1, 10.0, "log-uniform", "w"

    (prior,) = as_priors([FreeParameter()])
    assert prior == Prior("agents.BLR.beta_loyalty", 0.1, 10.0, "log-uniform")
    draws = prior.sample(np.random.default_rng(0), 10_000)
    assert draws.min() >= 0.1 and draws.max() <= 10.0
    assert abs(np.mean(np.log(draws)) - 0.0) < 0.05  # log-uniform on [0.1, 10]: mean log 0


def test_draw_posterior_is_weighted_and_seeded():
    posterior = pd.DataFrame(
        {"agents.BLR.beta_loyalty": [1.0, 2.0, 3.0], "weight": [0.0, 0.25, 0.75]}
    )
    first = draw_posterior(posterior, 4000, seed=3)
    again = draw_posterior(posterior, 4000, seed=3)
    np.testing.assert_array_equal(
        first["agents.BLR.beta_loyalty"], again["agents.BLR.beta_loyalty"]
    )
    values = first["agents.BLR.beta_loyalty"]
    assert set(np.unique(values)) == {2.0, 3.0}
    assert abs(np.mean(values == 3.0) - 0.75) < 0.03


def test_calibrated_scenario_extends_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    posterior = pd.DataFrame(
        {
            "agents.BLR.beta_loyalty": rng.uniform(1.0, 2.0, 400),
            "world.overstretch": rng.uniform(0.2, 0.4, 400),
            "weight": np.ones(400),
        }
    )
    priors = [("agents.BLR.beta_loyalty", 0.1, 10.0, "log-uniform"), ("world.overstretch", 0, 1)]
    text = calibrated_scenario_text("history-2022", posterior, priors)
    assert 'extends = "history-2022"' in text and "90% interval" in text
    path = tmp_path / "calibrated.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    medians = posterior_summary(posterior)["median"]
    assert scenario.agents["BLR"].beta_loyalty == pytest.approx(
        medians["agents.BLR.beta_loyalty"], rel=1e-3
    )
    assert scenario.world.overstretch == pytest.approx(medians["world.overstretch"], rel=1e-3)


def test_calibration_folder(tmp_path, binomial_run):
    result, _, _ = binomial_run
    folder = tmp_path / "calib"
    predictive = binomial_simulator()(pd.DataFrame(draw_posterior(result.posterior, 200, 1)), 9)
    write_calibration_folder(
        folder,
        scenario="history-2022",
        targets=load_targets(),
        priors=PRIORS,
        seed=11,
        settings={"population": 100, "generations": 4},
        result=result,
        predictive=predictive.rename(columns={"k.p.one": "count.AZE.negotiate.ARM"}),
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["library"]["name"] == "pyabc"
    assert manifest["posterior_sha256"] == posterior_sha256(folder)
    assert len(manifest["targets"]["sha256"]) == 64
    assert pd.read_parquet(folder / "posterior.parquet").shape == (100, 3)
    plots = {p.name for p in (folder / "plots").iterdir()}
    assert plots == {
        "posterior_marginals.png",
        "posterior_pairs.png",
        "epsilon.png",
        "predictive_check.png",
    }


def test_log_uniform_priors_are_searched_in_log_space_and_returned_in_units(tmp_path):
    """pyabc's database holds ln(value) of a log-uniform parameter; the posterior its value."""
    seen: list[pd.DataFrame] = []

    def simulate(thetas: pd.DataFrame, seed: int) -> pd.DataFrame:  # noqa: ARG001
        seen.append(thetas)
        return pd.DataFrame({"x": np.log(thetas["p.scale"].to_numpy())})

    prior = Prior("p.scale", 0.1, 10.0, "log-uniform")
    result = calibrate(
        [prior], {"x": 0.0}, simulate, population=30, generations=2, seed=2,
        db_path=tmp_path / "h.db",
    )  # fmt: skip
    values = pd.concat(seen)["p.scale"]
    assert values.between(0.1, 10.0).all() and (values < 1).any() and (values > 1).any()
    assert result.posterior["p.scale"].between(0.1, 10.0).all()
    import pyabc

    stored, _ = pyabc.History(f"sqlite:///{tmp_path / 'h.db'}").get_distribution(m=0)
    np.testing.assert_allclose(
        np.sort(np.exp(stored["p.scale"].to_numpy())), np.sort(result.posterior["p.scale"])
    )


@pytest.mark.parametrize("name", ["beaumont", "local", "silverman"])
def test_every_kernel_runs_and_an_unknown_one_is_refused(tmp_path, name):
    result = calibrate(
        PRIORS, OBSERVED, binomial_simulator(), population=30, generations=2, seed=1,
        db_path=tmp_path / f"{name}.db", transition=name,
    )  # fmt: skip
    assert result.generations == 2
    with pytest.raises(ScenarioError, match="transition"):
        make_transition("gaussian")


def test_a_collapsed_acceptance_stops_the_run_and_a_resumed_run_stops_there_too(tmp_path):
    """`min_acceptance`: the first generation accepting less than it is the last one kept; a run
    resumed after generation 0 stops at the same generation with the same posterior."""
    kwargs = {"population": 40, "seed": 7, "generations": 8, "min_acceptance": 0.3}
    straight = calibrate(
        PRIORS, OBSERVED, binomial_simulator(), db_path=tmp_path / "a.db", **kwargs
    )
    assert 1 < straight.generations < 8 and straight.complete
    assert straight.acceptance[-1] < 0.3 <= min(straight.acceptance[:-1])
    first = dict(kwargs, generations=1)
    calibrate(PRIORS, OBSERVED, binomial_simulator(), db_path=tmp_path / "b.db", **first)
    resumed = calibrate(
        PRIORS, OBSERVED, binomial_simulator(), db_path=tmp_path / "b.db", resume=True, **kwargs
    )
    assert resumed.epsilons == straight.epsilons
    pd.testing.assert_frame_equal(straight.posterior, resumed.posterior, check_exact=True)
