"""Executing a batch (a run, or a sweep's points x chunks) into a run folder.

This module owns what happens between a planned batch and a finished folder:

* the manifest: `base_manifest` (what is run, with which versions) and `sweep_record` (a sweep's
  design and points), and `points.parquet` (`write_points`);
* planning: the tasks of a run (`run_tasks`) or of the batch a manifest describes
  (`manifest_tasks`);
* the executor loop (`execute_batch`): every finished chunk is written at once and the manifest
  kept current; a failing chunk is recorded in the manifest and `failures.json` while the others
  go on; Ctrl-C or SIGTERM leave a `partial` manifest;
* resuming a partial folder (`prepare_resume`): exactly the chunks it is missing.

It knows nothing of the command line: what the caller must report is raised as an exception
carrying the facts (`RunFolderError`, `BatchInterruptedError`, `ChunksFailedError`,
`ExecutorError`); the command line words them and picks the exit code. The command line imports
this module at start-up, so only the standard library is imported at the top; the model, the
executors and the result store are imported by the functions that use them (which also lets
tests patch `simulation.executors.iter_results` and `simulation.batch.run_chunk`).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shlex
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulation.executors import Task
    from simulation.schema import Scenario
    from simulation.sweep import SweepSpec

FAILURES_NAME = "failures.json"
POINTS_NAME = "points.parquet"


class RunFolderError(Exception):
    """A run folder cannot be resumed (no or unreadable manifest, scenario hash mismatch)."""


class ExecutorError(Exception):
    """The executor itself failed (a Dask cluster unreachable or lost); the folder is partial."""


class BatchInterruptedError(Exception):
    """Ctrl-C or SIGTERM stopped the batch; the folder is partial with `runs_completed` runs."""

    def __init__(self, out: Path, runs_completed: int, total: int):
        super().__init__(f"interrupted after {runs_completed} of {total} runs")
        self.out, self.runs_completed, self.total = out, runs_completed, total


class ChunksFailedError(Exception):
    """Some chunks failed (listed in `failures`, also in failures.json); the folder is partial."""

    def __init__(self, out: Path, failures: list[dict[str, Any]], tasks: int):
        super().__init__(f"{len(failures)} of {tasks} chunks failed")
        self.out, self.failures, self.tasks = out, failures, tasks


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def package_version(name: str) -> str:
    """The installed version of distribution `name`, or "0+unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "0+unknown"


# --- interrupts and progress --------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside the block, SIGTERM raises KeyboardInterrupt (as Ctrl-C does)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread: leave the handler alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def progress_bar(runs: int, quiet: bool):
    """A tqdm bar on stderr counting replications; disabled off a terminal or with --quiet."""
    from tqdm import tqdm

    enabled = not quiet and sys.stderr.isatty()
    return tqdm(
        total=runs,
        unit="runs",
        desc="simulating",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        smoothing=0.1,
    )


# --- manifest and plan --------------------------------------------------------------------------


def base_manifest(
    scenario: Scenario,
    path: str,
    *,
    seed: int,
    runs: int,
    months: int,
    workers: int,
    fmt: str,
    created: dt.datetime,
) -> dict[str, Any]:
    """The manifest of a new batch, `partial` until `execute_batch` completes it."""
    from simulation.batch import CHUNK_SIZE
    from simulation.scenario import resolved_dict, scenario_hash

    return {
        "scenario": scenario.name,
        "scenario_file": path,
        "resolved_scenario": resolved_dict(scenario),
        "scenario_sha256": scenario_hash(scenario),
        "seed": seed,
        "runs": runs,
        "months": months,
        "start": scenario.start,
        "chunk_size": CHUNK_SIZE,
        "workers": workers,
        "format": fmt,
        "package_version": package_version("csto"),
        "python_version": platform.python_version(),
        "mesa_version": package_version("mesa"),
        "created": created.isoformat(timespec="seconds"),
        "wall_seconds": None,
        "command_line": shlex.join(sys.argv),
        "status": "partial",
    }


