"""The stakes term (Aydin 2008): hand-computed values, and its place in the side_with utilities."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.incentives import action_utilities, dispute_stakes
from agents.stakes import relative_stakes, stake_utilities
from simulation.model import CSTOModel

# Actors: 0 the chooser, 1 and 2 the disputants, 3 a bystander.
PARTIES = np.array([[False, True, True, False]] * 4)
GOLDSTEIN = np.array(
    [
        [0.0, 3.0, -3.0, 0.0],  # side with 1
        [0.0, -3.0, 3.0, 0.0],  # side with 2
        [0.0, 2.0, 2.0, 0.0],  # mediate
        [0.0, 0.0, 0.0, 0.0],  # none
    ]
)


def test_equal_stakes_give_no_preference():
    flows = np.array([0.0, 0.02, 0.02, 0.5])
    utilities = stake_utilities(3.0, flows, PARTIES, GOLDSTEIN)
    assert utilities[0] == pytest.approx(0.0) and utilities[1] == pytest.approx(0.0)
    assert utilities[2] == pytest.approx(3.0 * 0.2)  # a stake in both favours mediation
    assert utilities[3] == 0.0


@pytest.mark.parametrize("scale", [1e-5, 1e-3, 0.01, 0.2])
def test_a_four_to_one_ratio_gives_the_same_preference_at_any_trade_share(scale):
    # s = 0.8 and 0.2 whatever share of the chooser's trade the two hold: 3 (0.8 - 0.2) 3/10
    flows = np.array([0.0, 4.0 * scale, scale, 0.5])
    utilities = stake_utilities(3.0, flows, PARTIES, GOLDSTEIN)
    assert utilities[0] == pytest.approx(0.54)
    assert utilities[1] == pytest.approx(-0.54)
    assert relative_stakes(flows, PARTIES)[0] == pytest.approx([0.0, 0.8, 0.2, 0.0])


def test_the_preference_scales_with_the_trade_weight():
    flows = np.array([0.0, 0.04, 0.01, 0.0])
    half, full = stake_utilities(np.array([1.5, 3.0]), flows, PARTIES, GOLDSTEIN)
    assert full[0] == pytest.approx(2.0 * half[0]) and full[0] == pytest.approx(0.54)
    assert np.all(stake_utilities(0.0, flows, PARTIES, GOLDSTEIN) == 0.0)


def test_no_trade_with_either_party_gives_zero():
    flows = np.array([0.0, 0.0, 0.0, 0.7])  # trade only with the bystander
    assert np.all(relative_stakes(flows, PARTIES) == 0.0)
    assert np.all(stake_utilities(3.0, flows, PARTIES, GOLDSTEIN) == 0.0)


def test_options_without_disputants_have_no_stake():
    flows = np.array([0.0, 0.04, 0.01, 0.5])
    none = np.zeros_like(PARTIES)
    assert np.all(stake_utilities(3.0, flows, none, GOLDSTEIN) == 0.0)


def test_replications_on_a_leading_axis():
    flows = np.array([[0.0, 0.04, 0.01, 0.0], [0.0, 0.01, 0.04, 0.0]])
    utilities = stake_utilities(np.array([3.0, 3.0]), flows, PARTIES, GOLDSTEIN)
    assert utilities.shape == (2, 4)
    assert utilities[:, 0] == pytest.approx([0.54, -0.54])


def belarus_in_the_conflict(**overrides):
    """A history-2022 model just after Azerbaijan's attack, and Belarus's diplomatic menu."""
    model = CSTOModel("history-2022", replications=4, rng=1, months=12, **overrides)
    for _ in range(9):  # 2022-01 .. 2022-09: the attack of 2022-09 makes the conflict active
        model.step()
    belarus = next(a for a in model.agents if getattr(a, "code", None) == "BLR")
    return model, belarus.index, belarus.diplomacy_menu


def side_with(model, menu, code: str) -> int:
    target = model.params.actor_codes.index(code)
    return next(
        k for k in range(len(menu)) if menu.names[k] == "side_with" and menu.targets[k] == target
    )


def test_the_stake_enters_belarus_side_with_utilities_with_the_right_sign():
    # Belarus trades 400 with Azerbaijan and 100 with Armenia (4:1), beta_T = 3:
    # siding with Azerbaijan gains 3 x 0.3 x (0.8 - 0.2) = 0.54, with Armenia loses 0.54.
    overrides = {
        "trade__BLR__AZE": 400.0,
        "ties__BLR__AZE": 0.0,
        "trade__BLR__ARM": 100.0,
        "agents__BLR__beta_trade": 3.0,
    }
    model, i, menu = belarus_in_the_conflict(**overrides)
    without = dataclasses.replace(menu, parties=np.zeros_like(menu.parties))
    reaction = model.reaction
    gain = action_utilities(model.params, model.state, i, menu, reaction) - action_utilities(
        model.params, model.state, i, without, reaction
    )
    aze, arm = side_with(model, menu, "AZE"), side_with(model, menu, "ARM")
    assert gain[:, aze] == pytest.approx(0.54)
    assert gain[:, arm] == pytest.approx(-0.54)
    assert np.ravel(dispute_stakes(model.params, i, menu))[aze] == pytest.approx(0.54)
    others = [k for k in range(len(menu)) if menu.names[k] not in ("side_with", "mediate")]
    assert np.all(gain[:, others] == 0.0)
