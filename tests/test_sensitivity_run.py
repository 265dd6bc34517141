"""`csto sensitivity`: the folder, reproducibility, bad input, interrupt and resume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import invoke

from batches.sensitivity import outcome_names
from batches.sensitivity_run import DESIGN_NAME, INDICES_NAME, OUTCOMES_NAME
from results.store import read_table
from simulation.calendar import month_labels
from simulation.free_parameters import load_free_parameters
from simulation.model import CSTOModel
from simulation.scenario import load_scenario

VARY = ("--vary", "agents.BLR.beta_loyalty", "--vary", "aggression.ceiling=0.01:0.5")
SMALL = ("--runs", 6, "--trajectories", 3, "--months", 3, "--seed", 11, "--no-plots", "-q")


def analysis(folder, *extra) -> object:
    return invoke("sensitivity", "baseline", *VARY, *SMALL, "--out", folder, *extra)


def test_the_folder_holds_design_tables_outcomes_and_indices(tmp_path):
    folder = tmp_path / "m"
    result = invoke(
        "sensitivity", "baseline", *VARY, "--runs", 6, "--trajectories", 3, "--months", 3,
        "--out", folder,
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert "9 points x 6 runs = 54 replications x 3 months" in result.output
    assert "common random numbers on" in result.output
    assert "cohesion (mu_star): " in result.output  # the ranking, per outcome
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["sensitivity"]["method"] == "morris"
    assert manifest["sensitivity"]["crn"] is True
    design = pd.read_parquet(folder / DESIGN_NAME)
    assert list(design.columns) == ["point", "agents.BLR.beta_loyalty", "aggression.ceiling"]
    assert len(design) == 3 * (2 + 1)
    assert design["aggression.ceiling"].between(0.01, 0.5).all()
    metrics = read_table(folder, "metrics")
    assert metrics.groupby("point")["run"].nunique().eq(6).all()
    assert not (folder / "relations.parquet").exists()
    outcomes = pd.read_parquet(folder / OUTCOMES_NAME)
    dates = month_labels(load_scenario("baseline").start, 3)
    assert list(outcomes.columns) == ["point", "n", *outcome_names(dates)]
    assert (outcomes["n"] == 6).all()
    # the outcome is the mean over the point's runs of its tables
    last = metrics[metrics["month"] == 2].groupby("point")["cohesion"].mean()
    np.testing.assert_allclose(outcomes["cohesion"], last.to_numpy())
    indices = pd.read_csv(folder / INDICES_NAME)
    assert {"outcome", "parameter", "mu_star", "mu_star_conf", "sigma"} <= set(indices.columns)
    assert set(indices["parameter"]) == {"agents.BLR.beta_loyalty", "aggression.ceiling"}
    assert (folder / "plots" / "morris-cohesion.png").exists()
    plotted = invoke("plot", folder)
    assert plotted.exit_code == 0 and "morris-cohesion.png" in plotted.output


def test_the_same_seed_gives_the_same_indices(tmp_path):
    assert analysis(tmp_path / "a").exit_code == 0
    assert analysis(tmp_path / "b", "--workers", 2).exit_code == 0
    first = (tmp_path / "a" / INDICES_NAME).read_text()
    assert first == (tmp_path / "b" / INDICES_NAME).read_text()
    assert analysis(tmp_path / "c", "--seed", 12).exit_code == 0
    assert (tmp_path / "c" / INDICES_NAME).read_text() != first


def test_sobol_writes_first_and_total_indices_and_convergence(tmp_path):
    folder = tmp_path / "s"
    result = invoke(
        "sensitivity", "baseline", "--method", "sobol", *VARY, "--samples", 4, "--runs", 4,
        "--months", 2, "--no-plots", "-q", "--no-crn", "--out", folder,
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert len(pd.read_parquet(folder / DESIGN_NAME)) == 4 * (2 + 2)
    indices = pd.read_csv(folder / INDICES_NAME)
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(indices.columns)
    assert (folder / "convergence.csv").exists()
    assert json.loads((folder / "manifest.json").read_text())["sensitivity"]["crn"] is False


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        ("agents.BLR.beta_loyalty=0:3", "--vary: parameters.agents.BLR.beta_loyalty: log-uniform"),
        ("agents.BLR.beta_loyalty=1:500", "outside the key's range [0, 100]"),
        ("agents.BLR.no_such_key", "--vary: agents.BLR.no_such_key: not a free parameter"),
        ("agents.BLR.no_such_key=0:1", "no such key in scenario 'baseline'"),
        ("agents.BLR.beta_loyalty=2", "expected KEY=LO:HI with two numbers"),
    ],
)
def test_a_bad_range_or_key_is_one_line_exit_2_and_nothing_written(tmp_path, vary, expected):
    folder = tmp_path / "bad"
    result = invoke("sensitivity", "baseline", "--vary", vary, "--out", folder)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert "Traceback" not in result.output
    assert not folder.exists()


def test_bad_options_are_refused_before_anything_is_written(tmp_path):
    folder = tmp_path / "bad"
    for args, expected in [
        (("--method", "sobol", "--samples", 6), "--samples: expected a power of 2"),
        (("--at", "40"), "--at: month 40"),
        (("--at", "next-year"), "--at: 'next-year'"),
    ]:
        result = invoke("sensitivity", "baseline", *args, "--months", 3, "--out", folder)
        assert result.exit_code == 2 and expected in result.stderr, result.stderr
        assert not folder.exists()
    result = invoke("sensitivity", "--resume", tmp_path, "--runs", 3)
    assert result.exit_code == 2 and "drop --runs" in result.stderr


def _interrupted_after_first_chunk():
    from batches.executors import run_task

    def fake(scenarios, months, tasks, **options):
        yield tasks[0], run_task(scenarios[tasks[0].point], months, tasks[0])
        raise KeyboardInterrupt

    return fake


def test_an_interrupted_analysis_resumes_to_the_same_indices(tmp_path, monkeypatch):
    monkeypatch.setattr("batches.chunks.CHUNK_SIZE", 10)
    monkeypatch.setattr("batches.executors.iter_results", _interrupted_after_first_chunk())
    folder = tmp_path / "p"
    result = analysis(folder)
    assert result.exit_code == 130, (result.output, result.exception)
    assert f"csto sensitivity --resume {folder}" in result.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["chunks_completed"] == [0]
    assert manifest["chunk_size"] == 10 and not (folder / INDICES_NAME).exists()
    monkeypatch.undo()
    monkeypatch.setattr("batches.chunks.CHUNK_SIZE", 10)
    refused = invoke("run", "--resume", folder)
    assert refused.exit_code == 2 and "csto sensitivity --resume" in refused.stderr
    resumed = invoke("sensitivity", "--resume", folder, "-q", "--no-plots")
    assert resumed.exit_code == 0, (resumed.output, resumed.exception)
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"
    assert invoke("sensitivity", "--resume", folder).output.strip().endswith("nothing to resume")
    assert analysis(tmp_path / "whole").exit_code == 0
    pd.testing.assert_frame_equal(
        read_table(folder, "events"), read_table(tmp_path / "whole", "events")
    )
    whole = (tmp_path / "whole" / INDICES_NAME).read_text()
    assert (folder / INDICES_NAME).read_text() == whole


def test_a_varying_beta_trade_gives_each_row_its_own_trade_term():
    """Every free parameter can vary per replication: beta_trade with shared trade weights."""
    scenario = load_scenario("baseline")
    values = np.array([0.5, 1.0, 2.5])
    model = CSTOModel(scenario, replications=3, rng=1, months=1, varying={
        "agents.BLR.beta_trade": values
    })  # fmt: skip
    for row, value in enumerate(values):
        one = CSTOModel(scenario, replications=1, rng=1, months=1, agents__BLR__beta_trade=value)
        np.testing.assert_allclose(model.params.trade_term[row], one.params.trade_term[0])


def test_validate_checks_the_parameters_file(tmp_path):
    result = invoke("validate", "scenarios/sensitivity/parameters.toml")
    assert result.exit_code == 0 and result.output.startswith("ok  ")
    count = len(load_free_parameters())
    assert f"(free parameters, {count})" in result.output
    bad = tmp_path / "parameters.toml"
    bad.write_text('[parameters."agents.BLR.beta_loyalty"]\nlow = 0.5\nhigh = 500\n'
                   'prior = "log-uniform"\nwhy = "too wide"\n')  # fmt: skip
    result = invoke("validate", bad)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {bad}: parameters.agents.BLR.beta_loyalty.high: 500 is outside the key's "
        "range [0, 100]"
    )


def test_every_declared_parameter_varies_in_one_lockstep_model():
    """A Morris design over all 66 free parameters runs as one chunk (no fallback, no failure)."""
    from batches.design import Design, design_tables, is_lockstep
    from batches.sensitivity import design
    from simulation.free_parameters import load_free_parameters

    params = load_free_parameters()
    points = design("morris", params, trajectories=2, seed=3)
    plan = Design(scenario=load_scenario("baseline"), points=points, runs=1, seed=3, months=12)
    assert is_lockstep(plan)
    metrics = design_tables(plan, tables=("metrics",))["metrics"]
    assert sorted(metrics["point"].unique()) == list(range(2 * (len(params) + 1)))


def test_a_finished_analysis_has_every_part_verified(tmp_path):
    """The design's chunks are checked as a run's are (`results.verify`): every planned part of
    the layout the manifest records is whole, and a damaged one is named."""
    from results.verify import verified_chunks

    folder = tmp_path / "m"
    assert analysis(folder).exit_code == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    good, bad = verified_chunks(folder, manifest)
    assert good == set(range(manifest["sensitivity"]["layout"]["chunks"])) and not bad
    part = folder / "metrics.parquet" / "part-00000.parquet"
    part.write_bytes(part.read_bytes()[:100])
    good, bad = verified_chunks(folder, manifest)
    assert not good and list(bad) == [0]
