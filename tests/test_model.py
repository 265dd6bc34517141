"""CSTOModel as a plain Mesa model: stepping, the DataCollector, batch_run, keyword overrides,
Mesa agents, and a scenario that adds a sixth country without code changes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import mesa
import numpy as np
import pytest

from agents.country import Country
from agents.pole import Pole
from results.tables import agents_table
from simulation.model import CSTOModel
from simulation.record import METRIC_NAMES, RunRecord
from simulation.scenario import ScenarioError, load_scenario


def assert_metrics_in_unit_interval(record: RunRecord) -> None:
    for name in METRIC_NAMES:
        values = record.metrics[name]
        assert np.all(np.isfinite(values)), name
        assert np.all((values >= 0.0) & (values <= 1.0)), (name, values.min(), values.max())


def assert_russia_keeps_posture(record: RunRecord) -> None:
    rus = record.agent_codes.index("RUS")
    assert np.all(record.agents["posture"][:, :, rus] == 1)


def test_step_advances_one_month():
    model = CSTOModel("baseline", replications=1, rng=1)
    assert model.month == 0
    model.step()
    assert model.month == 1
    assert model.steps == 1
    assert model.to_record().months == 1
    model.step()
    assert model.month == 2
    assert model.to_record().months == 2
    assert model.to_record().start == "2022-01"


def test_datacollector_has_the_metrics_for_one_replication():
    model = CSTOModel("baseline", replications=1, rng=2)
    for _ in range(4):
        model.step()
    frame = model.datacollector.get_model_vars_dataframe()
    assert set(METRIC_NAMES) <= set(frame.columns)
    assert len(frame) == 4
    record = model.to_record()
    for name in METRIC_NAMES:
        np.testing.assert_allclose(frame[name].to_numpy(), record.metrics[name][0])
        assert frame[name].between(0.0, 1.0).all(), name


def test_stepping_past_the_horizon_raises():
    model = CSTOModel("baseline", replications=1, rng=3)
    assert model.months == model.spec.months == 36
    while model.running:
        model.step()
    assert model.month == 36
    with pytest.raises(RuntimeError):
        model.step()
    assert model.to_record().months == 36


def test_mesa_batch_run():
    results = mesa.batch_run(
        CSTOModel,
        {"scenario": "baseline"},
        rng=[1, 2, 3],
        max_steps=36,
        number_processes=1,
        display_progress=False,
    )
    assert len(results) == 3
    cohesion = [row["cohesion"] for row in results]
    assert all(0.0 <= value <= 1.0 for value in cohesion)
    assert {row["Step"] for row in results} == {36}
    assert len(set(cohesion)) > 1, "three seeds, three runs"


def test_keyword_overrides_change_the_scenario():
    model = CSTOModel("baseline", world__overstretch=0.3, agents__BLR__beta_loyalty=2.5)
    assert model.spec.world.overstretch == 0.3
    assert model.params.overstretch == 0.3
    assert model.spec.agents["BLR"].beta_loyalty == 2.5
    assert CSTOModel("baseline").spec.world.overstretch == 0.0


def test_keyword_overrides_on_a_validated_scenario():
    scenario = load_scenario("baseline")
    model = CSTOModel(scenario, world__overstretch=0.3)
    assert model.spec.world.overstretch == 0.3
    assert scenario.world.overstretch == 0.0, "the caller's scenario is not modified"


def test_unknown_override_key_raises_scenario_error():
    with pytest.raises(ScenarioError):
        CSTOModel("baseline", world__nonsense=1.0)
    with pytest.raises(ScenarioError):
        CSTOModel("baseline", agents__XYZ__beta_loyalty=1.0)


def test_unknown_override_key_on_a_validated_scenario_raises_scenario_error():
    with pytest.raises(ScenarioError):
        CSTOModel(load_scenario("baseline"), world__nonsense=1.0)


def test_agents_are_mesa_agents():
    model = CSTOModel("baseline", replications=2, rng=4)
    assert len(model.agents) == 7
    assert all(isinstance(agent, mesa.Agent) for agent in model.agents)
    countries = [agent for agent in model.agents if isinstance(agent, Country)]
    poles = [agent for agent in model.agents if isinstance(agent, Pole)]
    assert sorted(c.code for c in countries) == ["ARM", "AZE", "BLR", "GEO", "RUS"]
    assert sorted(p.code for p in poles) == ["TUR", "WEST"]
    assert len(model.agents_by_type[Country]) == 5
    assert len(model.agents_by_type[Pole]) == 2
    assert sorted(c.index for c in countries) == list(range(5))


@pytest.mark.parametrize("scenario", ["baseline", "history-2022"])
def test_metrics_in_unit_interval_and_russia_stays_aligned(scenario):
    record = CSTOModel(scenario, replications=50, rng=5).run()
    assert record.months == 36
    assert_metrics_in_unit_interval(record)
    assert_russia_keeps_posture(record)


KAZAKHSTAN = """
    extends = "world-2022"
    description = "the 2022 world with Kazakhstan as a sixth country, a CSTO member"

    [agents.KAZ]
    name = "Kazakhstan"
    gdp = 197.1
    milex = 1700.0
    total_trade = 101000.0
    status = "member"
    posture = 1
    alternative_pole = "WEST"
    credibility_prior = { mean = 0.7, strength = 6.0 }

    [trade.KAZ]
    RUS = 24000.0
    BLR = 900.0

    [propensity.KAZ]
    RUS = 0.6
    BLR = 0.3
    WEST = 0.1
"""


def test_a_sixth_country_needs_no_code_change(tmp_path: Path):
    path = tmp_path / "with-kazakhstan.toml"
    path.write_text(textwrap.dedent(KAZAKHSTAN), encoding="utf-8")
    model = CSTOModel(str(path), replications=20, rng=6)
    countries = model.agents_by_type[Country]
    assert len(countries) == 6
    assert "KAZ" in {country.code for country in countries}
    record = model.run()
    assert "KAZ" in record.agent_codes
    assert "KAZ" in record.actor_codes
    table = agents_table(record)
    kaz = table[table.agent == "KAZ"]
    assert len(kaz) == 20 * 36
    assert set(kaz.status) <= {"member", "frozen", "exited"}
    assert kaz.credibility.between(0.0, 1.0).all()
    assert kaz.alignment.std() > 0, "Kazakhstan decides its posture like the others"
    assert_metrics_in_unit_interval(record)
    assert_russia_keeps_posture(record)
