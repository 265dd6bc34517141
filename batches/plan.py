"""Planning a batch: a run, a sweep or the resumption of a partial folder, ready to execute.

`prepare_run`, `prepare_sweep` and `prepare_resume` load and validate everything first (the
scenario, every sweep point, the options), then open the output folder, so a bad scenario or
option stops before anything is written. Each returns a `batches.runner.Batch`;
`batches.runner.finish_batch` executes it. Errors are exceptions (`ScenarioError`, and those of
`batches.errors`), never an exit.

What a run writes is a choice: `tables` (default all four; `metrics` is always written, because
`summary.csv` and every plot are computed from it) and `relations_every` K (the relations table
keeps the months m with m % K == 0 and the last month). Both are recorded in the manifest, and
resuming keeps them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batches.errors import FolderExistsError, OptionError, RunFolderError
from batches.posterior import check_runs_per_draw
from batches.runner import (
    Batch,
    base_manifest,
    manifest_design,
    manifest_tasks,
    read_folder_manifest,
    run_tasks,
    sweep_record,
    utc_now,
    write_points,
)

if TYPE_CHECKING:
    from batches.sweeps import SweepSpec, Vary
    from simulation.schema import Scenario

DEFAULT_SEED = 20221211
"""The seed used when none is given (the date of the 2022 summit in Yerevan's aftermath)."""

DEFAULT_RUNS = 1000
RUNS_DIR = "runs"
TABLE_CHOICES: tuple[str, ...] = ("metrics", "agents", "events", "relations")
"""The tables a run may write (`--tables`); metrics is always written."""
FORMATS: tuple[str, ...] = ("parquet", "csv")
"""results.layout.FORMATS and batches.executors.EXECUTORS, repeated here to keep start-up light."""
EXECUTORS: tuple[str, ...] = ("local", "dask")

Overrides = Mapping[str, Any] | Sequence[str] | None
"""Scenario overrides: {dotted key: value}, or "KEY=VALUE" texts as --set takes them."""


def default_out(name: str, now: dt.datetime) -> Path:
    """runs/<name>-<UTC time>: where a batch goes when no folder is given on the command line.

    `name` comes from a scenario file, so it goes through `safe_folder_name`: one path component
    that cannot leave runs/.
    """
    from results.layout import safe_folder_name

    return Path(RUNS_DIR) / f"{safe_folder_name(name)}-{now.strftime('%Y%m%d-%H%M%S')}"


# --- options -----------------------------------------------------------------------------------


def _positive(option: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(f"{option}: expected a positive integer, got {value!r}")


def check_seed(seed: Any, allow_none: bool = False) -> None:
    """OptionError unless `seed` is a non-negative integer (as --seed takes it)."""
    if seed is None and allow_none:
        return
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise OptionError(f"--seed: expected a non-negative integer, got {seed!r}")


def parse_tables(tables: str | Iterable[str] | None) -> tuple[str, ...]:
    """The tables to write, in TABLE_CHOICES order, metrics always included.

    `tables` is "metrics,agents" (the option's text), a list of names, or None (all).
    """
    if tables is None:
        return TABLE_CHOICES
    names = [t.strip() for t in tables.split(",")] if isinstance(tables, str) else list(tables)
    names = [name for name in names if name]
    unknown = [name for name in names if name not in TABLE_CHOICES]
    if unknown or not names:
        shown = repr(unknown[0]) if unknown else "nothing"
        raise OptionError(
            f"--tables: expected a comma-separated list of {', '.join(TABLE_CHOICES)}, got {shown}"
        )
    chosen = {"metrics", *names}
    return tuple(name for name in TABLE_CHOICES if name in chosen)


def check_options(
    *,
    runs: int | None = 1,
    months: int | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    fmt: str = "parquet",
    relations_every: int | None = None,
) -> None:
    """OptionError for a value the command line's option types would have refused."""
    _positive("--runs", runs, allow_none=True)
    _positive("--months", months, allow_none=True)
    _positive("--workers", workers)
    _positive("--relations-every", relations_every, allow_none=True)
    if fmt not in FORMATS:
        raise OptionError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    check_executor(executor, scheduler)


def check_executor(executor: str, scheduler: str | None) -> None:
    """The executor exists, a scheduler goes with dask, and dask is installed when asked for."""
    if executor not in EXECUTORS:
        raise OptionError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
    if scheduler and executor != "dask":
        raise OptionError("--scheduler needs --executor dask")
    if executor == "dask":
        from importlib.util import find_spec

        if find_spec("distributed") is None:
            raise OptionError('--executor dask needs dask.distributed: pip install "csto[dask]"')


def open_writer(
    out: Path,
    fmt: str,
    force: bool,
    tables: Sequence[str] | None = None,
    relations_every: int | None = None,
):
    """A new RunFolderWriter on `out`, holding its lock.

    FolderExistsError, OptionError when it cannot be made, and `results.lock.FolderLockedError`
    (naming the holder) when another live process writes it.
    """
    from results.store import RunFolderWriter

    try:
        return RunFolderWriter(
            out, fmt, force=force, tables=tables, relations_every=relations_every
        )
    except FileExistsError:
        raise FolderExistsError(out) from None
    except OSError as error:
        raise OptionError(f"{out}: cannot create the run folder: {error.strerror}") from None
    except ValueError as error:  # --force on the working or home folder
        raise OptionError(f"--out: {error}") from None


def scenario_file(scenario: str | Path) -> str:
    """The absolute path of the file a scenario name or path refers to."""
    from simulation.scenario import resolve_path

    return str(resolve_path(str(scenario)).resolve())


# --- a run -------------------------------------------------------------------------------------


def prepare_run(
    scenario: str | Path,
    *,
    runs: int = DEFAULT_RUNS,
    months: int | None = None,
    seed: int = DEFAULT_SEED,
    overrides: Overrides = None,
    out: Path | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    fmt: str = "parquet",
    tables: str | Iterable[str] | None = None,
    relations_every: int | None = None,
    force: bool = False,
    yes: bool = False,
    posterior: str | Path | None = None,
    runs_per_draw: int = 1,
) -> Batch:
    """Load and check a run of `scenario`, open its folder; the Batch to execute.

    `out` defaults to runs/<scenario>-<UTC time>. The cost is estimated (`batches.cost`) before
    anything is planned or written: CostError beyond the limits unless `yes`. `posterior` (a
    calibration folder, a posterior file or "shipped"): every replication draws the calibrated
    parameters from it (`batches.posterior`), `runs_per_draw` consecutive runs the same draw.
    """
    from simulation.scenario import load_scenario

    check_options(
        runs=runs, months=months, workers=workers, executor=executor, scheduler=scheduler,
        fmt=fmt, relations_every=relations_every,
    )  # fmt: skip
    check_seed(seed)
    check_runs_per_draw(runs_per_draw, posterior)
    chosen = parse_tables(tables)
    created = utc_now()
    spec = load_scenario(scenario, _overrides(overrides), months)
    path = scenario_file(scenario)
    months = months if months is not None else spec.months
    out = Path(out) if out is not None else default_out(spec.name, created)
    cost = batch_cost(runs, months, out, workers, fmt, chosen, relations_every, yes)
    manifest = base_manifest(
        spec, path, seed=seed, runs=runs, months=months, workers=workers, fmt=fmt,
        created=created, tables=chosen, relations_every=relations_every,
    )  # fmt: skip
    manifest["executor"] = executor
    tasks = run_tasks(runs, seed)
    if posterior is not None:
        from batches.posterior import fixed_keys, posterior_record, with_posterior

        fixed = fixed_keys(overrides)
        manifest["posterior"] = posterior_record(posterior, spec, fixed, runs_per_draw)
        tasks = with_posterior(tasks, manifest["posterior"], seed)
    writer = open_writer(out, fmt, force, chosen, relations_every)
    return Batch(
        out, writer, manifest, {None: spec}, months, tasks,
        executor=executor, workers=workers, scheduler=scheduler, cost=cost,
    )  # fmt: skip


def batch_cost(
    replications: int,
    months: int,
    out: Path,
    workers: int,
    fmt: str,
    tables: Sequence[str],
    relations_every: int | None,
    yes: bool,
):
    """The batch's estimated cost (`batches.cost`); CostError beyond the limits unless `yes`."""
    from batches.cost import check_cost, estimate

    cost = estimate(
        replications, months, workers=workers, fmt=fmt, tables=tables,
        relations_every=relations_every,
    )  # fmt: skip
    check_cost(cost, out, yes)
    return cost


def _overrides(overrides: Overrides) -> list[str] | dict[str, Any] | None:
    if overrides is None:
        return None
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        return dict(overrides)
    return list(overrides)


# --- a sweep -----------------------------------------------------------------------------------

VaryInput = Mapping[str, Sequence[float]] | Sequence[str] | None
"""Varied keys: {key: (LO, HI) or (LO, HI, N)}, or "KEY=LO:HI[:N]" texts as --vary takes them."""


def parse_vary_input(vary: VaryInput) -> list[Vary]:
    """The varied keys of `vary` (texts or a mapping); ScenarioError naming a malformed one."""
    from batches.sweeps import make_vary, parse_vary
    from simulation.scenario import ScenarioError

    if not vary:
        return []
    if isinstance(vary, str):
        return [parse_vary(vary)]
    if isinstance(vary, Mapping):
        result = []
        for key, spec in vary.items():
            values = list(spec) if isinstance(spec, list | tuple) else None
            if values is None or len(values) not in (2, 3):
                raise ScenarioError("vary", key, f"expected (LO, HI) or (LO, HI, N), got {spec!r}")
            n = values[2] if len(values) == 3 else None
            result.append(make_vary(key, float(values[0]), float(values[1]), n, "vary"))
        return result
    return [parse_vary(text) for text in vary]


def sweep_spec(target: str | Path, vary: VaryInput) -> SweepSpec:
    """The sweep of `target` over `vary`, or the sweep file `target` names when `vary` is empty."""
    from batches.sweeps import SweepSpec, find_sweep_file, load_sweep_file

    if vary:
        return SweepSpec(scenario=str(target), vary=parse_vary_input(vary))
    path = find_sweep_file(str(target))
    if path is None:
        raise OptionError(
            f"{str(target)!r} is not a sweep file; give a scenario with --vary KEY=LO:HI[:N], "
            "or a sweep name or .toml file (scenarios/sweeps/)"
        )
    return load_sweep_file(path)


def prepare_sweep(
    target: str | Path,
    *,
    vary: VaryInput = None,
    design: str | None = None,
    points: int | None = None,
    runs: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    overrides: Overrides = None,
    out: Path | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    fmt: str = "parquet",
    tables: str | Iterable[str] | None = None,
    relations_every: int | None = None,
    force: bool = False,
    crn: bool = True,
    yes: bool = False,
    posterior: str | Path | None = None,
    runs_per_draw: int = 1,
) -> Batch:
    """Load and check a sweep (every point validated), open its folder; the Batch to execute.

    `target` is a scenario varied over `vary`, or a sweep file (name or path) when `vary` is
    empty; the options given replace the sweep file's. `out` defaults to
    runs/<scenario>-sweep-<UTC time>. The number of points and the cost are checked before any
    point is made (CostError beyond the limits unless `yes`). The points run as one design
    (`batches.design`): lock-step chunks across points, with common random numbers unless `crn`
    is False; the manifest's `design` records how it was cut.
    """
    from batches.chunks import CHUNK_SIZE
    from batches.design import Design, design_record, design_scenarios, design_tasks
    from batches.sweeps import (
        design_points,
        design_size,
        integer_keys,
        point_scenarios,
        points_frame,
    )
    from simulation.scenario import ScenarioError, check_months, load_scenario, parse_override

    check_options(
        runs=runs, months=months, workers=workers, executor=executor, scheduler=scheduler,
        fmt=fmt, relations_every=relations_every,
    )  # fmt: skip
    _positive("--points", points, allow_none=True)
    check_seed(seed, allow_none=True)
    check_runs_per_draw(runs_per_draw, posterior)
    chosen = parse_tables(tables)
    created = utc_now()
    spec = sweep_spec(target, vary)
    design = design or spec.design
    if design not in ("grid", "lhs"):
        raise OptionError(f"--design: expected grid or lhs, got {design!r}")
    points = points if points is not None else spec.points
    if design == "grid" and points is not None:
        raise OptionError("--points is for --design lhs; a grid has N values per --vary")
    if design == "lhs" and any(v.n is not None for v in spec.vary):
        raise OptionError("an lhs design takes KEY=LO:HI ranges without N; use --points")
    runs = runs or spec.runs or DEFAULT_RUNS
    seed = seed if seed is not None else (spec.seed if spec.seed is not None else DEFAULT_SEED)
    fixed = dict(spec.overrides)
    given = _overrides(overrides)
    if isinstance(given, dict):
        fixed.update(given)
    elif given:
        fixed.update(parse_override(text) for text in given)
    base = load_scenario(spec.scenario, fixed or None, None)
    months = months or spec.months or base.months
    check_months(base, months)
    out = Path(out) if out is not None else default_out(f"{base.name}-sweep", created)
    size = design_size(spec.vary, design, points, spec.source)
    cost = batch_cost(runs * size, months, out, workers, fmt, chosen, relations_every, yes)
    try:
        values = design_points(
            spec.vary, design, points, seed, integer_keys(base, spec.vary, spec.source)
        )
    except ScenarioError:
        raise
    except ValueError as error:
        raise OptionError(f"{spec.source}: {error}") from None
    scenarios = point_scenarios(base, values, months)
    base = point_scenarios(base, [{}], months)[0]
    manifest = base_manifest(
        base, scenario_file(spec.scenario), seed=seed, runs=runs, months=months,
        workers=workers, fmt=fmt, created=created, tables=chosen, relations_every=relations_every,
    )  # fmt: skip
    manifest["executor"] = executor
    manifest["total_runs"] = runs * len(values)
    manifest["sweep"] = sweep_record(spec, design, values, scenarios)
    plan = Design(base, points_frame(values), runs=runs, seed=seed, months=months, crn=crn)
    manifest["design"] = design_record(plan, CHUNK_SIZE)
    tasks = design_tasks(plan, CHUNK_SIZE)
    if posterior is not None:
        from batches.posterior import fixed_keys, posterior_record, with_posterior

        fixed = fixed_keys(fixed, [v.key for v in spec.vary])
        manifest["posterior"] = posterior_record(posterior, base, fixed, runs_per_draw)
        tasks = with_posterior(tasks, manifest["posterior"], seed)
    writer = open_writer(out, fmt, force, chosen, relations_every)
    try:
        write_points(out, values)
    except BaseException:
        writer.close()
        raise
    return Batch(
        out, writer, manifest, design_scenarios(plan), months, tasks,
        executor=executor, workers=workers, scheduler=scheduler, cost=cost,
    )  # fmt: skip


# --- resuming ----------------------------------------------------------------------------------


def verified_parts(
    folder: Path, manifest: dict[str, Any], notes: Callable[[str], None] | None = None
) -> set[int]:
    """The parts of `folder` that verify; the others' files are removed, each named to `notes`."""
    from results.verify import discard_parts, verified_chunks

    good, bad = verified_chunks(folder, manifest)
    for part, reason in sorted(bad.items()):
        if notes is not None:
            notes(f"{folder}: {reason}; part {part} is run again")
    discard_parts(folder, bad)
    return good


def prepare_resume(
    folder: Path,
    *,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    notes: Callable[[str], None] | None = None,
) -> Batch | None:
    """Reopen the partial `folder` to run exactly the chunks it is missing; None if complete.

    The scenario (each point's, for a sweep), seed, runs, months, format and the tables written
    come from its manifest, which records the resumption. Every part already in the folder is
    verified (`results.verify.verified_chunks`): a damaged or incomplete one is discarded and run
    again, and `notes` receives one line per such part naming its file and what is wrong. Raises
    RunFolderError when the folder has no usable manifest or its scenario does not match its
    sha256, and ScenarioError when the scenario no longer validates.
    """
    from results.store import RunFolderWriter
    from simulation.scenario import scenario_hash
    from simulation.schema import Scenario

    check_options(workers=workers, executor=executor, scheduler=scheduler)
    folder = Path(folder)
    manifest = read_folder_manifest(folder)
    if manifest.get("status") == "complete":
        return None
    if manifest.get("sensitivity"):
        raise RunFolderError(f"{folder} is a sensitivity analysis: csto sensitivity --resume it")
    base = Scenario.model_validate(manifest["resolved_scenario"])
    if scenario_hash(base) != manifest["scenario_sha256"]:
        raise RunFolderError(f"{folder}: the manifest's scenario does not match its sha256")
    months = int(manifest["months"])
    scenarios: dict[int | None, Scenario]
    if manifest.get("design"):
        from batches.design import design_scenarios

        scenarios = design_scenarios(manifest_design(manifest))
    elif manifest.get("sweep"):  # a sweep of one model per point and chunk, before designs
        from batches.sweeps import point_scenarios

        scenarios = dict(point_scenarios(base, manifest["sweep"]["points"], months))
    else:
        scenarios = {None: base}
    tables = manifest.get("tables")
    relations_every = manifest.get("relations_every")
    tasks = manifest_tasks(manifest)
    writer = RunFolderWriter.reopen(
        folder, manifest["format"], tables=tables, relations_every=relations_every
    )
    done = verified_parts(folder, manifest, notes)
    missing = [task for task in tasks if task.part not in done]
    manifest.setdefault("resumed", []).append(
        {"at": utc_now().isoformat(timespec="seconds"), "chunks": [t.part for t in missing]}
    )
    manifest.update(executor=executor, workers=workers)
    return Batch(
        folder, writer, manifest, scenarios, months, missing,
        executor=executor, workers=workers, scheduler=scheduler, done=done,
    )  # fmt: skip
