# ruff: noqa: N802  (Solara components are named like classes)
"""The csto dashboard: a Solara page to tweak a scenario and watch the whole ensemble move.

Run it with `csto dashboard [SCENARIO]` (or `solara run dashboard.app:Page`). The scenario it
opens with, the folder "Save as scenario" writes to and the number of runs come from the
environment variables CSTO_DASHBOARD_SCENARIO, CSTO_DASHBOARD_SAVE_DIR and CSTO_DASHBOARD_RUNS,
which `csto dashboard` sets.

The main view is the ensemble: every change re-runs a few hundred replications and redraws the
distributions, because a single stochastic run misleads. The "Single run" tab steps one
replication with Mesa's ModelController and tells each month's events in words.
"""

from __future__ import annotations

import asyncio
import html
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solara
import solara.lab
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from dashboard.controls import (
    ControlSpec,
    agent_controls,
    changed_values,
    current_values,
    shock_settings,
    split_overrides,
    world_controls,
)
from dashboard.ensemble import (
    DEFAULT_RUNS,
    DEFAULT_SEED,
    RUN_CHOICES,
    Ensemble,
    EnsembleCache,
    cohesion_band,
    component_bands,
    draw_cohesion,
    draw_component_grid,
    draw_relations,
    draw_status,
    draw_top_events,
    relation_matrix,
    shipped_posterior_exists,
    status_probabilities,
    top_events,
)
from dashboard.narrate import describe, month_events, narrate_month
from dashboard.save import SaveError, write_scenario
from dashboard.single import SingleRun, agent_rows
from dashboard.why import event_choices, explain_ensemble_event, explain_single_event
from results.explain_plots import attribution_bars, draw_attribution
from simulation.calendar import month_label
from simulation.scenario import ScenarioError, available_scenarios, load_scenario
from simulation.schema import Scenario

DEFAULT_SCENARIO = "history-2022"
PNG_DPI = 100


def _env_runs() -> int:
    try:
        runs = int(os.environ.get("CSTO_DASHBOARD_RUNS", DEFAULT_RUNS))
    except ValueError:
        return DEFAULT_RUNS
    return runs if runs in RUN_CHOICES else DEFAULT_RUNS


START_SCENARIO = os.environ.get("CSTO_DASHBOARD_SCENARIO", DEFAULT_SCENARIO)
SAVE_DIR = Path(os.environ.get("CSTO_DASHBOARD_SAVE_DIR", ".")).resolve()

CACHE = EnsembleCache()


def scenario_choices() -> list[str]:
    """Shipped scenarios, plus the one the page was opened with if it is a file."""
    names = list(available_scenarios())
    if START_SCENARIO not in names:
        names.insert(0, START_SCENARIO)
    return names


def load_base(ref: str) -> Scenario:
    return load_scenario(ref)


def names_of(scenario: Scenario) -> dict[str, str]:
    names = {code: agent.name for code, agent in scenario.agents.items()}
    names.update({code: pole.name for code, pole in scenario.poles.items()})
    return names


def png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PNG_DPI)
    fig.clear()
    return buffer.getvalue()


# --- state (Solara scopes module-level reactives to each browser session) --------------------

scenario_ref = solara.reactive(START_SCENARIO)
values = solara.reactive(current_values(load_base(START_SCENARIO)))
runs = solara.reactive(_env_runs())
use_posterior = solara.reactive(False)  # draw the calibrated parameters from the posterior
agent = solara.reactive("BLR")
relation_month = solara.reactive(-1)  # -1: the last month
save_name = solara.reactive(f"{Path(START_SCENARIO).stem}-tweaked")
save_message = solara.reactive(("", ""))  # (kind, text)
opened_event = solara.reactive(None)  # (month, actor, action, target) of the single run
why_event = solara.reactive("")  # ACTOR:ACTION[:TARGET] of the ensemble's "why" panel


