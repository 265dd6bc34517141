"""Cost of the decision trace: a run with `trace=None` (every batch), with the trace of one run
(what `csto explain --run` records), and with every decision of every run traced.

    python benchmarks/bench_trace.py [--replications 2000] [--months M] [--repeats 3]

Prints the best-of-repeats CPU seconds of this process for `history-2022` at R replications, and
each traced run's cost relative to the untraced one. With `trace=None` the model asks one
attribute per decision and computes nothing else, so the untraced figure is the model's speed as
it was before the trace existed (compare it with a checkout without the trace to see it).
Figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time


def cpu_seconds(replications: int, months: int, trace_factory) -> tuple[float, int]:
    """CPU seconds of one run of history-2022, and the rows its trace holds (0 without)."""
    from simulation.model import CSTOModel

    trace = trace_factory()
    model = CSTOModel("history-2022", replications=replications, rng=1, months=months, trace=trace)
    start = time.process_time()
    model.run()
    seconds = time.process_time() - start
    return seconds, 0 if trace is None else len(trace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=2000)
    parser.add_argument("--months", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from simulation.trace import Trace

    cases = {
        "trace None (every batch)": lambda: None,
        "trace of run 0 (explain --run)": lambda: Trace(runs=[0]),
        "trace of one agent, 200 runs (explain --event)": lambda: Trace(
            runs=range(200), agents=["BLR"]
        ),
        "trace of every decision": lambda: Trace(),
    }
    best: dict[str, tuple[float, int]] = {}
    for _ in range(args.repeats):  # interleaved, so that load changes touch every case alike
        for name, factory in cases.items():
            seconds, rows = cpu_seconds(args.replications, args.months, factory)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, rows)
    base = best["trace None (every batch)"][0]
    months = args.months or "its"
    print(f"history-2022, {args.replications} replications x {months} months, CPU seconds")
    print(f"(best of {args.repeats}):")
    for name, (seconds, rows) in best.items():
        print(f"  {name:<48} {seconds:7.3f} s  x{seconds / base:5.2f}  {rows:>10,} trace rows")


if __name__ == "__main__":
    main()
