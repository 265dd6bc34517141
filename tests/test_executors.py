"""Executors: identical tables for every executor and worker count; a failing chunk is kept."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import invoke

from batches.chunks import CHUNK_SIZE, plan_chunks, run_chunk
from batches.executors import Failure, Task, iter_results, too_small_for_processes
from results.store import read_table
from simulation.scenario import load_scenario

TABLES = ("metrics", "agents", "relations", "events")
RUNS = 2 * CHUNK_SIZE + 100  # three chunks, the last one short
MONTHS = 2


def fail_on_chunk_one(scenario, months, chunk):
    """A runner (module level, so that worker processes can unpickle it) failing chunk 1."""
    if chunk.index == 1:
        raise RuntimeError("injected failure in chunk 1")
    return run_chunk(scenario, months, chunk)


def run_folder(folder: Path, *options: object):
    result = invoke(
        "run", "baseline", "--runs", RUNS, "--months", MONTHS, "--seed", 11,
        "--no-plots", "-q", "--out", folder, *options,
    )  # fmt: skip
    return result


def test_every_executor_gives_identical_tables(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr("batches.executors.SERIAL_BELOW", 0)  # use the pool on a small batch
    setups = {
        "serial": ("--workers", 1),
        "local2": ("--workers", 2),
        "dask2": ("--executor", "dask", "--workers", 2),
    }
    for name, options in setups.items():
        result = run_folder(tmp_path / name, *options)
        assert result.exit_code == 0, (name, result.output, result.exception)
    manifest = json.loads((tmp_path / "dask2" / "manifest.json").read_text())
    assert manifest["executor"] == "dask" and manifest["status"] == "complete"
    for table in TABLES:
        serial = read_table(tmp_path / "serial", table)
        if table == "metrics":
            assert serial["run"].nunique() == RUNS
        for name in ("local2", "dask2"):
            pd.testing.assert_frame_equal(serial, read_table(tmp_path / name, table))
    summaries = {name: (tmp_path / name / "summary.csv").read_text() for name in setups}
    assert len(set(summaries.values())) == 1


def test_a_failing_chunk_does_not_stop_the_others():
    scenario = load_scenario("baseline", months=MONTHS)
    tasks = [Task(c.index, c) for c in plan_chunks(RUNS, 5)]
    results = dict(
        (task.part, result)
        for task, result in iter_results({None: scenario}, MONTHS, tasks, runner=fail_on_chunk_one)
    )
    assert sorted(results) == [0, 1, 2]
    failure = results[1]
    assert isinstance(failure, Failure)
    assert failure.chunk == 1 and failure.seed == tasks[1].chunk.seed
    assert failure.offset == CHUNK_SIZE and failure.size == CHUNK_SIZE
    assert "injected failure in chunk 1" in failure.error
    assert "Traceback" in failure.traceback and "fail_on_chunk_one" in failure.traceback
    assert not isinstance(results[0], Failure) and not isinstance(results[2], Failure)
    assert results[2].replications == 100


def test_failed_chunk_is_recorded_and_resume_completes_it(tmp_path, monkeypatch):
    monkeypatch.setattr("batches.chunks.run_chunk", fail_on_chunk_one)
    folder = tmp_path / "failed"
    result = run_folder(folder)
    assert result.exit_code == 1, (result.output, result.exception)
    assert "1 of 3 chunks failed" in result.stderr
    assert "chunk 1" in result.stderr and "injected failure" in result.stderr
    assert "--resume" in result.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "partial"
    assert manifest["chunks_completed"] == [0, 2]
    (failure,) = json.loads((folder / "failures.json").read_text())
    assert manifest["failures"] == [failure]
    assert failure["chunk"] == 1 and failure["seed"] == plan_chunks(RUNS, 11)[1].seed
    assert "RuntimeError: injected failure in chunk 1" in failure["traceback"]
    assert not (folder / "summary.csv").exists()

    monkeypatch.undo()
    resumed = invoke("run", "--resume", folder, "-q", "--no-plots")
    assert resumed.exit_code == 0, (resumed.output, resumed.exception)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["failures"] == []
    assert manifest["resumed"][0]["chunks"] == [1]
    assert not (folder / "failures.json").exists()
    assert run_folder(tmp_path / "whole").exit_code == 0
    for table in TABLES:
        pd.testing.assert_frame_equal(
            read_table(folder, table), read_table(tmp_path / "whole", table)
        )


def test_scheduler_needs_the_dask_executor(tmp_path):
    result = run_folder(tmp_path / "x", "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 2
    assert "--scheduler needs --executor dask" in result.stderr
    assert not (tmp_path / "x").exists()


def test_unknown_executor_is_refused():
    with pytest.raises(ValueError, match="executor"):
        list(iter_results({}, 1, [Task(0, plan_chunks(1, 1)[0])], executor="spark"))


def test_a_small_batch_runs_serially_and_a_large_one_in_the_pool():
    small = [Task(c.index, c) for c in plan_chunks(2 * CHUNK_SIZE, 5)]
    large = [Task(c.index, c) for c in plan_chunks(20 * CHUNK_SIZE, 5)]
    assert too_small_for_processes(small, 36)
    assert not too_small_for_processes(large, 36)


def _recording_runner(scenario, months, chunk, varying=None):
    """A runner that returns what it was handed instead of a record."""
    return {"chunk": chunk.index, "varying": varying}


def test_a_task_carries_an_optional_payload_for_its_model():
    import numpy as np

    chunk = plan_chunks(3, 5)[0]
    values = {"world.overstretch": np.array([0.1, 0.2, 0.3])}
    plain, carried = Task(0, chunk), Task(0, chunk, varying=values)
    assert plain == carried  # the payload is not part of a task's identity
    scenario = load_scenario("baseline", months=MONTHS)
    ((_, without),) = iter_results({None: scenario}, MONTHS, [plain], runner=_recording_runner)
    ((_, with_it),) = iter_results({None: scenario}, MONTHS, [carried], runner=_recording_runner)
    assert without == {"chunk": 0, "varying": None}
    assert with_it["varying"] is values
