"""Runs under a posterior: per-replication draws, recorded, seeded, rebuilt on resume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import assert_clean_error, invoke

from batches.calibration_folder import draw_posterior, posterior_sha256
from batches.chunks import CHUNK_SIZE, Chunk
from batches.posterior import chunk_draws, posterior_record, with_posterior
from results.store import read_table
from simulation.scenario import load_scenario

KEYS = ("agents.ARM.beta_legitimacy", "actions.visit_breakaway.cost")


@pytest.fixture
def calibration(tmp_path):
    """A calibration folder holding a weighted posterior of two parameters."""
    folder = tmp_path / "calib"
    folder.mkdir()
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            KEYS[0]: rng.uniform(1.6, 14.4, 50),
            KEYS[1]: rng.uniform(1.2, 4.5, 50),
            "weight": rng.uniform(0.1, 1.0, 50),
        }
    )
    table.to_parquet(folder / "posterior.parquet")
    return folder


@pytest.fixture
def single(tmp_path):
    """A posterior of one draw: every replication gets the same values."""
    folder = tmp_path / "single"
    folder.mkdir()
    pd.DataFrame({KEYS[0]: [9.0], KEYS[1]: [1.5], "weight": [1.0]}).to_parquet(
        folder / "posterior.parquet"
    )
    return folder


def test_a_one_draw_posterior_is_the_run_with_those_values_set(single, tmp_path):
    args = ["run", "history-2022", "--runs", 40, "--months", 12, "--seed", 5, "-q", "--no-plots"]
    assert invoke(*args, "--posterior", single, "--out", tmp_path / "p").exit_code == 0
    sets = [f"--set={KEYS[0]}=9.0", f"--set={KEYS[1]}=1.5"]
    assert invoke(*args, *sets, "--out", tmp_path / "s").exit_code == 0
    assert invoke(*args, "--out", tmp_path / "n").exit_code == 0
    for table in ("events", "agents"):
        pd.testing.assert_frame_equal(
            read_table(tmp_path / "p", table), read_table(tmp_path / "s", table)
        )
    assert not read_table(tmp_path / "p", "events").equals(read_table(tmp_path / "n", "events"))


def test_the_manifest_records_the_posterior_and_the_seed_fixes_the_draws(calibration, tmp_path):
    args = ["run", "baseline", "--runs", 30, "--months", 6, "-q", "--no-plots"]
    assert (
        invoke(*args, "--seed", 2, "--posterior", calibration, "--out", tmp_path / "a").exit_code
        == 0
    )
    assert (
        invoke(*args, "--seed", 2, "--posterior", calibration, "--out", tmp_path / "b").exit_code
        == 0
    )
    assert (
        invoke(*args, "--seed", 3, "--posterior", calibration, "--out", tmp_path / "c").exit_code
        == 0
    )
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    record = manifest["posterior"]
    assert record["sha256"] == posterior_sha256(calibration)
    assert record["keys"] == list(KEYS)
    assert record["path"] == str((calibration / "posterior.parquet").resolve())
    events = [read_table(tmp_path / name, "events") for name in "abc"]
    pd.testing.assert_frame_equal(events[0], events[1])
    assert not events[0].equals(events[2])


def test_each_chunk_draws_from_the_weighted_posterior(calibration):
    scenario = load_scenario("history-2022", None, 12)
    record = posterior_record(calibration, scenario)
    chunk = Chunk(index=1, offset=CHUNK_SIZE, size=CHUNK_SIZE, seed=99)
    draws = chunk_draws(record, 7, chunk)
    assert set(draws) == set(KEYS) and all(len(v) == CHUNK_SIZE for v in draws.values())
    again = chunk_draws(record, 7, chunk)
    np.testing.assert_array_equal(draws[KEYS[0]], again[KEYS[0]])
    other = chunk_draws(record, 7, Chunk(index=0, offset=0, size=CHUNK_SIZE, seed=99))
    assert not np.array_equal(draws[KEYS[0]], other[KEYS[0]])
    table = pd.read_parquet(calibration / "posterior.parquet")
    heavy = table["weight"].idxmax()
    light = table["weight"].idxmin()
    counts = pd.Series(draws[KEYS[0]]).value_counts()
    assert counts.get(table.loc[heavy, KEYS[0]], 0) > counts.get(table.loc[light, KEYS[0]], 0)
    # a pool of 20,000 draws has the posterior's weighted mean
    pool = draw_posterior(calibration, 20_000, 1)[KEYS[0]]
    weighted = np.average(table[KEYS[0]], weights=table["weight"])
    assert abs(pool.mean() - weighted) < 4 * table[KEYS[0]].std() / np.sqrt(20_000) * 3


def test_a_set_key_is_not_drawn(calibration, tmp_path):
    args = ["run", "baseline", "--runs", 10, "--months", 3, "-q", "--no-plots"]
    result = invoke(
        *args, f"--set={KEYS[0]}=5", "--posterior", calibration, "--out", tmp_path / "a"
    )
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "a" / "manifest.json").read_text())["posterior"]
    assert record["keys"] == [KEYS[1]] and record["fixed"] == [KEYS[0]]


def test_a_sweep_under_the_posterior_does_not_draw_its_varied_key(calibration, tmp_path):
    result = invoke(
        "sweep", "baseline", "--vary", f"{KEYS[0]}=2:10:2", "--runs", 8, "--months", 3,
        "-q", "--no-plots", "--posterior", calibration, "--out", tmp_path / "s",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "s" / "manifest.json").read_text())["posterior"]
    assert record["keys"] == [KEYS[1]]


def test_tasks_share_draws_across_sweep_points(calibration):
    from batches.sweeps import sweep_tasks

    record = posterior_record(calibration, load_scenario("history-2022", None, 12))
    tasks = with_posterior(sweep_tasks(2, 5, seed=4), record, 4)
    np.testing.assert_array_equal(tasks[0].varying[KEYS[1]], tasks[1].varying[KEYS[1]])


def _interrupted_after_first_chunk():
    from batches.executors import run_task

    def fake(scenarios, months, tasks, **options):
        yield tasks[0], run_task(scenarios[tasks[0].point], months, tasks[0])
        raise KeyboardInterrupt

    return fake


def test_resume_rebuilds_the_same_draws(calibration, tmp_path, monkeypatch):
    monkeypatch.setattr("batches.executors.iter_results", _interrupted_after_first_chunk())
    args = ["run", "baseline", "--runs", CHUNK_SIZE + 30, "--months", 2, "--seed", 8,
            "--no-plots", "-q", "--posterior", calibration]  # fmt: skip
    assert invoke(*args, "--out", tmp_path / "p").exit_code == 130
    monkeypatch.undo()
    assert invoke("run", "--resume", tmp_path / "p", "-q", "--no-plots").exit_code == 0
    assert invoke(*args, "--out", tmp_path / "w").exit_code == 0
    pd.testing.assert_frame_equal(
        read_table(tmp_path / "p", "agents"), read_table(tmp_path / "w", "agents")
    )


def test_resume_refuses_a_changed_posterior(calibration, tmp_path, monkeypatch):
    monkeypatch.setattr("batches.executors.iter_results", _interrupted_after_first_chunk())
    args = ["run", "baseline", "--runs", CHUNK_SIZE + 5, "--months", 2,
            "--no-plots", "-q", "--posterior", calibration]  # fmt: skip
    assert invoke(*args, "--out", tmp_path / "p").exit_code == 130
    monkeypatch.undo()
    table = pd.read_parquet(calibration / "posterior.parquet")
    table["weight"] = 1.0
    table.to_parquet(calibration / "posterior.parquet")
    result = invoke("run", "--resume", tmp_path / "p", "-q", "--no-plots")
    assert_clean_error(result, "--posterior", "changed")


def test_a_missing_posterior_is_one_clear_line_and_nothing_written(tmp_path):
    out = tmp_path / "never"
    result = invoke("run", "baseline", "--runs", 5, "--posterior", tmp_path / "nope", "--out", out)
    assert_clean_error(result, "--posterior", "nope")
    assert not out.exists()


def test_history_under_the_posterior(calibration):
    result = invoke("history", "--runs", 60, "--json", "--posterior", calibration)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 11
    plain = json.loads(invoke("history", "--runs", 60, "--json").stdout)
    assert [r["probability"] for r in rows] != [r["probability"] for r in plain]


def test_api_run_takes_a_posterior(single, tmp_path):
    from batches import run

    folder = run("baseline", runs=10, months=3, seed=1, posterior=single, plots=False,
                 out=tmp_path / "api")  # fmt: skip
    assert json.loads((folder.path / "manifest.json").read_text())["posterior"]["keys"] == list(
        KEYS
    )


def test_the_dashboard_ensemble_under_the_posterior_is_the_run(calibration, tmp_path, monkeypatch):
    from dashboard.ensemble import run_ensemble, shipped_posterior_exists
    from results.tables import events_table

    monkeypatch.setattr("batches.posterior.shipped_posterior", lambda: calibration)
    assert shipped_posterior_exists()
    scenario = load_scenario("baseline")
    ensemble = run_ensemble(scenario, {}, runs=20, months=4, seed=6, posterior=True)
    result = invoke("run", "baseline", "--runs", 20, "--months", 4, "--seed", 6, "-q",
                    "--no-plots", "--posterior", "shipped", "--out", tmp_path / "r")  # fmt: skip
    assert result.exit_code == 0, result.output
    events = events_table(ensemble.record)
    written = read_table(tmp_path / "r", "events")[events.columns]

    def ordered(frame):
        frame = frame.astype({c: str for c in frame.columns if c not in ("run", "month")})
        return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)

    pd.testing.assert_frame_equal(ordered(events), ordered(written), check_dtype=False)
    plain = run_ensemble(scenario, {}, runs=20, months=4, seed=6)
    assert not ordered(events).equals(ordered(events_table(plain.record)))


# -- runs nested in draws (--runs-per-draw) ------------------------------------------------------


def test_runs_per_draw_gives_consecutive_runs_one_draw(calibration):
    """With N runs per draw, runs kN..kN+N-1 share draw k, the draws are the first runs/N of
    the same seeded resampling, and N = 1 is every run its own draw, as before."""
    scenario = load_scenario("history-2022", None, 12)
    single, nested = (posterior_record(calibration, scenario, runs_per_draw=n) for n in (1, 4))
    chunk = Chunk(index=0, offset=0, size=10, seed=3)
    own, shared = chunk_draws(single, 7, chunk), chunk_draws(nested, 7, chunk)
    np.testing.assert_array_equal(shared[KEYS[0]], np.repeat(own[KEYS[0]][:3], 4)[:10])
    assert nested["runs_per_draw"] == 4 and single["runs_per_draw"] == 1
    later = chunk_draws(nested, 7, Chunk(index=1, offset=6, size=4, seed=3))
    np.testing.assert_array_equal(later[KEYS[0]], shared[KEYS[0]][6:10])  # by run, any chunking


def test_runs_per_draw_needs_a_posterior(tmp_path):
    out = tmp_path / "never"
    result = invoke("run", "baseline", "--runs", 8, "--runs-per-draw", 4, "--out", out)
    assert_clean_error(result, "--runs-per-draw", "--posterior")
    assert not out.exists()


def test_compare_of_nested_batches_gives_the_range_over_draws(calibration, tmp_path):
    """Two batches with the same posterior, seed and runs per draw: compare adds where 90% of the
    draws' mean differences lie; batches not nested alike get NaN there."""
    args = ["--runs", 40, "--months", 12, "--seed", 3, "-q", "--no-plots", "--posterior"]
    for name, scenario, per_draw in (
        ("b", "history-2022", 8), ("a", "article4-honoured", 8), ("u", "article4-honoured", 1),
    ):  # fmt: skip
        nested = ["--runs-per-draw", per_draw, "--out", tmp_path / name]
        result = invoke("run", scenario, *args, calibration, *nested)
        assert result.exit_code == 0, result.output
    result = invoke("compare", tmp_path / "b", tmp_path / "a", "--out", tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert "90% of draws" in result.output
    table = pd.read_csv(tmp_path / "c" / "compare.csv")
    other = table[table["scenario"] == "article4-honoured"]
    assert other["draws_low"].notna().all()
    assert (other["draws_low"] <= other["draws_high"]).all()
    mixed = invoke("compare", tmp_path / "b", tmp_path / "u", "--out", tmp_path / "m", "-q")
    assert mixed.exit_code == 0, mixed.output
    table = pd.read_csv(tmp_path / "m" / "compare.csv")
    assert table[table["scenario"] == "article4-honoured"]["draws_low"].isna().all()
