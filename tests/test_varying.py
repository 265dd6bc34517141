"""Per-replication parameters (simulation.varying): a varying key with one value everywhere is the
same run as that value set for all; a value that varies acts in its own replications; structural
keys and out-of-range values are refused; shocks act on the per-replication arrays."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_records_equal, records_differ

from agents.catalogue import ACTION_ID
from simulation.model import CSTOModel
from simulation.scenario import load_scenario
from simulation.varying import VaryingError, check_key, may_vary

R = 24
MONTHS = 12
SEED = 11

KEYS = [
    ("agents.BLR.beta_loyalty", 2.5),  # agent weight
    ("agents.ARM.rationality", 1.5),  # agent trait
    ("agents.ARM.credibility_prior.mean", 0.3),  # initial belief
    ("dynamics.standing_decay", 0.25),  # dynamics
    ("dynamics.reaction_observer", 0.9),
    ("dynamics.offence_memory", 4),  # an integer key
    ("aggression.ceiling", 0.4),  # aggression
    ("alliance.abandonment_weight", 3.0),  # alliance
    ("alliance.response_levels.partial", 0.6),
    ("actions.visit_breakaway.cost", 0.05),  # action cost
    ("actions.summon_ambassador.goldstein", -6.0),  # action weight
    ("actions.court_west.visibility", 0.9),
    ("propensity.BLR.AZE", 0.1),  # propensity
    ("ties.BLR.AZE", 2000.0),  # ties
    ("trade.BLR.RUS", 20000.0),
    ("world.overstretch", 0.4),
    ("poles.TUR.engagement", 0.3),
]


@pytest.mark.parametrize(("key", "value"), KEYS)
def test_a_constant_varying_key_is_the_same_run_as_the_override(key, value):
    varied = CSTOModel(
        "baseline", replications=R, rng=SEED, months=MONTHS, varying={key: np.full(R, value)}
    ).run()
    overridden = CSTOModel(
        "baseline", replications=R, rng=SEED, months=MONTHS, **{key.replace(".", "__"): value}
    ).run()
    assert_records_equal(varied, overridden)


def test_the_varied_keys_do_change_the_run():
    """The property above is not vacuous: most of its values change the record."""
    default = CSTOModel("baseline", replications=R, rng=SEED, months=MONTHS).run()
    changed = [
        key
        for key, value in KEYS
        if records_differ(
            default,
            CSTOModel(
                "baseline",
                replications=R,
                rng=SEED,
                months=MONTHS,
                varying={key: np.full(R, value)},
            ).run(),
        )
    ]
    assert len(changed) >= len(KEYS) - 3, sorted({k for k, _ in KEYS} - set(changed))


def loyalty_signals(record, runs: slice) -> float:
    """Mean number of Belarus's loyalty signals per run over `runs`."""
    events = record.events
    blr = record.actor_codes.index("BLR")
    mine = (events["actor"] == blr) & (events["action"] == ACTION_ID["signal_loyalty"])
    selected = np.zeros(record.replications, dtype=bool)
    selected[runs] = True
    return mine[selected[events["run"]]].sum() / selected.sum()