def sweep_record(
    spec: SweepSpec,
    design: str,
    values: list[dict[str, Any]],
    scenarios: dict[int, Scenario],
) -> dict[str, Any]:
    """The manifest's `sweep` entry: where the sweep came from, its design and its points."""
    from simulation.scenario import scenario_hash

    return {
        "source": spec.source,
        "description": spec.description,
        "design": design,
        "vary": {v.key: v.as_list() for v in spec.vary},
        "points": values,
        "points_sha256": [scenario_hash(scenarios[i]) for i in range(len(values))],
    }


def write_points(out: Path, values: list[dict[str, Any]]) -> None:
    """Write a sweep folder's points.parquet (point and a column per varied key), atomically."""
    from functools import partial

    from results.atomic import atomic_write
    from simulation.sweep import points_frame

    frame = points_frame(values)
    atomic_write(out / POINTS_NAME, partial(frame.to_parquet, index=False))


def run_tasks(runs: int, seed: int) -> list[Task]:
    """The tasks of a run: its chunks, each written as the part of the same index."""
    from simulation.batch import plan_chunks
    from simulation.executors import Task

    return [Task(chunk.index, chunk) for chunk in plan_chunks(runs, seed)]


def manifest_tasks(manifest: dict[str, Any]) -> list[Any]:
    """Every task of the batch a manifest describes (a run, or a sweep's points × chunks)."""
    from simulation.executors import Task

    if manifest.get("sweep"):
        from simulation.sweep import sweep_tasks

        return sweep_tasks(
            len(manifest["sweep"]["points"]),
            manifest["runs"],
            manifest["seed"],
            manifest["chunk_size"],
        )
    from simulation.batch import plan_chunks

    chunks = plan_chunks(manifest["runs"], manifest["seed"], manifest["chunk_size"])
    return [Task(chunk.index, chunk) for chunk in chunks]


def total_runs(manifest: dict[str, Any]) -> int:
    """Replications of the whole batch: runs, times the points of a sweep."""
    return manifest["runs"] * len(manifest.get("sweep", {}).get("points", [None]))


# --- execution ----------------------------------------------------------------------------------


def failure_lines(failures: list[dict[str, Any]]) -> list[str]:
    """One indented line per failed chunk: which runs and seed, and the error."""
    lines = []
    for failure in failures:
        where = f"point {failure['point']} " if failure.get("point") is not None else ""
        lines.append(
            f"  {where}chunk {failure['chunk']} (part {failure['part']}, runs "
            f"{failure['offset']}-{failure['offset'] + failure['size'] - 1}, seed "
            f"{failure['seed']}): {failure['error']}"
        )
    return lines


