"""The Python API (`from batches import run, sweep, compare, open_folder`) and the run's choice
of tables (`tables`, `relations_every`), through the API and the command line."""

from __future__ import annotations

import gc
import json
import warnings

import pandas as pd
import pytest
from conftest import invoke

from batches import (
    Comparison,
    FolderExistsError,
    MissingTableWarning,
    OptionError,
    RunFolder,
    RunFolderError,
    ScenarioError,
    SweepFolder,
    compare,
    open_folder,
    run,
    sweep,
)
from results.store import read_table

RUNS, MONTHS, SEED = 12, 3, 7
QUICK = {"runs": RUNS, "months": MONTHS, "seed": SEED}
TABLES = ("metrics", "agents", "events", "relations")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two finished runs of baseline with the same seed, one more overstretched, with plots."""
    root = tmp_path_factory.mktemp("api")
    a = run("baseline", **QUICK, set={"world.overstretch": 0.4}, out=root / "a")
    b = run("baseline", **QUICK, out=root / "b")
    return a, b


# --- run ---------------------------------------------------------------------------------------


def test_run_returns_a_run_folder_with_lazy_cached_tables(pair):
    a, _ = pair
    assert isinstance(a, RunFolder) and a.path.is_dir() and not a.temporary
    assert "_tables" not in a.__dict__  # nothing read yet
    metrics = a.metrics
    assert a.metrics is metrics  # read once, kept
    assert set(a.__dict__["_tables"]) == {"metrics"}
    assert len(metrics) == RUNS * MONTHS and sorted(metrics["run"].unique()) == list(range(RUNS))
    for name in TABLES:
        assert list(getattr(a, name).columns) == list(read_table(a.path, name).columns)
    summary = a.summary()
    assert list(summary.columns) == ["month", "date", "metric", "mean", "p05", "p50", "p95"]
    assert len(summary) == MONTHS * 5
    assert a.manifest["resolved_scenario"]["world"]["overstretch"] == 0.4
    assert a.manifest["tables"] == list(TABLES) and a.manifest["relations_every"] is None
    assert (a.path / "plots" / "cohesion.png").is_file()


def test_run_gives_the_tables_of_csto_run(pair, tmp_path):
    a, _ = pair
    out = tmp_path / "cli"
    result = invoke(
        "run", "baseline", "--runs", RUNS, "--months", MONTHS, "--seed", SEED,
        "--set", "world.overstretch=0.4", "--no-plots", "-q", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), read_table(out, name), check_exact=True)
    assert (a.path / "summary.csv").read_text() == (out / "summary.csv").read_text()


def test_run_set_takes_key_value_texts_too(tmp_path):
    folder = run("baseline", runs=2, months=2, set=["world.overstretch=0.3"], plots=False)
    assert folder.manifest["resolved_scenario"]["world"]["overstretch"] == 0.3


def test_a_temporary_run_lives_as_long_as_its_object():
    folder = run("baseline", runs=2, months=2, plots=False)
    assert folder.temporary
    root = folder.path.parent
    assert (folder.path / "manifest.json").is_file()
    del folder
    gc.collect()
    assert not root.exists()
    with run("baseline", runs=2, months=2, plots=False) as other:
        root = other.path.parent
        assert root.exists()
    assert not root.exists()


def test_run_errors_are_exceptions_and_write_nothing(tmp_path):
    out = tmp_path / "x"
    with pytest.raises(ScenarioError, match="no-such-scenario"):
        run("no-such-scenario", runs=2, out=out)
    with pytest.raises(ScenarioError, match="world.overstretch"):
        run("baseline", runs=2, set={"world.overstretch": 7.0}, out=out)
    with pytest.raises(OptionError, match="--runs"):
        run("baseline", runs=0, out=out)
    with pytest.raises(OptionError, match="--tables"):
        run("baseline", runs=2, tables="metrics,relatons", out=out)
    with pytest.raises(OptionError, match="--relations-every"):
        run("baseline", runs=2, relations_every=0, out=out)
    with pytest.raises(OptionError, match="--scheduler needs --executor dask"):
        run("baseline", runs=2, scheduler="tcp://127.0.0.1:1", out=out)
    with pytest.raises(OptionError, match="--format"):
        run("baseline", runs=2, fmt="xlsx", out=out)
    assert not out.exists()
    out.mkdir()
    with pytest.raises(FolderExistsError, match="already exists"):
        run("baseline", runs=2, months=2, out=out)
    assert list(out.iterdir()) == []


# --- sweep -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "s"
    return sweep(
        "baseline", vary={"world.overstretch": (0.0, 0.6, 3)}, runs=10, months=2, seed=4, out=out
    )


def test_sweep_returns_a_sweep_folder(swept, tmp_path):
    assert isinstance(swept, SweepFolder)
    assert swept.points["world.overstretch"].tolist() == [0.0, 0.3, 0.6]
    assert sorted(swept.metrics["point"].unique()) == [0, 1, 2]
    assert "point" in swept.summary().columns
    assert swept.manifest["sweep"]["design"] == "grid"
    out = tmp_path / "cli"
    result = invoke(
        "sweep", "baseline", "--vary", "world.overstretch=0:0.6:3", "--runs", 10, "--months", 2,
        "--seed", 4, "--no-plots", "-q", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(swept.events, read_table(out, "events"), check_exact=True)


def test_sweep_errors(tmp_path):
    with pytest.raises(OptionError, match="not a sweep file"):
        sweep("baseline", out=tmp_path / "x")
    with pytest.raises(ScenarioError, match="sweep point 1"):
        sweep("baseline", vary={"world.overstretch": (0, 5, 2)}, runs=2, out=tmp_path / "x")
    with pytest.raises(ScenarioError, match="vary"):
        sweep("baseline", vary={"world.overstretch": (0,)}, runs=2, out=tmp_path / "x")
    with pytest.raises(OptionError, match="--points is for --design lhs"):
        sweep("baseline", vary={"world.overstretch": (0, 1)}, points=3, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()


# --- compare and open_folder -------------------------------------------------------------------


def test_compare_objects_and_paths(pair, tmp_path):
    a, b = pair
    c = compare(a, b, months=[0, "2022-03"], out=tmp_path / "c")
    assert isinstance(c, Comparison)
    assert set(c.table["scenario"]) == {"baseline (a)", "baseline (b)"}
    assert sorted(c.table["month"].unique()) == [0, 2]
    assert set(c.outcomes["outcome"]) >= {"armenia_frozen_or_exited", "article4_honoured_by_russia"}
    assert c.record["seed"] == 20221211
    redrawn = c.plot(out=tmp_path / "again")
    assert {p.name for p in redrawn} >= {"compare_cohesion.png", "compare_status.png"}
    by_path = compare(a.path, str(b.path), months=[0, 2], plots=False)
    assert by_path.temporary
    pd.testing.assert_frame_equal(by_path.table, c.table)
    root = by_path.path.parent
    del by_path
    gc.collect()
    assert not root.exists()


def test_compare_keeps_temporary_runs_alive():
    a = run("baseline", runs=4, months=2, plots=False)
    b = run("baseline", runs=4, months=2, seed=1, plots=False)
    c = compare(a, b, plots=False)
    folders = [a.path, b.path]
    del a, b
    gc.collect()
    assert all(folder.exists() for folder in folders)  # the comparison holds them
    assert len(c.plot()) >= 4


def test_compare_errors(pair, tmp_path):
    a, _ = pair
    with pytest.raises(OptionError, match="at least two"):
        compare(a, out=tmp_path / "c")
    with pytest.raises(OptionError, match="--months"):
        compare(a, a, months="2031-01", out=tmp_path / "c")
    with pytest.raises(RunFolderError, match="no such folder"):
        compare(a, tmp_path / "missing")
    with pytest.raises(FolderExistsError):
        compare(a, a, out=tmp_path)


def test_open_folder_gives_each_kind(pair, swept, tmp_path):
    a, b = pair
    opened = open_folder(a.path)
    assert type(opened) is RunFolder and opened.manifest == json.loads(
        (a.path / "manifest.json").read_text()
    )
    pd.testing.assert_frame_equal(opened.metrics, a.metrics)
    assert type(open_folder(str(swept.path))) is SweepFolder
    c = compare(a, b, out=tmp_path / "c", plots=False)
    reopened = open_folder(tmp_path / "c")
    assert type(reopened) is Comparison
    pd.testing.assert_frame_equal(reopened.outcomes, c.outcomes)
    point = compare(swept, plots=False)
    assert set(point.table["point"]) == {0, 1, 2}
    with pytest.raises(RunFolderError, match="no manifest.json"):
        open_folder(tmp_path)
    with pytest.raises(RunFolderError, match="no such folder"):
        open_folder(tmp_path / "nothing")


# --- what a run writes, by choice ----------------------------------------------------------------


def test_tables_choice_writes_only_those_and_always_metrics(tmp_path):
    folder = run("baseline", **QUICK, tables=["events"], out=tmp_path / "e")
    assert folder.manifest["tables"] == ["metrics", "events"]
    assert folder.tables == ["metrics", "events"]
    assert (folder.path / "metrics.parquet").is_dir() and (folder.path / "summary.csv").is_file()
    assert not (folder.path / "agents.parquet").exists()
    assert not (folder.path / "relations.parquet").exists()
    with pytest.raises(RunFolderError, match="no agents table.*--tables"):
        folder.agents  # noqa: B018
    full = run("baseline", **QUICK, plots=False, out=tmp_path / "full")
    pd.testing.assert_frame_equal(folder.events, full.events, check_exact=True)
    pd.testing.assert_frame_equal(folder.summary(), full.summary(), check_exact=True)


@pytest.mark.parametrize(("months", "kept"), [(7, [0, 3, 6]), (8, [0, 3, 6, 7])])
def test_relations_every_keeps_every_kth_and_the_last_month(tmp_path, months, kept):
    thin = run("baseline", runs=3, months=months, relations_every=3, plots=False, fmt="csv",
               out=tmp_path / "thin")  # fmt: skip
    assert thin.manifest["relations_every"] == 3
    assert sorted(thin.relations["month"].unique()) == kept
    full = run("baseline", runs=3, months=months, plots=False, out=tmp_path / "full")
    expected = full.relations[full.relations["month"].isin(kept)].reset_index(drop=True)
    pd.testing.assert_frame_equal(thin.relations, expected, check_exact=True)
    pd.testing.assert_frame_equal(thin.agents, full.agents, check_exact=True)


def test_compare_and_plot_say_what_is_missing(pair, tmp_path):
    a, _ = pair
    lean = run("baseline", **QUICK, tables="metrics", out=tmp_path / "lean")
    with pytest.warns(MissingTableWarning, match=r"no (agents|events) table") as caught:
        c = compare(a, lean, out=tmp_path / "c")
    assert {str(w.message).split(" has ")[1][:16] for w in caught} == {
        "no agents table ", "no events table ",
    }  # fmt: skip
    assert c.outcomes.empty and set(c.table["scenario"]) == {"baseline (a)", "baseline (lean)"}
    pngs = {p.name for p in (tmp_path / "c" / "plots").glob("*.png")}
    assert pngs == {"compare_cohesion.png", "compare_difference.png"}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        c.plot(out=tmp_path / "again")
    assert any("no agents table" in str(w.message) for w in seen)
    # only the events: the event-based outcomes stay, the Armenia status one goes
    events_only = run("baseline", **QUICK, tables="events", plots=False, out=tmp_path / "ev")
    with pytest.warns(MissingTableWarning, match="armenia_frozen_or_exited"):
        partial = compare(a, events_only, plots=False)
    assert "armenia_frozen_or_exited" not in set(partial.outcomes["outcome"])
    assert "article4_honoured_by_russia" in set(partial.outcomes["outcome"])


def test_cli_tables_options_and_warnings(cli, workdir):
    args = ["run", "baseline", "--runs", RUNS, "--months", MONTHS, "--seed", SEED]
    result = cli(*args, "--tables", "agents", "--relations-every", "2", "--out", "lean")
    assert result.exit_code == 0, result.output
    manifest = json.loads((workdir / "lean" / "manifest.json").read_text())
    assert (manifest["tables"], manifest["relations_every"]) == (["metrics", "agents"], 2)
    assert "warning: lean has no events table" in result.stderr
    assert "--tables" in result.stderr and "Traceback" not in result.output
    assert "cohesion" in result.stdout and "key events" not in result.stdout
    assert cli(*args, "--no-plots", "-q", "--out", "full").exit_code == 0
    compared = cli("compare", "full", "lean", "--out", "c", "-q")
    assert compared.exit_code == 0, compared.output
    assert "warning: lean has no events table" in compared.stderr
    assert "events plot" in compared.stderr
    replot = cli("plot", "c")
    assert replot.exit_code == 0 and "lean has no events table" in replot.stderr
    assert "compare_events.png" not in replot.stdout
    bad = cli(*args, "--tables", "metrics,nope", "--out", "bad")
    assert bad.exit_code == 2 and "--tables" in bad.stderr and "'nope'" in bad.stderr
    assert not (workdir / "bad").exists()
    swept = cli("sweep", "baseline", "--vary", "world.overstretch=0:0.5:2", "--runs", 5,
                "--months", 2, "--tables", "metrics,events", "--out", "sw")  # fmt: skip
    assert swept.exit_code == 0, swept.output
    assert "warning: sw has no agents table" in swept.stderr
    assert json.loads((workdir / "sw" / "manifest.json").read_text())["tables"] == [
        "metrics", "events",
    ]  # fmt: skip
