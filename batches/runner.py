"""Executing a planned batch (a run, a sweep's points x chunks, or a resumption) into its folder.

This module owns what happens between a planned `Batch` and a finished folder:

* the manifest: `base_manifest` (what is run, with which versions and which tables) and
  `sweep_record` (a sweep's design and points), and `points.parquet` (`write_points`);
* the tasks of a run (`run_tasks`) or of the batch a manifest describes (`manifest_tasks`; a
  sweep's through its design, `manifest_design`);
* the executor loop (`execute_batch`): every finished chunk is written at once and the manifest
  kept current; a failing chunk is recorded in the manifest and `failures.json` while the others
  go on; Ctrl-C or SIGTERM leave a `partial` manifest;
* the plots of the finished folder (`finish_batch`).

Planning a batch (loading scenarios, opening the folder, resuming) is `batches.plan`. What the
caller must report is raised as an exception of `batches.errors` carrying the facts. Only the
standard library is imported at the top; the model, the executors and the result store are
imported by the functions that use them (which also lets tests patch
`batches.executors.iter_results` and `batches.chunks.run_chunk`).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shlex
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batches.errors import (
    BatchInterruptedError,
    ChunksFailedError,
    DamagedPartsError,
    ExecutorError,
    StorageError,
)

if TYPE_CHECKING:
    from batches.executors import Task
    from batches.sweeps import SweepSpec
    from simulation.schema import Scenario

FAILURES_NAME = "failures.json"
POINTS_NAME = "points.parquet"


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
    tables: tuple[str, ...] | list[str] | None = None,
    relations_every: int | None = None,
) -> dict[str, Any]:
    """The manifest of a new batch, `partial` until `execute_batch` completes it.

    `tables` are the tables written (default all four) and `relations_every` the month step of
    the relations table (None: every month); resuming the folder keeps both.
    """
    from batches.chunks import CHUNK_SIZE
    from results.schema import TABLE_NAMES
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
        "tables": list(tables) if tables is not None else list(TABLE_NAMES),
        "relations_every": relations_every,
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

    from batches.sweeps import points_frame
    from results.atomic import atomic_write

    frame = points_frame(values)
    atomic_write(out / POINTS_NAME, partial(frame.to_parquet, index=False))


def run_tasks(runs: int, seed: int) -> list[Task]:
    """The tasks of a run: its chunks, each written as the part of the same index."""
    from batches.chunks import plan_chunks
    from batches.executors import Task

    return [Task(chunk.index, chunk) for chunk in plan_chunks(runs, seed)]


def manifest_design(manifest: dict[str, Any]) -> Any:
    """The `batches.design.Design` of a sweep manifest with a `design` entry.

    RunFolderError when the design it rebuilds would not be cut as the manifest says (lock-step
    or one model per point), so that a resumption never mixes two layouts.
    """
    from batches.design import Design, design_record
    from batches.errors import RunFolderError
    from batches.sweeps import points_frame
    from simulation.schema import Scenario

    recorded = manifest["design"]
    design = Design(
        Scenario.model_validate(manifest["resolved_scenario"]),
        points_frame(manifest["sweep"]["points"]),
        runs=int(manifest["runs"]),
        seed=int(manifest["seed"]),
        months=int(manifest["months"]),
        crn=bool(recorded["crn"]),
    )
    rebuilt = design_record(design, int(recorded["chunk_size"]))
    if (rebuilt["layout"], rebuilt["rows_per_chunk"]) != (
        recorded["layout"],
        recorded["rows_per_chunk"],
    ):
        raise RunFolderError(
            f"the manifest's design ({recorded['layout']}) cannot be rebuilt: "
            f"this version cuts it as {rebuilt['layout']}"
        )
    return design


def manifest_tasks(manifest: dict[str, Any]) -> list[Any]:
    """Every task of the batch a manifest describes (a run, a sweep's design chunks, or the
    points × chunks of a sweep written before designs)."""
    from batches.executors import Task

    if manifest.get("design"):
        from batches.design import design_tasks

        tasks = design_tasks(manifest_design(manifest), int(manifest["design"]["chunk_size"]))
    elif manifest.get("sweep"):
        from batches.sweeps import sweep_tasks

        tasks = sweep_tasks(
            len(manifest["sweep"]["points"]),
            manifest["runs"],
            manifest["seed"],
            manifest["chunk_size"],
        )
    else:
        from batches.chunks import plan_chunks

        chunks = plan_chunks(manifest["runs"], manifest["seed"], manifest["chunk_size"])
        tasks = [Task(chunk.index, chunk) for chunk in chunks]
    if manifest.get("posterior"):  # the same draws as the batch's first run (batches.posterior)
        from batches.posterior import with_posterior

        tasks = with_posterior(tasks, manifest["posterior"], manifest["seed"])
    return tasks


def total_runs(manifest: dict[str, Any]) -> int:
    """Replications of the whole batch: runs, times the points of a sweep."""
    return manifest["runs"] * len(manifest.get("sweep", {}).get("points", [None]))


# --- execution ----------------------------------------------------------------------------------


@dataclass
class Batch:
    """A planned batch: the folder it writes, its manifest and scenarios, the tasks to run.

    `scenarios` maps a task's `point` (None for a run) to its scenario; `tasks` are the tasks
    still to run (all of them for a new batch, the missing ones when resuming); `done` the parts
    already in the folder.
    """

    out: Path
    writer: Any
    manifest: dict[str, Any]
    scenarios: dict[int | None, Scenario]
    months: int
    tasks: list[Task]
    executor: str = "local"
    workers: int = 1
    scheduler: str | None = None
    done: set[int] = field(default_factory=set)
    cost: Any = None  # batches.cost.Cost: the estimate checked before the batch was planned
    final_status: str = "complete"
    """The status once every part is written and verified: "complete" finishes the folder
    (summary, manifest, lock released); another (a sensitivity analysis' "simulated") only
    records it in the manifest and keeps the lock for the work that follows."""

    @property
    def runs_to_run(self) -> int:
        """Replications of the tasks still to run."""
        return sum(task.chunk.size for task in self.tasks)

    @property
    def total_runs(self) -> int:
        """Replications of the whole batch (runs, times the points of a sweep)."""
        return total_runs(self.manifest)


def execute_batch(batch: Batch, *, progress: bool = False) -> None:
    """Run the batch's tasks into its folder, keep the manifest current, and finish the folder.

    Every finished chunk is written at once and the manifest's `runs_completed` and
    `chunks_completed` rewritten after it. A failing chunk is recorded (manifest and
    failures.json) while the others go on; then `ChunksFailedError` lists the failures. Ctrl-C or
    SIGTERM leave a `partial` manifest and raise `BatchInterruptedError`; an OSError of the Dask
    executor raises `ExecutorError`; a full disk or read-only folder raises `StorageError`. Before
    the folder is marked complete every planned part is verified (`results.verify`):
    `DamagedPartsError` names those that fail. Whatever stops it, the folder stays `partial` and
    resuming it completes it; the folder's lock is released. `progress` shows a bar on stderr when
    it is a terminal.
    """
    try:
        _execute(batch, progress)
    except BaseException:
        close = getattr(batch.writer, "close", None)
        if close is not None:
            close()
        raise


def _execute(batch: Batch, progress: bool) -> None:
    from batches.executors import Failure, iter_results

    out, manifest, writer = batch.out, batch.manifest, batch.writer
    sizes = manifest_part_sizes(manifest)
    done: set[int] = set(batch.done)
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

    save_manifest(out, finish_manifest("partial"))
    (out / FAILURES_NAME).unlink(missing_ok=True)
    try:
        with sigterm_interrupts(), progress_bar(total, not progress) as bar:
            bar.update(sum(sizes[part] for part in done))
            for task, result in iter_results(
                batch.scenarios,
                batch.months,
                batch.tasks,
                executor=batch.executor,
                workers=batch.workers,
                scheduler=batch.scheduler,
            ):
                if isinstance(result, Failure):
                    failures.append(result.as_dict())
                    continue
                storing(out, writer.write_chunk, task.part, result, task.point)
                done.add(task.part)
                save_manifest(out, finish_manifest("partial"))
                bar.update(task.chunk.size)
    except KeyboardInterrupt:
        save_manifest(out, finish_manifest("partial"), tolerant=True)
        raise BatchInterruptedError(out, manifest["runs_completed"], total) from None
    except StorageError:
        save_manifest(out, finish_manifest("partial"), tolerant=True)
        raise
    except OSError as error:
        if batch.executor != "dask":
            raise
        if discard_unwritten(batch, done):
            raise ExecutorError(f"dask executor: {error}; nothing was written") from None
        manifest["error"] = f"{type(error).__name__}: {error}"
        save_manifest(out, finish_manifest("partial"), tolerant=True)
        raise ExecutorError(f"dask executor: {error}") from None
    except BaseException as error:
        manifest["error"] = f"{type(error).__name__}: {error}"
        save_manifest(out, finish_manifest("partial"), tolerant=True)
        raise

    if failures:
        from results.atomic import atomic_write_text

        save_manifest(out, finish_manifest("partial"))
        text = json.dumps(failures, indent=2, ensure_ascii=False) + "\n"
        storing(out, atomic_write_text, out / FAILURES_NAME, text)
        raise ChunksFailedError(out, failures, len(batch.tasks))
    check_parts(out, manifest, done, finish_manifest)
    manifest.pop("error", None)
    if batch.final_status == "complete":
        storing(out, writer.finish, finish_manifest("complete"))
    else:
        save_manifest(out, finish_manifest(batch.final_status))


def discard_unwritten(batch: Batch, done: set[int]) -> bool:
    """Empty a new batch's folder when not one part was written (an unreachable scheduler).

    Everything but the lock is removed; releasing the lock then removes the folder it created.
    False (nothing removed) for a resumed batch or once a part is written.
    """
    from results.store import empty_but_lock

    if done or batch.done or batch.manifest.get("resumed"):
        return False
    empty_but_lock(batch.out)
    return True


def check_parts(
    out: Path,
    manifest: dict[str, Any],
    done: set[int],
    finish_manifest: Callable[[str], dict[str, Any]],
) -> None:
    """Verify every planned part before the folder is marked complete (`results.verify`).

    A part that fails is removed from `done` and its files discarded, the manifest is left
    `partial`, and DamagedPartsError names each bad file (resuming reruns those parts).
    """
    from results.verify import discard_parts, verified_chunks

    good, bad = verified_chunks(out, manifest)
    missing = set(manifest_tasks_parts(manifest)) - good
    if not missing and not bad:
        return
    reasons = {part: bad.get(part, f"part {part}: missing") for part in sorted(missing | set(bad))}
    discard_parts(out, bad)
    done.difference_update(reasons)
    save_manifest(out, finish_manifest("partial"), tolerant=True)
    raise DamagedPartsError(out, reasons)


def manifest_tasks_parts(manifest: dict[str, Any]) -> list[int]:
    """The part numbers of every task of the batch a manifest describes."""
    return list(manifest_part_sizes(manifest))


def manifest_part_sizes(manifest: dict[str, Any]) -> dict[int, int]:
    """Part number -> replications, for every part of the batch a manifest describes.

    A sensitivity analysis records how its design was cut (its entry's `layout`, whose points
    live in design.parquet rather than the manifest); every other batch rebuilds its tasks."""
    layout = (manifest.get("sensitivity") or {}).get("layout")
    if layout:
        return {part: int(rows) for part, rows in enumerate(layout["rows_per_chunk"])}
    return {task.part: task.chunk.size for task in manifest_tasks(manifest)}


DISK_ERRNOS = {"ENOSPC": "disk full", "EDQUOT": "disk quota exceeded"}
WRITE_ERRNOS = {"EROFS": "read-only file system", "EACCES": "permission denied"}
"""The OSErrors of writing that stop a batch as a `StorageError` (the folder stays resumable)."""


def storing(out: Path, write: Callable[..., Any], *args: Any) -> Any:
    """`write(*args)`; an OSError of a full disk or a read-only folder becomes StorageError."""
    import errno

    try:
        return write(*args)
    except OSError as error:
        name = errno.errorcode.get(error.errno or 0, "")
        if name not in DISK_ERRNOS and name not in WRITE_ERRNOS:
            raise
        shown = Path(error.filename) if error.filename else out
        pieces = shown.name.removeprefix(".").split(".")
        if shown.name.startswith(".") and shown.name.endswith(".tmp") and len(pieces) > 3:
            shown = shown.with_name(".".join(pieces[:-2]))  # the file a temporary stood for
        if name in DISK_ERRNOS:
            message = f"{DISK_ERRNOS[name]} writing {shown}; free space and run"
        else:
            message = f"cannot write {shown} ({WRITE_ERRNOS[name]}); make it writable and run"
        raise StorageError(f"{message} csto run --resume {out}") from None


def save_manifest(out: Path, manifest: dict[str, Any], *, tolerant: bool = False) -> None:
    """Write the manifest; with `tolerant`, a full disk or read-only folder is passed over.

    The manifest file is replaced atomically, so when writing fails the previous one (partial)
    stays.
    """
    from results.store import write_manifest

    try:
        storing(out, write_manifest, out, manifest)
    except StorageError:
        if not tolerant:
            raise


def finish_batch(
    batch: Batch,
    *,
    plots: bool = True,
    progress: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Execute the batch (`execute_batch`), then draw the finished folder's plots; its path.

    `warn` receives a line for each plot left out because a table it needs was not written.
    """
    execute_batch(batch, progress=progress)
    if plots:
        from results.folder_plots import save_folder_plots

        save_folder_plots(batch.out, batch.manifest, warn=warn)
    return batch.out


def read_folder_manifest(folder: Path) -> dict[str, Any]:
    """The checked manifest of run or sweep `folder` (`results.manifest.read_run_manifest`).

    RunFolderError when it has none, cannot be read, or lacks a key a run folder needs (the
    message names the file and what is wrong).
    """
    from batches.errors import RunFolderError
    from results.layout import DamagedFolderError
    from results.manifest import read_run_manifest

    try:
        return read_run_manifest(folder)
    except FileNotFoundError:
        raise RunFolderError(f"{folder}: no manifest.json; not a run folder") from None
    except DamagedFolderError as error:
        raise RunFolderError(str(error)) from None
    except OSError as error:
        raise RunFolderError(f"{folder}: unreadable manifest.json: {error.strerror}") from None
