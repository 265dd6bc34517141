"""The batch runner: a batch is cut into fixed-size chunks, each one CSTOModel over its runs.

Seeds are spawned from the batch seed by chunk index (numpy SeedSequence), before any work is
dispatched, so every table is identical for any number of workers: the chunking depends only on
the number of runs and CHUNK_SIZE, never on the workers or on which finishes first.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulation.record import RunRecord
from simulation.schema import Scenario

CHUNK_SIZE = 2000
"""Replications per chunk: numpy pays off from about 2,000 (twice the rate of 500 here); small
enough to spread a batch of 10,000 over workers. Changing it changes every random stream."""


@dataclass(frozen=True)
class Chunk:
    """One unit of work: `size` replications starting at global run `offset`."""

    index: int
    offset: int
    size: int
    seed: int


def chunk_seed(seed: int, index: int) -> int:
    """The integer seed of chunk `index`: SeedSequence(seed) spawned child number `index`."""
    child = np.random.SeedSequence(seed, spawn_key=(index,))
    low, high = child.generate_state(2, dtype=np.uint32)
    return int(low) | (int(high) << 32)


def plan_chunks(runs: int, seed: int, chunk_size: int = CHUNK_SIZE) -> list[Chunk]:
    """The chunks of a batch of `runs` replications."""
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    return [
        Chunk(index, offset, min(chunk_size, runs - offset), chunk_seed(seed, index))
        for index, offset in enumerate(range(0, runs, chunk_size))
    ]


def run_chunk(
    scenario: Scenario,
    months: int,
    chunk: Chunk,
    varying: Mapping[str, np.ndarray] | None = None,
    streams: np.ndarray | None = None,
    stream_seed: int = 0,
    trace: Any = None,
) -> RunRecord:
    """Run one chunk to the horizon and return its record (runs numbered from chunk.offset).

    `varying` (per-replication parameter values, one per replication of the chunk) is handed to
    the model as `CSTOModel(..., varying=...)`; `streams` (one stream id per replication) and
    `stream_seed` make it draw from counter-based streams (`simulation.streams`). None builds
    the model exactly as before. `trace` (a `simulation.trace.Trace`) records the decisions it
    wants (`csto explain` replays a chunk this way).
    """
    from simulation.model import CSTOModel

    extra: dict[str, Any] = {} if varying is None else {"varying": dict(varying)}
    if streams is not None:
        extra.update(streams=streams, stream_seed=stream_seed)
    if trace is not None:
        extra["trace"] = trace
    model = CSTOModel(
        scenario,
        replications=chunk.size,
        rng=chunk.seed,
        months=months,
        run_offset=chunk.offset,
        **extra,
    )
    return model.run()


def _run_chunk_job(args: tuple[Scenario, int, Chunk]) -> tuple[int, RunRecord]:
    scenario, months, chunk = args
    return chunk.index, run_chunk(scenario, months, chunk)


def iter_records(
    scenario: Scenario, months: int, chunks: list[Chunk], workers: int = 1
) -> Iterator[tuple[Chunk, RunRecord]]:
    """Yield (chunk, record) as chunks finish: in order when serial, any order with workers."""
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield chunk, run_chunk(scenario, months, chunk)
        return
    by_index = {chunk.index: chunk for chunk in chunks}
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    finished = False
    try:
        pending: set[Future] = set()
        queue = list(chunks)
        while queue or pending:
            while queue and len(pending) < 2 * workers:
                pending.add(pool.submit(_run_chunk_job, (scenario, months, queue.pop(0))))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                index, record = future.result()
                yield by_index[index], record
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted or failed: drop queued chunks, stop the workers now
            pool.shutdown(wait=False, cancel_futures=True)
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()


def run_batch(
    scenario: Scenario,
    runs: int,
    months: int,
    seed: int,
    workers: int = 1,
    on_chunk: Callable[[Chunk, RunRecord], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> list[Chunk]:
    """Run a whole batch, handing each finished chunk's record to `on_chunk`; return the plan."""
    chunks = plan_chunks(runs, seed, chunk_size)
    for chunk, record in iter_records(scenario, months, chunks, workers):
        if on_chunk is not None:
            on_chunk(chunk, record)
    return chunks
