"""The dashboard's plain-Python parts: controls, ensemble data, narration, saving (no browser)."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.controls import (
    AGENT_WEIGHTS,
    PRACTICAL_MAX,
    all_controls,
    changed_values,
    current_values,
    minimum_horizon,
    schema_bounds,
    shock_settings,
    split_overrides,
    world_controls,
)
from dashboard.ensemble import (
    cohesion_band,
    component_bands,
    draw_cohesion,
    draw_component_grid,
    draw_relations,
    draw_status,
    draw_top_events,
    relation_matrix,
    run_ensemble,
    status_probabilities,
    top_events,
)
from dashboard.narrate import describe, month_events, narrate, narrate_month
from dashboard.save import SaveError, scenario_document, target_path, write_scenario
from dashboard.server import server_environment, solara_command
from dashboard.single import SingleRun, agent_rows
from simulation.scenario import load_scenario
from simulation.schema import AgentSpec, CredibilityPrior

RUNS = 40
MONTHS = 12


@pytest.fixture(scope="module")
def history():
    return load_scenario("history-2022")


@pytest.fixture(scope="module")
def ensemble(history):
    return run_ensemble(history, {"agents.BLR.beta_loyalty": 3.0}, runs=RUNS, months=MONTHS)


# --- controls --------------------------------------------------------------------------------


def test_bounds_come_from_the_schema():
    assert schema_bounds(AgentSpec, "beta_loyalty") == (0.0, 100.0)
    low, high = schema_bounds(CredibilityPrior, "mean")  # open interval (0, 1)
    assert 0.0 < low < 0.05 and 0.95 < high < 1.0


def test_every_analyst_parameter_has_a_control(history):
    keys = {c.key for c in all_controls(history)}
    for code in history.agents:
        for field in AGENT_WEIGHTS:
            assert f"agents.{code}.{field}" in keys
        assert f"agents.{code}.credibility_prior.mean" in keys
    assert {"world.overstretch", "alliance.decision_rule", "months"} <= keys


def test_slider_ranges_hold_the_scenario_values_and_stay_in_the_schema(history):
    for control in all_controls(history):
        if control.kind == "choice":
            assert control.value in control.choices
            continue
        assert control.min <= control.value <= control.max, control.key
        if control.schema_min is not None:
            assert control.min >= control.schema_min
        if control.schema_max is not None:
            assert control.max <= control.schema_max
    weight = next(c for c in all_controls(history) if c.key == "agents.BLR.beta_loyalty")
    assert weight.max == PRACTICAL_MAX and weight.schema_max == 100.0
    assert "schema 0–100" in weight.range_text


def test_decision_rule_choices_are_the_schema_literals(history):
    rule = next(c for c in world_controls(history) if c.key == "alliance.decision_rule")
    assert rule.choices == ("consensus", "weighted_median")


def test_horizon_slider_cannot_cut_off_a_shock(history):
    months = next(c for c in world_controls(history) if c.key == "months")
    assert months.min == minimum_horizon(history) == 12  # the last 2022 shock is in 2022-12
    assert minimum_horizon(load_scenario("baseline")) == 1


def test_overstretch_shows_the_shocks_that_replace_it(history):
    assert shock_settings(history, "world.overstretch") == [("2022-02", 0.5), ("2022-09", 0.7)]
    assert shock_settings(load_scenario("russia-not-overstretched"), "world.overstretch") == []


def test_clamp_rounds_to_the_step_and_range(history):
    weight = next(c for c in all_controls(history) if c.key == "agents.ARM.beta_trade")
    assert weight.clamp(3.04) == 3.05
    assert weight.clamp(-1) == 0.0
    assert weight.clamp(99) == weight.max


def test_changed_values_and_overrides(history):
    base = current_values(history)
    values = {**base, "agents.BLR.beta_loyalty": base["agents.BLR.beta_loyalty"] + 1, "months": 24}
    changes = changed_values(values, base)
    assert set(changes) == {"agents.BLR.beta_loyalty", "months"}
    overrides, months = split_overrides(changes)
    assert months == 24 and "months" not in overrides
    assert changed_values(base, base) == {}


# --- ensemble --------------------------------------------------------------------------------


def test_ensemble_applies_overrides_and_horizon(ensemble):
    assert ensemble.scenario.agents["BLR"].beta_loyalty == 3.0
    assert ensemble.record.replications == RUNS
    assert ensemble.record.months == MONTHS
    assert ensemble.seconds > 0


def test_ensemble_matches_the_batch_runner(history):
    from batches.chunks import plan_chunks, run_chunk

    ours = run_ensemble(history, {}, runs=RUNS, months=MONTHS, seed=5)
    (chunk,) = plan_chunks(RUNS, 5)
    theirs = run_chunk(history, MONTHS, chunk)
    assert np.array_equal(ours.record.metrics["cohesion"], theirs.metrics["cohesion"])


def test_ensemble_rejects_bad_input(history):
    from simulation.scenario import ScenarioError

    with pytest.raises(ValueError):
        run_ensemble(history, {}, runs=0, months=MONTHS)
    with pytest.raises(ScenarioError):
        run_ensemble(history, {"agents.BLR.beta_loyalty": -1.0}, runs=RUNS, months=MONTHS)


def test_plot_data_shapes(ensemble):
    band = cohesion_band(ensemble)
    assert len(band) == MONTHS and (band["p05"] <= band["p95"]).all()
    assert set(component_bands(ensemble)) == {"k_align", "k_cred", "k_part", "k_sim"}
    status = status_probabilities(ensemble.record)
    assert set(status) == {"BLR", "RUS", "ARM"}  # AZE and GEO are never in the alliance
    for shares in status.values():
        assert np.allclose(shares.sum(axis=1), 1.0)
    matrix = relation_matrix(ensemble.record, MONTHS - 1)
    assert matrix.shape == (7, 7) and np.isnan(np.diag(matrix.to_numpy())).all()
    assert matrix.abs().max().max() <= 1.0
    with pytest.raises(ValueError):
        relation_matrix(ensemble.record, MONTHS)
    events = top_events(ensemble.record, n=5)
    assert len(events) == 5
    assert events["share_of_runs"].is_monotonic_decreasing
    assert ((events["share_of_runs"] > 0) & (events["share_of_runs"] <= 1)).all()


def test_figures_draw(ensemble, history):
    names = {code: agent.name for code, agent in history.agents.items()}
    figures = [
        draw_cohesion(cohesion_band(ensemble), cohesion_band(ensemble)),
        draw_component_grid(component_bands(ensemble), RUNS),
        draw_status(status_probabilities(ensemble.record), names),
        draw_relations(relation_matrix(ensemble.record, 3), "2022-04"),
        draw_top_events(top_events(ensemble.record)),
    ]
    for fig in figures:
        fig.canvas.draw()
        assert fig.axes


# --- narration -------------------------------------------------------------------------------


def test_describe_reads_like_the_news():
    names = {"ARM": "Armenia", "RUS": "Russia", "AZE": "Azerbaijan"}
    assert describe("ARM", "invoke_article4", "", names) == "Armenia invokes Article 4"
    assert describe("RUS", "partial_response", "ARM", names) == "Russia: partial response"
    assert describe("AZE", "attack", "ARM", names) == "Azerbaijan attacks Armenia"
    assert describe("ARM", "summon_ambassador", "RUS", names) == (
        "Armenia summons Russia's ambassador"
    )


def test_month_narrative_of_a_run(ensemble, history):
    names = {code: agent.name for code, agent in history.agents.items()}
    record = ensemble.record
    september = 8  # 2022-09: the forced Azerbaijani attack
    events = month_events(record, september, run=0)
    assert ("AZE", "attack", "ARM") in events
    line = narrate_month(record, september, 0, names)
    assert line.startswith("2022-09: ") and "Azerbaijan attacks Armenia" in line
    lines = narrate(record, 0, names)
    assert len(lines) == MONTHS and lines[0].startswith("2022-01: ")


def test_single_run_steps_one_replication(history):
    model = SingleRun(spec=history, months=MONTHS, rng=3, scenario=object())
    assert model.replications == 1
    model.step()
    rows = agent_rows(model)
    assert [r["country"] for r in rows] == [a.name for a in history.agents.values()]
    assert all(0 <= r["credibility"] <= 1 for r in rows)


# --- saving ----------------------------------------------------------------------------------


def test_saved_scenario_extends_and_holds_only_changes(tmp_path, history):
    changes = {"agents.BLR.beta_loyalty": 3.0, "world.overstretch": 0.4, "months": 24}
    path, spec = write_scenario(tmp_path, "what-if", "history-2022", changes, "history-2022")
    assert path == tmp_path / "what-if.toml"
    document = scenario_document("history-2022", changes)
    assert document["extends"] == "history-2022"
    assert set(document) == {"extends", "description", "agents", "world", "months"}
    assert document["agents"] == {"BLR": {"beta_loyalty": 3.0}}
    loaded = load_scenario(path)  # what `csto run what-if.toml` does first
    assert loaded.agents["BLR"].beta_loyalty == 3.0
    assert loaded.world.overstretch == 0.4 and loaded.months == 24
    assert loaded.agents["ARM"] == history.agents["ARM"]
    assert loaded.include_shocks == history.include_shocks
    assert spec.name == "what-if"


def test_saved_scenario_runs_from_the_command_line(tmp_path, cli):
    write_scenario(tmp_path, "tiny", "history-2022", {"agents.ARM.rationality": 2.0})
    result = cli(
        "run",
        str(tmp_path / "tiny.toml"),
        "--runs",
        "4",
        "--months",
        "12",
        "--no-plots",
        "--quiet",
        "--out",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 0, result.output


def test_save_refuses_bad_names_and_invalid_values(tmp_path):
    from simulation.scenario import ScenarioError

    with pytest.raises(SaveError):
        target_path(tmp_path, "../escape")
    with pytest.raises(SaveError):
        target_path(tmp_path, ".hidden")
    assert target_path(tmp_path, "ok-name").name == "ok-name.toml"
    with pytest.raises(ScenarioError):
        write_scenario(tmp_path, "bad", "history-2022", {"agents.BLR.beta_loyalty": -2.0})
    assert list(tmp_path.iterdir()) == []


def test_a_file_scenario_is_extended_by_relative_path(tmp_path, workdir, write_scenario):
    # `extends` reaches files below the current folder (workdir is tmp_path)
    parent = write_scenario("[world]\noverstretch = 0.2\n", name="mine")
    path, _ = write_scenario_file(tmp_path, parent)
    assert load_scenario(path).world.overstretch == 0.2


def write_scenario_file(tmp_path, parent):
    from dashboard.save import write_scenario as save

    return save(tmp_path / "saved", "child", str(parent), {"agents.GEO.beta_trade": 1.0})


# --- server ----------------------------------------------------------------------------------


def test_server_command_stays_offline_and_local():
    command = solara_command("127.0.0.1", 8765)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert "--no-check-version" in command and "--no-open" in command
    env = server_environment("baseline", ".", 300, base={})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1:")
    assert env["CSTO_DASHBOARD_SCENARIO"] == "baseline"


def test_dashboard_command_rejects_an_unknown_scenario(cli):
    result = cli("dashboard", "no-such-scenario")
    assert result.exit_code == 2
    assert "no-such-scenario" in result.output


# --- why did it do that ----------------------------------------------------------------------


def test_each_single_run_event_opens_its_decision(history):
    """Every chosen event of the single run has a decision table whose chosen option it is."""
    from dashboard.why import explain_single_event

    model = SingleRun(spec=history, months=MONTHS, rng=3)
    for _ in range(MONTHS):
        model.step()
    record = model.to_record()
    explained = 0
    for month in range(MONTHS):
        for actor, action, target in month_events(record, month, 0):
            text = explain_single_event(model, month, actor, action, target)
            if action == "attack":
                assert "not chosen by utility" in text
                continue
            if "forced by the scenario" in text:
                continue
            label = f"{action}->{target}" if target else action
            chosen = [line for line in text.splitlines() if line.startswith("* ")]
            assert len(chosen) == 1 and chosen[0][2:].startswith(label), text
            assert "decided by" in text or "against the odds" in text or "only open" in text
            explained += 1
    assert explained > 5


def test_the_ensemble_why_panel_attributes_a_frequent_event(ensemble):
    from dashboard.why import event_choices, explain_ensemble_event

    choices = event_choices(ensemble)
    assert choices and all(":attack" not in choice for choice in choices)
    why = explain_ensemble_event(ensemble, choices[0], sample=RUNS)
    assert set(why.attribution["group"]) == {"happened", "not_happened"}
    assert why.text.startswith(f"{choices[0]}: happened in")
    happened = why.attribution.groupby("group")["runs"].first()["happened"]
    assert happened > 0
