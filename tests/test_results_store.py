"""Tests of results.store: writing run folders chunk by chunk and reading them back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from results.schema import TABLE_NAMES
from results.store import (
    RunFolderWriter,
    completed_chunks,
    read_manifest,
    read_table,
    write_manifest,
)
from results.summary import summary_table
from results.synthetic import synthetic_record
from results.tables import all_tables
from simulation.record import RunRecord

KEYS = {
    "metrics": ["run", "month"],
    "agents": ["run", "month", "agent"],
    "relations": ["run", "month", "source", "target"],
    "events": ["run", "month"],
}
FORMATS = ["parquet", "csv"]


def chunk(index: int, runs: int = 3, events: int = 6) -> RunRecord:
    """Chunk `index` of a batch of `runs`-run chunks, with NaNs and awkward floats."""
    rec = synthetic_record(runs, 4, run_offset=index * runs, events=events, seed=index)
    rec.metrics["k_cred"][0, 1] = np.nan
    rec.metrics["cohesion"][0, 0] = 1 / 3
    rec.relations[0, 0, 0, 1] = np.float32(0.1)
    return rec


def expected(records: list[RunRecord], name: str, point: int | None = None) -> pd.DataFrame:
    """What read_table should return for `records`: their tables, concatenated and sorted."""
    frames = [all_tables(rec, point)[name] for rec in records]
    keys = (["point"] if point is not None else []) + KEYS[name]
    return pd.concat(frames, ignore_index=True).sort_values(keys, kind="stable", ignore_index=True)


def write_folder(path: Path, fmt: str, records: list[RunRecord], point: int | None = None) -> Path:
    writer = RunFolderWriter(path, fmt)
    for index, rec in enumerate(records):
        writer.write_chunk(index, rec, point)
    return writer.finish({"scenario": "test", "status": "complete"})


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_gives_equal_frames(tmp_path: Path, fmt: str) -> None:
    records = [chunk(0), chunk(1)]
    folder = write_folder(tmp_path / "run", fmt, records)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(read_table(folder, name), expected(records, name))


def test_parquet_and_csv_folders_read_identically(tmp_path: Path) -> None:
    records = [chunk(0), chunk(1)]
    parquet = write_folder(tmp_path / "p", "parquet", records)
    csv = write_folder(tmp_path / "c", "csv", records)
    for name in [*TABLE_NAMES, "summary"]:
        pd.testing.assert_frame_equal(read_table(parquet, name), read_table(csv, name))


@pytest.mark.parametrize("fmt", FORMATS)
def test_point_column_round_trips(tmp_path: Path, fmt: str) -> None:
    records = [chunk(0)]
    folder = write_folder(tmp_path / "run", fmt, records, point=3)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(read_table(folder, name), expected(records, name, 3))
    assert read_table(folder, "summary")["point"].eq(3).all()


def test_parquet_layout_is_a_directory_dataset_per_table(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "run", "parquet", [chunk(0), chunk(1)])
    for name in TABLE_NAMES:
        parts = sorted(p.name for p in (folder / f"{name}.parquet").iterdir())
        assert parts == ["part-00000.parquet", "part-00001.parquet"]
    metrics = pd.read_parquet(folder / "metrics.parquet")
    assert len(metrics) == 2 * 3 * 4
    assert sorted(metrics["run"].unique()) == list(range(6))
    assert metrics["date"].iloc[0] == "2024-01"
    assert sorted(p.name for p in folder.iterdir()) == [
        "agents.parquet",
        "events.parquet",
        "manifest.json",
        "metrics.parquet",
        "relations.parquet",
        "summary.csv",
    ]


def test_csv_parts_are_assembled_in_chunk_order(tmp_path: Path) -> None:
    writer = RunFolderWriter(tmp_path / "run", "csv")
    for index in (2, 0, 10, 1):  # written out of order; 10 sorts before 2 as text
        writer.write_chunk(index, chunk(index))
    folder = writer.finish({})
    lines = (folder / "metrics.csv").read_text().splitlines()
    assert lines[0] == '"run","month","date","cohesion","k_align","k_cred","k_part","k_sim"'
    assert sum(line.startswith('"run"') for line in lines) == 1
    runs_in_file = [int(line.split(",")[0]) for line in lines[1:]]
    assert runs_in_file == sorted(runs_in_file)
    assert not (folder / ".parts").exists()


def test_chunks_read_back_as_one_table_in_order(tmp_path: Path) -> None:
    writer = RunFolderWriter(tmp_path / "run")
    writer.write_chunk(1, chunk(1))
    writer.write_chunk(0, chunk(0))
    metrics = read_table(writer.path, "metrics")
    assert metrics["run"].tolist() == [r for r in range(6) for _ in range(4)]
    assert metrics["month"].tolist() == [0, 1, 2, 3] * 6


@pytest.mark.parametrize("fmt", FORMATS)
def test_events_keep_recorded_order_within_run_and_month(tmp_path: Path, fmt: str) -> None:
    rec = chunk(0)
    rec.events = {
        "run": np.array([1, 0, 1, 1, 0]),
        "month": np.array([2, 3, 2, 0, 3]),
        "actor": np.array([4, 3, 2, 1, 0]),
        "action": np.array([0, 1, 2, 3, 0]),
        "target": np.array([-1, 5, 6, -1, 1]),
        "goldstein": np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
    }
    writer = RunFolderWriter(tmp_path / "run", fmt)
    writer.write_chunk(0, rec)
    events = read_table(writer.finish({}), "events")
    assert events["goldstein"].tolist() == [2.0, 5.0, 4.0, 1.0, 3.0]
    assert events["target"].tolist() == ["WEST", "RUS", "", "", "TUR"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_events_are_written_with_columns_and_dtypes(tmp_path: Path, fmt: str) -> None:
    full = all_tables(chunk(0))["events"]
    rec = chunk(0, events=0)
    folder = write_folder(tmp_path / "run", fmt, [rec])
    events = read_table(folder, "events")
    assert len(events) == 0
    assert list(events.columns) == list(full.columns)
    assert events.dtypes.equals(full.dtypes)


def test_existing_folder_needs_force(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "old.txt").write_text("old")
    with pytest.raises(FileExistsError, match="already exists"):
        RunFolderWriter(folder)
    assert (folder / "old.txt").exists()
    RunFolderWriter(folder, force=True)
    assert not (folder / "old.txt").exists()
    assert (folder / "metrics.parquet").is_dir()


def test_force_refuses_to_remove_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "project" / "src"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    for path in (work, tmp_path / "project", Path(".")):
        with pytest.raises(ValueError, match="refusing"):
            RunFolderWriter(path, force=True)
    assert work.is_dir()


def test_bad_format_and_writing_after_finish_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        RunFolderWriter(tmp_path / "x", "xlsx")
    writer = RunFolderWriter(tmp_path / "run")
    writer.write_chunk(0, chunk(0))
    writer.finish({})
    with pytest.raises(RuntimeError, match="finished"):
        writer.write_chunk(1, chunk(1))


@pytest.mark.parametrize("fmt", FORMATS)
def test_finish_writes_summary_and_manifest(tmp_path: Path, fmt: str) -> None:
    records = [chunk(0), chunk(1)]
    manifest = {"scenario": "baseline", "seed": 42, "runs": 6, "status": "complete"}
    writer = RunFolderWriter(tmp_path / "run", fmt)
    for index, rec in enumerate(records):
        writer.write_chunk(index, rec)
    folder = writer.finish(manifest)
    assert read_manifest(folder) == manifest
    assert (folder / "manifest.json").read_text().startswith('{\n  "scenario"')
    summary = read_table(folder, "summary")
    pd.testing.assert_frame_equal(summary, summary_table(expected(records, "metrics")))
    assert len(summary) == 4 * 5


def test_write_manifest_converts_common_types(tmp_path: Path) -> None:
    write_manifest(tmp_path, {"seed": np.int64(5), "out": tmp_path, "points": {2, 1}})
    assert json.loads((tmp_path / "manifest.json").read_text()) == {
        "seed": 5,
        "out": str(tmp_path),
        "points": [1, 2],
    }
    write_manifest(tmp_path, {"status": "partial"})
    assert read_manifest(tmp_path) == {"status": "partial"}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_completed_chunks_needs_all_four_tables(tmp_path: Path, fmt: str) -> None:
    writer = RunFolderWriter(tmp_path / "run", fmt)
    assert completed_chunks(writer.path) == set()
    for index in (0, 2, 3):
        writer.write_chunk(index, chunk(index))
    assert completed_chunks(writer.path) == {0, 2, 3}
    part = (
        "events.parquet/part-00002.parquet" if fmt == "parquet" else ".parts/events/part-00002.csv"
    )
    (writer.path / part).unlink()
    stray = writer.path / part.replace("part-00002", ".part-00004")
    stray.write_text("half-written")
    assert completed_chunks(writer.path) == {0, 3}


def test_unfinished_csv_folder_is_readable(tmp_path: Path) -> None:
    writer = RunFolderWriter(tmp_path / "run", "csv")
    writer.write_chunk(0, chunk(0))
    pd.testing.assert_frame_equal(read_table(writer.path, "agents"), expected([chunk(0)], "agents"))


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "run", "parquet", [chunk(0)])
    assert not [p for p in folder.rglob(".*")]


def test_missing_table_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="metrics"):
        read_table(tmp_path, "metrics")
