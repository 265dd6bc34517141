"""Reactions to diplomatic acts (MODEL 5.2): targets, observers, Russia's favour, offences."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import world_scenario

from agents.reactions import OFFENCE_GOLDSTEIN, apply_action
from results.tables import events_table
from simulation.model import CSTOModel
from simulation.parameters import build_parameters
from simulation.state import NEVER, initial_state

REACTION = (0.8, 0.6, 1.5)
"""(eta target, eta observer, standing reaction): distinct values, so a swap shows."""
MONTH = 4


@pytest.fixture
def world():
    """The 2022 world at month 0, two replications; Russia not overstretched."""
    scenario = world_scenario()
    assert scenario.world.overstretch == 0.0
    params = build_parameters(scenario)
    state = initial_state(scenario, params, 2)
    index = {code: k for k, code in enumerate(params.actor_codes)}
    return params, state, index


def act(world, actor: str, weights: dict[str, float], runs=(0,)) -> np.ndarray:
    """Apply `actor`'s act with Goldstein `weights` in replications `runs`; return rho before."""
    params, state, index = world
    goldstein = np.zeros((state.replications, params.actors))
    for code, value in weights.items():
        goldstein[list(runs), index[code]] = value
    before = state.relation.copy()
    apply_action(params, state, index[actor], goldstein, MONTH, REACTION)
    return before


def expected_change(relation: np.ndarray, goldstein: np.ndarray, actor: int) -> np.ndarray:
    """d rho_j,actor = eta g_j / 10 + eta_obs sum_k rho_jk g_k / 10 (then clipped), as loops."""
    eta, eta_obs, _ = REACTION
    change = np.zeros(len(goldstein))
    for j in range(len(goldstein)):
        if j == actor:
            continue
        balance = sum(relation[j, k] * goldstein[k] for k in range(len(goldstein)))
        change[j] = eta * goldstein[j] / 10.0 + eta_obs * balance / 10.0
        change[j] = min(1.0, max(-1.0, relation[j, actor] + change[j])) - relation[j, actor]
    return change


def test_target_warmth_moves_by_eta_g_over_ten(world):
    _, state, index = world
    before = act(world, "BLR", {"GEO": -5.0})
    moved = state.relation[0, index["GEO"], index["BLR"]] - before[0, index["GEO"], index["BLR"]]
    assert moved == pytest.approx(REACTION[0] * -5.0 / 10.0)


def test_observers_move_by_balance(world):
    """A friend of the hurt party cools toward the actor, a foe of it warms."""
    _, state, index = world
    before = act(world, "BLR", {"GEO": -5.0})
    geo, blr = index["GEO"], index["BLR"]
    for observer in ("RUS", "AZE", "ARM", "WEST", "TUR"):
        j = index[observer]
        expected = REACTION[1] * before[0, j, geo] * -5.0 / 10.0
        assert state.relation[0, j, blr] - before[0, j, blr] == pytest.approx(expected), observer
    friend, foe = index["WEST"], index["RUS"]  # p(GEO, WEST) = 0.5, p(GEO, RUS) = -0.5
    assert before[0, friend, geo] > 0 > before[0, foe, geo]
    assert state.relation[0, friend, blr] < before[0, friend, blr]
    assert state.relation[0, foe, blr] > before[0, foe, blr]


def test_every_actor_moves_by_the_full_formula(world):
    """Target and collateral weights together: each j moves by eta g_j + eta_obs sum rho g."""
    params, state, index = world
    weights = {"RUS": 6.0, "GEO": -8.0, "WEST": -4.0}  # recognize_breakaway
    before = act(world, "BLR", weights)
    goldstein = np.zeros(params.actors)
    for code, value in weights.items():
        goldstein[index[code]] = value
    blr = index["BLR"]
    expected = expected_change(before[0], goldstein, blr)
    got = state.relation[0, :, blr] - before[0, :, blr]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_only_the_column_toward_the_actor_changes(world):
    _, state, index = world
    before = act(world, "BLR", {"RUS": 6.0, "GEO": -8.0, "WEST": -4.0})
    blr = index["BLR"]
    np.testing.assert_array_equal(state.relation[:, blr, :], before[:, blr, :])  # own row
    others = np.delete(np.arange(state.relation.shape[2]), blr)
    np.testing.assert_array_equal(state.relation[:, :, others], before[:, :, others])
    np.testing.assert_array_equal(np.diagonal(state.relation, axis1=1, axis2=2), 0.0)


def test_replications_without_the_act_are_unchanged(world):
    _, state, index = world
    standing = state.standing.copy()
    before = act(world, "BLR", {"RUS": 3.0, "GEO": -5.0}, runs=(0,))
    np.testing.assert_array_equal(state.relation[1], before[1])
    np.testing.assert_array_equal(state.standing[1], standing[1])
    assert not np.array_equal(state.relation[0], before[0])


def test_relations_are_clipped(world):
    _, state, index = world
    geo, blr, arm = index["GEO"], index["BLR"], index["ARM"]
    state.relation[:, geo, blr] = 0.95
    state.relation[:, arm, blr] = -0.95
    act(world, "BLR", {"GEO": 8.0, "ARM": -8.0}, runs=(0, 1))
    np.testing.assert_array_equal(state.relation[:, geo, blr], 1.0)
    np.testing.assert_array_equal(state.relation[:, arm, blr], -1.0)
    assert np.all(np.abs(state.relation) <= 1.0)


