"""The free parameters file: it validates against the shipped scenarios, and every kind of bad
entry gives one clear error naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulation.free_parameters import (
    FreeParameter,
    check_free_parameters,
    field_bounds,
    load_free_parameters,
    parameters_path,
    scenario_value,
    select_parameters,
    validate_parameters_file,
)
from simulation.scenario import ScenarioError, available_scenarios, load_scenario

SOURCED = ("gdp", "milex", "total_trade")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.toml"
    path.write_text(text)
    return path


def entry(key: str, low: object = 0.5, high: object = 3.0, prior: str = "uniform") -> str:
    return f'[parameters."{key}"]\nlow = {low}\nhigh = {high}\nprior = "{prior}"\nwhy = "test"\n'


@pytest.mark.parametrize("scenario", ["world-2022", "history-2022"])
def test_shipped_file_validates(scenario):
    params = load_free_parameters()
    check_free_parameters(params, scenario)
    assert 40 <= len(params) <= 70
    assert len({p.key for p in params}) == len(params)


def test_shipped_file_is_not_a_scenario():
    assert parameters_path().is_file()
    assert parameters_path().stem not in available_scenarios()


def test_shipped_file_holds_no_sourced_data_and_every_propensity():
    params = load_free_parameters()
    keys = {p.key for p in params}
    assert not any(k.startswith(("trade.", "ties.")) or k.endswith(SOURCED) for k in keys)
    world = load_scenario("world-2022")
    pairs = {f"propensity.{a}.{b}" for a, row in world.propensity.items() for b in row}
    assert pairs <= keys


def test_shipped_ranges_hold_the_default_inside_the_schema_bounds():
    world = load_scenario("world-2022")
    for param in load_free_parameters():
        value = scenario_value(world, param.key)
        bounds = field_bounds(param.key)
        assert param.low <= value <= param.high, param.key
        assert bounds.admits(param.low) and bounds.admits(param.high), param.key
        assert not param.log or param.low > 0, param.key
        assert param.why.strip()


def test_validate_parameters_file_counts(tmp_path):
    assert validate_parameters_file() == len(load_free_parameters())
    path = write(tmp_path, entry("agents.BLR.beta_loyalty") + entry("world.overstretch", 0, 0.8))
    assert validate_parameters_file(path) == 2


@pytest.mark.parametrize(
    "text, key, words",
    [
        (entry("agents.BLR.beta_wisdom"), "parameters.agents.BLR.beta_wisdom", "no such key"),
        (entry("agents.KAZ.rationality"), "parameters.agents.KAZ.rationality", "no such key"),
        (entry("propensity.RUS.BLR", 0.6, 1.0), "parameters.propensity.RUS.BLR", "no such key"),
        (entry("agents.BLR.status"), "parameters.agents.BLR.status", "not a numeric key"),
        (entry("alliance.extraordinary_session"), "extraordinary_session", "not a numeric key"),
        (entry("dynamics.offence_memory", 1, 4), "dynamics.offence_memory", "integer key"),
        (entry("agents.BLR.insecurity", 0.5, 1.5), "agents.BLR.insecurity.high", "[0, 1]"),
        (entry("propensity.BLR.AZE", -1.2, 0.9), "propensity.BLR.AZE.low", "[-1, 1]"),
        (
            entry("agents.ARM.credibility_prior.mean", 0.0, 0.7),
            "credibility_prior.mean.low",
            "(0, 1)",
        ),
        (entry("agents.BLR.beta_loyalty", 3.0, 0.5), "beta_loyalty", "must be below high"),
        (entry("agents.BLR.beta_loyalty", 2.0, 2.0), "beta_loyalty", "must be below high"),
        (entry("agents.BLR.standing", -0.5, 0.5, "log-uniform"), "standing", "low > 0"),
        (entry("agents.BLR.beta_loyalty", 2.0, 5.0), "beta_loyalty", "is outside [2, 5]"),
    ],
)
def test_bad_entries_name_the_file_and_key(tmp_path, text, key, words):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        validate_parameters_file(path)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    assert key in message and words in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text, key, words",
    [
        ('[parameters."world.overstretch"]\nlow = 0\nhigh = 1\nwhy = "x"\n', "prior", "missing"),
        (entry("world.overstretch", prior="normal"), "prior", "expected one of"),
        (entry("world.overstretch", low='"zero"'), "overstretch.low", "expected a number"),
        (entry("world.overstretch") + "step = 2\n", "overstretch.step", "unknown key"),
        (
            '[parameters."world.overstretch"]\nlow = 0\nhigh = 1\nprior = "uniform"\nwhy = ""\n',
            "why",
            "reason",
        ),
        ("[other]\nx = 1\n", "other", "unknown key"),
        ("parameters = 3\n", "parameters", "expected tables"),
        ("[parameters\n", "", "TOML syntax error"),
    ],
)
def test_malformed_files_name_the_key(tmp_path, text, key, words):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_free_parameters(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and key in message and words in message, message


def test_select_parameters_named_ones_with_overrides():
    params = load_free_parameters()
    chosen = select_parameters(
        params, ["agents.BLR.beta_loyalty=0.5:3", "aggression.ceiling", "world.overstretch=0:0.8"]
    )
    assert [p.key for p in chosen] == [
        "agents.BLR.beta_loyalty",
        "aggression.ceiling",
        "world.overstretch",
    ]
    assert (chosen[0].low, chosen[0].high, chosen[0].prior) == (0.5, 3.0, "log-uniform")
    shipped = {p.key: p for p in params}
    assert chosen[1] == shipped["aggression.ceiling"]
    assert chosen[2] == FreeParameter("world.overstretch", 0.0, 0.8, "uniform", chosen[2].why)
    check_free_parameters(chosen, "baseline")
    assert select_parameters(params, []) == params


@pytest.mark.parametrize(
    "option, words",
    [
        ("agents.BLR.beta_wisdom", "not a free parameter"),
        ("agents.BLR.beta_loyalty=0.5", "KEY=LO:HI"),
        ("agents.BLR.beta_loyalty=a:b", "KEY=LO:HI"),
        ("=1:2", "KEY or KEY=LO:HI"),
    ],
)
def test_select_parameters_bad_options_name_vary(option, words):
    with pytest.raises(ScenarioError) as caught:
        select_parameters(load_free_parameters(), [option])
    assert str(caught.value).startswith("--vary: ") and words in str(caught.value)


def test_a_key_a_shock_sets_cannot_vary():
    chosen = select_parameters(load_free_parameters(), ["world.overstretch=0:0.8"])
    check_free_parameters(chosen, "baseline", source="--vary")  # its shocks are not applied
    with pytest.raises(ScenarioError, match="shock 'invasion' of scenario 'history-2022' sets it"):
        check_free_parameters(chosen, "history-2022", source="--vary")
    west = select_parameters(load_free_parameters(), ["agents.ARM.pole_credibility"])
    with pytest.raises(ScenarioError, match="shock 'west-offer'"):
        check_free_parameters(west, "west-offer-armenia")


def test_an_override_is_checked_against_the_scenario():
    chosen = select_parameters(load_free_parameters(), ["agents.BLR.beta_loyalty=2:4"])
    with pytest.raises(ScenarioError, match=r"is outside \[2, 4\]"):
        check_free_parameters(chosen, "world-2022", source="--vary")
    unknown = select_parameters([], ["agents.BLR.beta_wisdom=0:1"])
    with pytest.raises(ScenarioError, match="no such key"):
        check_free_parameters(unknown, "world-2022", source="--vary")
