"""The free parameters: which scenario keys a sensitivity analysis may vary, over which range.

They are declared once, in `scenarios/sensitivity/parameters.toml`:

    [parameters."agents.BLR.beta_loyalty"]
    low = 0.42
    high = 3.75
    prior = "log-uniform"        # "uniform" or "log-uniform" (log-uniform needs low > 0)
    why = "one line: the reason or source for the range"

`load_free_parameters` reads the file, `check_free_parameters` checks it against a resolved
scenario and the schema's field bounds, `select_parameters` applies `--vary KEY[=LO:HI]` options.
Every failure is a `ScenarioError` naming the file (or option), the key and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from simulation.scenario import ScenarioError, load_scenario, read_toml
from simulation.schema import Scenario

PARAMETERS_PACKAGE = "scenarios.sensitivity"
PARAMETERS_FILE = "parameters.toml"
PRIORS: tuple[str, ...] = ("uniform", "log-uniform")
ENTRY_FIELDS: tuple[str, ...] = ("low", "high", "prior", "why")
VARY_OPTION = "--vary"
PARAMETERS_SHOWN = "scenarios/sensitivity/parameters.toml"


@dataclass(frozen=True)
class FreeParameter:
    """One scenario key a design may vary: its range [low, high] and its prior."""

    key: str
    low: float
    high: float
    prior: str
    why: str

    @property
    def log(self) -> bool:
        """Whether the parameter is sampled uniformly in log(value)."""
        return self.prior == "log-uniform"


def parameters_path() -> Path:
    """The shipped parameters file."""
    return Path(str(resources.files(PARAMETERS_PACKAGE))) / PARAMETERS_FILE


def load_free_parameters(path: Path | None = None) -> list[FreeParameter]:
    """The free parameters of a parameters file (default: the shipped one), in file order.

    Checks the file's structure only (types, names of fields, priors); `check_free_parameters`
    checks the parameters against a scenario.
    """
    path = Path(path) if path is not None else parameters_path()
    data = read_toml(path)
    source = str(path)
    extra = sorted(set(data) - {"parameters"})
    if extra:
        raise ScenarioError(source, extra[0], 'unknown key; expected only [parameters."KEY"]')
    table = data.get("parameters")
    if not isinstance(table, dict) or not table:
        raise ScenarioError(source, "parameters", 'expected tables [parameters."KEY"]')
    return [_entry(source, key, entry) for key, entry in table.items()]


def _entry(source: str, key: str, entry: Any) -> FreeParameter:
    where = f"parameters.{key}"
    if not isinstance(entry, dict):
        raise ScenarioError(source, where, "expected a table with low, high, prior, why")
    unknown = sorted(set(entry) - set(ENTRY_FIELDS))
    if unknown:
        raise ScenarioError(
            source, f"{where}.{unknown[0]}", f"unknown key; expected {ENTRY_FIELDS}"
        )
    missing = [name for name in ENTRY_FIELDS if name not in entry]
    if missing:
        raise ScenarioError(source, f"{where}.{missing[0]}", "missing")
    for bound in ("low", "high"):
        value = entry[bound]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(source, f"{where}.{bound}", f"expected a number (got {value!r})")
    if entry["prior"] not in PRIORS:
        raise ScenarioError(
            source, f"{where}.prior", f"expected one of {PRIORS} (got {entry['prior']!r})"
        )
    if not isinstance(entry["why"], str) or not entry["why"].strip():
        raise ScenarioError(source, f"{where}.why", "expected a one-line reason")
    return FreeParameter(
        key, float(entry["low"]), float(entry["high"]), entry["prior"], entry["why"]
    )


# --- checking against a scenario ---------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """A schema field's numeric bounds (None: unbounded) and whether it is an integer field."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    integer: bool = False

    def admits(self, value: float) -> bool:
        return (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )

    def describe(self) -> str:
        low = (
            f"[{self.ge:g}"
            if self.ge is not None
            else f"({self.gt:g}"
            if self.gt is not None
            else "(-inf"
        )
        high = (
            f"{self.le:g}]"
            if self.le is not None
            else f"{self.lt:g})"
            if self.lt is not None
            else "inf)"
        )
        return f"{low}, {high}"


def field_bounds(key: str) -> Bounds:
    """The bounds the schema puts on dotted `key` (ge/gt/le/lt of its pydantic field metadata).

    Walks the schema models: a model's field by name, a dict's value type for any other part.
    Raises KeyError if the path leaves the schema.
    """
    node: Any = Scenario
    metadata: list[Any] = []
    for part in key.split("."):
        node, metadata = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(part)
            if field is None:
                raise KeyError(key)
            node, metadata = field.annotation, list(field.metadata)
        elif get_origin(node) is dict:
            node, metadata = get_args(node)[1], []
        else:
            raise KeyError(key)
    node, more = _unwrap(node)
    metadata += more
    bounds: dict[str, float] = {}
    for item in metadata:
        for name in ("ge", "gt", "le", "lt"):
            kind = getattr(annotated_types, name.capitalize())
            if isinstance(item, kind):
                bounds[name] = float(getattr(item, name))
    return Bounds(**bounds, integer=node is int)


def _unwrap(node: Any) -> tuple[Any, list[Any]]:
    """Strip Annotated[...] from a type, returning it and the constraints it carried."""
    metadata: list[Any] = []
    while get_origin(node) is Annotated:
        node, *extras = get_args(node)
        for extra in extras:
            metadata += list(extra.metadata) if isinstance(extra, FieldInfo) else [extra]
    return node, metadata