def test_russia_standing_moves_with_russia_warmth_change(world):
    """L_actor moves by standing_reaction x the change of Russia's warmth toward the actor."""
    _, state, index = world
    blr, rus = index["BLR"], index["RUS"]
    standing_before = state.standing.copy()
    before = act(world, "BLR", {"RUS": 3.0, "ARM": -3.0})  # signal_loyalty
    warmth_change = state.relation[0, rus, blr] - before[0, rus, blr]
    # target 0.8 x 0.3 plus balance 0.6 x rho(RUS, ARM) x (-0.3)
    assert warmth_change == pytest.approx(0.8 * 0.3 + 0.6 * before[0, rus, index["ARM"]] * -0.3)
    moved = state.standing[0, blr] - standing_before[0, blr]
    assert moved == pytest.approx(REACTION[2] * warmth_change)
    others = [k for k in range(state.standing.shape[1]) if k != blr]
    np.testing.assert_array_equal(state.standing[0, others], standing_before[0, others])


def test_standing_is_clipped(world):
    _, state, index = world
    blr = index["BLR"]
    state.standing[:, blr] = 0.95
    act(world, "BLR", {"RUS": 10.0}, runs=(0, 1))
    np.testing.assert_array_equal(state.standing[:, blr], 1.0)


def test_offences_are_stamped_only_where_the_act_happened(world):
    """last_offence[r, victim, actor] = month for Goldstein at or below the offence threshold."""
    _, state, index = world
    blr = index["BLR"]
    act(
        world,
        "BLR",
        {"GEO": OFFENCE_GOLDSTEIN, "ARM": OFFENCE_GOLDSTEIN + 1.0, "AZE": -9.0},
        runs=(0,),
    )
    assert state.last_offence[0, index["GEO"], blr] == MONTH
    assert state.last_offence[0, index["AZE"], blr] == MONTH
    assert state.last_offence[0, index["ARM"], blr] == NEVER, "a milder act is no offence"
    assert np.all(state.last_offence[1] == NEVER), "no act in replication 1"
    stamped = state.last_offence != NEVER
    assert stamped.sum() == 2


def test_poles_are_never_offended(world):
    _, state, index = world
    act(world, "BLR", {"WEST": -10.0, "TUR": -8.0, "GEO": -8.0}, runs=(0, 1))
    assert np.all(state.last_offence[:, index["WEST"], :] == NEVER)
    assert np.all(state.last_offence[:, index["TUR"], :] == NEVER)
    np.testing.assert_array_equal(state.last_offence[:, index["GEO"], index["BLR"]], MONTH)


# -- the forced attack of history-2022 ---------------------------------------------------------

ATTACK_MONTH = 8  # 2022-09


@pytest.fixture(scope="module")
def history():
    """The first 9 months (2022-01 .. 2022-09) of history-2022 over 200 replications.

    The model keeps the scenario's horizon and is stepped 9 times: `months=9` would be refused
    because of the scenario's later shocks (see test_scenario_files).
    """
    model = CSTOModel("history-2022", replications=200, rng=9)
    for _ in range(ATTACK_MONTH + 1):
        model.step()
    record = model.to_record()
    assert record.months == ATTACK_MONTH + 1
    return model, record, events_table(record)


def test_azerbaijan_attacks_armenia_in_every_replication_in_2022_09(history):
    _, record, events = history
    attacks = events[
        (events.action == "attack") & (events.actor == "AZE") & (events.target == "ARM")
    ]
    in_month = attacks[attacks.month == ATTACK_MONTH]
    assert set(in_month.run) == set(range(record.replications))
    assert (in_month.date == "2022-09").all()
    assert (in_month.goldstein == -10.0).all()


def test_armenia_threat_jumps_after_the_attack(history):
    model, record, events = history
    arm = record.agent_codes.index("ARM")
    threat = record.agents["threat"][:, :, arm]
    spec = model.spec
    floor = spec.aggression.victim_threat * (1.0 - spec.dynamics.threat_decay)
    # raised to the victim's threat, then one month's decay: the same level in every run
    np.testing.assert_allclose(threat[:, ATTACK_MONTH], floor, rtol=1e-12)
    attacked_before = set(
        events[(events.action == "attack") & (events.month == ATTACK_MONTH - 1)].run
    )
    calm = np.array([r not in attacked_before for r in range(record.replications)])
    assert calm.sum() > 150
    assert np.all(threat[calm, ATTACK_MONTH] > threat[calm, ATTACK_MONTH - 1])
    assert np.mean(threat[:, ATTACK_MONTH] - threat[:, ATTACK_MONTH - 1]) > 0.4


def test_armenia_requests_article4_only_when_attacked(history):
    _, _, events = history
    attacked = events[
        (events.action == "attack") & (events.actor == "AZE") & (events.target == "ARM")
    ]
    requests = events[(events.action == "invoke_article4") & (events.actor == "ARM")]
    attack_cells = set(zip(attacked.run, attacked.month, strict=True))
    request_cells = set(zip(requests.run, requests.month, strict=True))
    assert len(request_cells) > 100, "Armenia asks for help after most forced attacks"
    assert request_cells <= attack_cells, sorted(request_cells - attack_cells)[:5]
    assert len(requests) == len(request_cells), "one request per attacked month"
