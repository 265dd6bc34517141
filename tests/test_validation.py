"""Every kind of scenario or option error: exit 2, one clear line, no traceback, no run folder.

Each bad scenario file extends the shipped `world-2022` and is checked both by `csto run` (which
must fail before creating its folder) and by `csto validate`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import assert_clean_error


@pytest.fixture
def run_fails(cli, workdir):
    """`csto run ARGS --out out` must fail cleanly with `fragments` and leave no folder."""

    def check(*args: object, fragments: tuple[str, ...] = (), pattern: str | None = None):
        out = workdir / "out"
        result = cli("run", *args, "--runs", 2, "--no-plots", "--out", out)
        assert_clean_error(result, *fragments)
        if pattern is not None:
            assert re.search(pattern, result.stderr), result.stderr
        assert result.stderr.startswith("error: ")
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert not out.exists()
        assert not (workdir / "runs").exists()
        return result

    return check


@pytest.fixture
def bad_file(cli, run_fails, write_scenario):
    """Write a scenario `body` (extending world-2022); `run` and `validate` must both reject it."""

    def check(body: str, *fragments: str, pattern: str | None = None, **kwargs) -> str:
        path = write_scenario(body, **kwargs)
        message = run_fails(path, fragments=(str(path), *fragments), pattern=pattern).stderr
        result = cli("validate", path)
        assert_clean_error(result, str(path), *fragments)
        assert result.stderr == message, "validate and run word the error differently"
        assert len(message.strip().splitlines()) == 1, message
        return message

    return check


def test_toml_syntax_error(bad_file):
    bad_file("months = = 3\n", "TOML syntax error", "line 2")


def test_unknown_top_level_key(bad_file):
    bad_file("bogus = 1\n", ": bogus: unknown key")


def test_unknown_nested_key(bad_file):
    bad_file("[agents.BLR]\nbeta_loyal = 2.0\n", ": agents.BLR.beta_loyal: unknown key")


def test_wrong_type(bad_file):
    body = '[agents.BLR]\nrationality = "high"\n'
    bad_file(body, ": agents.BLR.rationality:", "number", "'high'")


def test_value_out_of_range(bad_file):
    bad_file(
        "[agents.ARM]\ninsecurity = 1.5\n",
        ": agents.ARM.insecurity:",
        "less than or equal to 1",
        "1.5",
    )


def test_unknown_agent_code_in_trade(bad_file):
    bad_file("[trade.BLR]\nXYZ = 5.0\n", ": trade.BLR.XYZ:", "unknown", "expected one of", "'RUS'")


def test_unknown_alternative_pole(bad_file):
    bad_file(
        '[agents.ARM]\nalternative_pole = "CHN"\n',
        ": agents.ARM.alternative_pole:",
        "unknown",
        "expected one of ['TUR', 'WEST']",
    )


def test_shock_outside_the_horizon(bad_file):
    body = '[[shocks]]\nmonth = "2030-01"\nset = { "world.overstretch" = 0.2 }\n'
    bad_file(body, "2030-01", "outside the horizon", pattern=r": shocks\[\d+\]\.month: ")


def test_months_option_shortens_the_horizon(cli, run_fails, write_scenario):
    path = write_scenario('[[shocks]]\nmonth = "2022-06"\nset = { "world.overstretch" = 0.2 }\n')
    assert cli("validate", path).exit_code == 0  # fits the scenario's 36 months
    run_fails(
        path,
        "--months",
        4,
        fragments=(str(path), "2022-06 is outside the horizon 2022-01 + 4 months"),
        pattern=r": shocks\[\d+\]\.month: ",
    )


def test_shock_with_a_bad_month(bad_file):
    body = '[[shocks]]\nmonth = "2022-13"\nset = { "world.overstretch" = 0.2 }\n'
    bad_file(body, "2022-13", "01..12", pattern=r": shocks\[\d+\]\.month: ")


@pytest.mark.parametrize("target", ["no-such-world", "no-such-world.toml"])
def test_missing_extends_target(bad_file, target):
    bad_file("", ": extends:", extends=target)


def test_cyclic_extends(cli, run_fails, write_scenario):
    first = write_scenario("", name="first", extends="second.toml")
    second = write_scenario("", name="second", extends="first.toml")
    message = run_fails(first, fragments=("extends", "cyclic inheritance")).stderr
    assert str(first) in message or str(second) in message
    assert "first -> second -> first" in message
    assert_clean_error(cli("validate", second), "extends", "cyclic inheritance")


def test_unknown_scenario_name(run_fails):
    run_fails("no-such-scenario", fragments=("no-such-scenario", "unknown scenario", "baseline"))


def test_set_unknown_key(run_fails):
    run_fails(
        "baseline",
        "--set",
        "agents.BLR.beta_loyal=2.0",
        fragments=("error: --set: agents.BLR.beta_loyal: unknown key",),
    )


def test_set_unknown_agent(run_fails):
    run_fails("baseline", "--set", "agents.XYZ.rationality=2", fragments=("--set", "agents.XYZ"))


def test_set_wrong_type(run_fails):
    run_fails(
        "baseline",
        "--set",
        "agents.BLR.rationality=high",
        fragments=("error: --set: agents.BLR.rationality:", "number", "'high'"),
    )


def test_set_out_of_range(run_fails):
    run_fails(
        "baseline",
        "--set",
        "world.overstretch=1.5",
        fragments=("error: --set: world.overstretch:", "less than or equal to 1"),
    )


def test_set_without_equals(run_fails):
    run_fails("baseline", "--set", "world.overstretch", fragments=("--set", "KEY=VALUE"))


@pytest.mark.parametrize("option", ["--runs", "--months", "--workers"])
def test_option_out_of_range(cli, workdir: Path, option):
    out = workdir / "out"
    args = {"--runs": 2, "--months": 3, "--workers": 1}
    args[option] = 0
    flat = [str(item) for pair in args.items() for item in pair]
    result = cli("run", "baseline", *flat, "--no-plots", "--out", out)
    assert_clean_error(result, f"'{option}'", "0 is not in the range x>=1")
    assert not out.exists()
    assert not (workdir / "runs").exists()
