"""`csto explain` on a sweep folder: run K of design point P replayed from the design's chunks
(a point spanning two chunks, run by two workers; or one model per point), checked against the
folder's events of that point and run; an event across one point's runs; `--point` checked."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from conftest import invoke

from batches.explain import check_trace, explain_event, explain_run
from results.store import read_table
from simulation.schema import ACTION_NAMES

RUNS = 6
MONTHS = 18
CHUNK = 7  # rows of a lock-step chunk: point 1 (rows 6..11) spans chunks 0 and 1
VARY = "agents.BLR.beta_loyalty=0.5:2.5:3"
EVENT_KEY = ["month", "actor", "action", "target"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("explain-sweep") / "s"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("batches.chunks.CHUNK_SIZE", CHUNK)
        patch.setattr("batches.executors.SERIAL_BELOW", 0)  # use the pool on a small batch
        result = invoke(
            "sweep", "history-2022", "--vary", VARY, "--runs", RUNS, "--months", MONTHS,
            "--seed", 5, "--workers", 2, "--out", out, "--no-plots", "--quiet",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def _folder_events(folder, point: int, run: int) -> pd.DataFrame:
    events = read_table(folder, "events")
    mine = events[(events["point"] == point) & (events["run"] == run)]
    return mine.loc[:, EVENT_KEY].reset_index(drop=True)


def _chosen_actions(trace: pd.DataFrame) -> set[tuple]:
    """(month, agent, action, target) of every action the trace records as chosen."""
    chosen = trace[trace["chosen"] & trace["option"].isin(ACTION_NAMES)]
    chosen = chosen[chosen["option"] != "none"]
    return {
        (int(row.month), row.agent, row.option, row.target or "")
        for row in chosen.drop_duplicates(["month", "agent", "decision"]).itertuples()
    }


def test_the_sweep_is_cut_so_that_point_1_spans_two_chunks(sweep):
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert manifest["design"]["layout"].startswith("lock-step")
    assert manifest["design"]["rows_per_chunk"] == [CHUNK, CHUNK, 3 * RUNS - 2 * CHUNK]


@pytest.mark.parametrize("run", [0, 3])  # rows 6 (chunk 0) and 9 (chunk 1)
def test_a_run_of_a_sweep_point_is_replayed_exactly(sweep, run):
    explained = explain_run(sweep, run, point=1)
    assert explained.checked and explained.point == 1 and explained.run == run
    recorded = _folder_events(sweep, 1, run)
    replayed = explained.events.loc[:, EVENT_KEY].reset_index(drop=True)
    pd.testing.assert_frame_equal(replayed, recorded, check_dtype=False, check_categorical=False)
    assert set(explained.events["point"]) == {1}
    assert check_trace(explained.trace).empty
    assert set(explained.trace["run"]) == {run}
    agents = set(explained.info.agents)
    chosen_events = {
        (int(row.month), row.actor, row.action, row.target or "")
        for row in recorded.itertuples()
        if row.actor in agents and row.action != "attack"  # an attack is drawn, not chosen
    }
    assert chosen_events and _chosen_actions(explained.trace) == chosen_events


def test_the_replay_uses_the_points_values(sweep, tmp_path):
    """The check is real: with point 1's value changed in the manifest, run 3 of point 1 no
    longer reproduces the folder's events, and explain says so (exit 1)."""
    copy = tmp_path / "copy"
    shutil.copytree(sweep, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sweep"]["points"][1]["agents.BLR.beta_loyalty"] = 4.0
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = invoke("explain", copy, "--point", 1, "--run", 3)
    assert result.exit_code == 1, result.output
    assert "the replay of run 3 does not reproduce the folder's events" in result.stderr


def test_explain_prints_the_point_and_its_values(sweep):
    result = invoke(
        "explain", sweep, "--point", 1, "--run", 3, "--month", "2022-09", "--agent", "BLR"
    )
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("history-2022, point 1 (agents.BLR.beta_loyalty=1.5), run 3: ")
    assert "equal the folder's" in first
    assert "run 3, 2022-09, BLR, posture" in result.output


def test_an_event_across_one_points_runs(sweep):
    result = invoke("explain", sweep, "--point", 1, "--event", "BLR:visit_breakaway:RUS")
    assert result.exit_code == 0, result.output
    assert f"{RUNS} of {RUNS} runs replayed; their events equal the folder's" in result.output
    assert (sweep / "explain" / "point-1" / "BLR-visit_breakaway-RUS.png").stat().st_size > 0
    explained = explain_event(sweep, "BLR:visit_breakaway:RUS", sample=None, point=1)
    events = read_table(sweep, "events")
    happened = events[
        (events["point"] == 1)
        & (events["actor"] == "BLR")
        & (events["action"] == "visit_breakaway")
        & (events["target"] == "RUS")
    ]["run"].nunique()
    runs = explained.attribution.groupby("group")["runs"].first()
    assert happened > 0 and runs["happened"] == happened


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--run", 0], "--point: {folder} is a sweep folder of 3 points: give --point P, one of"),
        (["--event", "BLR:side_with:AZE"], "--point: {folder} is a sweep folder of 3 points"),
        (
            ["--point", 3, "--run", 0],
            "--point: point 3 is not one of the folder's points; expected 0..2",
        ),
        (
            ["--point", -1, "--run", 0],
            "--point: point -1 is not one of the folder's points; expected 0..2",
        ),
        (["--point", "x", "--run", 0], "--point: expected a point number 0..2, got 'x'"),
        (["--point", 1, "--run", RUNS], f"--run: run {RUNS} is not in the folder"),
        (
            ["--point", 9, "--event", "BLR:side_with:AZE"],
            "--point: point 9 is not one of the folder's points",
        ),
    ],
)
def test_a_bad_point_is_one_line_with_exit_2(sweep, args, expected):
    result = invoke("explain", sweep, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert expected.format(folder=sweep) in lines[0], lines
    assert result.stdout == ""


def test_point_is_refused_for_a_run_folder(tmp_path):
    out = tmp_path / "r"
    made = invoke("run", "baseline", "--runs", 2, "--months", 3, "--out", out, "--no-plots",
                  "--quiet")  # fmt: skip
    assert made.exit_code == 0, made.output
    result = invoke("explain", out, "--point", 0, "--run", 0)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: --point: {out} is a run folder, not a sweep folder: leave out --point"
    )


