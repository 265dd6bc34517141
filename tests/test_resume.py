"""Nothing lost: a batch killed with SIGKILL midway is completed by --resume, identically."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import invoke

from batches.chunks import CHUNK_SIZE
from results.store import completed_chunks, read_table

TABLES = ("metrics", "agents", "relations", "events")
CHUNKS = 6
RUNS = CHUNKS * CHUNK_SIZE
MONTHS = 4
SEED = 3


def csto(*args: object) -> list[str]:
    """The command line of `csto` run by this interpreter (no reliance on PATH)."""
    return [sys.executable, "-c", "from cli import main; main()", *map(str, args)]


def run_args(folder: Path, fmt: str = "parquet") -> list[object]:
    return [
        "run", "baseline", "--runs", RUNS, "--months", MONTHS, "--seed", SEED,
        "--format", fmt, "--no-plots", "-q", "--out", folder,
    ]  # fmt: skip


def kill_midway(folder: Path) -> set[int]:
    """Start `csto run` in a subprocess and SIGKILL it once some but not all chunks are written."""
    process = subprocess.Popen(csto(*run_args(folder)), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the batch ended before it was killed: {process.stderr.read()}")
            if len(completed_chunks(folder)) >= 2:
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    return completed_chunks(folder)


def test_resume_after_sigkill_equals_an_uninterrupted_run(tmp_path):
    killed = tmp_path / "killed"
    done = kill_midway(killed)
    assert 2 <= len(done) < CHUNKS, done
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "partial"

    result = invoke("run", "--resume", killed, "--no-plots")
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"{CHUNKS - len(done)} of {CHUNKS} chunks to run" in result.output
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["resumed"][-1]["chunks"] == sorted(set(range(CHUNKS)) - done)
    assert manifest["runs_completed"] == RUNS

    whole = tmp_path / "whole"
    assert invoke(*run_args(whole)).exit_code == 0
    for table in TABLES:
        pd.testing.assert_frame_equal(read_table(killed, table), read_table(whole, table))
    assert (killed / "summary.csv").read_text() == (whole / "summary.csv").read_text()


def test_resume_a_partial_csv_folder(tmp_path, monkeypatch):
    """CSV parts stay in .parts/ until the end, so an unfinished CSV folder resumes too."""
    from batches.chunks import run_chunk

    def fail_chunk_2(scenario, months, chunk):
        if chunk.index == 2:
            raise RuntimeError("injected")
        return run_chunk(scenario, months, chunk)

    monkeypatch.setattr("batches.chunks.run_chunk", fail_chunk_2)
    runs = 2 * CHUNK_SIZE + 200  # three chunks
    args = ["run", "baseline", "--runs", runs, "--months", 2, "--format", "csv", "-q"]
    assert invoke(*args, "--no-plots", "--out", tmp_path / "c").exit_code == 1
    assert completed_chunks(tmp_path / "c") == {0, 1}
    monkeypatch.undo()
    assert invoke("run", "--resume", tmp_path / "c", "-q", "--no-plots").exit_code == 0
    assert (tmp_path / "c" / "metrics.csv").exists()
    assert invoke(*args, "--no-plots", "--out", tmp_path / "w").exit_code == 0
    for table in TABLES:
        pd.testing.assert_frame_equal(
            read_table(tmp_path / "c", table), read_table(tmp_path / "w", table)
        )


def test_resume_refuses_batch_options_and_non_folders(tmp_path):
    result = invoke("run", "baseline", "--resume", tmp_path, "-q")
    assert result.exit_code == 2 and "drop SCENARIO" in result.stderr
    result = invoke("run", "--resume", tmp_path, "--runs", 5)
    assert result.exit_code == 2 and "drop runs" in result.stderr
    result = invoke("run", "--resume", tmp_path)
    assert result.exit_code == 2 and "no manifest.json" in result.stderr
    result = invoke("run")
    assert result.exit_code == 2 and "missing SCENARIO" in result.stderr


def test_resume_of_a_complete_folder_changes_nothing(tmp_path):
    folder = tmp_path / "done"
    assert (
        invoke(
            "run", "baseline", "--runs", 3, "--months", 2, "-q", "--no-plots", "--out", folder
        ).exit_code
        == 0
    )
    before = (folder / "manifest.json").read_text()
    result = invoke("run", "--resume", folder)
    assert result.exit_code == 0 and "complete; nothing to resume" in result.output
    assert (folder / "manifest.json").read_text() == before


def _interrupted_after_first_chunk(how: str):
    """An iter_results that finishes the first task, then is interrupted by Ctrl-C or SIGTERM."""
    from batches.executors import run_task

    def fake(scenarios, months, tasks, **options):
        yield tasks[0], run_task(scenarios[tasks[0].point], months, tasks[0])
        if how == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        raise KeyboardInterrupt

    return fake


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_leaves_a_partial_folder_that_resumes(tmp_path, monkeypatch, how):
    monkeypatch.setattr("batches.executors.iter_results", _interrupted_after_first_chunk(how))
    handler = signal.getsignal(signal.SIGTERM)
    folder = tmp_path / "p"
    args = ["run", "baseline", "--runs", CHUNK_SIZE + 3, "--months", 2, "--no-plots", "--seed", 9]
    result = invoke(*args, "--out", folder)
    assert result.exit_code == 130, (result.output, result.exception)
    assert "partial" in result.stderr and "--resume" in result.stderr
    assert signal.getsignal(signal.SIGTERM) == handler
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["chunks_completed"] == [0]
    monkeypatch.undo()
    assert invoke("run", "--resume", folder, "-q", "--no-plots").exit_code == 0
    assert invoke(*args, "-q", "--out", tmp_path / "w").exit_code == 0
    pd.testing.assert_frame_equal(
        read_table(folder, "agents"), read_table(tmp_path / "w", "agents")
    )


def test_resume_keeps_the_tables_chosen(tmp_path, monkeypatch):
    """A run with --tables and --relations-every resumes with the same choice (its manifest)."""
    monkeypatch.setattr("batches.executors.iter_results", _interrupted_after_first_chunk("ctrl-c"))
    folder = tmp_path / "p"
    args = [
        "run", "baseline", "--runs", CHUNK_SIZE + 3, "--months", 3, "--seed", 9, "-q",
        "--no-plots", "--format", "csv", "--tables", "relations", "--relations-every", 2,
    ]  # fmt: skip
    assert invoke(*args, "--out", folder).exit_code == 130
    assert completed_chunks(folder, ["metrics", "relations"]) == {0}
    monkeypatch.undo()
    result = invoke("run", "--resume", folder, "-q", "--no-plots")
    assert result.exit_code == 0, (result.output, result.exception)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert (manifest["tables"], manifest["relations_every"]) == (["metrics", "relations"], 2)
    assert sorted(p.name for p in folder.glob("*.csv")) == [
        "metrics.csv", "relations.csv", "summary.csv",
    ]  # fmt: skip
    assert invoke(*args, "--out", tmp_path / "w").exit_code == 0
    for table in ("metrics", "relations"):
        pd.testing.assert_frame_equal(read_table(folder, table), read_table(tmp_path / "w", table))
    assert sorted(read_table(folder, "relations")["month"].unique()) == [0, 2]
    refused = invoke("run", "--resume", folder, "--tables", "metrics")
    assert refused.exit_code == 2 and "drop tables" in refused.stderr