def test_a_varying_value_acts_in_its_own_replications():
    """beta_L low in one half, high in the other: the high half signals loyalty more, as the
    single-value runs at each value do."""
    runs, low, high = 400, 0.2, 4.0
    values = np.where(np.arange(runs) < runs // 2, low, high)
    key = "agents.BLR.beta_loyalty"
    record = CSTOModel(
        "baseline", replications=runs, rng=SEED, months=MONTHS, varying={key: values}
    ).run()
    low_half = loyalty_signals(record, slice(0, runs // 2))
    high_half = loyalty_signals(record, slice(runs // 2, runs))
    single = {
        value: loyalty_signals(
            CSTOModel(
                "baseline",
                replications=runs // 2,
                rng=SEED + 1,
                months=MONTHS,
                **{key.replace(".", "__"): value},
            ).run(),
            slice(None),
        )
        for value in (low, high)
    }
    assert high_half > low_half
    assert single[high] > single[low]
    # and each half is close to the single-value run at its value (two independent samples)
    assert abs(low_half - single[low]) < 0.25 * max(single[low], 1.0)
    assert abs(high_half - single[high]) < 0.25 * max(single[high], 1.0)


def test_parameters_have_a_replication_axis_only_where_they_vary():
    model = CSTOModel(
        "baseline", replications=5, rng=1, varying={"agents.BLR.beta_loyalty": np.arange(5.0)}
    )
    params = model.params
    assert params.beta_loyalty.shape == (5, params.agents)
    np.testing.assert_array_equal(params.beta_loyalty[:, 0], np.arange(5.0))
    assert params.beta_trade.shape == (1, params.agents)
    assert params.size.shape == (1, params.actors)
    assert params.dynamics.standing_decay.shape == (1,)


# -- what may vary -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("world.patron", "structural"),
        ("agents.BLR.rival", "structural"),
        ("agents.BLR.posture", "structural"),
        ("agents.BLR.status", "structural"),
        ("agents.BLR.fixed_posture", "structural"),
        ("agents.BLR.article4_policy", "structural"),
        ("alliance.decision_rule", "structural"),
        ("alliance.summit_month", "structural"),
        ("alliance.extraordinary_session", "structural"),
        ("months", "structural"),
        ("start", "structural"),
        ("actions.recall_ambassador.requires", "table or a list"),
        ("actions.mediate.goldstein", "one option per conflict"),
        ("agents.XYZ.beta_loyalty", "'agents.XYZ' is not in the scenario"),
        ("agents.BLR.nonsense", "unknown key"),
        ("actions.visit_breakaway.collateral.TUR", "is not in the scenario"),
        ("propensity.BLR.BLR", "two different codes"),
        ("propensity.BLR.XYZ", "unknown code"),
    ],
)
def test_structural_and_unknown_keys_are_refused(key, fragment):
    scenario = load_scenario("baseline")
    with pytest.raises(VaryingError, match=key.replace(".", r"\.")) as error:
        check_key(scenario, key)
    assert fragment in str(error.value)
    assert error.value.key == key
    assert not may_vary(scenario, key)
    with pytest.raises(VaryingError):
        CSTOModel("baseline", replications=2, varying={key: np.zeros(2)})


def test_numeric_keys_may_vary():
    scenario = load_scenario("baseline")
    for key, _ in KEYS:
        assert may_vary(scenario, key), key
    assert may_vary(scenario, "propensity.AZE.BLR"), "either direction names the pair"
    assert may_vary(scenario, "propensity.GEO.TUR"), "an unlisted pair is 0 and may vary"
    assert isinstance(VaryingError("k", "m"), ValueError)


@pytest.mark.parametrize(
    ("key", "values", "message"),
    [
        (
            "agents.BLR.beta_loyalty",
            np.r_[np.ones(17), -1.0, np.ones(2)],
            "varying agents.BLR.beta_loyalty: replication 17 is -1.0; expected >= 0",
        ),
        ("world.overstretch", np.r_[0.5, 1.5, np.zeros(18)], "replication 1 is 1.5; expected <= 1"),
        ("dynamics.relation_decay", np.r_[np.full(19, 0.1), np.nan], "replication 19 is nan"),
        (
            "alliance.credibility_discount",
            np.r_[np.zeros(20)],
            "replication 0 is 0.0; expected > 0",
        ),
        ("dynamics.offence_memory", np.r_[np.full(19, 2.0), 2.5], "expected an integer"),
        ("agents.BLR.beta_loyalty", np.ones(3), "expected 20 values"),
        ("agents.BLR.beta_loyalty", np.array(["a"] * 20), "expected numbers"),
    ],
)
def test_values_are_checked_against_the_schema(key, values, message):
    with pytest.raises(VaryingError) as error:
        CSTOModel("baseline", replications=20, varying={key: values})
    assert message in str(error.value)


def test_a_pair_named_twice_is_refused():
    with pytest.raises(VaryingError, match="same pair"):
        CSTOModel(
            "baseline",
            replications=2,
            varying={"propensity.BLR.AZE": np.zeros(2), "propensity.AZE.BLR": np.zeros(2)},
        )


# -- shocks --------------------------------------------------------------------------------------


def test_a_set_shock_gives_every_replication_the_value():
    """history-2022 sets world.overstretch to 0.5 in 2022-02 (month 1)."""
    values = np.linspace(0.0, 0.3, 6)
    model = CSTOModel("history-2022", replications=6, rng=3, varying={"world.overstretch": values})
    np.testing.assert_array_equal(model.params.overstretch, values)
    model.step()
    np.testing.assert_array_equal(model.params.overstretch, values)
    model.step()
    np.testing.assert_array_equal(model.params.overstretch, np.full(6, 0.5))
    assert model.spec.world.overstretch == 0.0, "the shared value is left to the scenario"


def test_an_add_shock_adds_to_each_replication():
    """history-2022 adds 0.1 to agents.ARM.pole_credibility in 2022-09 (month 8)."""
    key = "agents.ARM.pole_credibility"
    values = np.array([0.0, 0.2, 0.4, 0.6])
    arm = list(load_scenario("history-2022").agents).index("ARM")
    model = CSTOModel("history-2022", replications=4, rng=3, varying={key: values})
    for _ in range(8):
        model.step()
    np.testing.assert_array_equal(model.params.pole_credibility[:, arm], values)
    model.step()
    np.testing.assert_allclose(model.params.pole_credibility[:, arm], values + 0.1)


def test_a_shock_to_a_level_moves_the_state_by_as_much():
    """history-2022 adds 0.3 to Belarus's standing in 2022-02 (month 1): the level Moscow's
    favour fades back to and the favour itself both move by 0.3, in each replication."""
    key = "agents.BLR.standing"
    values = np.array([-0.4, -0.15, 0.2])
    blr = list(load_scenario("history-2022").agents).index("BLR")
    model = CSTOModel("history-2022", replications=3, rng=3, varying={key: values})
    model.step()
    before = model.state.standing[:, blr].copy()
    model.apply_calendar()  # month 1's shocks alone, before anything else moves the favour
    np.testing.assert_allclose(model.params.standing[:, blr], values + 0.3)
    np.testing.assert_allclose(model.state.standing[:, blr], before + 0.3)


def test_an_add_shock_that_leaves_the_range_is_refused_before_the_run():
    key = "agents.ARM.pole_credibility"
    with pytest.raises(VaryingError, match=r"2022-09: replication 1 is 1\.05.*expected <= 1"):
        CSTOModel("history-2022", replications=3, rng=3, varying={key: np.array([0.1, 0.95, 0.2])})


def test_history_with_a_constant_varying_key_is_the_same_run():
    """Shocks change shared and varying keys alike: a constant overstretch (set in 2022-02) and
    Russia's valuation of a breakaway visit (set in 2022-09 and 2022-12)."""
    varying = {
        "world.overstretch": np.full(8, 0.1),
        "actions.visit_breakaway.goldstein": np.full(8, 3.0),
    }
    varied = CSTOModel("history-2022", replications=8, rng=4, varying=varying).run()
    plain = CSTOModel("history-2022", replications=8, rng=4, world__overstretch=0.1).run()
    assert_records_equal(varied, plain)
