"""The escalation ladder of protests (Kahn 1965), the deterrence a protest carries (Schelling 1966)
and the diminishing returns of repeated signals to the patron (Fearon 1997), on small hand-set
states; their keys vary per replication."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_records_equal, records_differ

from agents.catalogue import ACTION_ID
from agents.incentives import action_utilities
from simulation.model import CSTOModel

MEMORY = 6


def option(menu, action: str, target: int) -> int:
    """Index of `action` toward `target` in `menu`."""
    hits = np.flatnonzero((menu.actions == ACTION_ID[action]) & (menu.targets == target))
    assert len(hits) == 1
    return int(hits[0])


@pytest.fixture
def ladder():
    """Two replications of the 2022 world; Armenia offended by Belarus in both, its relation to
    Belarus low enough for a recall, so that only the ladder decides which protest is open."""
    model = CSTOModel(
        "world-2022", replications=2, rng=1, months=24, dynamics__escalation_memory=MEMORY
    )
    codes = model.params.actor_codes
    arm, blr = codes.index("ARM"), codes.index("BLR")
    model.state.relation[:, arm, blr] = -0.6
    model.state.last_offence[:, arm, blr] = model.month
    menu = model.countries.to_list()[arm].diplomacy_menu
    summon, recall = option(menu, "summon_ambassador", blr), option(menu, "recall_ambassador", blr)
    return model, arm, blr, menu, summon, recall


def open_protests(model, arm, menu, summon, recall) -> np.ndarray:
    """(R, 2) whether the summons and the recall are open."""
    return model.available(arm, menu)[:, [summon, recall]]


def test_the_catalogue_ranks_the_protests_mildest_first():
    model = CSTOModel("world-2022", replications=1, rng=1, months=1)
    assert model.catalogue.rungs == {"summon_ambassador": 1, "recall_ambassador": 2}


def test_the_ladder_starts_at_the_summons(ladder):
    model, arm, _, menu, summon, recall = ladder
    assert open_protests(model, arm, menu, summon, recall).tolist() == [[True, False]] * 2


def test_an_answered_offence_is_not_protested_again(ladder):
    model, arm, _, menu, summon, recall = ladder
    model.answer_offences(arm, menu, np.array([summon, 0]))
    assert open_protests(model, arm, menu, summon, recall).tolist() == [
        [False, False],  # answered: neither protest is open
        [True, False],  # not answered yet
    ]


def test_a_repeated_offence_climbs_to_the_next_rung(ladder):
    model, arm, blr, menu, summon, recall = ladder
    model.answer_offences(arm, menu, np.array([summon, 0]))
    model.month += 2
    model.state.last_offence[:, arm, blr] = model.month  # Belarus offends again
    assert open_protests(model, arm, menu, summon, recall).tolist() == [
        [False, True],  # summoned within the memory: only the recall
        [True, False],
    ]
    model.answer_offences(arm, menu, np.array([recall, 0]))
    model.month += 1
    model.state.last_offence[:, arm, blr] = model.month
    assert open_protests(model, arm, menu, summon, recall)[0].tolist() == [False, True]  # the top


def test_quiet_relaxes_the_ladder(ladder):
    model, arm, blr, menu, summon, recall = ladder
    model.answer_offences(arm, menu, np.array([summon, summon]))
    model.month += MEMORY
    model.state.last_offence[0, arm, blr] = model.month
    model.state.last_offence[1, arm, blr] = model.month + 1
    assert open_protests(model, arm, menu, summon, recall)[0].tolist() == [False, True]
    model.month += 1  # MEMORY + 1 months without a protest
    assert open_protests(model, arm, menu, summon, recall)[1].tolist() == [True, False]


def test_without_a_memory_every_offence_is_answered_from_the_foot():
    model = CSTOModel("world-2022", replications=1, rng=1, months=4, dynamics__escalation_memory=0)
    codes = model.params.actor_codes
    arm, blr = codes.index("ARM"), codes.index("BLR")
    menu = model.countries.to_list()[arm].diplomacy_menu
    summon = option(menu, "summon_ambassador", blr)
    model.answer_offences(arm, menu, np.array([summon]))
    model.month += 1
    model.state.last_offence[:, arm, blr] = model.month
    assert model.available(arm, menu)[0, summon]


DETERRENCE = 1.5


def _belarus_after_armenia(rungs: list[int], **overrides):
    """Belarus's diplomacy in replications where Armenia's last protest against it stands on
    `rungs[r]` (0: none), dated this month; its utilities and the menu."""
    model = CSTOModel(
        "world-2022", replications=len(rungs), rng=1, months=24,
        dynamics__escalation_memory=MEMORY, **overrides,
    )  # fmt: skip
    codes = model.params.actor_codes
    arm, blr = codes.index("ARM"), codes.index("BLR")
    model.state.protest_rung[:, arm, blr] = rungs
    model.state.protest_month[:, arm, blr] = np.where(np.array(rungs) > 0, model.month, -1000)
    model.state.protest_action[:, arm, blr] = ACTION_ID["signal_loyalty"]  # a pledge answered
    belarus = model.countries.to_list()[blr]
    return model, belarus, belarus.diplomacy_menu


def test_a_protest_makes_repeating_the_offence_cost_the_next_rung():
    """After Armenia's summons (rung 1) of a pledge, another pledge, which offends Armenia
    (collateral -3), costs Belarus d x |recall|/10 = d x 0.5 more; after a recall (the top rung)
    the recall again. Acts that offend no one who protested, or offend Armenia by another act
    than the one it protested (siding with Azerbaijan), cost nothing more; the terms still sum to
    the utility."""
    deterring = {"dynamics__protest_deterrence": DETERRENCE}
    model, belarus, menu = _belarus_after_armenia([0, 1, 2], **deterring)
    rus, geo = (model.params.actor_codes.index(c) for c in ("RUS", "GEO"))
    pledge, visit = option(menu, "signal_loyalty", rus), option(menu, "visit_breakaway", rus)
    deterrence = belarus.deterrence(menu)
    expected = [0.0, -DETERRENCE * 0.5, -DETERRENCE * 0.5]  # none, after a summons, a recall
    assert deterrence[:, pledge].tolist() == pytest.approx(expected)
    assert not deterrence[:, visit].any()  # offends Georgia, which has not protested
    assert not deterrence[:, option(menu, "summon_ambassador", geo)].any()
    aze = model.params.actor_codes.index("AZE")
    siding = option(menu, "side_with", aze)
    assert menu.goldstein[0, siding, model.params.actor_codes.index("ARM")] <= -3.0
    assert not deterrence[:, siding].any()
    utilities = belarus.utilities(menu)
    plain = action_utilities(model.params, model.state, belarus.index, menu, model.reaction)
    np.testing.assert_allclose(utilities - plain, deterrence)
    terms = belarus.action_terms(menu)
    np.testing.assert_allclose(sum(terms.values()), utilities, atol=1e-12)


def test_a_protest_remembers_the_act_it_answered():
    """Belarus's pledge offends Armenia; Armenia's summons answers it and remembers the pledge."""
    model = CSTOModel("world-2022", replications=1, rng=1, months=4)
    codes = model.params.actor_codes
    arm, blr, rus = (codes.index(c) for c in ("ARM", "BLR", "RUS"))
    belarus, armenia = (model.countries.to_list()[k] for k in (blr, arm))
    pledge = option(belarus.diplomacy_menu, "signal_loyalty", rus)
    model.carry_out(blr, belarus.diplomacy_menu, np.array([pledge]), np.array([True]))
    assert model.state.offence_action[0, arm, blr] == ACTION_ID["signal_loyalty"]
    summon = option(armenia.diplomacy_menu, "summon_ambassador", blr)
    model.answer_offences(arm, armenia.diplomacy_menu, np.array([summon]))
    assert model.state.protest_action[0, arm, blr] == ACTION_ID["signal_loyalty"]
    warnings, answered = model.protest_warnings(blr)
    assert warnings[0, arm] == pytest.approx(0.5)  # the recall, |-5| / 10, comes next
    assert answered[0, arm] == ACTION_ID["signal_loyalty"]


def test_an_old_protest_and_a_zero_weight_deter_nothing():
    model, belarus, menu = _belarus_after_armenia([1], dynamics__protest_deterrence=DETERRENCE)
    model.month += MEMORY + 1  # the protest is older than the ladder's memory
    assert np.all(belarus.deterrence(menu) == 0.0)
    _, silent, menu = _belarus_after_armenia([1], dynamics__protest_deterrence=0.0)
    assert np.all(silent.deterrence(menu) == 0.0)


FATIGUE = 0.4


@pytest.fixture
def signalling():
    """Belarus's loyalty signal in one replication, Russia's relations set so that its warmth
    toward Belarus moves by eta x the discounted weight only (no balance term, no clipping)."""
    model = CSTOModel(
        "world-2022",
        replications=1,
        rng=1,
        months=12,
        dynamics__signal_fatigue=FATIGUE,
        dynamics__signal_memory=12.0,
    )
    codes = model.params.actor_codes
    blr, rus = codes.index("BLR"), codes.index("RUS")
    model.state.relation[:, rus, :] = 0.0
    menu = model.countries.to_list()[blr].diplomacy_menu
    return model, blr, rus, menu, option(menu, "signal_loyalty", rus)


def test_the_kth_signal_earns_less_by_the_stated_factor(signalling):
    model, blr, rus, menu, signal = signalling
    gains = []
    for _ in range(4):
        before = model.state.relation[0, rus, blr]
        model.carry_out(blr, menu, np.array([signal]), np.array([True]))
        gains.append(model.state.relation[0, rus, blr] - before)
    assert gains[0] > 0
    np.testing.assert_allclose(np.array(gains) / gains[0], (1 - FATIGUE) ** np.arange(4))


def test_the_count_of_signals_fades_with_the_memory(signalling):
    model, blr, rus, menu, signal = signalling
    model.carry_out(blr, menu, np.array([signal]), np.array([True]))
    count = model.state.signals[0, blr, ACTION_ID["signal_loyalty"]]
    model.decay()
    faded = model.state.signals[0, blr, ACTION_ID["signal_loyalty"]]
    assert count == 1.0
    assert faded == pytest.approx(np.exp(-1 / 12.0))


def test_a_repeated_signal_is_worth_less_to_the_signaller(signalling):
    model, blr, rus, menu, signal = signalling

    def value() -> float:
        utilities = action_utilities(model.params, model.state, blr, menu, model.reaction)
        return float(utilities[0, signal])

    first = value()
    model.state.signals[0, blr, ACTION_ID["signal_loyalty"]] = 2.0
    assert value() < first


def test_other_acts_are_not_discounted(signalling):
    """A protest is not a signal to the patron: its effect does not depend on the count."""
    model, blr, rus, menu, _ = signalling
    codes = model.params.actor_codes
    summon = option(menu, "summon_ambassador", codes.index("GEO"))
    model.state.signals[0, blr, :] = 5.0
    utilities = action_utilities(model.params, model.state, blr, menu, model.reaction)
    model.state.signals[0, blr, :] = 0.0
    fresh = action_utilities(model.params, model.state, blr, menu, model.reaction)
    assert utilities[0, summon] == fresh[0, summon]


def _courting(count: float, **overrides) -> dict[str, float]:
    """Armenia's terms of courting the West after `count` recent courtships."""
    from agents.terms import action_terms

    model = CSTOModel(
        "world-2022", replications=1, rng=1, months=12, dynamics__signal_fatigue=FATIGUE,
        **overrides,
    )  # fmt: skip
    codes = model.params.actor_codes
    arm, west = codes.index("ARM"), codes.index("WEST")
    menu = model.countries.to_list()[arm].diplomacy_menu
    court = option(menu, "court_west", west)
    model.state.signals[0, arm, ACTION_ID["court_west"]] = count
    terms = action_terms(model.params, model.state, arm, menu, model.reaction)
    utility = action_utilities(model.params, model.state, arm, menu, model.reaction)[0, court]
    return {name: float(value[0, court]) for name, value in terms.items()} | {"utility": utility}


