"""Loading scenarios: find a file, follow `extends`, apply `--set` overrides, validate.

Every failure raises `ScenarioError` with the file (or option), the key path and what was expected,
so the command line can print one clear line and exit 2. Scenario files are TOML read with
`tomllib`; no code is ever evaluated from them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulation.schema import HorizonError, Scenario

SCENARIO_PACKAGE = "scenarios"


class ScenarioError(ValueError):
    """A scenario file or option that cannot be used: `source: key: expected ...`."""

    def __init__(self, source: str, key: str, message: str):
        self.source, self.key, self.message = source, key, message
        where = f"{source}: {key}: " if key else f"{source}: "
        super().__init__(where + message)


def scenario_dir() -> Path:
    """The folder of the scenario files shipped with the package."""
    return Path(str(resources.files(SCENARIO_PACKAGE)))


def available_scenarios() -> dict[str, Path]:
    """Shipped scenario names (file stems) and their paths, sorted by name."""
    return {p.stem: p for p in sorted(scenario_dir().glob("*.toml"))}


def resolve_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    """The file a scenario name or path refers to; ScenarioError if there is none."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml":
        if not candidate.is_absolute() and relative_to is not None:
            sibling = relative_to.parent / candidate
            if sibling.exists():
                return sibling
        if candidate.exists():
            return candidate
        raise ScenarioError(str(name_or_path), "", f"no such scenario file {str(name_or_path)!r}")
    shipped = available_scenarios()
    if relative_to is not None and (relative_to.parent / f"{name_or_path}.toml").exists():
        return relative_to.parent / f"{name_or_path}.toml"
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise ScenarioError(
        str(name_or_path),
        "",
        f"unknown scenario {name_or_path!r}; expected one of {sorted(shipped)} or a .toml path",
    )


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; ScenarioError naming the file and line on a syntax error."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(str(path), "", f"TOML syntax error: {error}") from None
    except OSError as error:
        raise ScenarioError(str(path), "", f"cannot read: {error.strerror}") from None


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into a copy of `base`; `shocks` lists are concatenated."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if key == "shocks" and isinstance(value, list):
            merged[key] = [*merged.get(key, []), *copy.deepcopy(value)]
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_raw(name_or_path: str, _chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path]:
    """The scenario's dictionary after following `extends`, and the file it came from."""
    path = resolve_path(name_or_path, _chain[-1] if _chain else None).resolve()
    if path in _chain:
        cycle = " -> ".join(p.stem for p in (*_chain, path))
        raise ScenarioError(str(_chain[-1]), "extends", f"cyclic inheritance: {cycle}")
    data = read_toml(path)
    parent = data.get("extends", "")
    if not isinstance(parent, str):
        raise ScenarioError(str(path), "extends", "expected a scenario name or path (a string)")
    data.setdefault("name", path.stem)
    if not parent:
        return data, path
    try:
        base, _ = load_raw(parent, (*_chain, path))
    except ScenarioError as error:
        if error.key or error.source != parent:
            raise
        raise ScenarioError(str(path), "extends", error.message) from None
    base.pop("description", None)
    merged = merge(base, data)
    merged["name"] = data["name"]
    return merged, path


def parse_override(text: str) -> tuple[str, Any]:
    """Split `KEY=VALUE` and read VALUE as a TOML value (a bare word stays a string)."""
    if "=" not in text:
        raise ScenarioError("--set", text, "expected KEY=VALUE, e.g. agents.BLR.beta_loyalty=2.0")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise ScenarioError("--set", text, "expected KEY=VALUE with a dotted key")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def apply_override(data: dict[str, Any], key: str, value: Any, known: dict[str, Any]) -> None:
    """Set dotted `key` in `data` to `value`; ScenarioError if the key is not in the schema."""
    parts = key.split(".")
    node_known: Any = known
    for depth, part in enumerate(parts):
        if not isinstance(node_known, dict) or part not in node_known:
            prefix = ".".join(parts[: depth + 1])
            raise ScenarioError("--set", key, f"unknown key {prefix!r}")
        node_known = node_known[part]
    if isinstance(node_known, dict):
        raise ScenarioError("--set", key, "names a table; give a key inside it")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _format_location(location: tuple) -> str:
    text = ""
    for item in location:
        if isinstance(item, int):
            text += f"[{item}]"
        else:
            text += ("." if text else "") + str(item)
    return text


