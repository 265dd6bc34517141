"""Parameter sweeps: which points to run, with which scenario and seeds.

A sweep varies numeric scenario keys (dotted paths, as `--set` takes them) over ranges
`KEY=LO:HI[:N]`, on a full grid (N values per key, default 5) or a Latin hypercube of `--points`
points (`scipy.stats.qmc.LatinHypercube`, seeded from the sweep seed). Every point is a scenario
(the base with the point's values) validated before anything runs. The points run as one design
(`batches.design`): lock-step chunks across points, each chunk one part of the run folder, so a
sweep folder is an ordinary run folder with a `point` column, and `--resume` works on it.
`sweep_tasks` is the layout of sweeps written before designs (point p's chunk c seeded
SeedSequence(seed, spawn_key=(p, c)), part p × chunks-per-point + c), kept to resume them.

A sweep file (`scenarios/sweeps/*.toml`) holds the same in TOML:

    description = "..."
    scenario = "history-2022"          # the base scenario (a name or a .toml path)
    design = "grid"                    # or "lhs"
    points = 10                        # lhs only
    runs = 200                         # replications per point
    months = 36                        # optional
    seed = 7                           # optional
    set = { "world.overstretch" = 0.3 }   # optional fixed overrides
    [vary]
    "world.overstretch" = [0.0, 0.6, 4]   # LO, HI[, N]
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from batches.chunks import CHUNK_SIZE, Chunk
from batches.executors import Task
from simulation.scenario import ScenarioError, apply_overrides, read_toml, resolve_extends
from simulation.schema import Scenario

DESIGNS: tuple[str, ...] = ("grid", "lhs")
DEFAULT_GRID_VALUES = 5
DEFAULT_LHS_POINTS = 10
MAX_GRID_VALUES = 1_000
"""Most values of one key on a grid (N)."""
MAX_POINTS = 100_000
"""Most points of a sweep (a grid's product of N, or an lhs design's points)."""
SWEEP_PACKAGE = "scenarios.sweeps"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_VARY = re.compile(rf"^(?P<low>{_NUMBER}):(?P<high>{_NUMBER})(?::(?P<n>\d{{1,12}}))?$")


@dataclass(frozen=True)
class Vary:
    """One varied key: its range and, on a grid, its number of values (None: the default)."""

    key: str
    low: float
    high: float
    n: int | None = None

    def as_list(self) -> list[float | int]:
        return [self.low, self.high] if self.n is None else [self.low, self.high, self.n]


@dataclass
class SweepSpec:
    """A sweep: the base scenario and fixed overrides, the varied keys and the design."""

    scenario: str
    vary: list[Vary]
    design: str = "grid"
    points: int | None = None
    runs: int | None = None
    months: int | None = None
    seed: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    source: str = "--vary"


def parse_vary(text: str) -> Vary:
    """`KEY=LO:HI[:N]` -> Vary; ScenarioError naming the option when malformed."""
    key, _, spec = (part.strip() for part in text.partition("="))
    match = _VARY.match(spec)
    if not key or match is None:
        raise ScenarioError(
            "--vary", text, "expected KEY=LO:HI[:N], e.g. world.overstretch=0:0.6:4"
        )
    return make_vary(key, float(match["low"]), float(match["high"]), match["n"], "--vary")


def make_vary(key: str, low: float, high: float, n: Any, source: str) -> Vary:
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ScenarioError(source, key, f"expected LO <= HI, got {low}:{high}")
    if n is not None:
        n = int(n)
        if n < 1 or (n == 1 and low != high):
            raise ScenarioError(source, key, f"expected N >= 2 values (or LO = HI), got {n}")
        if n > MAX_GRID_VALUES:
            raise ScenarioError(source, key, f"expected N <= {MAX_GRID_VALUES:,} values, got {n:,}")
    return Vary(key, low, high, n)


def grid_values(v: Vary) -> int:
    """The number of values key `v` takes on a grid."""
    return v.n if v.n is not None else (1 if v.low == v.high else DEFAULT_GRID_VALUES)


def design_size(vary: list[Vary], design: str, points: int | None, source: str = "--vary") -> int:
    """The number of points of a design, computed before any is made; ScenarioError beyond
    MAX_POINTS."""
    if design == "lhs":
        size = points if points is not None else DEFAULT_LHS_POINTS
    else:
        size = math.prod(grid_values(v) for v in vary)
    if size > MAX_POINTS:
        what = "--points" if design == "lhs" else "the grid (the product of each key's N)"
        raise ScenarioError(source, "", f"{what} has {size:,} points; at most {MAX_POINTS:,}")
    return size


def _base_value(known: dict[str, Any], key: str, source: str) -> Any:
    node: Any = known
    for depth, part in enumerate(key.split(".")):
        if not isinstance(node, dict) or part not in node:
            prefix = ".".join(key.split(".")[: depth + 1])
            raise ScenarioError(source, key, f"unknown key {prefix!r}")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise ScenarioError(source, key, f"can only vary a numeric key (it holds {node!r})")
    return node


def integer_keys(base: Scenario, vary: list[Vary], source: str = "--vary") -> set[str]:
    """The varied keys whose value in `base` is an integer (their values are rounded)."""
    known = base.model_dump(by_alias=True)
    return {v.key for v in vary if isinstance(_base_value(known, v.key, source), int)}


def design_points(
    vary: list[Vary],
    design: str = "grid",
    points: int | None = None,
    seed: int = 0,
    integers: set[str] | frozenset[str] = frozenset(),
) -> list[dict[str, float | int]]:
    """The sweep's points, in order: each a {key: value} for every varied key.

    grid: the product of each key's N evenly spaced values (the last key varies fastest).
    lhs: `points` points of a Latin hypercube over the ranges, seeded from `seed`.
    Values of `integers` keys are rounded (grid duplicates are dropped).
    """
    if not vary:
        raise ValueError("a sweep varies at least one key")
    if len({v.key for v in vary}) != len(vary):
        raise ValueError("each key can be varied once")
    if design == "grid":
        axes = []
        for v in vary:
            values = np.linspace(v.low, v.high, grid_values(v))
            if v.key in integers:
                values = np.unique(np.round(values))
            axes.append([_number(x, v.key in integers) for x in values])
        return [dict(zip([v.key for v in vary], combo, strict=True)) for combo in _product(axes)]
    if design == "lhs":
        from scipy.stats import qmc

        n_points = points if points is not None else DEFAULT_LHS_POINTS
        if n_points < 1:
            raise ValueError(f"points must be >= 1, got {n_points}")
        sampler = qmc.LatinHypercube(d=len(vary), rng=np.random.default_rng(seed))
        unit = sampler.random(n_points)
        lows = np.array([v.low for v in vary])
        highs = np.array([v.high for v in vary])
        sample = lows + unit * (highs - lows)
        return [
            {v.key: _number(row[i], v.key in integers) for i, v in enumerate(vary)}
            for row in sample
        ]
    raise ValueError(f"design must be one of {DESIGNS}, got {design!r}")


def _product(axes: list[list[float | int]]) -> list[tuple[float | int, ...]]:
    return list(itertools.product(*axes))


def _number(value: float, integer: bool) -> float | int:
    return int(round(float(value))) if integer else float(value)


def sweep_seed(seed: int, point: int, index: int) -> int:
    """The integer seed of chunk `index` of point `point`: SeedSequence(seed), child (p, c)."""
    child = np.random.SeedSequence(seed, spawn_key=(point, index))
    low, high = child.generate_state(2, dtype=np.uint32)
    return int(low) | (int(high) << 32)


def sweep_tasks(n_points: int, runs: int, seed: int, chunk_size: int = CHUNK_SIZE) -> list[Task]:
    """Every (point, chunk) task of a sweep of `runs` replications per point, point-major."""
    if runs < 1 or n_points < 1:
        raise ValueError(f"need runs >= 1 and points >= 1, got {runs} and {n_points}")
    offsets = range(0, runs, chunk_size)
    per_point = len(offsets)
    return [
        Task(
            part=point * per_point + index,
            chunk=Chunk(
                index, offset, min(chunk_size, runs - offset), sweep_seed(seed, point, index)
            ),
            point=point,
        )
        for point in range(n_points)
        for index, offset in enumerate(offsets)
    ]


def point_scenarios(
    base: Scenario, points: list[dict[str, Any]], months: int | None
) -> dict[int, Scenario]:
    """Each point's validated scenario: `base` with the point's values (ScenarioError names it)."""
    scenarios = {}
    for number, values in enumerate(points):
        try:
            scenarios[number] = apply_overrides(base, dict(values), months)
        except ScenarioError as error:
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            raise ScenarioError(
                f"sweep point {number} ({shown})", error.key, error.message
            ) from None
    return scenarios


def points_frame(points: list[dict[str, Any]]):
    """points.parquet: one row per point, `point` then one column per varied key."""
    import pandas as pd

    frame = pd.DataFrame(points)
    frame.insert(0, "point", np.arange(len(points), dtype=np.int64))
    return frame


# --- sweep files ---------------------------------------------------------------------------------

_FILE_KEYS = {
    "description",
    "scenario",
    "design",
    "points",
    "runs",
    "months",
    "seed",
    "set",
    "vary",
}


def sweep_dir() -> Path:
    return Path(str(resources.files(SWEEP_PACKAGE)))


def available_sweeps() -> dict[str, Path]:
    """Shipped sweep names (file stems) and their paths."""
    return {p.stem: p for p in sorted(sweep_dir().glob("*.toml"))}


def find_sweep_file(name_or_path: str) -> Path | None:
    """The sweep file a name or path refers to, or None if it is not one."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return path
    return available_sweeps().get(name_or_path)