def scenario_value(scenario: Scenario, key: str) -> Any:
    """The value of dotted `key` in the resolved scenario; KeyError if it has none."""
    node: Any = scenario.model_dump(by_alias=True)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def check_free_parameters(
    params: list[FreeParameter], scenario: Scenario | str, *, source: str | None = None
) -> None:
    """Raise ScenarioError(source, key, ...) for the first parameter that cannot be varied.

    A parameter must name a numeric, non-integer key of the resolved scenario that none of its
    applied shocks sets; low < high, both inside the schema's field bounds; low > 0 when
    log-uniform; the scenario's value in [low, high]. `source` names the file in the message
    (default: the shipped file).
    """
    resolved = load_scenario(scenario) if isinstance(scenario, str) else scenario
    source = source or str(parameters_path())
    seen: set[str] = set()
    for param in params:
        where = f"parameters.{param.key}"
        if param.key in seen:
            raise ScenarioError(source, where, "given twice")
        seen.add(param.key)
        try:
            value = scenario_value(resolved, param.key)
            bounds = field_bounds(param.key)
        except KeyError:
            raise ScenarioError(
                source, where, f"no such key in scenario {resolved.name or '(unnamed)'!r}"
            ) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(source, where, f"not a numeric key (its value is {value!r})")
        if bounds.integer:
            raise ScenarioError(source, where, "an integer key cannot vary continuously")
        _check_range(param, bounds, float(value), source, where)
        _check_not_reset(resolved, param.key, source, where)


def _check_not_reset(scenario: Scenario, key: str, source: str, where: str) -> None:
    """A key that an applied shock `set`s would lose its varied value at the shock's month."""
    for shock in scenario.active_shocks():
        if key in shock.set:
            name = f"shock {shock.id!r}" if shock.id else "a shock"
            raise ScenarioError(
                source,
                where,
                f"{name} of scenario {scenario.name!r} sets it in {shock.month}: "
                "a varied value would be replaced there",
            )


def _check_range(param: FreeParameter, bounds: Bounds, value: float, source: str, where: str):
    if not param.low < param.high:
        raise ScenarioError(source, where, f"low {param.low:g} must be below high {param.high:g}")
    if param.log and param.low <= 0:
        raise ScenarioError(source, where, f"log-uniform needs low > 0 (got {param.low:g})")
    for name in ("low", "high"):
        bound = getattr(param, name)
        if not math.isfinite(bound) or not bounds.admits(bound):
            raise ScenarioError(
                source,
                f"{where}.{name}",
                f"{bound:g} is outside the key's range {bounds.describe()}",
            )
    if not param.low <= value <= param.high:
        raise ScenarioError(
            source,
            where,
            f"the scenario's value {value:g} is outside [{param.low:g}, {param.high:g}]",
        )


# --- --vary KEY[=LO:HI] -------------------------------------------------------------------------


def parse_vary(text: str) -> tuple[str, tuple[float, float] | None]:
    """`KEY` or `KEY=LO:HI` -> (key, None or (lo, hi)); ScenarioError naming --vary otherwise."""
    key, has_range, raw = (part.strip() for part in text.partition("="))
    if not key:
        raise ScenarioError(VARY_OPTION, text, "expected KEY or KEY=LO:HI")
    if not has_range:
        return key, None
    low, colon, high = raw.partition(":")
    try:
        if not colon:
            raise ValueError
        return key, (float(low), float(high))
    except ValueError:
        raise ScenarioError(
            VARY_OPTION, key, f"expected KEY=LO:HI with two numbers (got {raw!r})"
        ) from None


def select_parameters(params: list[FreeParameter], vary: list[str]) -> list[FreeParameter]:
    """The parameters `vary` names (`--vary KEY[=LO:HI]`), in the order given.

    A range overrides the file's. A key not in `params` is accepted only with a range (it is then
    varied uniformly); without one it is a ScenarioError naming --vary. An empty `vary` selects
    every parameter. Check the result with `check_free_parameters`.
    """
    if not vary:
        return list(params)
    known = {p.key: p for p in params}
    chosen: dict[str, FreeParameter] = {}
    for text in vary:
        key, span = parse_vary(text)
        if key in chosen:
            raise ScenarioError(VARY_OPTION, key, "given twice")
        if key in known:
            base = known[key]
            chosen[key] = base if span is None else FreeParameter(key, *span, base.prior, base.why)
        elif span is not None:
            chosen[key] = FreeParameter(key, *span, "uniform", f"{VARY_OPTION} {text}")
        else:
            raise ScenarioError(
                VARY_OPTION,
                key,
                f"not a free parameter of {PARAMETERS_SHOWN}; "
                "give a range KEY=LO:HI to vary it uniformly",
            )
    return list(chosen.values())


def validate_parameters_file(path: Path | str | None = None, scenario: str = "world-2022") -> int:
    """Load and check a parameters file against `scenario`; the number of parameters.

    For `csto validate`: raises ScenarioError naming the file and key on the first problem.
    """
    path = Path(path) if path is not None else parameters_path()
    params = load_free_parameters(path)
    check_free_parameters(params, scenario, source=str(path))
    return len(params)


def is_parameters_file(path: Path | str) -> bool:
    """Whether a TOML file is a parameters file (its only table is [parameters]).

    Read with `read_toml`, the one reader of scenario files: a FIFO, device or folder is not
    opened (it would block), a binary or non-UTF-8 file is simply not a parameters file.
    """
    try:
        data = read_toml(Path(path))
    except ScenarioError:
        return False
    return set(data) == {"parameters"}