def test_courting_the_west_again_is_worth_less_in_favour_and_at_home():
    """A signal to an outside pole fades too (Fearon 1997): after k recent courtships Armenia's
    next one keeps (1 - f)^k of its favour with the West and of its domestic value; the cost is
    not discounted, and the terms still sum to the utility."""
    westward = {"agents__ARM__public_lean": -0.8}  # a public that approves of courting the West
    fresh, once, twice = (_courting(n, **westward) for n in (0.0, 1.0, 2.0))
    assert fresh["fatigue"] == 0.0
    assert once["fatigue"] < 0.0
    assert twice["fatigue"] / once["fatigue"] == pytest.approx(
        ((1 - FATIGUE) ** 2 - 1) / ((1 - FATIGUE) - 1)
    )
    assert twice["cost"] == fresh["cost"]
    assert twice["utility"] == pytest.approx(sum(v for k, v in twice.items() if k != "utility"))
    silent = _courting(1.0, agents__ARM__beta_legitimacy=0.0, **westward)  # no domestic value
    domestic = once["fatigue"] - silent["fatigue"]
    assert domestic == pytest.approx(-FATIGUE * once["legitimacy"])
    assert once["legitimacy"] > 0.0
    moscow_ward = _courting(2.0, agents__ARM__public_lean=0.8)
    assert moscow_ward["legitimacy"] < 0.0  # the disapproval of the public does not fade
    assert moscow_ward["fatigue"] == pytest.approx(
        _courting(2.0, agents__ARM__public_lean=0.8, agents__ARM__beta_legitimacy=0.0)["fatigue"]
    )


R = 16
KEYS = [
    ("dynamics.escalation_memory", 3),
    ("dynamics.signal_fatigue", 0.8),
    ("dynamics.signal_memory", 2.0),
    ("dynamics.protest_deterrence", 2.0),
]


@pytest.mark.parametrize(("key", "value"), KEYS)
def test_a_constant_varying_key_is_the_same_run_as_the_override(key, value):
    varied = CSTOModel(
        "history-2022", replications=R, rng=5, months=24, varying={key: np.full(R, value)}
    ).run()
    overridden = CSTOModel(
        "history-2022", replications=R, rng=5, months=24, **{key.replace(".", "__"): value}
    ).run()
    assert_records_equal(varied, overridden)
    default = CSTOModel("history-2022", replications=R, rng=5, months=24).run()
    assert records_differ(default, varied)
