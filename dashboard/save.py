""" "Save as scenario": the dashboard's settings as a TOML scenario that `csto run` accepts.

The file `extends` the picked scenario and holds only the keys that differ from it, so it stays
a readable what-if ("history-2022 with Belarus's loyalty weight at 3") and follows later edits
of its parent. It is validated with `load_scenario` before `write_scenario` returns.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import tomli_w

from simulation.scenario import available_scenarios, load_scenario
from simulation.schema import Scenario

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SaveError(ValueError):
    """A file name or location the dashboard will not write to."""


def parent_reference(scenario_ref: str, saved_in: str | Path | None = None) -> str:
    """What `extends` should say in a file saved in the folder `saved_in` (default current).

    A shipped name as is; a file as its path relative to `saved_in`, which the file's `extends`
    can reach only when the parent lies below `saved_in` or the current folder (the places an
    `extends` may reach, `simulation.scenario.resolve_extends`). SaveError otherwise: the saved
    file would not load.
    """
    if scenario_ref in available_scenarios():
        return scenario_ref
    parent = Path(scenario_ref).resolve()
    folder = Path(saved_in if saved_in is not None else ".").resolve()
    for place in (folder, Path.cwd().resolve()):
        if place in parent.parents:
            return Path(os.path.relpath(parent, folder)).as_posix()
    raise SaveError(
        f"{parent} lies outside the save folder {folder} and the current folder, where a saved "
        "scenario's `extends` cannot reach; save into its folder or copy it here first"
    )


def describe_changes(base_name: str, changes: dict[str, Any]) -> str:
    """ "history-2022 with agents.BLR.beta_loyalty = 3.0, world.overstretch = 0.4"."""
    if not changes:
        return f"{base_name}, unchanged"
    parts = ", ".join(f"{key} = {value}" for key, value in sorted(changes.items()))
    return f"{base_name} with {parts}"


def scenario_document(
    scenario_ref: str,
    changes: dict[str, Any],
    base_name: str = "",
    saved_in: str | Path | None = None,
) -> dict:
    """The TOML document: `extends`, a description, then the changed keys as nested tables.

    `saved_in` is the folder the file goes to (default the current one; see `parent_reference`).
    """
    base_name = base_name or Path(scenario_ref).stem
    document: dict[str, Any] = {
        "extends": parent_reference(scenario_ref, saved_in),
        "description": describe_changes(base_name, changes),
    }
    for key, value in sorted(changes.items()):
        node = document
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return document


def scenario_text(
    scenario_ref: str,
    changes: dict[str, Any],
    base_name: str = "",
    saved_in: str | Path | None = None,
) -> str:
    """The TOML text of `scenario_document`, with a comment saying where it came from."""
    head = "# Saved from the csto dashboard: the keys below override the scenario it extends.\n"
    return head + tomli_w.dumps(scenario_document(scenario_ref, changes, base_name, saved_in))


def target_path(folder: str | Path, file_name: str) -> Path:
    """`folder/file_name` (".toml" added); SaveError for a name with a path or odd characters.

    Refuses to overwrite a shipped scenario file.
    """
    name = file_name.strip()
    if not name.endswith(".toml"):
        name += ".toml"
    if not SAFE_NAME.match(name) or name.startswith("."):
        raise SaveError(f"{file_name!r}: use letters, digits, '-', '_' and '.' only (no folders)")
    path = (Path(folder) / name).resolve()
    shipped = {p.resolve() for p in available_scenarios().values()}
    if path in shipped:
        raise SaveError(f"{path} is a shipped scenario; choose another name")
    return path


def write_scenario(
    folder: str | Path,
    file_name: str,
    scenario_ref: str,
    changes: dict[str, Any],
    base_name: str = "",
) -> tuple[Path, Scenario]:
    """Write the scenario file and validate it with load_scenario; return its path and spec.

    The file is written to a temporary name first and renamed once it validates, so a failure
    leaves no file behind. Raises SaveError or ScenarioError.
    """
    path = target_path(folder, file_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.stem}.saving.toml")
    text = scenario_text(scenario_ref, changes, base_name, path.parent)
    scratch.write_text(text, encoding="utf-8")
    try:
        spec = load_scenario(scratch)
    except Exception:
        scratch.unlink(missing_ok=True)
        raise
    scratch.replace(path)
    return path, spec.model_copy(update={"name": path.stem})
