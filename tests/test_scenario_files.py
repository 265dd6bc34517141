"""Every shipped scenario file passes the same battery: it validates, runs, writes and reads back
all tables, is deterministic under a seed, and keeps its metrics in [0, 1].

The files are globbed from the package's scenario folder, so a new file is covered without
editing this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import INTERFACE_COLUMNS, assert_records_equal

from results.store import RunFolderWriter, read_manifest, read_table
from simulation.calendar import month_index, month_labels
from simulation.model import CSTOModel
from simulation.record import METRIC_NAMES, RunRecord
from simulation.scenario import ScenarioError, load_scenario, scenario_dir

SCENARIO_FILES = sorted(scenario_dir().glob("*.toml"))
MONTHS = 3
REPLICATIONS = 20
SEED = 4242

"""The columns docs INTERFACE promises for each table of a run folder."""


def first_months(path: Path, months: int = MONTHS) -> RunRecord:
    """The first `months` months of the scenario over REPLICATIONS replications.

    The model keeps the file's own horizon and is stepped `months` times, so that shocks dated
    later do not stop the run (a shorter horizon is tested separately below).
    """
    model = CSTOModel(str(path), replications=REPLICATIONS, rng=SEED)
    for _ in range(months):
        model.step()
    return model.to_record()


def test_the_shipped_scenarios_are_found():
    names = {path.stem for path in SCENARIO_FILES}
    assert {"world-2022", "baseline", "history-2022"} <= names


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_scenario_file(path: Path, tmp_path: Path):
    scenario = load_scenario(path)
    assert scenario.agents, "a scenario has agents"

    record = first_months(path)
    assert record.months == MONTHS
    assert record.replications == REPLICATIONS
    for name in METRIC_NAMES:
        values = record.metrics[name]
        assert values.shape == (REPLICATIONS, MONTHS)
        assert np.all(np.isfinite(values)), name
        assert np.all((values >= 0.0) & (values <= 1.0)), name

    folder = tmp_path / "run"
    writer = RunFolderWriter(folder)
    writer.write_chunk(0, record)
    writer.finish({"scenario": path.stem, "seed": SEED, "runs": REPLICATIONS, "months": MONTHS})
    assert read_manifest(folder)["scenario"] == path.stem
    assert (folder / "summary.csv").is_file()

    agents, actors = len(record.agent_codes), len(record.actor_codes)
    expected_rows = {
        "metrics": REPLICATIONS * MONTHS,
        "agents": REPLICATIONS * MONTHS * agents,
        "relations": REPLICATIONS * MONTHS * actors * (actors - 1),
        "events": len(record.events["run"]),
    }
    for name, columns in INTERFACE_COLUMNS.items():
        table = read_table(folder, name)
        missing = [column for column in columns if column not in table.columns]
        assert not missing, (name, missing)
        assert len(table) == expected_rows[name], name
        if name != "events":
            assert len(table) > 0, name
    metrics = read_table(folder, "metrics")
    np.testing.assert_allclose(metrics["cohesion"], record.metrics["cohesion"].reshape(-1))
    assert list(metrics["date"][:MONTHS]) == list(month_labels(scenario.start, MONTHS))
    agents_table = read_table(folder, "agents")
    assert set(agents_table["agent"]) == set(record.agent_codes)
    assert set(agents_table["status"]) <= {"member", "frozen", "exited", "non_member"}

    again = first_months(path)
    assert_records_equal(record, again)


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_scenario_file_runs_for_a_short_horizon(path: Path):
    """`months=3` works unless a shock the scenario applies lies beyond month 3.

    Shocks a scenario does not apply (tagged, not included) cannot make its horizon invalid.
    """
    scenario = load_scenario(path)
    beyond = [
        shock.id or shock.month
        for shock in scenario.active_shocks()
        if month_index(scenario.start, shock.month) >= MONTHS
    ]
    if beyond:
        with pytest.raises(ScenarioError, match="horizon"):
            CSTOModel(str(path), replications=REPLICATIONS, rng=SEED, months=MONTHS)
        return
    model = CSTOModel(str(path), replications=REPLICATIONS, rng=SEED, months=MONTHS)
    record = model.run()
    assert record.months == MONTHS
    stepped = first_months(path)
    np.testing.assert_array_equal(record.metrics["cohesion"], stepped.metrics["cohesion"])
