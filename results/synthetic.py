"""Small synthetic `RunRecord`s with known contents, for tests, examples and benchmarks.

The values are random but reproducible from a seed; they follow the shapes and dtypes of the
`simulation.record` contract, not the model's dynamics.
"""

from __future__ import annotations

import numpy as np

from simulation.record import METRIC_NAMES, RunRecord, Status

COUNTRIES: tuple[str, ...] = ("BLR", "RUS", "AZE", "ARM", "GEO")
POLES: tuple[str, ...] = ("WEST", "TUR")
ACTIONS: tuple[str, ...] = ("reassure", "protest", "exercise", "freeze")


def synthetic_record(
    replications: int = 3,
    months: int = 4,
    run_offset: int = 0,
    events: int = 5,
    start: str = "2024-01",
    seed: int = 0,
) -> RunRecord:
    """A record of `replications` × `months` with the five countries and two poles above.

    Metrics and scores are uniform in [0, 1), postures in -2..2, statuses random, relations in
    [-1, 1). `events` events are drawn at random; every third has no target (-1).
    """
    rng = np.random.default_rng(seed)
    n, a = len(COUNTRIES), len(COUNTRIES) + len(POLES)
    cube = (replications, months, n)
    agents = {
        "posture": rng.integers(-2, 3, size=cube).astype(np.int8),
        "alignment": rng.random(cube),
        "credibility": rng.random(cube),
        "standing": rng.random(cube),
        "threat": rng.random(cube),
        "status": rng.integers(0, len(Status), size=cube).astype(np.int8),
    }
    targets = rng.integers(0, a, size=events)
    targets[::3] = -1
    return RunRecord(
        start=start,
        months=months,
        run_offset=run_offset,
        agent_codes=list(COUNTRIES),
        actor_codes=[*COUNTRIES, *POLES],
        action_names=list(ACTIONS),
        metrics={m: rng.random((replications, months)) for m in METRIC_NAMES},
        agents=agents,
        relations=(rng.random((replications, months, a, a)) * 2 - 1).astype(np.float32),
        events={
            "run": np.sort(rng.integers(0, replications, size=events)).astype(np.int32),
            "month": rng.integers(0, months, size=events).astype(np.int16),
            "actor": rng.integers(0, n, size=events).astype(np.int16),
            "action": rng.integers(0, len(ACTIONS), size=events).astype(np.int16),
            "target": targets.astype(np.int16),
            "goldstein": rng.normal(size=events),
        },
    )
