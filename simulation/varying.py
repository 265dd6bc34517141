"""Per-replication parameters: which scenario keys may take one value per replication, and checks.

A design (a sweep, a sensitivity analysis) runs R replications in one model with a different value
of some keys in each: `CSTOModel(..., varying={"agents.BLR.beta_loyalty": values})`, `values` of
shape (R,). A key may vary when it names a numeric leaf of the scenario (a float or an integer
field) that does not steer the model's structure. Structural keys stay shared by every
replication: anything that is not a number (codes such as `patron`, `rival`, `alternative_pole`;
`status`, month-0 `posture`, `fixed_posture`, `decision_rule`, `article4_policy`,
`extraordinary_session`, `chairs`, `actors`, `targets`, `requires`, `offends`, `start`,
`no_diplomatic_relations`, `prefers`) and the integers that fix the calendar (`months`,
`alliance.summit_month`). Which actions, agents, poles and collateral entries exist is structural
too: a key must name an existing one. Pair tables (`trade`, `ties`, `propensity`) are symmetric:
`propensity.AZE.BLR` and `propensity.BLR.AZE` name the same pair, listed or not.

Each value is checked against the scenario schema's own bounds (the pydantic field constraints), so
a design can hold no value a scenario file could not.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types as at
import numpy as np
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from simulation.schema import Scenario

STRUCTURAL_NUMBERS = frozenset({"months", "alliance.summit_month"})
"""Numeric keys that steer the calendar and so stay shared."""

PAIR_TABLES = ("trade", "ties", "propensity")


class VaryingError(ValueError):
    """A `varying` key that may not vary, or a value out of its range: `varying KEY: message`."""

    def __init__(self, key: str, message: str):
        self.key, self.message = key, message
        super().__init__(f"varying {key}: {message}")


class Leaf(typing.NamedTuple):
    """A numeric scenario leaf: its kind (float or int) and its bounds."""

    kind: type
    bounds: tuple[Any, ...]  # annotated_types Ge / Gt / Le / Lt


def check_key(scenario: Scenario, key: str) -> Leaf:
    """The leaf `key` names if it may vary per replication; VaryingError saying why not."""
    if key in STRUCTURAL_NUMBERS:
        raise VaryingError(key, "is structural (it fixes the calendar); it is shared by all runs")
    parts = key.split(".")
    if parts[0] in PAIR_TABLES:
        return _pair_leaf(scenario, key, parts)
    node: Any = scenario
    annotation: Any = Scenario
    metadata: list[Any] = []
    for depth, part in enumerate(parts):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, BaseModel):
            field = type(node).model_fields.get(part)
            if field is None:
                raise VaryingError(key, f"unknown key {where!r}")
            annotation, metadata = field.annotation, list(field.metadata)
            node = getattr(node, part)
        elif isinstance(node, dict):
            if part not in node:
                raise VaryingError(key, f"{where!r} is not in the scenario ({_listing(node)})")
            annotation, metadata = _dict_value(annotation)
            node = node[part]
        else:
            raise VaryingError(key, f"{'.'.join(parts[:depth])!r} is not a table")
    leaf = _numeric_leaf(key, node, annotation, metadata)
    if parts[0] == "actions":
        _check_symmetric(scenario, key, parts)
    return leaf


def _check_symmetric(scenario: Scenario, key: str, parts: list[str]) -> None:
    """A conflict action whose weight to either side is the same has one option per conflict
    (not one per side); varying either weight would change its options, which is structural."""
    spec = scenario.actions[parts[1]]
    symmetric = (
        spec.targets == ["conflict_sides"] and spec.collateral.get("other_side") == spec.goldstein
    )
    if symmetric and parts[2:] in (["goldstein"], ["collateral", "other_side"]):
        raise VaryingError(
            key,
            "is structural here: the action weighs both sides of a conflict alike "
            "(goldstein = collateral.other_side), which makes one option per conflict",
        )


def may_vary(scenario: Scenario, key: str) -> bool:
    """Whether `key` may take one value per replication in `scenario`."""
    try:
        check_key(scenario, key)
    except VaryingError:
        return False
    return True


def check_values(scenario: Scenario, key: str, values: Any, replications: int) -> np.ndarray:
    """`values` as a float (R,) array after checking the key, the shape and every value's range.

    The message names the first offending replication: "replication 17 is -1.0; expected >= 0".
    """
    leaf = check_key(scenario, key)
    array = np.asarray(values)
    if array.shape != (replications,):
        raise VaryingError(key, f"expected {replications} values (one per run), got {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise VaryingError(key, f"expected numbers, got an array of {array.dtype}")
    array = array.astype(float)
    _check_range(key, array, leaf)
    return array


def _check_range(key: str, array: np.ndarray, leaf: Leaf) -> None:
    tests = [(~np.isfinite(array), "a finite number")]
    if leaf.kind is int:
        tests.append((np.isfinite(array) & (array != np.round(array)), "an integer"))
    for bound in leaf.bounds:
        if isinstance(bound, at.Ge):
            tests.append((array < bound.ge, f">= {bound.ge:g}"))
        elif isinstance(bound, at.Gt):
            tests.append((array <= bound.gt, f"> {bound.gt:g}"))
        elif isinstance(bound, at.Le):
            tests.append((array > bound.le, f"<= {bound.le:g}"))
        elif isinstance(bound, at.Lt):
            tests.append((array >= bound.lt, f"< {bound.lt:g}"))
    for bad, expected in tests:
        if bad.any():
            run = int(np.argmax(bad))
            raise VaryingError(
                key, f"replication {run} is {float(array[run])!r}; expected {expected}"
            )


def _pair_leaf(scenario: Scenario, key: str, parts: list[str]) -> Leaf:
    actors = scenario.actor_codes
    if len(parts) != 3:
        raise VaryingError(key, f"a {parts[0]} key names a pair: {parts[0]}.CODE.CODE")
    for code in parts[1:]:
        if code not in actors:
            raise VaryingError(key, f"unknown code {code!r}; expected one of {sorted(actors)}")
    if parts[1] == parts[2]:
        raise VaryingError(key, "a pair needs two different codes")
    annotation, metadata = _dict_value(_dict_value(Scenario.model_fields[parts[0]].annotation)[0])
    return _numeric_leaf(key, 0.0, annotation, metadata)


def pair_value(scenario: Scenario, table: str, source: str, target: str) -> float:
    """The value of a symmetric pair in `table`, whichever direction lists it (0 if none)."""
    rows = getattr(scenario, table)
    if target in rows.get(source, {}):
        return float(rows[source][target])
    return float(rows.get(target, {}).get(source, 0.0))


def _numeric_leaf(key: str, node: Any, annotation: Any, metadata: list[Any]) -> Leaf:
    if isinstance(node, BaseModel | dict | list | tuple):
        raise VaryingError(key, "names a table or a list; give a numeric key inside it")
    kind, extra = _base_type(annotation)
    if kind not in (float, int):
        raise VaryingError(
            key, f"is not numeric ({_type_name(annotation)}); it is structural and shared"
        )
    bounds = tuple(m for m in [*metadata, *extra] if isinstance(m, at.Ge | at.Gt | at.Le | at.Lt))
    return Leaf(kind, bounds)


def _base_type(annotation: Any) -> tuple[Any, list[Any]]:
    """(the type under Annotated, the constraints Annotated carries)."""
    extra: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *more = typing.get_args(annotation)
        for item in more:
            extra.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return annotation, extra


def _dict_value(annotation: Any) -> tuple[Any, list[Any]]:
    base, extra = _base_type(annotation)
    if typing.get_origin(base) is not dict:
        return base, extra
    value = typing.get_args(base)[1]
    inner, more = _base_type(value)
    return inner, more


def _type_name(annotation: Any) -> str:
    base, _ = _base_type(annotation)
    if typing.get_origin(base) in (typing.Literal,):
        return "one of " + ", ".join(map(repr, typing.get_args(base)))
    if typing.get_origin(base) in (typing.Union, types.UnionType):
        return " | ".join(getattr(a, "__name__", str(a)) for a in typing.get_args(base))
    return getattr(base, "__name__", str(base))


def _listing(table: dict) -> str:
    names = sorted(table)
    return "expected one of " + ", ".join(names) if names else "the table is empty"


class Numbers:
    """Reads numeric scenario leaves: the varying (R,) array, or the scenario's value as (1,).

    Every builder (parameters, menus, the initial state) reads the numbers it needs through
    `value`, so a key that varies and one that is shared are computed by the same code.
    """

    def __init__(self, scenario: Scenario, varying: dict[str, np.ndarray] | None = None):
        self.scenario = scenario
        self.varying = dict(varying or {})

    @property
    def length(self) -> int:
        """L: R if some key varies, else 1."""
        return max((len(v) for v in self.varying.values()), default=1)

    def value(self, key: str) -> np.ndarray:
        """(L_key,) float array: the key's per-replication values, or its one shared value."""
        if key in self.varying:
            return self.varying[key]
        parts = key.split(".")
        if parts[0] in PAIR_TABLES:
            mirrored = f"{parts[0]}.{parts[2]}.{parts[1]}"
            if mirrored in self.varying:
                return self.varying[mirrored]
        return np.array([self.shared(key)], dtype=float)

    def shared(self, key: str) -> float:
        parts = key.split(".")
        if parts[0] in PAIR_TABLES:
            return pair_value(self.scenario, parts[0], parts[1], parts[2])
        node: Any = self.scenario
        for part in parts:
            node = node[part] if isinstance(node, dict) else getattr(node, part)
        return float(node)

    def vector(self, keys: list[str]) -> np.ndarray:
        """(L, len(keys)) the keys' values side by side, L = 1 unless one of them varies."""
        if not keys:
            return np.zeros((1, 0))
        values = np.broadcast_arrays(*(self.value(key) for key in keys))
        return np.stack(values, axis=-1)

    def varies(self, prefix: str) -> bool:
        """Whether a varying key starts with `prefix`."""
        return any(key.startswith(prefix) for key in self.varying)
