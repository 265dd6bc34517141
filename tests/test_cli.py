"""End-to-end tests of the `csto` command with click's CliRunner."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tomllib
import types
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
from conftest import QUICK_MONTHS, QUICK_RUNS, assert_clean_error, invoke
from helpers import INTERFACE_COLUMNS

from batches.chunks import CHUNK_SIZE
from batches.runner import progress_bar
from cli import DEFAULT_SEED
from results.store import read_table
from simulation.scenario import available_scenarios, load_scenario, resolved_dict, scenario_hash
from simulation.schema import ACTION_NAMES

COLUMNS = INTERFACE_COLUMNS
SUMMARY_COLUMNS = ["month", "date", "metric", "mean", "p05", "p50", "p95"]
METRICS = ["cohesion", "k_align", "k_cred", "k_part", "k_sim"]
STATUSES = {"member", "frozen", "exited", "non_member"}
MANIFEST_KEYS = {
    "scenario",
    "scenario_file",
    "resolved_scenario",
    "scenario_sha256",
    "seed",
    "runs",
    "months",
    "start",
    "chunk_size",
    "workers",
    "format",
    "package_version",
    "python_version",
    "mesa_version",
    "created",
    "wall_seconds",
    "command_line",
    "status",
}
QUICK = ["--runs", QUICK_RUNS, "--months", QUICK_MONTHS]


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def plotted_run(tmp_path_factory: pytest.TempPathFactory):
    """One quick run of `baseline` with plots, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("plotted") / "run"
    result = invoke("run", "baseline", *QUICK, "--out", folder)
    assert result.exit_code == 0, (result.output, result.exception)
    return folder, result


# --- csto run --------------------------------------------------------------------------------


def test_run_writes_every_file_of_the_run_folder(plotted_run):
    folder, _ = plotted_run
    for name in COLUMNS:
        assert (folder / f"{name}.parquet").is_dir(), name
    assert (folder / "summary.csv").is_file()
    assert (folder / "manifest.json").is_file()
    pngs = sorted(p.name for p in (folder / "plots").glob("*.png"))
    assert "cohesion.png" in pngs and "components.png" in pngs
    for png in (folder / "plots").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in folder.rglob(".*")], "temporary files left behind"


def test_manifest_holds_every_key(plotted_run):
    folder, _ = plotted_run
    manifest = manifest_of(folder)
    assert set(manifest) >= MANIFEST_KEYS
    scenario = load_scenario("baseline")
    assert manifest["status"] == "complete"
    assert manifest["scenario"] == "baseline"
    assert Path(manifest["scenario_file"]) == available_scenarios()["baseline"].resolve()
    assert manifest["resolved_scenario"] == resolved_dict(scenario)
    assert manifest["scenario_sha256"] == scenario_hash(scenario)
    assert manifest["seed"] == DEFAULT_SEED
    assert (manifest["runs"], manifest["months"]) == (QUICK_RUNS, QUICK_MONTHS)
    assert manifest["start"] == "2022-01"
    assert manifest["chunk_size"] == CHUNK_SIZE
    assert manifest["workers"] == 1
    assert manifest["format"] == "parquet"
    assert manifest["package_version"] == version("csto")
    assert manifest["python_version"] == platform.python_version()
    assert manifest["mesa_version"] == version("mesa")
    created = dt.datetime.fromisoformat(manifest["created"])
    assert created.utcoffset() == dt.timedelta(0)
    assert manifest["wall_seconds"] >= 0
    assert isinstance(manifest["command_line"], str) and manifest["command_line"]


def test_tables_have_the_interface_columns_and_shapes(plotted_run):
    folder, _ = plotted_run
    resolved = manifest_of(folder)["resolved_scenario"]
    n_agents = len(resolved["agents"])
    n_actors = n_agents + len(resolved["poles"])
    cells = QUICK_RUNS * QUICK_MONTHS
    tables = {name: read_table(folder, name) for name in COLUMNS}
    for name, columns in COLUMNS.items():
        assert list(tables[name].columns) == columns, name
        # what users do: pandas on the dataset folder
        assert list(pd.read_parquet(folder / f"{name}.parquet").columns) == columns, name
    metrics, agents, relations, events = (tables[n] for n in COLUMNS)
    assert len(metrics) == cells
    assert sorted(metrics["run"].unique()) == list(range(QUICK_RUNS))
    assert sorted(metrics["month"].unique()) == list(range(QUICK_MONTHS))
    assert metrics["date"].iloc[0] == "2022-01"
    assert metrics["date"].iloc[QUICK_MONTHS - 1] == "2022-03"
    assert metrics[METRICS].notna().all().all()
    assert len(agents) == cells * n_agents
    assert set(agents["status"]) <= STATUSES
    assert len(relations) == cells * n_actors * (n_actors - 1)
    assert set(events["action"]) <= set(ACTION_NAMES)
    assert len(events) > 0

    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert len(summary) == QUICK_MONTHS * len(METRICS)
    assert set(summary["metric"]) == set(METRICS)


