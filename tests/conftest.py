"""Shared fixtures: a CLI runner in a temporary working folder, and scenario files to test with."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import main

QUICK_MONTHS = 3
QUICK_RUNS = 12


def invoke(*args: object) -> Result:
    """Invoke `csto` with arguments (strings or paths); stdout and stderr are kept apart."""
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=True)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary current folder, so that default `runs/...` folders land in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(workdir: Path) -> Callable[..., Result]:
    """`invoke` with the temporary folder as the current folder."""
    return invoke


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    """Write a scenario file in the temporary folder and return its path.

    `write_scenario(body, name="custom", extends="world-2022")` prepends `extends = ...` unless
    `extends` is None; the body is dedented.
    """
    folder = tmp_path / "scenarios"
    folder.mkdir()

    def write(body: str = "", name: str = "custom", extends: str | None = "world-2022") -> Path:
        head = f'extends = "{extends}"\n' if extends is not None else ""
        path = folder / f"{name}.toml"
        path.write_text(head + textwrap.dedent(body), encoding="utf-8")
        return path

    return write


def assert_clean_error(result: Result, *fragments: str) -> None:
    """Exit code 2, every fragment in stderr, no traceback, and nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == "", result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
