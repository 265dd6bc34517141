"""Sweeps: parsing --vary, grid and LHS designs, the sweep folder run as one design (lock-step
chunks across points, crn), its resumption; the per-(point, chunk) seeds of older sweeps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import invoke

from batches.chunks import chunk_seed
from batches.sweeps import (
    Vary,
    design_points,
    integer_keys,
    load_sweep_file,
    parse_vary,
    point_scenarios,
    sweep_seed,
    sweep_tasks,
)
from results.store import read_table
from simulation.scenario import ScenarioError, load_scenario


def test_parse_vary():
    assert parse_vary("world.overstretch=0:0.6:4") == Vary("world.overstretch", 0.0, 0.6, 4)
    assert parse_vary("a.b=-1:2.5e-1") == Vary("a.b", -1.0, 0.25, None)
    for bad in ("x", "k=1", "k=2:1", "=0:1", "k=0:1:1", "k=a:b"):
        with pytest.raises(ScenarioError, match="--vary"):
            parse_vary(bad)


def test_grid_is_the_product_last_key_fastest():
    points = design_points([Vary("a", 0, 1, 3), Vary("b", 10, 20, 2)], "grid")
    assert [(p["a"], p["b"]) for p in points] == [
        (0.0, 10.0), (0.0, 20.0), (0.5, 10.0), (0.5, 20.0), (1.0, 10.0), (1.0, 20.0),
    ]  # fmt: skip
    assert len(design_points([Vary("a", 0, 1)], "grid")) == 5
    assert design_points([Vary("n", 0, 3, 7)], "grid", integers={"n"}) == [
        {"n": v} for v in (0, 1, 2, 3)
    ]


def test_lhs_is_seeded_and_stratified():
    vary = [Vary("a", 0, 1), Vary("b", -2, 2)]
    first = design_points(vary, "lhs", points=8, seed=3)
    assert first == design_points(vary, "lhs", points=8, seed=3)
    assert first != design_points(vary, "lhs", points=8, seed=4)
    a = np.array([p["a"] for p in first])
    b = np.array([p["b"] for p in first])
    assert sorted(np.floor(a * 8).astype(int)) == list(range(8))  # one point per stratum
    assert sorted(np.floor((b + 2) / 4 * 8).astype(int)) == list(range(8))


def test_seeds_per_point_and_chunk():
    tasks = sweep_tasks(3, 1200, seed=9, chunk_size=500)
    assert [(t.point, t.chunk.index, t.part) for t in tasks][:4] == [
        (0, 0, 0), (0, 1, 1), (0, 2, 2), (1, 0, 3),
    ]  # fmt: skip
    assert [t.chunk.size for t in tasks[:3]] == [500, 500, 200]
    seeds = {t.chunk.seed for t in tasks}
    assert len(seeds) == 9 and tasks[4].chunk.seed == sweep_seed(9, 1, 1)
    assert chunk_seed(9, 0) not in seeds  # not the streams of a plain run


def test_every_point_is_validated():
    base = load_scenario("baseline")
    assert integer_keys(base, [Vary("world.overstretch", 0, 1)]) == set()
    with pytest.raises(ScenarioError, match="sweep point 1"):
        point_scenarios(base, [{"world.overstretch": 0.5}, {"world.overstretch": 7.0}], 3)
    with pytest.raises(ScenarioError, match="unknown key"):
        integer_keys(base, [Vary("world.nothing", 0, 1)])


def test_shipped_sweep_files_load():
    from batches.sweeps import available_sweeps

    sweeps = available_sweeps()
    assert "overstretch" in sweeps
    for path in sweeps.values():
        spec = load_sweep_file(path)
        assert spec.description and spec.vary
        base = load_scenario(spec.scenario, spec.overrides or None)
        point_scenarios(base, design_points(spec.vary, spec.design, spec.points), spec.months)


def test_sweep_folder_has_points_and_point_columns(tmp_path):
    out = tmp_path / "sw"
    result = invoke(
        "sweep", "baseline", "--vary", "world.overstretch=0:0.6:2",
        "--vary", "agents.BLR.beta_loyalty=1:2:2", "--runs", 30, "--months", 2,
        "--seed", 4, "--no-plots", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, (result.output, result.exception)
    assert "4 points x 30 runs = 120 replications" in result.output
    points = pd.read_parquet(out / "points.parquet")
    assert list(points.columns) == ["point", "world.overstretch", "agents.BLR.beta_loyalty"]
    assert points["world.overstretch"].tolist() == [0.0, 0.0, 0.6, 0.6]
    metrics = read_table(out, "metrics")
    assert metrics.columns[0] == "point" and sorted(metrics["point"].unique()) == [0, 1, 2, 3]
    assert metrics.groupby("point")["run"].nunique().tolist() == [30] * 4
    assert "point" in read_table(out, "agents").columns
    summary = read_table(out, "summary")
    assert "point" in summary.columns
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sweep"]["points"][3] == {
        "world.overstretch": 0.6,
        "agents.BLR.beta_loyalty": 2.0,
    }
    # the point scenario is the base with the point's values: same as csto run --set
    single = tmp_path / "single"
    args = ["--set", "world.overstretch=0.6", "--set", "agents.BLR.beta_loyalty=2.0"]
    assert invoke("run", "baseline", "--runs", 30, "--months", 2, "-q", "--no-plots",
                  "--out", single, *args).exit_code == 0  # fmt: skip
    sha = json.loads((single / "manifest.json").read_text())["scenario_sha256"]
    assert manifest["sweep"]["points_sha256"][3] == sha


def test_sweep_rejects_bad_points_before_running(tmp_path):
    result = invoke(
        "sweep", "baseline", "--vary", "world.overstretch=0:5:2", "--out", tmp_path / "x"
    )
    assert result.exit_code == 2 and "sweep point 1" in result.stderr
    assert not (tmp_path / "x").exists()
    result = invoke("sweep", "baseline")
    assert result.exit_code == 2 and "not a sweep file" in result.stderr
    result = invoke("sweep", "baseline", "--vary", "world.overstretch=0:1", "--points", 3)
    assert result.exit_code == 2 and "--points is for --design lhs" in result.stderr


def test_help_states_the_cost():
    result = invoke("sweep", "--help")
    assert "points x runs" in result.output


# --- a sweep is one design ----------------------------------------------------------------------

SWEEP_ARGS = (
    "sweep", "baseline", "--vary", "agents.BLR.beta_loyalty=0.5:2.5:2",
    "--vary", "dynamics.standing_decay=0.01:0.1:2", "--runs", 5, "--months", 3,
    "--seed", 8, "--no-plots", "-q",
)  # fmt: skip


def _design_of(folder, crn=True):
    from batches.design import Design

    manifest = json.loads((folder / "manifest.json").read_text())
    base = load_scenario("baseline", months=3)
    points = pd.read_parquet(folder / "points.parquet")
    return Design(base, points, runs=5, seed=8, months=3, crn=crn), manifest


def test_a_sweep_runs_as_lock_step_chunks_across_points(tmp_path, monkeypatch):
    from batches.design import design_tables
    from results.verify import verified_chunks

    monkeypatch.setattr("batches.chunks.CHUNK_SIZE", 7)  # 4 points x 5 runs: chunks of 7, 7, 6
    out = tmp_path / "sw"
    assert invoke(*SWEEP_ARGS, "--out", out).exit_code == 0
    design, manifest = _design_of(out)
    assert manifest["design"]["rows_per_chunk"] == [7, 7, 6]
    assert manifest["design"]["crn"] is True and manifest["design"]["fallback"] is None
    assert manifest["chunks_completed"] == [0, 1, 2]
    assert verified_chunks(out, manifest) == ({0, 1, 2}, {})
    expected = design_tables(design, tables=("metrics", "agents", "events"))
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(read_table(out, name), frame)
    agents = read_table(out, "agents")
    first, second = (agents[agents["point"] == p].drop(columns="point") for p in (0, 1))
    assert not first.reset_index(drop=True).equals(second.reset_index(drop=True))

    independent = tmp_path / "no-crn"
    assert invoke(*SWEEP_ARGS, "--no-crn", "--out", independent).exit_code == 0
    design, manifest = _design_of(independent, crn=False)
    assert manifest["design"]["crn"] is False
    pd.testing.assert_frame_equal(
        read_table(independent, "agents"), design_tables(design, tables=("agents",))["agents"]
    )
    assert not read_table(independent, "agents").equals(agents)


def test_a_sweep_with_a_failed_chunk_resumes_to_the_same_tables(tmp_path, monkeypatch):
    from batches.chunks import run_chunk

    def fail_chunk_1(scenario, months, chunk, **payload):
        if chunk.index == 1:
            raise RuntimeError("injected")
        return run_chunk(scenario, months, chunk, **payload)

    monkeypatch.setattr("batches.chunks.CHUNK_SIZE", 7)
    monkeypatch.setattr("batches.chunks.run_chunk", fail_chunk_1)
    assert invoke(*SWEEP_ARGS, "--out", tmp_path / "p").exit_code == 1
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["chunks_completed"] == [0, 2]
    monkeypatch.setattr("batches.chunks.run_chunk", run_chunk)
    assert invoke("run", "--resume", tmp_path / "p", "-q", "--no-plots").exit_code == 0
    assert invoke(*SWEEP_ARGS, "--out", tmp_path / "w").exit_code == 0
    for name in ("metrics", "agents", "events", "relations"):
        pd.testing.assert_frame_equal(
            read_table(tmp_path / "p", name), read_table(tmp_path / "w", name)
        )


def test_a_structural_key_sweeps_one_model_per_point(tmp_path):
    out = tmp_path / "s"
    args = ("sweep", "baseline", "--vary", "alliance.summit_month=3:9:2", "--runs", 3)
    assert invoke(*args, "--months", 2, "--no-plots", "-q", "--out", out).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["design"]["fallback"]["keys"] == ["alliance.summit_month"]
    assert manifest["design"]["layout"] == "one model per point"
    metrics = read_table(out, "metrics")
    assert metrics.groupby("point")["run"].unique().map(list).tolist() == [[0, 1, 2]] * 2