def test_run_prints_a_summary(plotted_run):
    folder, result = plotted_run
    out = result.stdout
    assert str(folder) in out
    assert f"seed {DEFAULT_SEED}" in out
    assert "cohesion" in out
    assert "2022-01" in out and "2022-03" in out
    assert re.search(r"\d\.\d\d\s+\[\d\.\d\d, \d\.\d\d\]", out)
    assert "key events" in out
    assert result.stderr == ""  # no progress bar off a terminal


def test_run_csv_gives_the_same_tables(plotted_run, tmp_path):
    parquet_folder, _ = plotted_run
    folder = tmp_path / "csv"
    result = invoke("run", "baseline", *QUICK, "--format", "csv", "--no-plots", "--out", folder)
    assert result.exit_code == 0, result.output
    for name in COLUMNS:
        assert (folder / f"{name}.csv").is_file()
        assert not (folder / f"{name}.parquet").exists()
        assert list(pd.read_csv(folder / f"{name}.csv").columns) == COLUMNS[name]
        pd.testing.assert_frame_equal(
            read_table(folder, name), read_table(parquet_folder, name), check_exact=False
        )
    assert not (folder / ".parts").exists()
    assert not (folder / "plots").exists()
    assert manifest_of(folder)["format"] == "csv"


def test_set_changes_the_resolved_scenario(plotted_run, tmp_path):
    folder = tmp_path / "set"
    result = invoke(
        "run",
        "baseline",
        *QUICK,
        "--no-plots",
        "-q",
        "--set",
        "world.overstretch=0.25",
        "--set",
        "agents.BLR.beta_loyalty=2.5",
        "--out",
        folder,
    )
    assert result.exit_code == 0, result.output
    manifest = manifest_of(folder)
    assert manifest["resolved_scenario"]["world"]["overstretch"] == 0.25
    assert manifest["resolved_scenario"]["agents"]["BLR"]["beta_loyalty"] == 2.5
    assert manifest["scenario_sha256"] != manifest_of(plotted_run[0])["scenario_sha256"]


def test_workers_give_identical_tables(tmp_path, monkeypatch):
    monkeypatch.setattr("batches.executors.SERIAL_BELOW", 0)  # use the pool on a small batch
    runs = 2 * CHUNK_SIZE + 100  # three chunks
    folders = {}
    for workers in (1, 2):
        folders[workers] = tmp_path / f"w{workers}"
        result = invoke(
            "run", "baseline", "--runs", runs, "--months", 2, "--seed", 7,
            "--workers", workers, "--no-plots", "-q", "--out", folders[workers],
        )  # fmt: skip
        assert result.exit_code == 0, (result.output, result.exception)
    assert len(list((folders[2] / "metrics.parquet").glob("part-*.parquet"))) == 3
    for name in COLUMNS:
        one, two = (read_table(folders[w], name) for w in (1, 2))
        if name != "events":  # a run may have no events
            assert one["run"].nunique() == runs
        pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert (folders[1] / "summary.csv").read_text() == (folders[2] / "summary.csv").read_text()
    assert manifest_of(folders[2])["workers"] == 2


def test_run_default_out_folder_and_quiet(cli, workdir):
    result = cli("run", "baseline", "--runs", 2, "--months", QUICK_MONTHS, "--no-plots", "-q")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    (folder,) = (workdir / "runs").iterdir()
    assert re.fullmatch(r"baseline-\d{8}-\d{6}", folder.name)
    assert manifest_of(folder)["status"] == "complete"