@dataclass
class View:
    """The ensemble tab's cohesion plot (a PNG) and the words around it."""

    cohesion: bytes
    runs: int
    months: int
    seconds: float
    start: str


def pick_scenario(ref: str) -> None:
    """Switch scenario: every control returns to the new scenario's values."""
    scenario_ref.set(ref)
    values.set(current_values(load_base(ref)))
    save_name.set(f"{Path(ref).stem}-tweaked")
    save_message.set(("", ""))
    relation_month.set(-1)


def set_value(key: str, value: Any) -> None:
    values.set({**values.value, key: value})
    save_message.set(("", ""))


def slide(control: ControlSpec, value: float) -> None:
    """A slider moved. A move of less than half a step is the slider snapping a value that lies
    between its steps (1.25 on a 0.1 grid) to the grid, not the user: it is ignored."""
    current = values.value[control.key]
    if abs(float(value) - float(current)) < control.step / 2 + 1e-9:
        return
    set_value(control.key, control.clamp(value))


# --- components ------------------------------------------------------------------------------


@solara.component
def Control(control: ControlSpec, value: Any, base_value: Any, note: str = ""):
    """A labelled slider (or choice) that shows its value, the scenario's value and its range."""
    slug = control.key.replace(".", "-")
    changed = value != base_value if control.kind == "choice" else abs(value - base_value) > 1e-9
    shown = value if control.kind == "choice" else f"{value:g}"
    was = f" (scenario: {base_value:g})" if changed and control.kind != "choice" else ""
    if changed and control.kind == "choice":
        was = f" (scenario: {base_value})"
    with solara.Div(classes=["csto-control", f"csto-{slug}"], style={"margin-bottom": "2px"}):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<b>{control.label}</b> = <span class='csto-value'>{shown}</span>"
                f"<span style='color:#b45309'>{was}</span>"
                f"<br><span style='color:#777;font-size:11px'>{control.range_text}"
                f"{' · ' + note if note else ''}</span>"
            ),
            style={"font-size": "13px", "line-height": "1.25"},
        )
        if control.kind == "choice":
            solara.ToggleButtonsSingle(
                value=value,
                values=list(control.choices),
                on_value=lambda v: set_value(control.key, v),
                dense=True,
            )
        elif control.kind == "int":
            solara.SliderInt(
                "",
                value=int(value),
                min=int(control.min),
                max=int(control.max),
                step=1,
                on_value=lambda v: slide(control, v),
                thumb_label=False,
            )
        else:
            solara.SliderFloat(
                "",
                value=float(value),
                min=control.min,
                max=control.max,
                step=control.step,
                on_value=lambda v: slide(control, v),
                thumb_label=False,
            )


@solara.component
def Controls(base: Scenario):
    base_values = current_values(base)
    solara.Select(
        "Scenario", values=scenario_choices(), value=scenario_ref.value, on_value=pick_scenario
    )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=html.escape(base.description),
        style={"font-size": "12px", "color": "#555", "margin-bottom": "8px"},
    )
    solara.Text("Runs per ensemble", style={"font-size": "13px", "font-weight": "bold"})
    solara.ToggleButtonsSingle(value=runs, values=list(RUN_CHOICES), dense=True)
    if shipped_posterior_exists():
        solara.Checkbox(label="Posterior: draw the calibrated parameters", value=use_posterior)
    solara.HTML(tag="h4", unsafe_innerHTML="World and alliance", style={"margin": "10px 0 4px"})
    for control in world_controls(base):
        settings = shock_settings(base, control.key)
        note = ""
        if settings:
            note = "month-0 value; shocks set " + ", ".join(f"{v} in {m}" for m, v in settings)
        Control(control, values.value[control.key], base_values[control.key], note)
    solara.HTML(tag="h4", unsafe_innerHTML="Countries", style={"margin": "10px 0 4px"})
    codes = list(base.agents)
    if agent.value not in codes:
        agent.set(codes[0])
    solara.ToggleButtonsSingle(value=agent, values=codes, dense=True)
    edited = {
        key.split(".")[1]
        for key in changed_values(values.value, base_values)
        if key.startswith("agents.")
    }
    if edited:
        solara.Text(
            "changed: " + ", ".join(sorted(edited)), style={"font-size": "11px", "color": "#b45309"}
        )
    solara.Text(base.agents[agent.value].name, style={"font-weight": "bold"})
    for control in agent_controls(base, agent.value):
        Control(control, values.value[control.key], base_values[control.key])
    solara.Button(
        "Reset all to the scenario",
        on_click=lambda: values.set(base_values),
        text=True,
        color="primary",
        disabled=not changed_values(values.value, base_values),
    )


