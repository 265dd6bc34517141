"""Speed of a design run as one batch: 1,000 points x 10 runs vs a plain 10,000-run batch.

    python benchmarks/bench_design.py [--points 1000] [--runs 10] [--months 36] [--repeat 3]

In one process, serially, through the chunk runner (`batches.executors.run_task`, chunks of
CHUNK_SIZE replications, simulation only: no tables written):

1. plain: `baseline`, points x runs replications in chunks, drawing from `model.rng` (what
   `csto run` does);
2. plain, counter-based: the same with counter-based streams (what a design draws from);
3. design: an LHS design of `points` points x `runs` runs over agents.BLR.beta_loyalty and
   dynamics.standing_decay (`batches.design.design_tasks`): lock-step chunks across points, each
   replication with its own values, common random numbers;
4. design at baseline values: the same layout with every point at the scenario's own values, so
   that what differs from 2. is the cost of per-replication values alone, not what other values
   make the agents do.

Each is timed `--repeat` times, the three interleaved so that a change of load on the machine
falls on all of them; the best of each is reported, per second of wall time and per second of
this process's CPU time (`time.process_time`; the steadier figure on a shared machine). The
ratio design / plain is the design's share of the plain batch's rate.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

MONTHS = 36
SEED = 20221211
VARY = (("agents.BLR.beta_loyalty", 0.5, 3.0), ("dynamics.standing_decay", 0.005, 0.1))


def plain_tasks(rows: int, counter_based: bool) -> list:
    """The tasks of a plain batch of `rows` replications (optionally on counter-based streams)."""
    from batches.chunks import plan_chunks
    from batches.executors import Task

    tasks = []
    for chunk in plan_chunks(rows, SEED):
        streams = np.arange(chunk.offset, chunk.offset + chunk.size) if counter_based else None
        tasks.append(Task(chunk.index, chunk, streams=streams, stream_seed=SEED))
    return tasks


def design_of(points: int, runs: int, months: int, at_base: bool = False):
    """An LHS design of `points` points x `runs` runs of baseline over VARY (`at_base`: every
    point at the scenario's own values)."""
    from batches.design import Design
    from batches.sweeps import Vary, design_points, points_frame
    from simulation.scenario import load_scenario
    from simulation.varying import Numbers

    base = load_scenario("baseline", months=months)
    vary = [Vary(key, low, high) for key, low, high in VARY]
    values = design_points(vary, "lhs", points, SEED)
    if at_base:
        numbers = Numbers(base, {})
        values = [{key: numbers.shared(key) for key, _, _ in VARY} for _ in values]
    return Design(base, points_frame(values), runs=runs, seed=SEED, months=months)


def timed(scenario, months: int, tasks: list) -> tuple[float, float]:
    """(wall, CPU) replication-months per second of running `tasks` serially in this process."""
    from batches.executors import Failure, run_task

    rows = sum(task.chunk.size for task in tasks)
    wall, cpu = time.perf_counter(), time.process_time()
    for task in tasks:
        result = run_task(scenario, months, task)
        if isinstance(result, Failure):
            raise RuntimeError(result.traceback)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return rows * months / wall, rows * months / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--months", type=int, default=MONTHS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from batches.design import design_record, design_tasks

    design = design_of(args.points, args.runs, args.months)
    rows = design.rows
    cases = {
        "plain batch (model.rng)": plain_tasks(rows, counter_based=False),
        "plain batch (counter-based streams)": plain_tasks(rows, counter_based=True),
        f"design {args.points} points x {args.runs} runs": design_tasks(design),
        "design, every point at baseline values": design_tasks(
            design_of(args.points, args.runs, args.months, at_base=True)
        ),
    }
    record = design_record(design)
    print(
        f"{rows:,} replications x {args.months} months, chunks of "
        f"{record['rows_per_chunk'][0]:,} ({record['layout']}); best of {args.repeat}"
    )
    small = design_of(2, 2, 2)  # warm up: imports and first-call costs stay out of the timings
    timed(small.scenario, 2, design_tasks(small))
    timed(small.scenario, 2, plain_tasks(4, counter_based=False))
    best: dict[str, tuple[float, float]] = {name: (0.0, 0.0) for name in cases}
    for _ in range(args.repeat):
        for name, tasks in cases.items():
            wall, cpu = timed(design.scenario, args.months, tasks)
            best[name] = (max(best[name][0], wall), max(best[name][1], cpu))
    for name, (wall, cpu) in best.items():
        print(f"{name}: {wall:,.0f} rep-months/s wall, {cpu:,.0f} per CPU second")
    plain, streams, designed, at_base = best.values()
    print(
        f"ratio design / plain: {designed[0] / plain[0]:.2f} wall, {designed[1] / plain[1]:.2f} CPU"
    )
    print(
        f"ratio design / plain on counter-based streams: {designed[0] / streams[0]:.2f} wall, "
        f"{designed[1] / streams[1]:.2f} CPU"
    )
    print(
        f"ratio design at baseline values / plain on counter-based streams: "
        f"{at_base[0] / streams[0]:.2f} wall, {at_base[1] / streams[1]:.2f} CPU"
    )


if __name__ == "__main__":
    main()
