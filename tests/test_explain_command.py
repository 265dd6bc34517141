"""`csto explain`: a run replayed from its folder (whatever the workers that made it) with its
decisions explained, an event across the ensemble, and bad inputs as one line with exit 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import invoke

from batches.chunks import CHUNK_SIZE
from batches.explain import check_trace, explain_event, explain_run
from results.store import read_table

RUNS = 40


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("explain") / "h"
    result = invoke(
        "run", "history-2022", "--runs", RUNS, "--seed", 7, "--out", out,
        "--no-plots", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_a_run_of_a_two_worker_batch_is_replayed_exactly(tmp_path, monkeypatch):
    """Two chunks run by a pool of two workers; a run of each chunk replays to its events."""
    monkeypatch.setattr("batches.executors.SERIAL_BELOW", 0)  # use the pool on a small batch
    out = tmp_path / "two"
    runs = CHUNK_SIZE + 30
    result = invoke(
        "run", "baseline", "--runs", runs, "--months", 3, "--seed", 11, "--workers", 2,
        "--out", out, "--no-plots", "--quiet", "--tables", "metrics,events",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    events = read_table(out, "events")
    for run in (5, CHUNK_SIZE + 17):
        explained = explain_run(out, run)
        mine = events[events["run"] == run]
        assert len(explained.events) == len(mine) and explained.checked
        replayed = explained.events.loc[:, ["month", "actor", "action", "target"]]
        pd.testing.assert_frame_equal(
            replayed.reset_index(drop=True),
            mine.loc[:, ["month", "actor", "action", "target"]].reset_index(drop=True),
            check_dtype=False,
            check_categorical=False,
        )
        assert check_trace(explained.trace).empty
        assert set(explained.trace["run"]) == {run}


def test_explain_run_prints_a_table_per_decision_with_its_deciding_term(folder):
    result = invoke("explain", folder, "--run", 3, "--month", "2022-02", "--agent", "BLR")
    assert result.exit_code == 0, result.output
    assert "run 3: replayed; its" in result.output and "equal the folder's" in result.output
    assert "run 3, 2022-02, BLR, posture" in result.output
    assert "run 3, 2022-02, BLR, diplomacy" in result.output
    assert "decided by" in result.output or "against the odds" in result.output
    assert "GEO" not in result.output.split("BLR, posture")[0].split("\n", 1)[1]


def test_explain_run_writes_the_trace_as_csv_and_json(folder, tmp_path):
    target = tmp_path / "t.csv"
    result = invoke("explain", folder, "--run", 0, "--agent", "GEO", "--format", "csv", "--out",
                    target)  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(target)
    assert set(table["agent"]) == {"GEO"} and set(table["run"]) == {0}
    assert {"term", "value", "utility", "probability", "chosen"} <= set(table.columns)
    result = invoke("explain", folder, "--run", 0, "--month", "2022-01", "--format", "json")
    rows = json.loads(result.output)
    assert rows and {row["month"] for row in rows} == {0}


def test_explain_event_prints_the_attribution_and_writes_the_plot(folder):
    result = invoke("explain", folder, "--event", "BLR:signal_loyalty:RUS", "--sample", 30)
    assert result.exit_code == 0, result.output
    assert "30 of 40 runs replayed; their events equal the folder's" in result.output
    assert "BLR:signal_loyalty:RUS: happened in" in result.output
    assert (folder / "explain" / "BLR-signal_loyalty-RUS.png").stat().st_size > 0


def test_the_event_attribution_counts_the_runs_where_it_happened(folder):
    explained = explain_event(folder, "GEO:summon_ambassador:BLR", sample=None)
    events = read_table(folder, "events")
    happened = events[
        (events["actor"] == "GEO")
        & (events["action"] == "summon_ambassador")
        & (events["target"] == "BLR")
    ]["run"].nunique()
    runs = explained.attribution.groupby("group")["runs"].first()
    assert runs["happened"] == happened


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--run", "x"], "--run: expected a run number"),
        (["--run", RUNS], f"--run: run {RUNS} is not in the folder; expected 0..{RUNS - 1}"),
        (["--run", 0, "--month", "2099-05"], "--month: 2099-05 is outside the horizon"),
        (["--run", 0, "--month", "May"], "--month:"),
        (["--run", 0, "--agent", "FRA"], "--agent: unknown agent 'FRA'"),
        (["--event", "BLR-side_with"], "--event: expected ACTOR:ACTION[:TARGET]"),
        (["--event", "BLR:fly:AZE"], "--event: unknown action 'fly'"),
        (["--event", "XYZ:side_with:AZE"], "--event: unknown actor 'XYZ'"),
        (["--event", "RUS:attack:UKR"], "--event: unknown target 'UKR'"),
        ([], "give either --run K or --event"),
        (["--run", 0, "--event", "BLR:side_with:AZE"], "give either --run K or --event"),
        (["--event", "BLR:side_with:AZE", "--month", "2022-01"], "--month goes with --run"),
    ],
)
def test_bad_inputs_are_one_line_with_exit_2(folder, args, expected):
    result = invoke("explain", folder, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert result.stdout == ""


def test_a_folder_that_is_not_a_run_folder_is_refused(tmp_path):
    result = invoke("explain", tmp_path, "--run", 0)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: RUN_DIR: {tmp_path} holds no manifest.json"


@pytest.mark.parametrize(
    "entry, expected",
    [
        ({"sensitivity": {"method": "morris"}}, "design.parquet is missing"),
        ({"design": {"chunk_size": 2000}}, "per-replication parameters ('design'"),
        ({"status": "partial"}, "is partial: resume it first"),
    ],
)
def test_a_folder_explain_cannot_replay_is_refused_in_one_line(folder, tmp_path, entry, expected):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest.update(entry)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = invoke("explain", copy, "--run", 0)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: RUN_DIR: ") and expected in lines[0]


def test_a_posterior_run_is_replayed_with_its_draws(tmp_path):
    """A run whose replications drew their parameters from a posterior replays exactly: the
    replay rebuilds each chunk's draws as the batch drew them."""
    out = tmp_path / "posterior"
    made = invoke(
        "run", "baseline", "--runs", 40, "--months", 4, "--seed", 9, "--posterior", "shipped",
        "--out", out, "--no-plots", "--quiet",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    for run in (0, 39):
        result = explain_run(out, run)
        assert result.checked and not result.trace.empty
        recorded = read_table(out, "events")
        assert len(result.events) == int((recorded["run"] == run).sum())