@solara.component
def SavePanel(base: Scenario, changes: dict[str, Any]):
    def save():
        try:
            path, _ = write_scenario(
                SAVE_DIR, save_name.value, scenario_ref.value, changes, base.name
            )
        except (SaveError, ScenarioError) as error:
            save_message.set(("error", str(error)))
            return
        save_message.set(("success", str(path)))

    solara.HTML(tag="h4", unsafe_innerHTML="Save as scenario", style={"margin": "10px 0 4px"})
    solara.InputText("File name (.toml)", value=save_name, continuous_update=True)
    solara.Button("Save as scenario", on_click=save, color="primary", classes=["csto-save"])
    kind, text = save_message.value
    if kind == "success":
        with solara.Div(classes=["csto-saved"]):
            solara.Success(f"Saved {text}", dense=True)
            solara.HTML(
                tag="code", unsafe_innerHTML=f"csto run {text}", style={"font-size": "11px"}
            )
    elif kind == "error":
        solara.Error(text, dense=True)


def build_view(
    base: Scenario, changes: dict[str, Any], runs_: int, posterior: bool = False
) -> tuple[View, Ensemble]:
    """Run (or fetch) the ensemble and the unchanged scenario's; draw the cohesion plot.

    The other plots are drawn by their own panels afterwards, so cohesion shows first. With
    `posterior`, both ensembles draw the calibrated parameters from the shipped posterior.
    """
    overrides, months = split_overrides(changes)
    months = months or base.months
    ensemble = CACHE.get(base, overrides, runs_, months, DEFAULT_SEED, posterior)
    reference = CACHE.get(base, {}, runs_, months, DEFAULT_SEED, posterior) if changes else None
    title = f"{base.name}: CSTO cohesion ({runs_} runs)"
    cohesion = draw_cohesion(
        cohesion_band(ensemble), cohesion_band(reference) if reference else None, title=title
    )
    view = View(png(cohesion), runs_, months, ensemble.seconds, base.start)
    return view, ensemble


@solara.component
def PlotPanel(key: Any, draw: Any, classes: list[str] | None = None):
    """A plot drawn in a background thread; the previous one stays until the new is ready."""
    task = solara.lab.use_task(lambda: png(draw()), dependencies=[key])
    image = task.value if task.finished else task.latest
    if image is None:
        solara.ProgressLinear(True)
        return
    solara.Image(image, classes=classes or [])


@solara.component
def RelationsPanel(record: Any, start: str):
    last = record.months - 1
    month = last if relation_month.value < 0 else min(relation_month.value, last)
    date = month_label(start, month)
    solara.SliderInt(
        f"Month: {date}",
        value=month,
        min=0,
        max=last,
        on_value=relation_month.set,
        thumb_label=False,
    )
    PlotPanel(
        (id(record), month),
        lambda: draw_relations(relation_matrix(record, month), date),
        ["csto-relations"],
    )


