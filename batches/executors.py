"""Executors: where the chunks of a batch run, and how a failing chunk is kept from sinking it.

A batch is a list of `Task`s (a chunk of replications, optionally of one sweep point). Both
executors yield `(task, result)` as tasks finish, where `result` is the chunk's `RunRecord` or a
`Failure` (the chunk's index, seed and traceback): an exception in one chunk never stops the others.

* `local`: in this process when there is one task or one worker (processes would not pay),
  otherwise a pool of spawned processes with at most two tasks in flight per worker; the workers
  end with the process that started them, even after `kill -9` (`pool_worker_init`).
* `dask`: dask.distributed, one task per chunk. With a scheduler address it uses that cluster
  (its workers need csto installed); without one it starts a `LocalCluster` of `workers`
  single-threaded processes on 127.0.0.1 and closes it at the end.

Results do not depend on the executor or the number of workers: every chunk has its own seed,
fixed before anything is dispatched, and the run folder stores each chunk as its own part.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from batches import chunks
from batches.chunks import Chunk
from simulation.record import RunRecord
from simulation.schema import Scenario

if TYPE_CHECKING:
    import numpy as np

EXECUTORS: tuple[str, ...] = ("local", "dask")

Runner = Callable[..., RunRecord]
"""Runs one chunk of a scenario to a horizon: `runner(scenario, months, chunk)`, and with
`varying=` when the task carries per-replication parameters (`batches.chunks.run_chunk`)."""


@dataclass(frozen=True)
class Task:
    """One chunk to run: written as part `part` of the run folder, for sweep point `point`.

    `varying` is an optional payload for the chunk's model: per-replication parameter values
    (dotted scenario key -> an array with one value per replication of the chunk), for designs
    that give every replication its own parameters. None runs the scenario as it is, and the
    runner is called without it. `streams` (one stream id per replication) with `stream_seed`
    make the model draw from counter-based streams (the runner gets both as keywords). A design
    chunk (`batches.design`) also says which point and run each replication is: `point_ids` and
    `run_ids`, set on the chunk's RunRecord so that its tables carry them.
    """

    part: int
    chunk: Chunk
    point: int | None = None
    varying: Mapping[str, np.ndarray] | None = field(default=None, compare=False, repr=False)
    streams: np.ndarray | None = field(default=None, compare=False, repr=False)
    stream_seed: int = 0
    point_ids: np.ndarray | None = field(default=None, compare=False, repr=False)
    run_ids: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Failure:
    """A task that raised: what it was, and the exception with its traceback."""

    part: int
    chunk: int
    point: int | None
    seed: int
    offset: int
    size: int
    error: str
    traceback: str

    @classmethod
    def of(cls, task: Task, error: BaseException) -> Failure:
        return cls(
            part=task.part,
            chunk=task.chunk.index,
            point=task.point,
            seed=task.chunk.seed,
            offset=task.chunk.offset,
            size=task.chunk.size,
            error=f"{type(error).__name__}: {error}",
            traceback="".join(traceback.format_exception(error)),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Result = RunRecord | Failure


def run_task(scenario: Scenario, months: int, task: Task, runner: Runner | None = None) -> Result:
    """Run `task` with `runner` (default `chunks.run_chunk`); an Exception becomes a Failure.

    KeyboardInterrupt and SystemExit propagate.
    """
    run = runner or chunks.run_chunk
    extra: dict[str, Any] = {}
    if task.varying is not None:
        extra["varying"] = task.varying
    if task.streams is not None:
        extra.update(streams=task.streams, stream_seed=task.stream_seed)
    try:
        record = run(scenario, months, task.chunk, **extra)
    except Exception as error:
        return Failure.of(task, error)
    if task.run_ids is not None:
        record.run_ids = task.run_ids
    if task.point_ids is not None:
        record.point_ids = task.point_ids
    return record


def _job(args: tuple[Scenario, int, Task, Runner | None]) -> Result:
    scenario, months, task, runner = args
    return run_task(scenario, months, task, runner)


def iter_results(
    scenarios: Mapping[int | None, Scenario],
    months: int,
    tasks: Sequence[Task],
    *,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    runner: Runner | None = None,
) -> Iterator[tuple[Task, Result]]:
    """Run `tasks` (task.point selects its scenario in `scenarios`) and yield results as they come.

    `runner` (default `chunks.run_chunk`) must be a module-level function for the process pool and
    Dask, which pickle it by name.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if not tasks:
        return
    if executor == "dask":
        yield from _iter_dask(scenarios, months, tasks, workers, scheduler, runner)
    elif workers <= 1 or len(tasks) <= 1 or too_small_for_processes(tasks, months):
        for task in tasks:
            yield task, run_task(scenarios[task.point], months, task, runner)
    else:
        yield from _iter_pool(scenarios, months, tasks, workers, runner)