def test_run_a_scenario_file(cli, write_scenario):
    path = write_scenario("[world]\noverstretch = 0.3\n", name="stretched")
    result = cli("run", path, "--runs", 2, *QUICK[2:], "--no-plots", "--out", "o")
    assert result.exit_code == 0, result.output
    manifest = manifest_of(Path("o"))
    assert manifest["scenario"] == "stretched"
    assert manifest["scenario_file"] == str(path.resolve())
    assert manifest["resolved_scenario"]["world"]["overstretch"] == 0.3


def test_existing_out_is_an_error_unless_force(cli, workdir):
    args = ["run", "baseline", "--runs", 2, "--months", QUICK_MONTHS, "--no-plots", "-q"]
    assert cli(*args, "--out", "same").exit_code == 0
    (workdir / "same" / "marker").write_text("old")
    assert_clean_error(cli(*args, "--out", "same"), "same", "already exists", "--force")
    assert (workdir / "same" / "marker").exists()
    assert cli(*args, "--out", "same", "--force").exit_code == 0
    assert not (workdir / "same" / "marker").exists()


def _interrupting_iter_results(how: str):
    """An executors.iter_results that finishes the first chunk, then is interrupted."""
    from batches.executors import run_task

    def fake(scenarios, months, tasks, **options):
        first = tasks[0]
        yield first, run_task(scenarios[first.point], months, first)
        if how == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            raise KeyboardInterrupt
        for task in tasks[1:]:  # pragma: no cover - never reached
            yield task, run_task(scenarios[task.point], months, task)

    return fake


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_leaves_a_partial_folder(cli, workdir, monkeypatch, how):
    monkeypatch.setattr("batches.executors.iter_results", _interrupting_iter_results(how))
    handler = signal.getsignal(signal.SIGTERM)
    result = cli(
        "run", "baseline", "--runs", CHUNK_SIZE + 3, "--months", QUICK_MONTHS, "--out", "p"
    )
    assert result.exit_code == 130, (result.output, result.exception)
    assert "p" in result.stderr and "partial" in result.stderr
    assert "Traceback" not in result.output
    manifest = manifest_of(workdir / "p")
    assert manifest["status"] == "partial"
    assert manifest["runs_completed"] == CHUNK_SIZE
    assert manifest["chunks_completed"] == [0]
    assert set(manifest) >= MANIFEST_KEYS
    assert sorted(read_table(workdir / "p", "metrics")["run"].unique()) == list(range(CHUNK_SIZE))
    assert not (workdir / "p" / "plots").exists()
    assert signal.getsignal(signal.SIGTERM) == handler


def test_progress_bar_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    with progress_bar(10, quiet=False) as bar:
        assert not bar.disable
        assert bar.unit == "runs"
    with progress_bar(10, quiet=True) as bar:
        assert bar.disable
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    with progress_bar(10, quiet=False) as bar:
        assert bar.disable


def test_run_short_horizon_ignores_unapplied_shocks(cli):
    # world-2022's tagged 2022 shocks lie beyond 3 months, but baseline does not apply them
    result = cli("run", "baseline", "--runs", 2, "--months", 3, "--no-plots", "-q", "--out", "s")
    assert result.exit_code == 0, result.stderr


# --- csto scenarios / show / validate --------------------------------------------------------


def test_scenarios_lists_every_shipped_file(cli):
    result = cli("scenarios")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    shipped = available_scenarios()
    assert [line.split()[0] for line in lines] == list(shipped)
    starts = {line.split()[0]: line.index(line.split(maxsplit=1)[1]) for line in lines}
    assert len(set(starts.values())) == 1, "descriptions are not aligned"
    for line, path in zip(lines, shipped.values(), strict=True):
        description = tomllib.loads(path.read_text(encoding="utf-8")).get("description", "")
        assert line.split(maxsplit=1)[1] == description


@pytest.mark.parametrize("name", list(available_scenarios()))
def test_show_prints_toml_that_revalidates(cli, tmp_path, name):
    result = cli("show", name)
    assert result.exit_code == 0, result.output
    data = tomllib.loads(result.stdout)
    assert "extends" not in data
    path = tmp_path / "shown.toml"
    path.write_text(result.stdout, encoding="utf-8")
    assert resolved_dict(load_scenario(path)) == resolved_dict(load_scenario(name))
    assert cli("validate", path).exit_code == 0


def test_show_applies_set_and_months(cli):
    result = cli("show", "history-2022", "--set", "world.overstretch=0.4", "--months", 12)
    assert result.exit_code == 0, result.output
    data = tomllib.loads(result.stdout)
    assert data["world"]["overstretch"] == 0.4
    assert data["months"] == 12
    assert data["include_shocks"] == ["history-2022"]