@solara.component
def EnsembleView(base: Scenario, changes: dict[str, Any]):
    key = repr(sorted(changes.items()))

    async def compute():
        await asyncio.sleep(0.3)  # let a dragged slider come to rest
        return await asyncio.to_thread(build_view, base, changes, runs.value, use_posterior.value)

    task = solara.lab.use_task(
        compute, dependencies=[base.name, key, runs.value, use_posterior.value]
    )
    solara.ProgressLinear(task.pending)
    if task.error:
        solara.Error(f"The ensemble could not run: {task.exception}")
        return
    result = task.value if task.finished else task.latest
    if result is None:
        solara.Info("Running the ensemble…")
        return
    view, ensemble = result
    changed_text = ", ".join(f"{k} = {v}" for k, v in sorted(changes.items())) or "nothing"
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f"<b>{view.runs} runs × {view.months} months</b> of <b>{base.name}</b> "
            f"(seed {DEFAULT_SEED}) in <span class='csto-seconds'>{view.seconds:.2f}</span> s. "
            f"Changed: {changed_text}."
            + (" The grey dashed line and band are the unchanged scenario." if changes else "")
        ),
        style={"font-size": "13px", "margin-bottom": "6px"},
    )
    record, names, drawn = ensemble.record, names_of(base), id(ensemble)
    with solara.Columns([3, 2]):
        with solara.Column():
            with solara.Div(classes=["csto-cohesion"]):
                solara.Image(view.cohesion)
            PlotPanel(drawn, lambda: draw_component_grid(component_bands(ensemble), view.runs))
        with solara.Column():
            PlotPanel(drawn, lambda: draw_status(status_probabilities(record), names))
            RelationsPanel(record, view.start)
    PlotPanel(drawn, lambda: draw_top_events(top_events(record)))
    WhyPanel(ensemble)


@solara.component
def WhyPanel(ensemble: Ensemble):
    """Why: an event's terms where it happened and where it was open and not taken.

    Computed on request (it re-runs the ensemble with the actor's decisions traced)."""
    choices = solara.use_memo(lambda: event_choices(ensemble), [id(ensemble)])
    event = why_event.value if why_event.value in choices else (choices or [""])[0]
    asked = solara.use_reactive(None)
    request = asked.value if asked.value == (id(ensemble), event) else None

    def compute():
        return None if request is None else explain_ensemble_event(ensemble, event)

    task = solara.lab.use_task(compute, dependencies=[request])
    solara.HTML(tag="h4", unsafe_innerHTML="Why?", style={"margin": "10px 0 4px"})
    if not choices:
        solara.Text("No chosen event in this ensemble.")
        return
    with solara.Row(classes=["csto-why-picker"], style={"max-width": "560px"}):
        solara.Select("Event", values=choices, value=event, on_value=why_event.set)
        solara.Button("Explain", on_click=lambda: asked.set((id(ensemble), event)), color="primary")
    if request is None:
        return
    if task.error:
        solara.Error(f"The explanation could not run: {task.exception}")
        return
    result = task.value if task.finished else None
    if result is None:
        solara.ProgressLinear(True)
        return
    with solara.Columns([1, 1]):
        solara.HTML(tag="pre", unsafe_innerHTML=html.escape(result.text), classes=["csto-why"])
        PlotPanel(
            request,
            lambda: draw_attribution(attribution_bars(result.attribution), title=event),
        )


