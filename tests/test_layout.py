"""The package layout: imports run one way, cli.py, dashboard/ -> batches/ -> results/ ->
simulation/ and agents/; importing `batches` for the command line stays light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "simulation": {"results", "batches", "dashboard", "cli"},
    "agents": {"results", "batches", "dashboard", "cli"},
    "results": {"batches", "dashboard", "cli"},
    "batches": {"dashboard", "cli"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, anywhere in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_one_way(package):
    files = sorted((ROOT / package).glob("*.py"))
    assert files
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in files
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_simulation_holds_the_model_alone():
    modules = {path.stem for path in (ROOT / "simulation").glob("*.py")}
    assert not modules & {"batch", "executors", "runner", "sweep", "history"}
    assert {"chunks", "executors", "runner", "plan", "sweeps", "history", "api"} <= {
        path.stem for path in (ROOT / "batches").glob("*.py")
    }


LIGHT = """
import json, sys
import batches, batches.errors, batches.plan, batches.runner
names = ("run", "sweep", "compare", "open_folder")
print(json.dumps([m for m in ("numpy", "pandas", "mesa", "matplotlib") if m in sys.modules]))
"""


def test_importing_batches_is_light():
    done = subprocess.run(
        [sys.executable, "-c", LIGHT], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(done.stdout) == []


def test_the_api_names_are_exported():
    import batches

    for name in ("run", "sweep", "compare", "open_folder"):
        assert callable(getattr(batches, name)), name
    with pytest.raises(AttributeError):
        batches.no_such_name  # noqa: B018


def test_the_light_option_lists_agree_with_their_homes():
    from batches import plan
    from batches.executors import EXECUTORS
    from results.layout import FORMATS
    from results.schema import TABLE_NAMES

    assert plan.EXECUTORS == EXECUTORS and plan.FORMATS == FORMATS
    assert set(plan.TABLE_CHOICES) == set(TABLE_NAMES)