def load_sweep_file(path: Path) -> SweepSpec:
    """Read and check a sweep file; ScenarioError naming the file and key on any problem.

    The file is read as a scenario file is (`read_toml`: a UTF-8 regular file of bounded size),
    and its `scenario` is found as an `extends` is (`resolve_extends`): a name beside it or
    shipped, or a .toml path inside its folder, the current folder or the shipped scenarios.
    """
    source = str(path)
    data = read_toml(path)
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        raise ScenarioError(source, unknown[0], "unknown key")
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not scenario:
        raise ScenarioError(source, "scenario", "expected the base scenario's name or .toml path")
    scenario = str(resolve_extends(scenario, path).resolve())
    vary_table = data.get("vary")
    if not isinstance(vary_table, dict) or not vary_table:
        raise ScenarioError(source, "vary", "expected a table of KEY = [LO, HI] or [LO, HI, N]")
    vary = []
    for key, spec in vary_table.items():
        ok = isinstance(spec, list) and len(spec) in (2, 3)
        ok = ok and all(isinstance(x, int | float) and not isinstance(x, bool) for x in spec)
        if not ok:
            raise ScenarioError(source, f"vary.{key}", "expected [LO, HI] or [LO, HI, N]")
        vary.append(make_vary(key, float(spec[0]), float(spec[1]), _third(spec), source))
    design = data.get("design", "grid")
    if design not in DESIGNS:
        raise ScenarioError(source, "design", f"expected one of {list(DESIGNS)}, got {design!r}")
    for key in ("points", "runs", "months"):
        value = data.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise ScenarioError(source, key, f"expected a positive integer, got {value!r}")
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise ScenarioError(source, "seed", f"expected a non-negative integer, got {seed!r}")
    fixed = data.get("set", {})
    if not isinstance(fixed, dict):
        raise ScenarioError(source, "set", "expected a table of dotted keys and values")
    return SweepSpec(
        scenario=scenario,
        vary=vary,
        design=design,
        points=data.get("points"),
        runs=data.get("runs"),
        months=data.get("months"),
        seed=seed,
        overrides=dict(fixed),
        description=str(data.get("description", "")),
        source=source,
    )


def _third(spec: list[Any]) -> int | None:
    return int(spec[2]) if len(spec) == 3 else None


def is_sweep_file(path: Path) -> bool:
    """Whether `path` reads as a sweep file (a top-level `vary` table) rather than a scenario."""
    try:
        return "vary" in read_toml(path)
    except ScenarioError:
        return False


def check_sweep_file(path: Path) -> int:
    """Validate a sweep file, its base scenario and every point; return the number of points.

    Raises ScenarioError naming the file (or the point) and the key, as `csto sweep` would.
    """
    from simulation.scenario import load_scenario

    spec = load_sweep_file(path)
    base = load_scenario(spec.scenario, spec.overrides or None, spec.months)
    seed = spec.seed if spec.seed is not None else 0
    try:
        values = design_points(
            spec.vary, spec.design, spec.points, seed, integer_keys(base, spec.vary, spec.source)
        )
    except ScenarioError:
        raise
    except ValueError as error:
        raise ScenarioError(spec.source, "", str(error)) from None
    return len(point_scenarios(base, values, spec.months))
