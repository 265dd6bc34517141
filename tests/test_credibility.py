"""Article 4, the collective response and credibility (MODEL section 7)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulation.alliance import (
    collective_response,
    credibility_loss_if_refused,
    update_credibility,
)
from simulation.model import CSTOModel

# -- the credibility update ------------------------------------------------------------------


def test_refusal_to_the_requester_gives_the_documented_example():
    """MODEL 7: prior (4.47, 1.53), a refusal to the requester (omega 3), delta 1: c = 0.497."""
    alpha, beta = update_credibility(
        np.array([4.47]), np.array([1.53]), np.array([0.0]), np.array([3.0]), 1.0
    )
    np.testing.assert_allclose(alpha, [4.47])
    np.testing.assert_allclose(beta, [4.53])
    credibility = alpha / (alpha + beta)
    assert round(float(credibility[0]), 3) == 0.497


def test_update_with_discount_and_partial_response():
    alpha, beta = update_credibility(
        np.array([2.0, 2.0]), np.array([3.0, 3.0]), np.array([0.3, 1.0]), np.array([1.0, 0.5]), 0.9
    )
    np.testing.assert_allclose(alpha, [0.9 * 2.0 + 0.3, 0.9 * 2.0 + 0.5])
    np.testing.assert_allclose(beta, [0.9 * 3.0 + 0.7, 0.9 * 3.0 + 0.0])


def test_observers_with_zero_weight_keep_their_belief():
    alpha, beta = update_credibility(
        np.array([[3.0, 1.0]]), np.array([[2.0, 4.0]]), np.array([[0.0]]), np.array([[0.0, 1.0]]), 1
    )
    np.testing.assert_allclose(alpha, [[3.0, 1.0]])
    np.testing.assert_allclose(beta, [[2.0, 5.0]])


def test_credibility_loss_if_refused_hand_value():
    """omega / (alpha + beta + omega): 3 / (4.47 + 1.53 + 3) = 1/3."""
    loss = credibility_loss_if_refused(np.array([4.47]), np.array([1.53]), np.array([3.0]))
    np.testing.assert_allclose(loss, [1.0 / 3.0])
    assert credibility_loss_if_refused(np.array([2.0]), np.array([2.0]), np.array([0.0]))[0] == 0


@settings(max_examples=100, deadline=None)
@given(
    alpha=st.floats(0.05, 50.0),
    beta=st.floats(0.05, 50.0),
    weight=st.floats(0.0, 5.0),
)
def test_credibility_loss_is_honour_minus_refusal(alpha, beta, weight):
    """The abandonment stake equals c after an honoured request minus c after a refusal."""
    a, b, w = np.array([alpha]), np.array([beta]), np.array([weight])
    honoured = update_credibility(a, b, np.ones(1), w, 1.0)
    refused = update_credibility(a, b, np.zeros(1), w, 1.0)
    gap = honoured[0] / sum(honoured) - refused[0] / sum(refused)
    np.testing.assert_allclose(credibility_loss_if_refused(a, b, w), gap, rtol=1e-9, atol=1e-12)


# -- the collective response -----------------------------------------------------------------


def test_consensus_is_the_minimum():
    levels = np.array([[1.0, 0.3, 1.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.3]])
    sizes = np.array([0.5, 0.3, 0.2])
    np.testing.assert_array_equal(collective_response(levels, sizes, "consensus"), [0.3, 1.0, 0.0])


@pytest.mark.parametrize(
    ("levels", "sizes", "expected"),
    [
        # sorted 0 (0.2), 0.3 (0.3), 1 (0.5): half is reached at 0.3
        ([1.0, 0.3, 0.0], [0.5, 0.3, 0.2], 0.3),
        # sorted 0 (0.2), 1 (0.5), 1 (0.3): cumulative 0.2, 0.7
        ([1.0, 1.0, 0.0], [0.5, 0.3, 0.2], 1.0),
        # the largest refuses with exactly half: the lowest level reaching one half
        ([0.0, 1.0, 1.0], [0.5, 0.3, 0.2], 0.0),
        # ties in level
        ([0.3, 0.3, 0.0], [0.5, 0.3, 0.2], 0.3),
        ([0.3, 0.3, 1.0], [0.25, 0.25, 0.5], 0.3),
        # a refuser of zero weight does not count
        ([0.0, 1.0, 0.3], [0.0, 0.6, 0.4], 1.0),
        ([1.0, 0.0, 1.0], [0.5, 0.0, 0.5], 1.0),
        ([0.3, 0.0, 1.0], [0.5, 0.0, 0.5], 0.3),
        # unnormalised sizes
        ([1.0, 0.3, 0.0], [5.0, 3.0, 2.0], 0.3),
        ([0.0, 1.0], [1.0, 3.0], 1.0),
    ],
)
def test_weighted_median_hand_cases(levels, sizes, expected):
    got = collective_response(np.array([levels]), np.array(sizes), "weighted_median")
    assert got.shape == (1,)
    assert got[0] == pytest.approx(expected)


def test_weighted_median_row_by_row():
    levels = np.array([[1.0, 0.3, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    sizes = np.array([0.5, 0.3, 0.2])
    got = collective_response(levels, sizes, "weighted_median")
    np.testing.assert_allclose(got, [0.3, 1.0, 0.0])


# -- the pipeline in the model ---------------------------------------------------------------

MONTHS = 9
ATTACK_MONTH = 8  # 2022-09: Azerbaijan's attack is forced in history-2022


def requester_credibility(rule: str, policies: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Armenia's credibility at the attack month and whether it requested only then."""
    overrides = {f"agents__{code}__article4_policy": p for code, p in policies.items()}
    model = CSTOModel(
        "history-2022", replications=200, rng=3, alliance__decision_rule=rule, **overrides
    )
    for _ in range(MONTHS):
        model.step()
    record = model.to_record()
    arm = record.agent_codes.index("ARM")
    invoke = record.action_names.index("invoke_article4")
    events = record.events
    requests = (events["actor"] == arm) & (events["action"] == invoke)
    request_months = [set() for _ in range(record.replications)]
    for run, month in zip(events["run"][requests], events["month"][requests], strict=True):
        request_months[run].add(int(month))
    only_then = np.array([months == {ATTACK_MONTH} for months in request_months])
    return record.agents["credibility"][:, ATTACK_MONTH, arm], only_then


def expected_after(response: float) -> float:
    """Armenia's prior (mean 0.6, strength 6) decayed 8 months, then a request answered."""
    discount = 0.99**ATTACK_MONTH
    alpha, beta = 0.6 * 6.0 * discount, 0.4 * 6.0 * discount
    return (alpha + 3.0 * response) / (alpha + beta + 3.0)


@pytest.mark.parametrize(
    ("rule", "policies", "response"),
    [
        ("consensus", {"RUS": "honour", "BLR": "honour"}, 1.0),
        ("consensus", {"RUS": "honour", "BLR": "refuse"}, 0.0),
        ("consensus", {"RUS": "partial", "BLR": "honour"}, 0.3),
        # Russia's size outweighs Belarus: the weighted median is Russia's response
        ("weighted_median", {"RUS": "honour", "BLR": "refuse"}, 1.0),
        ("weighted_median", {"RUS": "refuse", "BLR": "honour"}, 0.0),
    ],
)
def test_requester_credibility_after_a_forced_response(rule, policies, response):
    credibility, only_then = requester_credibility(rule, policies)
    assert only_then.sum() > 100, "Armenia requests help after the forced attack in most runs"
    np.testing.assert_allclose(credibility[only_then], expected_after(response), rtol=1e-9)