def test_a_design_of_one_model_per_point_is_replayed(tmp_path, monkeypatch):
    """A structural key (the summit month) runs one model per point; run 4 of point 1 lies in
    that point's second chunk."""
    monkeypatch.setattr("batches.chunks.CHUNK_SIZE", 4)
    out = tmp_path / "p"
    made = invoke(
        "sweep", "baseline", "--vary", "alliance.summit_month=4:9:2", "--runs", 5, "--months", 12,
        "--seed", 3, "--out", out, "--no-plots", "--quiet",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["design"]["layout"] == "one model per point"
    for point, run in ((0, 1), (1, 4)):
        explained = explain_run(out, run, point=point)
        assert explained.checked and not explained.trace.empty
        pd.testing.assert_frame_equal(
            explained.events.loc[:, EVENT_KEY].reset_index(drop=True),
            _folder_events(out, point, run),
            check_dtype=False,
            check_categorical=False,
        )


def test_a_sweep_written_before_designs_is_replayed(tmp_path, monkeypatch):
    """A sweep of one model per (point, chunk) seeded SeedSequence(seed, (p, c)), without
    streams (`batches.sweeps.sweep_tasks`): its chunk is replayed whole, with the point's
    scenario, and run 4 of point 1 (its second chunk) reproduces the folder's events."""
    from batches.plan import prepare_sweep
    from batches.runner import finish_batch
    from batches.sweeps import point_scenarios, sweep_tasks
    from simulation.schema import Scenario

    monkeypatch.setattr("batches.chunks.CHUNK_SIZE", 3)
    out = tmp_path / "old"
    batch = prepare_sweep(
        "baseline", vary=["agents.BLR.beta_loyalty=0.5:2.5:2"], runs=5, months=12, seed=3,
        out=out,
    )  # fmt: skip
    del batch.manifest["design"]
    points = batch.manifest["sweep"]["points"]
    base = Scenario.model_validate(batch.manifest["resolved_scenario"])
    batch.scenarios = dict(point_scenarios(base, points, 12))
    batch.tasks = sweep_tasks(len(points), 5, 3, chunk_size=3)
    finish_batch(batch, plots=False)
    for point, run in ((0, 0), (1, 4)):
        explained = explain_run(out, run, point=point)
        assert explained.checked and len(explained.events) > 0
        assert set(explained.trace["run"]) == {run}
        pd.testing.assert_frame_equal(
            explained.events.loc[:, EVENT_KEY].reset_index(drop=True),
            _folder_events(out, point, run),
            check_dtype=False,
            check_categorical=False,
        )


def test_a_point_of_a_sensitivity_folder_is_replayed(tmp_path):
    out = tmp_path / "m"
    made = invoke(
        "sensitivity", "baseline", "--vary", "agents.BLR.beta_loyalty", "--vary",
        "aggression.ceiling=0.01:0.5", "--runs", 3, "--trajectories", 2, "--months", 12,
        "--seed", 11, "--no-plots", "-q", "--out", out,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    refused = invoke("explain", out, "--run", 0)
    assert refused.exit_code == 2
    assert "--point: " in refused.stderr and "sensitivity folder of 6 points" in refused.stderr
    explained = explain_run(out, 2, point=4)
    assert explained.checked and check_trace(explained.trace).empty
    pd.testing.assert_frame_equal(
        explained.events.loc[:, EVENT_KEY].reset_index(drop=True),
        _folder_events(out, 4, 2),
        check_dtype=False,
        check_categorical=False,
    )