def execute_batch(
    out: Path,
    writer: Any,
    manifest: dict[str, Any],
    scenarios: dict[int | None, Scenario],
    months: int,
    tasks: list[Any],
    *,
    executor: str,
    workers: int,
    scheduler: str | None,
    quiet: bool,
    done_parts: set[int] | None = None,
) -> None:
    """Run `tasks` into `writer`, keep the manifest current, and finish or report the folder.

    Every finished chunk is written at once. A failing chunk is recorded (manifest and
    failures.json) while the others go on; then `ChunksFailedError` lists the failures. Ctrl-C or
    SIGTERM leave a `partial` manifest and raise `BatchInterruptedError`; an OSError of the Dask
    executor raises `ExecutorError`. Either way resuming the folder completes it.
    """
    from results.store import write_manifest
    from simulation.executors import Failure, iter_results

    sizes = {task.part: task.chunk.size for task in manifest_tasks(manifest)}
    done: set[int] = set(done_parts or ())
    failures: list[dict[str, Any]] = []
    started = time.perf_counter()
    previous_seconds = float(manifest.get("wall_seconds") or 0.0)
    total = sum(sizes.values())

    def finish_manifest(status: str) -> dict[str, Any]:
        manifest["wall_seconds"] = round(previous_seconds + time.perf_counter() - started, 3)
        manifest["status"] = status
        manifest["runs_completed"] = sum(sizes[part] for part in done)
        manifest["chunks_completed"] = sorted(done)
        manifest["failures"] = failures
        return manifest

    write_manifest(out, finish_manifest("partial"))
    (out / FAILURES_NAME).unlink(missing_ok=True)
    try:
        with sigterm_interrupts(), progress_bar(total, quiet) as bar:
            bar.update(sum(sizes[part] for part in done))
            for task, result in iter_results(
                scenarios,
                months,
                tasks,
                executor=executor,
                workers=workers,
                scheduler=scheduler,
            ):
                if isinstance(result, Failure):
                    failures.append(result.as_dict())
                    continue
                writer.write_chunk(task.part, result, task.point)
                done.add(task.part)
                bar.update(task.chunk.size)
    except KeyboardInterrupt:
        write_manifest(out, finish_manifest("partial"))
        raise BatchInterruptedError(out, manifest["runs_completed"], total) from None
    except OSError as error:
        if executor != "dask":
            raise
        manifest["error"] = f"{type(error).__name__}: {error}"
        write_manifest(out, finish_manifest("partial"))
        raise ExecutorError(f"dask executor: {error}") from None
    except BaseException as error:
        manifest["error"] = f"{type(error).__name__}: {error}"
        write_manifest(out, finish_manifest("partial"))
        raise

    if failures:
        from results.atomic import atomic_write_text

        write_manifest(out, finish_manifest("partial"))
        text = json.dumps(failures, indent=2, ensure_ascii=False) + "\n"
        atomic_write_text(out / FAILURES_NAME, text)
        raise ChunksFailedError(out, failures, len(tasks))
    manifest.pop("error", None)
    writer.finish(finish_manifest("complete"))


# --- resume -------------------------------------------------------------------------------------


@dataclass
class Resume:
    """What resuming a partial folder runs: its `missing` tasks, into `writer`."""

    manifest: dict[str, Any]
    scenarios: dict[int | None, Scenario]
    months: int
    tasks: list[Any]
    missing: list[Any]
    done: set[int]
    writer: Any

    @property
    def missing_runs(self) -> int:
        return sum(task.chunk.size for task in self.missing)


def read_folder_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of `folder`; RunFolderError when it has none or cannot be read."""
    from results.store import read_manifest

    try:
        return read_manifest(folder)
    except FileNotFoundError:
        raise RunFolderError(f"{folder}: no manifest.json; not a run folder") from None
    except (OSError, ValueError) as error:
        raise RunFolderError(f"{folder}: unreadable manifest.json: {error}") from None


def prepare_resume(
    folder: Path, manifest: dict[str, Any], *, executor: str, workers: int
) -> Resume:
    """Reopen the partial `folder` to run exactly the chunks it is missing.

    The scenario (each point's, for a sweep), seed, runs, months and format come from its
    manifest, which records the resumption. Raises RunFolderError when the manifest's scenario
    does not match its sha256, and ScenarioError when it no longer validates.
    """
    from results.store import RunFolderWriter, completed_chunks
    from simulation.scenario import scenario_hash
    from simulation.schema import Scenario

    base = Scenario.model_validate(manifest["resolved_scenario"])
    if scenario_hash(base) != manifest["scenario_sha256"]:
        raise RunFolderError(f"{folder}: the manifest's scenario does not match its sha256")
    months = int(manifest["months"])
    scenarios: dict[int | None, Scenario]
    if manifest.get("sweep"):
        from simulation.sweep import point_scenarios

        scenarios = dict(point_scenarios(base, manifest["sweep"]["points"], months))
    else:
        scenarios = {None: base}
    tasks = manifest_tasks(manifest)
    done = completed_chunks(folder) & {task.part for task in tasks}
    missing = [task for task in tasks if task.part not in done]
    writer = RunFolderWriter.reopen(folder, manifest["format"])
    manifest.setdefault("resumed", []).append(
        {"at": utc_now().isoformat(timespec="seconds"), "chunks": [t.part for t in missing]}
    )
    manifest.update(executor=executor, workers=workers)
    return Resume(manifest, scenarios, months, tasks, missing, done, writer)
