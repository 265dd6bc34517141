"""Loading scenarios: find a file, follow `extends`, apply `--set` overrides, validate.

Every failure raises `ScenarioError` with the file (or option), the key path and what was expected,
so the command line can print one clear line and exit 2. Scenario files are UTF-8 TOML read with
`tomllib`; no code is ever evaluated from them. A scenario stays in its place: `extends` names a
shipped scenario, or a file in the extending file's folder or below the current folder, never a
file elsewhere. An error names the file that holds the offending key and shows at most that key's
own value (never a whole table), so no error prints the content of another file.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import os
import re
import stat
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from simulation.schema import HorizonError, Scenario

SCENARIO_PACKAGE = "scenarios"
MAX_SCENARIO_BYTES = 4 * 1024 * 1024
"""A scenario file larger than this is refused (the sourced world-2022.toml is about 17 kB)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""A scenario name (not a path): a file stem without separators."""
Layers = list[tuple[Path, dict[str, Any]]]
"""The files of an `extends` chain and what each holds, the root first."""


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
    """The file a scenario name or path refers to; ScenarioError if there is none.

    Without `relative_to` (a scenario given on the command line) any `.toml` path is accepted.
    With it (the `extends` of the file `relative_to`), see `resolve_extends`.
    """
    if relative_to is not None:
        return resolve_extends(name_or_path, relative_to)
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml":
        if candidate.exists():
            return candidate
        raise ScenarioError(str(name_or_path), "", f"no such scenario file {str(name_or_path)!r}")
    shipped = available_scenarios()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise ScenarioError(
        str(name_or_path),
        "",
        f"unknown scenario {name_or_path!r}; expected one of {sorted(shipped)} or a .toml path",
    )


def allowed_places(extending: Path) -> tuple[Path, ...]:
    """Folders an `extends` of the file `extending` may reach: its own, the current, the shipped."""
    return (extending.resolve().parent, Path.cwd().resolve(), scenario_dir().resolve())


def resolve_extends(value: str, extending: Path) -> Path:
    """The file `extends = value` of the file `extending` refers to, kept inside its places.

    A name (no `.toml`, no separators) is a file `name.toml` beside `extending`, else a shipped
    scenario. A `.toml` path is taken relative to `extending`'s folder, then to the current folder;
    it must lie (after following links) in `extending`'s folder, below the current folder or among
    the shipped scenarios. ScenarioError names `extending` and the key `extends` otherwise.
    """
    source = str(extending)
    places = allowed_places(extending)
    if Path(value).suffix != ".toml":
        if not _NAME.match(value) or ".." in value:
            raise ScenarioError(
                source, "extends", f"expected a scenario name or a .toml path, got {value!r}"
            )
        sibling = extending.parent / f"{value}.toml"
        if sibling.is_file():
            return _inside(sibling, value, places, source)
        shipped = available_scenarios()
        if value in shipped:
            return shipped[value]
        raise ScenarioError(
            source,
            "extends",
            f"unknown scenario {value!r}; expected one of {sorted(shipped)}, a file "
            f"{value}.toml beside {extending.name}, or a .toml path",
        )
    candidate = Path(value)
    tries = [candidate] if candidate.is_absolute() else [extending.parent / candidate, candidate]
    for path in tries:
        if path.exists():
            return _inside(path, value, places, source)
    raise ScenarioError(source, "extends", f"no such scenario file {value!r}")


def _inside(path: Path, value: str, places: tuple[Path, ...], source: str) -> Path:
    """`path`, resolved, if it lies in one of `places`; else ScenarioError for `extends`."""
    target = path.resolve()
    if any(target == place or place in target.parents for place in places):
        return target
    raise ScenarioError(
        source,
        "extends",
        f"{value!r} lies outside the scenario's folder, the current folder and the shipped "
        "scenarios; copy the file next to the scenario that extends it",
    )


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a UTF-8 TOML file; ScenarioError naming the file (and line) on any problem.

    Only a regular file of at most MAX_SCENARIO_BYTES is read (a FIFO or device is refused without
    blocking); a UTF-8 byte-order mark is allowed.
    """
    source = str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise ScenarioError(source, "", f"cannot read: {_os_reason(error)}") from None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ScenarioError(source, "", "not a regular file")
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            raw = handle.read(MAX_SCENARIO_BYTES + 1)
    except OSError as error:
        raise ScenarioError(source, "", f"cannot read: {_os_reason(error)}") from None
    finally:
        os.close(descriptor)
    return parse_toml_bytes(raw, source)