def test_validate_ok(cli):
    files = [str(p) for p in available_scenarios().values()]
    result = cli("validate", *files)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"ok  {f}" for f in files]


def test_validate_reports_each_bad_file(cli, write_scenario):
    good = write_scenario("months = 24\n", name="good")
    bad = write_scenario("[world]\noverstretch = 2.0\n", name="bad")
    result = cli("validate", good, bad)
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [f"ok  {good}"]
    assert f"error: {bad}: world.overstretch:" in result.stderr
    assert "Traceback" not in result.output


def test_validate_checks_sweep_files_and_every_point(cli, tmp_path):
    from batches.sweeps import available_sweeps

    shipped = [str(p) for p in available_sweeps().values()]
    result = cli("validate", *shipped)
    assert result.exit_code == 0, result.output
    assert all("(sweep, " in line for line in result.stdout.splitlines())
    bad = tmp_path / "bad-sweep.toml"
    bad.write_text('scenario = "baseline"\n[vary]\n"agents.BLR.beta_loyal" = [0.5, 2.0]\n')
    result = cli("validate", str(bad))
    assert result.exit_code == 2
    assert f"error: {bad}: agents.BLR.beta_loyal: unknown key" in result.stderr
    assert "Traceback" not in result.output


HEAVY_MODULES = ("mesa", "matplotlib", "pandas", "scipy", "pyarrow")
LIGHT_CHECK = """
import json, sys
from click.testing import CliRunner
from cli import main
seen = {}
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, (args, result.output)
    seen[" ".join(args)] = [m for m in json.loads(sys.argv[2]) if m in sys.modules]
print(json.dumps(seen))
"""


def test_fast_commands_do_not_import_heavy_modules():
    commands = [["--help"], ["scenarios"], ["show", "baseline"], ["validate", "baseline"]]
    argv = [sys.executable, "-c", LIGHT_CHECK, json.dumps(commands), json.dumps(HEAVY_MODULES)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {" ".join(args): [] for args in commands}


# --- csto history ----------------------------------------------------------------------------

HISTORY_ROWS = [
    {"event": "AZE attacks ARM", "window": "2022-09", "probability": 0.62, "target": ">= 0.5",
     "met": True},
    {"event": "RUS does not honour Article 4", "window": "2022-09..2022-10", "probability": 0.41,
     "target": ">= 0.5", "met": False},
    {"event": "ARM boycotts the declaration", "window": "2022-11", "probability": 0.55,
     "target": ">= 0.5", "met": True},
]  # fmt: skip


@pytest.fixture
def fake_history(monkeypatch):
    calls = []

    def check_history(runs=1000, seed=DEFAULT_SEED, workers=1):
        calls.append({"runs": runs, "seed": seed, "workers": workers})
        return [dict(row) for row in HISTORY_ROWS]

    module = types.ModuleType("batches.history")
    module.check_history = check_history
    monkeypatch.setitem(sys.modules, "batches.history", module)
    return calls


def test_history_table(cli, fake_history):
    result = cli("history", "--runs", 50, "--seed", 3, "--workers", 2)
    assert result.exit_code == 0, result.output
    assert fake_history == [{"runs": 50, "seed": 3, "workers": 2}]
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["event", "window", "probability", "target", "met"]
    body = lines[2:-1]
    assert len(body) == len(HISTORY_ROWS)
    for line, row in zip(body, HISTORY_ROWS, strict=True):
        assert line.startswith(row["event"])
        assert f"{row['probability']:.3f}" in line
        assert line.endswith("✓" if row["met"] else "✗")
    columns = {line.index(row["window"]) for line, row in zip(body, HISTORY_ROWS, strict=True)}
    assert len(columns) == 1
    assert lines[-1] == "2 of 3 events reproduced"


def test_history_json(cli, fake_history):
    result = cli("history", "--json")
    assert result.exit_code == 0, result.output
    assert fake_history == [{"runs": 1000, "seed": DEFAULT_SEED, "workers": 1}]
    assert json.loads(result.stdout) == HISTORY_ROWS


def test_history_without_its_module(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "batches.history", None)
    result = cli("history", "--runs", 1)
    assert result.exit_code != 0
    assert "batches.history" in result.stderr
    assert "Traceback" not in result.output
