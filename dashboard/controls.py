"""The dashboard's controls, derived from the scenario schema (no Solara here).

Each control is a `ControlSpec`: a dotted scenario key (the same keys as `csto run --set`), its
label, the value in the picked scenario and the range of the schema field behind it. A schema
bound that is only a safety cap (the behavioural weights allow up to 100) is cut to
`PRACTICAL_MAX` on the slider, so that the calibrated values (0-3) are not squeezed into a few
pixels; the label still says what the schema allows, and a scenario file may go beyond.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from simulation.calendar import month_index
from simulation.schema import AgentSpec, AllianceSpec, CredibilityPrior, Scenario, WorldSpec

AGENT_WEIGHTS: tuple[str, ...] = (
    "beta_affinity",
    "beta_trade",
    "beta_security",
    "beta_legitimacy",
    "beta_loyalty",
    "rationality",
)
"""The per-agent behavioural parameters on the dashboard, in display order."""

LABELS: dict[str, str] = {
    "beta_affinity": "β affinity",
    "beta_trade": "β trade partners",
    "beta_security": "β security",
    "beta_legitimacy": "β legitimacy",
    "beta_loyalty": "β loyalty (Russia's favour)",
    "rationality": "rationality λ",
    "credibility_prior.mean": "credibility prior (mean)",
    "world.overstretch": "Russia's overstretch",
    "alliance.decision_rule": "Article 4 decision rule",
    "months": "horizon (months)",
}

PRACTICAL_MAX = 10.0
"""Slider maximum for a field whose schema upper bound is a cap far above any used value."""

MAX_MONTHS = 120
"""Slider maximum of the horizon (the schema allows 1200; the page is for quick looks)."""

UNIT_STEP = 0.01
WEIGHT_STEP = 0.05


@dataclass(frozen=True)
class ControlSpec:
    """One control: a slider (`kind` "float" or "int") or a choice (`kind` "choice")."""

    key: str
    label: str
    group: str
    kind: str
    value: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    schema_min: float | None = None
    schema_max: float | None = None
    choices: tuple[str, ...] = ()
    description: str = ""

    @property
    def range_text(self) -> str:
        """ "0–10 (schema 0–100)" or "0–1", for the label."""
        if self.kind == "choice":
            return " / ".join(self.choices)
        shown = f"{_number(self.min)}–{_number(self.max)}"
        if (self.schema_min, self.schema_max) != (self.min, self.max):
            shown += f" (schema {_number(self.schema_min)}–{_number(self.schema_max)})"
        return shown

    def clamp(self, value: Any) -> Any:
        """`value` rounded to the step and kept within the slider's range."""
        if self.kind == "choice":
            return value if value in self.choices else self.value
        value = min(max(float(value), self.min), self.max)
        if self.kind == "int":
            return int(round(value))
        return round(round(value / self.step) * self.step, _decimals(self.step))


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}"


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step))) if step < 1 else 0


def schema_bounds(model: type[BaseModel], field: str) -> tuple[float | None, float | None]:
    """The (lower, upper) bounds of a numeric schema field from its ge/gt/le/lt constraints.

    An open bound (gt, lt) is moved inward by one slider step of the unit interval, so a slider
    never offers a value the schema rejects.
    """
    low = high = None
    for item in model.model_fields[field].metadata:
        if isinstance(item, Ge):
            low = float(item.ge)
        elif isinstance(item, Gt):
            low = float(item.gt) + UNIT_STEP
        elif isinstance(item, Le):
            high = float(item.le)
        elif isinstance(item, Lt):
            high = float(item.lt) - UNIT_STEP
    return low, high


def schema_choices(model: type[BaseModel], field: str) -> tuple[str, ...]:
    """The allowed values of a Literal schema field."""
    return tuple(str(v) for v in typing.get_args(model.model_fields[field].annotation))


