"""Shared builders for the model tests: small scenarios, record comparison, chi-square pooling."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy import stats

from simulation.record import RunRecord
from simulation.scenario import load_scenario
from simulation.schema import Scenario

AGENT_CODES = ("BLR", "RUS", "AZE", "ARM", "GEO")

GIBBS_SIZES = {"BLR": 0.15, "RUS": 0.35, "AZE": 0.20, "ARM": 0.15, "GEO": 0.15}
"""Capability shares of the Gibbs-test world: unequal, but none dominant."""

GIBBS_PROPENSITY = {
    "BLR": {"RUS": 0.8, "AZE": 0.4, "ARM": 0.2, "GEO": 0.2},
    "RUS": {"AZE": 0.3, "ARM": 0.5, "GEO": -0.5},
    "AZE": {"ARM": -0.9, "GEO": 0.5},
    "ARM": {"GEO": 0.3},
}
"""Propensities with friends and foes (frustrated triangles), so pi is neither flat nor peaked."""


def world_scenario(**overrides: Any) -> Scenario:
    """The shipped 2022 world, with dotted-key overrides (`{"world.overstretch": 0.3}`)."""
    return load_scenario("world-2022", overrides or None)


def gibbs_agent(code: str, rationality: float, posture: int) -> dict[str, Any]:
    """A free agent whose posture utility is the affinity term alone (MODEL 5.1)."""
    size = GIBBS_SIZES[code]
    return {
        "name": code,
        "gdp": 1000.0 * size,
        "milex": 1000.0 * size,
        "total_trade": 1000.0,
        "status": "member",
        "posture": posture,
        "fixed_posture": False,
        "rationality": rationality,
        "beta_affinity": 1.0,
        "beta_trade": 0.0,
        "beta_security": 0.0,
        "beta_legitimacy": 0.0,
        "beta_loyalty": 0.0,
        "switching_cost": 0.0,
        "threat": 0.0,
    }


def gibbs_scenario(lam: float, months: int = 30) -> Scenario:
    """Five free agents, no poles, affinity only, rationality_i = lam * s_i, nothing else.

    The sizes are set so that capability_shares returns GIBBS_SIZES; the rationalities use those
    shares (the test recomputes them from the validated scenario to check).
    """
    agents = {code: gibbs_agent(code, lam * GIBBS_SIZES[code], posture=1) for code in AGENT_CODES}
    data = {
        "name": "gibbs",
        "description": "affinity-only posture game for the Gibbs test",
        "months": months,
        "agents": agents,
        "poles": {},
        "propensity": GIBBS_PROPENSITY,
        "actions": {},
        "shocks": [],
    }
    return Scenario.model_validate(data)


def configuration_index(postures: np.ndarray) -> np.ndarray:
    """Index in 0..3^N-1 of each row of postures (R, N) in {-1, 0, 1}; the first agent is the
    most significant digit, matching `all_configurations`."""
    digits = np.asarray(postures, dtype=int) + 1
    n = digits.shape[1]
    powers = 3 ** np.arange(n - 1, -1, -1)
    return digits @ powers


def all_configurations(n: int) -> np.ndarray:
    """(3^N, N) every posture configuration, in `configuration_index` order."""
    return np.array(list(itertools.product((-1, 0, 1), repeat=n)))


def axelrod_bennett_energy(
    configurations: np.ndarray, size: np.ndarray, propensity: np.ndarray
) -> np.ndarray:
    """E(X) = sum over ordered pairs i != j of s_i s_j p_ij d(x_i, x_j), d = |x - y| / 2."""
    gaps = np.abs(configurations[:, :, None] - configurations[:, None, :]) / 2.0
    weights = np.outer(size, size) * propensity
    np.fill_diagonal(weights, 0.0)
    return np.einsum("cij,ij->c", gaps, weights)


def pooled_chisquare(observed: np.ndarray, probabilities: np.ndarray) -> float:
    """p-value of a chi-square goodness-of-fit test; cells expecting < 5 are pooled into one."""
    observed = np.asarray(observed, dtype=float)
    expected = observed.sum() * np.asarray(probabilities, dtype=float)
    keep = expected >= 5.0
    obs, exp = observed[keep], expected[keep]
    if (~keep).any():
        obs = np.append(obs, observed[~keep].sum())
        exp = np.append(exp, expected[~keep].sum())
    return float(stats.chisquare(obs, exp).pvalue)


def assert_records_equal(first: RunRecord, second: RunRecord) -> None:
    """Every field, array and event of two RunRecords is identical."""
    assert first.start == second.start
    assert first.months == second.months
    assert first.run_offset == second.run_offset
    assert first.agent_codes == second.agent_codes
    assert first.actor_codes == second.actor_codes
    assert first.action_names == second.action_names
    assert first.metrics.keys() == second.metrics.keys()
    for name in first.metrics:
        np.testing.assert_array_equal(first.metrics[name], second.metrics[name], err_msg=name)
    assert first.agents.keys() == second.agents.keys()
    for name in first.agents:
        np.testing.assert_array_equal(first.agents[name], second.agents[name], err_msg=name)
    np.testing.assert_array_equal(first.relations, second.relations)
    assert first.events.keys() == second.events.keys()
    for name in first.events:
        np.testing.assert_array_equal(first.events[name], second.events[name], err_msg=name)


def records_differ(first: RunRecord, second: RunRecord) -> bool:
    """Whether any metric, agent array or relation of two records differs."""
    arrays = [
        *((first.metrics[k], second.metrics[k]) for k in first.metrics),
        *((first.agents[k], second.agents[k]) for k in first.agents),
        (first.relations, second.relations),
    ]
    return any(not np.array_equal(a, b) for a, b in arrays)


# The run-folder contract of INTERFACE.md ("A run folder"), written out independently of
# results.schema so the tests check the code against the contract rather than against itself.
INTERFACE_COLUMNS: dict[str, list[str]] = {
    "metrics": ["run", "month", "date", "cohesion", "k_align", "k_cred", "k_part", "k_sim"],
    "agents": [
        "run",
        "month",
        "date",
        "agent",
        "posture",
        "alignment",
        "credibility",
        "standing",
        "threat",
        "status",
    ],
    "relations": ["run", "month", "source", "target", "relation"],
    "events": ["run", "month", "date", "actor", "action", "target", "goldstein"],
}