@solara.component
def SingleRunView(base: Scenario, changes: dict[str, Any]):
    overrides, months = split_overrides(changes)
    months = months or base.months
    spec = solara.use_memo(
        lambda: load_scenario(scenario_ref.value, overrides, months),
        [scenario_ref.value, repr(sorted(changes.items()))],
    )
    seed = solara.use_reactive(1)
    params = solara.use_memo(
        lambda: {"spec": spec, "months": months, "rng": seed.value}, [id(spec), seed.value]
    )
    # a new model whenever the settings or the seed change; Step, Play and Reset act on it
    fresh = solara.use_memo(lambda: SingleRun(**params), [id(params)])
    model = solara.use_reactive(fresh)
    play_interval = solara.use_reactive(600)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    update_counter.get()
    current = model.value
    solara.Markdown(
        "One replication (one stochastic run) with the settings on the left. It is one draw among "
        "many: read the ensemble tab before concluding anything."
    )
    with solara.Div(style={"max-width": "420px"}):
        solara.SliderInt(f"Seed {seed.value}", value=seed, min=1, max=1000, thumb_label=False)
    ModelController(
        model,
        model_parameters=params,
        play_interval=play_interval,
        render_interval=render_interval,
        use_threads=use_threads,
    )
    done = current.month
    solara.Text(
        f"Month {done} of {current.months}"
        + (f" · last: {month_label(spec.start, done - 1)}" if done else " · press Step or ▶"),
        style={"font-weight": "bold"},
    )
    with solara.Columns([3, 2]):
        with solara.Column():
            record = current.to_record() if done else None
            with solara.Div(
                classes=["csto-narrative"], style={"max-height": "420px", "overflow-y": "auto"}
            ):
                for month in reversed(range(done)):
                    MonthLine(current, record, month, names_of(spec), bold=month == done - 1)
        with solara.Column():
            if done:
                rows = agent_rows(current)
                cohesion = current.latest_metric("cohesion")
                solara.Text(f"Cohesion this month: {cohesion:.3f}", style={"font-weight": "bold"})
                solara.HTML(
                    tag="table",
                    unsafe_innerHTML=state_table(rows),
                    style={"font-size": "12px", "border-collapse": "collapse"},
                )


@solara.component
def MonthLine(model: Any, record: Any, month: int, names: dict[str, str], bold: bool = False):
    """A month of the single run in words; each event's button opens the decision behind it."""
    solara.Text(
        narrate_month(record, month, 0, names),
        style={
            "display": "block",
            "font-weight": "bold" if bold else "normal",
            "font-size": "13px",
            "margin-bottom": "2px",
        },
    )
    events = month_events(record, month, 0)
    if not events:
        return
    with solara.Row(gap="4px", style={"flex-wrap": "wrap", "margin-bottom": "4px"}):
        for actor, action, target in events:
            key = (month, actor, action, target)
            is_open = opened_event.value == key
            solara.Button(
                ("hide: " if is_open else "why: ") + describe(actor, action, target),
                on_click=lambda key=key, is_open=is_open: opened_event.set(
                    None if is_open else key
                ),
                text=True,
                small=True,
                classes=["csto-why-event"],
                style={"text-transform": "none", "font-size": "11px"},
            )
    if opened_event.value is not None and opened_event.value[0] == month:
        text = explain_single_event(model, *opened_event.value)
        solara.HTML(
            tag="pre",
            unsafe_innerHTML=html.escape(text),
            classes=["csto-why-table"],
            style={"font-size": "11px", "background": "#f7f7f7", "padding": "6px"},
        )


def state_table(rows: list[dict[str, Any]]) -> str:
    """The countries' state as the inner HTML of a small table."""
    if not rows:
        return ""
    cell = "padding:2px 8px;border-bottom:1px solid #eee;text-align:left"
    head = "".join(f"<th style='{cell}'>{html.escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>"
        + "".join(f"<td style='{cell}'>{html.escape(str(v))}</td>" for v in r.values())
        + "</tr>"
        for r in rows
    )
    return f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"


@solara.component
def Page():
    solara.Title("csto dashboard")
    base = solara.use_memo(lambda: load_base(scenario_ref.value), [scenario_ref.value])
    base_values = current_values(base)
    changes = changed_values(values.value, base_values)
    with solara.Sidebar():
        Controls(base)
        SavePanel(base, changes)
    solara.HTML(
        tag="h2",
        unsafe_innerHTML=f"CSTO cohesion: {base.name}",
        style={"margin": "4px 0 8px"},
    )
    with solara.lab.Tabs(lazy=True):
        with solara.lab.Tab("Ensemble"):
            EnsembleView(base, changes)
        with solara.lab.Tab("Single run"):
            SingleRunView(base, changes)