SERIAL_BELOW = 150_000
"""Replication-months below which the local executor runs serially: about 2 s of simulation
here, less than spawning worker processes that import numpy, pandas and Mesa costs."""


def too_small_for_processes(tasks: Sequence[Task], months: int) -> bool:
    """Whether a batch is too small for a process pool to pay (see SERIAL_BELOW)."""
    return sum(task.chunk.size for task in tasks) * months < SERIAL_BELOW


PR_SET_PDEATHSIG = 1
"""prctl(2) option: the signal the kernel sends a process when its parent dies (Linux)."""
WATCHDOG_SECONDS = 1.0


def pool_worker_init(parent: int) -> None:
    """Initializer of every pool worker: it never outlives the batch's process `parent`.

    On Linux the kernel kills the worker when its parent dies (prctl PR_SET_PDEATHSIG with
    SIGKILL), even after `kill -9` of the parent; everywhere a daemon thread polls os.getppid()
    every WATCHDOG_SECONDS and ends the worker when the parent changes. Ctrl-C is left to the
    parent (which stops the pool), so workers print no KeyboardInterrupt of their own.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog remains
            pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCHDOG_SECONDS)
    os._exit(1)


def _iter_pool(
    scenarios: Mapping[int | None, Scenario],
    months: int,
    tasks: Sequence[Task],
    workers: int,
    runner: Runner | None,
) -> Iterator[tuple[Task, Result]]:
    """A spawned process pool with at most 2 × workers tasks in flight (bounded memory)."""
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=pool_worker_init,
        initargs=(os.getpid(),),
    )
    finished = False
    try:
        pending: dict[Future, Task] = {}
        queue = list(tasks)
        broken: BaseException | None = None
        while queue or pending:
            while queue and len(pending) < 2 * workers and broken is None:
                task = queue.pop(0)
                args = (scenarios[task.point], months, task, runner)
                pending[pool.submit(_job, args)] = task
            if not pending:  # the pool broke: the tasks not yet submitted fail with it
                for task in queue:
                    yield task, Failure.of(task, broken or RuntimeError("pool stopped"))
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                try:
                    yield task, future.result()
                except BrokenProcessPool as error:  # a worker died (killed, out of memory)
                    broken = error
                    yield task, Failure.of(task, error)
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted: drop queued tasks, stop the workers now
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()


def dask_client(workers: int, scheduler: str | None):
    """A dask.distributed Client on `scheduler`, or on a new loopback LocalCluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            'the dask executor needs dask.distributed: pip install "csto[dask]"'
        ) from None
    if scheduler:
        return Client(scheduler, timeout="30s")
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    return Client(cluster)


def _iter_dask(
    scenarios: Mapping[int | None, Scenario],
    months: int,
    tasks: Sequence[Task],
    workers: int,
    scheduler: str | None,
    runner: Runner | None,
) -> Iterator[tuple[Task, Result]]:
    """One Dask task per chunk, at most 2 × (cluster threads) in flight, gathered as they finish."""
    import uuid

    from distributed import as_completed

    batch_key = uuid.uuid4().hex
    client = dask_client(workers, scheduler)
    try:
        threads = sum(client.nthreads().values()) or workers
        limit = max(2, 2 * threads)
        queue = list(tasks)
        by_key: dict[str, Task] = {}

        def submit(task: Task):
            future = client.submit(
                run_task,
                scenarios[task.point],
                months,
                task,
                runner,
                pure=False,
                key=f"csto-{batch_key}-part-{task.part}",
            )
            by_key[future.key] = task
            return future

        stream = as_completed([submit(queue.pop(0)) for _ in range(min(limit, len(queue)))])
        for future in stream:
            task = by_key.pop(future.key)
            try:
                result = future.result()
            except Exception as error:  # the worker died, or the result did not come back
                result = Failure.of(task, error)
            future.release()
            if queue:
                stream.add(submit(queue.pop(0)))
            yield task, result
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and not scheduler:
            cluster.close()