def parse_toml_bytes(raw: bytes, source: str) -> dict[str, Any]:
    """The TOML document in `raw`; ScenarioError (for `source`) if it is not UTF-8 TOML text."""
    if len(raw) > MAX_SCENARIO_BYTES:
        limit = MAX_SCENARIO_BYTES // (1024 * 1024)
        raise ScenarioError(source, "", f"larger than {limit} MiB; not a scenario file")
    if b"\x00" in raw:
        raise ScenarioError(source, "", "a binary file, not TOML text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ScenarioError(
            source,
            "",
            f"not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save the file as UTF-8",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(source, "", f"TOML syntax error: {error}") from None
    except RecursionError:
        raise ScenarioError(source, "", "TOML syntax error: nested too deeply") from None


def _os_reason(error: OSError) -> str:
    return error.strerror or errno.errorcode.get(error.errno or 0, type(error).__name__)


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


def load_layers(name_or_path: str, _chain: tuple[Path, ...] = ()) -> Layers:
    """The files of the scenario's `extends` chain and their contents, the root first."""
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
        return [(path, data)]
    return [*load_layers(parent, (*_chain, path)), (path, data)]


def merge_layers(layers: Layers) -> dict[str, Any]:
    """The scenario dictionary of an `extends` chain: each file merged over its parent."""
    merged = layers[0][1]
    for _, data in layers[1:]:
        base = {key: value for key, value in merged.items() if key != "description"}
        try:
            merged = merge(base, data)
        except RecursionError:
            raise ScenarioError(str(layers[-1][0]), "", "tables nested too deeply") from None
        merged["name"] = data["name"]
    return merged


def load_raw(name_or_path: str) -> tuple[dict[str, Any], Path]:
    """The scenario's dictionary after following `extends`, and the file it came from."""
    layers = load_layers(name_or_path)
    return merge_layers(layers), layers[-1][0]


def origin(layers: Layers | None, location: str, default: str) -> str:
    """The file of an `extends` chain that holds the key at `location` (e.g. `agents.BLR.gdp`).

    Shocks are concatenated root first, so `shocks[i]` is found by counting; any other key
    belongs to the most derived file that holds it. `default` if no file holds it (a missing
    key, or an error about the whole scenario).
    """
    if not layers or not location:
        return default
    parts: list[str | int] = []
    for item in re.findall(r"[^.\[\]]+|\[\d+\]", location):
        parts.append(int(item[1:-1]) if item.startswith("[") else item)
    if len(parts) > 1 and parts[0] == "shocks" and isinstance(parts[1], int):
        index = parts[1]
        for path, data in layers:
            shocks = data.get("shocks")
            count = len(shocks) if isinstance(shocks, list) else 0
            if index < count:
                return str(path)
            index -= count
        return default
    for path, data in reversed(layers):
        if _holds(data, parts):
            return str(path)
    return default


def _holds(data: Any, parts: list[str | int]) -> bool:
    node = data
    for part in parts:
        in_list = isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node)
        in_table = isinstance(part, str) and isinstance(node, dict) and part in node
        if not (in_list or in_table):
            return False
        node = node[part]
    return True


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