def validate(data: dict[str, Any], source: str) -> Scenario:
    """Validate a scenario dictionary; ScenarioError with the first error's key path."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = _format_location(tuple(first["loc"]))
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        elif first.get("input") is not None and first["type"] != "value_error":
            message = f"{message} (got {first['input']!r})"
        message = message.removeprefix("Value error, ")
        if first["type"] == "value_error" and " is unknown" in message:
            subject, _, rest = message.partition(" is unknown")
            location, _, value = subject.partition(" ")
            value = value or repr(location.rsplit(".", 1)[-1])
            message = f"unknown code {value}{rest}"
        return _raise(source, location, message)


def _raise(source: str, key: str, message: str) -> Scenario:
    raise ScenarioError(source, key, message)


def load_scenario(
    name_or_path: str | Path,
    overrides: list[str] | dict[str, Any] | None = None,
    months: int | None = None,
) -> Scenario:
    """Load, override and validate a scenario; check its shocks lie in the horizon."""
    data, path = load_raw(str(name_or_path))
    scenario = validate(data, str(path))
    check_shock_keys(scenario, str(path))
    return _override_and_check(scenario, data, overrides, months, str(path))


def apply_overrides(
    scenario: Scenario, overrides: list[str] | dict[str, Any] | None, months: int | None
) -> Scenario:
    """A validated copy of `scenario` with `overrides` applied and its horizon checked."""
    data = scenario.model_dump(by_alias=True, exclude_defaults=False)
    return _override_and_check(scenario, data, overrides, months, scenario.name or "scenario")


def _override_and_check(
    scenario: Scenario,
    data: dict[str, Any],
    overrides: list[str] | dict[str, Any] | None,
    months: int | None,
    source: str,
) -> Scenario:
    if overrides:
        items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
        known = scenario.model_dump(by_alias=True)
        for key, value in items:
            apply_override(data, key, value, known)
        try:
            scenario = validate(data, source)
        except ScenarioError as error:
            raise ScenarioError("--set", error.key, error.message) from None
    else:
        scenario = scenario.model_copy(deep=True)
    horizon = months if months is not None else scenario.months
    try:
        scenario.check_horizon(horizon)
    except HorizonError as error:
        raise ScenarioError(source, error.path, str(error)) from None
    return scenario


def check_shock_keys(scenario: Scenario, source: str) -> None:
    """Every `set`/`add` key of a shock must be a scenario key, and the result must validate."""
    known = scenario.model_dump(by_alias=True)
    for number, shock in enumerate(scenario.shocks):
        for kind in ("set", "add"):
            for key, value in getattr(shock, kind).items():
                where = f"shocks[{number}].{kind}.{key}"
                try:
                    trial = scenario.model_dump(by_alias=True)
                    if kind == "add":
                        current = _lookup(known, key, where, source)
                        if not isinstance(current, int | float) or isinstance(current, bool):
                            raise ScenarioError(source, where, "add needs a numeric key")
                        value = current + value
                    apply_override(trial, key, value, known)
                except ScenarioError as error:
                    raise ScenarioError(source, where, error.message) from None
                try:
                    Scenario.model_validate(trial)
                except ValidationError as error:
                    first = error.errors()[0]
                    message = first["msg"].removeprefix("Value error, ")
                    raise ScenarioError(source, where, message) from None


def _lookup(known: dict[str, Any], key: str, where: str, source: str) -> Any:
    node: Any = known
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ScenarioError(source, where, "unknown key")
        node = node[part]
    return node


def resolved_dict(scenario: Scenario) -> dict[str, Any]:
    """The fully resolved scenario as plain data (for manifests and `csto show`)."""
    data = scenario.model_dump(by_alias=True, mode="json")
    data.pop("extends", None)
    return data


def scenario_hash(scenario: Scenario) -> str:
    """sha256 of the resolved scenario's canonical JSON."""
    text = json.dumps(resolved_dict(scenario), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
