"""The Gibbs test of MODEL 5.1.

With only the affinity term on and rationality lambda_i = lambda s_i, the posture game has the
weighted potential Phi = -E/2 (E the Axelrod-Bennett energy over ordered pairs), so one-at-a-time
logit updates in any order leave pi(X) proportional to exp(-lambda E(X) / 2) invariant (Blume
1993). Every agent is free (RUS included), there are no poles, no actions, no shocks and no rivals,
so nothing but the posture phase moves. The configuration frequencies of many replications after
30 months are compared with pi by a chi-square test, and the same test must reject a wrong energy.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import (
    AGENT_CODES,
    GIBBS_SIZES,
    all_configurations,
    axelrod_bennett_energy,
    configuration_index,
    gibbs_scenario,
    pooled_chisquare,
)

from simulation.model import CSTOModel
from simulation.parameters import build_parameters, capability_shares

LAMBDA = 40.0
"""lambda of rationality_i = lambda s_i: with shares 0.15..0.35 the distribution is clearly
structured (entropy about 5.15 nats of the uniform 5.49) yet every configuration has mass."""
REPLICATIONS = 20_000
MONTHS = 30
SEED = 2022


@pytest.fixture(scope="module")
def gibbs_run():
    scenario = gibbs_scenario(LAMBDA, months=MONTHS)
    model = CSTOModel(scenario, replications=REPLICATIONS, rng=SEED)
    record = model.run()
    return scenario, model, record


def stationary(scenario, lam: float, halved: bool = True) -> np.ndarray:
    """pi(X) proportional to exp(-lam E(X) / 2), or exp(-lam E(X)) when not `halved`."""
    params = build_parameters(scenario)
    energy = axelrod_bennett_energy(
        all_configurations(params.agents), capability_shares(scenario), params.propensity[0]
    )
    log_weights = -lam * energy / (2.0 if halved else 1.0)
    weights = np.exp(log_weights - log_weights.max())
    return weights / weights.sum()


def final_counts(record) -> np.ndarray:
    postures = record.agents["posture"][:, -1, :]
    return np.bincount(configuration_index(postures), minlength=3 ** postures.shape[1])


def test_setup_is_the_affinity_only_game(gibbs_run):
    scenario, model, record = gibbs_run
    shares = capability_shares(scenario)
    np.testing.assert_allclose(shares, [GIBBS_SIZES[c] for c in AGENT_CODES], rtol=1e-12)
    params = model.params
    assert params.actors == params.agents == 5, "no poles"
    assert not params.fixed_posture.any(), "every agent is free, RUS included"
    np.testing.assert_allclose(params.rationality[0], LAMBDA * shares, rtol=1e-12)
    for name in ("beta_trade", "beta_security", "beta_legitimacy", "beta_loyalty"):
        assert not getattr(params, name).any(), name
    assert not params.switching_cost.any()
    assert len(record.events["run"]) == 0, "no diplomacy, no attacks"
    # relation decay keeps rho at the propensity when nothing happens
    np.testing.assert_allclose(
        record.relations[:, -1],
        np.broadcast_to(params.propensity[0], record.relations[:, -1].shape),
        atol=1e-6,
    )
    # every agent does move: the chain is not stuck at its start (all +1)
    postures = record.agents["posture"][:, -1, :]
    assert (postures != 1).mean(axis=0).min() > 0.2


def test_target_distribution_is_neither_uniform_nor_degenerate(gibbs_run):
    scenario = gibbs_run[0]
    pi = stationary(scenario, LAMBDA)
    assert pi.max() < 0.05
    assert pi.min() > 1e-4
    assert pi.max() / pi.min() > 20.0


def test_configurations_follow_the_gibbs_distribution(gibbs_run):
    scenario, _, record = gibbs_run
    counts = final_counts(record)
    assert counts.sum() == REPLICATIONS
    pvalue = pooled_chisquare(counts, stationary(scenario, LAMBDA))
    assert pvalue > 1e-3, pvalue


def test_chi_square_rejects_a_wrong_energy(gibbs_run):
    """Power: exp(-lambda E) without the 1/2, or the uniform distribution, is rejected."""
    scenario, _, record = gibbs_run
    counts = final_counts(record)
    assert pooled_chisquare(counts, stationary(scenario, LAMBDA, halved=False)) < 1e-6
    uniform = np.full(counts.size, 1.0 / counts.size)
    assert pooled_chisquare(counts, uniform) < 1e-6