def validate(data: dict[str, Any], source: str, layers: Layers | None = None) -> Scenario:
    """Validate a scenario dictionary; ScenarioError with the first error's key path.

    The error names the file of `layers` that holds the key (`source` without layers, or for a
    key no file holds) and shows the offending value only if it is a short scalar.
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        location, message = describe_error(error.errors()[0])
        return _raise(origin(layers, location, source), location, message)


def describe_error(first: Any) -> tuple[str, str]:
    """The key path and the one-line message of a pydantic error (`ValidationError.errors()[i]`)."""
    location = _format_location(tuple(first["loc"]))
    message = first["msg"]
    kind = first["type"]
    if kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "string_pattern_mismatch" and "Cc" in str(first.get("ctx", {}).get("pattern")):
        message = "expected text without control characters"
    elif kind == "string_pattern_mismatch" and "x00" in str(first.get("ctx", {}).get("pattern")):
        message = "expected text without control characters (other than line breaks and tabs)"
    elif kind not in ("value_error", "missing"):
        shown = shown_value(first.get("input"))
        message = f"{message} (got {shown})" if shown else message
    message = message.removeprefix("Value error, ")
    if kind == "value_error" and " is unknown" in message:
        subject, _, rest = message.partition(" is unknown")
        location, _, value = subject.partition(" ")
        value = value or repr(location.rsplit(".", 1)[-1])
        message = f"unknown code {value}{rest}"
    return location, message


def shown_value(value: Any) -> str:
    """How an error shows a rejected value: a short scalar as itself, a table or array by kind.

    A table's content is never shown: with `extends` it may come from another file.
    """
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return type(value).__name__


def _raise(source: str, key: str, message: str) -> Scenario:
    raise ScenarioError(source, key, message)


def load_scenario(
    name_or_path: str | Path,
    overrides: list[str] | dict[str, Any] | None = None,
    months: int | None = None,
) -> Scenario:
    """Load, override and validate a scenario; check its shocks lie in the horizon."""
    layers = load_layers(str(name_or_path))
    data, path = merge_layers(layers), layers[-1][0]
    scenario = validate(data, str(path), layers)
    check_shock_keys(scenario, str(path), layers)
    return _override_and_check(scenario, data, overrides, months, str(path))


def apply_overrides(
    scenario: Scenario, overrides: list[str] | dict[str, Any] | None, months: int | None
) -> Scenario:
    """A validated copy of `scenario` with `overrides` applied and its horizon checked."""
    data = scenario.model_dump(by_alias=True, exclude_defaults=False)
    return _override_and_check(scenario, data, overrides, months, scenario.name or "scenario")


def plain_value(value: Any) -> Any:
    """A numpy scalar as the Python scalar of the same kind (programmatic overrides)."""
    return value.item() if isinstance(value, np.generic) else value


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
            apply_override(data, key, plain_value(value), known)
        try:
            scenario = validate(data, source)
        except ScenarioError as error:
            raise ScenarioError("--set", error.key, error.message) from None
    else:
        scenario = scenario.model_copy(deep=True)
    if months is not None:
        check_months(scenario, months)
    horizon = months if months is not None else scenario.months
    try:
        scenario.check_horizon(horizon)
    except HorizonError as error:
        raise ScenarioError(source, error.path, str(error)) from None
    return scenario


def check_months(scenario: Scenario, months: Any) -> None:
    """A horizon given apart from the scenario (`--months`) must meet the schema's `months` key."""
    trial = scenario.model_copy()
    try:
        trial.months = months
    except ValidationError as error:
        _, message = describe_error(error.errors()[0])
        raise ScenarioError("--months", "", message) from None


def check_shock_keys(scenario: Scenario, source: str, layers: Layers | None = None) -> None:
    """Every `set`/`add` key of a shock must be a scenario key, and the result must validate."""
    known = scenario.model_dump(by_alias=True)
    for number, shock in enumerate(scenario.shocks):
        for kind in ("set", "add"):
            for key, value in getattr(shock, kind).items():
                where = f"shocks[{number}].{kind}.{key}"
                holder = origin(layers, f"shocks[{number}]", source)
                try:
                    trial = scenario.model_dump(by_alias=True)
                    if kind == "add":
                        current = _lookup(known, key, where, holder)
                        if not isinstance(current, int | float) or isinstance(current, bool):
                            raise ScenarioError(holder, where, "add needs a numeric key")
                        value = current + value
                    apply_override(trial, key, value, known)
                except ScenarioError as error:
                    raise ScenarioError(holder, where, error.message) from None
                try:
                    Scenario.model_validate(trial)
                except ValidationError as error:
                    _, message = describe_error(error.errors()[0])
                    raise ScenarioError(holder, where, message) from None


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