def _slider(
    model: type[BaseModel], field: str, key: str, group: str, value: Any, step: float
) -> ControlSpec:
    schema_min, schema_max = schema_bounds(model, field)
    low = schema_min if schema_min is not None else 0.0
    high = schema_max if schema_max is not None else PRACTICAL_MAX
    if high > PRACTICAL_MAX:
        high = max(PRACTICAL_MAX, math.ceil(float(value)))
    label_key = key.split(".", 2)[-1] if key.startswith("agents.") else key
    return ControlSpec(
        key=key,
        label=LABELS.get(label_key, label_key),
        group=group,
        kind="float",
        value=float(value),
        min=low,
        max=high,
        step=step,
        schema_min=schema_min,
        schema_max=schema_max,
        description=model.model_fields[field].description or "",
    )


def agent_controls(scenario: Scenario, code: str) -> list[ControlSpec]:
    """The sliders of one agent: its incentive weights, rationality and credibility prior."""
    agent = scenario.agents[code]
    controls = [
        _slider(
            AgentSpec, field, f"agents.{code}.{field}", code, getattr(agent, field), WEIGHT_STEP
        )
        for field in AGENT_WEIGHTS
    ]
    controls.append(
        _slider(
            CredibilityPrior,
            "mean",
            f"agents.{code}.credibility_prior.mean",
            code,
            agent.credibility_prior.mean,
            UNIT_STEP,
        )
    )
    return controls


def world_controls(scenario: Scenario) -> list[ControlSpec]:
    """Russia's overstretch, the Article 4 decision rule and the horizon."""
    overstretch = _slider(
        WorldSpec, "overstretch", "world.overstretch", "world", scenario.world.overstretch, 0.05
    )
    rule = ControlSpec(
        key="alliance.decision_rule",
        label=LABELS["alliance.decision_rule"],
        group="world",
        kind="choice",
        value=scenario.alliance.decision_rule,
        choices=schema_choices(AllianceSpec, "decision_rule"),
        description="consensus: any refusal blocks; weighted_median: the size-weighted median",
    )
    schema_min, schema_max = schema_bounds(Scenario, "months")
    months = ControlSpec(
        key="months",
        label=LABELS["months"],
        group="world",
        kind="int",
        value=int(scenario.months),
        min=float(minimum_horizon(scenario)),
        max=float(min(schema_max or MAX_MONTHS, max(MAX_MONTHS, scenario.months))),
        step=1,
        schema_min=schema_min,
        schema_max=schema_max,
        description="months simulated from " + scenario.start,
    )
    return [overstretch, rule, months]


def all_controls(scenario: Scenario) -> list[ControlSpec]:
    """World controls, then each agent's, in the scenario's agent order."""
    controls = world_controls(scenario)
    for code in scenario.agents:
        controls.extend(agent_controls(scenario, code))
    return controls


def minimum_horizon(scenario: Scenario) -> int:
    """The shortest horizon that holds every applied shock (load_scenario rejects less)."""
    last = [month_index(scenario.start, s.month) for s in scenario.active_shocks()]
    return max([0, *last]) + 1


def current_values(scenario: Scenario) -> dict[str, Any]:
    """Every control's value in `scenario`, by key."""
    return {control.key: control.value for control in all_controls(scenario)}


def changed_values(values: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """The entries of `values` that differ from `base` (floats compared to 1e-9)."""
    changed = {}
    for key, value in values.items():
        before = base.get(key)
        if isinstance(value, float) and isinstance(before, int | float):
            if abs(value - before) > 1e-9:
                changed[key] = value
        elif value != before:
            changed[key] = value
    return changed


def split_overrides(changes: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
    """Scenario overrides (for load_scenario/CSTOModel) and the horizon, from changed values."""
    overrides = {k: v for k, v in changes.items() if k != "months"}
    return overrides, changes.get("months")


def shock_settings(scenario: Scenario, key: str) -> list[tuple[str, Any]]:
    """(month, value) of the applied shocks that set or add to `key`, in month order.

    The dashboard shows them beside a slider: a slider sets a key's month-0 value, and a shock
    may replace it later (history-2022 sets Russia's overstretch in 2022-02 and 2022-09).
    """
    found = []
    for shock in scenario.active_shocks():
        if key in shock.set:
            found.append((shock.month, shock.set[key]))
        if key in shock.add:
            found.append((shock.month, f"+{shock.add[key]:g}"))
    return sorted(found, key=lambda item: month_index(scenario.start, item[0]))
