"""`csto sensitivity`: a Morris or Sobol analysis of a scenario, run into a resumable folder.

    from batches import sensitivity
    folder = sensitivity("baseline", method="morris", runs=100, months=36, out="runs/m")
    folder.indices, folder.outcomes, folder.design, folder.ranking

The points come from `batches.sensitivity.design` over the free parameters of
scenarios/sensitivity/parameters.toml (all of them, or those `vary` names, with their ranges
optionally overridden). They run as one design batch (`batches.design`): every point `runs`
replications, all points side by side in lock-step chunks, with common random numbers across the
points by default (replication k of every point draws the same numbers, so the differences between
points come from their parameters; Morris elementary effects and Sobol estimators are differences
of outcomes, whose variance CRN lowers).

The folder is a run folder (manifest.json with `status`, the tables metrics, events and agents
written chunk by chunk) with a `sensitivity` entry in its manifest and the files below. It has no
summary.csv: quantiles per point, month and metric cost minutes for a thousand points and say less
than outcomes.parquet.

* design.parquet: `point` and one column per parameter (the values run);
* outcomes.parquet: one row per point, its outcomes (`batches.sensitivity.point_outcomes`) and
  the replication count `n`;
* indices.csv: outcome, parameter and the indices (Morris: mu, mu_star, mu_star_conf, sigma;
  Sobol: S1, S1_conf, ST, ST_conf), with a `note` for an outcome that could not be analysed;
* convergence.csv (Sobol): the indices re-estimated on growing subsets of the base sample;
* plots/: Morris mu*-sigma planes, or Sobol bars and convergence, one per outcome.

An interrupt (Ctrl-C, SIGTERM) leaves a `partial` folder holding the finished chunks;
`resume_sensitivity` (`csto sensitivity --resume DIR`) runs the missing ones and then analyses.
The same seed gives the same design, tables and indices.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batches.errors import (
    OptionError,
    RunFolderError,
)
from batches.folders import RunFolder
from batches.runner import (
    base_manifest,
    read_folder_manifest,
    utc_now,
)

if TYPE_CHECKING:
    import pandas as pd

    from batches.design import Design
    from simulation.free_parameters import FreeParameter
    from simulation.schema import Scenario

DEFAULT_RUNS = 100
DEFAULT_TRAJECTORIES = 20
DEFAULT_SAMPLES = 512
TABLES: tuple[str, ...] = ("metrics", "events", "agents")
"""The tables a sensitivity folder writes: what `point_outcomes` reads (no relations)."""
DESIGN_NAME = "design.parquet"
OUTCOMES_NAME = "outcomes.parquet"
INDICES_NAME = "indices.csv"
CONVERGENCE_NAME = "convergence.csv"
ENTRY = "sensitivity"
"""The manifest's entry describing the analysis."""

Warn = Callable[[str], None]


# --- the analysis asked for ----------------------------------------------------------------------


@dataclass(frozen=True)
class SensitivityPlan:
    """A checked analysis, ready to run: its scenario, parameters, design and folder."""

    scenario: Scenario
    scenario_file: str
    method: str
    params: tuple[FreeParameter, ...]
    points: pd.DataFrame
    runs: int
    months: int
    seed: int
    crn: bool
    at: tuple[int | str, ...] | None
    trajectories: int
    samples: int
    out: Path

    @property
    def total_runs(self) -> int:
        """Replications of the whole analysis: points x runs."""
        return len(self.points) * self.runs

    def design(self) -> Design:
        """The design batch (`batches.design.Design`) that runs the points."""
        from batches.design import Design

        return Design(
            scenario=self.scenario,
            points=self.points,
            runs=self.runs,
            seed=self.seed,
            months=self.months,
            crn=self.crn,
        )

    def record(self) -> dict[str, Any]:
        """The manifest's `sensitivity` entry."""
        return {
            "method": self.method,
            "parameters": [
                {"key": p.key, "low": p.low, "high": p.high, "prior": p.prior} for p in self.params
            ],
            "points": len(self.points),
            "runs_per_point": self.runs,
            "trajectories": self.trajectories if self.method == "morris" else None,
            "samples": self.samples if self.method == "sobol" else None,
            "crn": self.crn,
            "common_random_numbers": (
                "replication k of every point draws the same random numbers"
                if self.crn
                else "every point draws its own random numbers"
            ),
            "at": list(self.at) if self.at is not None else None,
        }


def parse_at(text: str | Sequence[int | str] | None) -> tuple[int | str, ...] | None:
    """--at M,...: month numbers (from 0; negative from the end) or YYYY-MM dates; None: last."""
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    chosen: list[int | str] = []
    for item in items:
        item = item.strip() if isinstance(item, str) else item
        if isinstance(item, str):
            if not item:
                raise OptionError("--at: expected month numbers or YYYY-MM dates separated by ,")
            try:
                item = int(item)
            except ValueError:
                if len(item) != 7 or item[4] != "-":
                    raise OptionError(
                        f"--at: {item!r} is neither a month number nor a YYYY-MM date"
                    ) from None
        chosen.append(item)
    return tuple(chosen)


def plan_sensitivity(
    scenario: str | os.PathLike[str],
    *,
    method: str = "morris",
    vary: Iterable[str] = (),
    runs: int = DEFAULT_RUNS,
    trajectories: int = DEFAULT_TRAJECTORIES,
    samples: int = DEFAULT_SAMPLES,
    seed: int | None = None,
    months: int | None = None,
    at: str | Sequence[int | str] | None = None,
    crn: bool = True,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> SensitivityPlan:
    """Load and check everything an analysis needs, before anything is written.

    ScenarioError for a bad scenario, parameter key or range (naming the file or --vary and the
    key), OptionError for a bad option, FolderExistsError when `out` exists without `force`.
    """
    from batches.errors import FolderExistsError
    from batches.plan import default_out, scenario_file
    from batches.sensitivity import DEFAULT_SEED, METHODS, design, outcome_names
    from simulation.calendar import month_labels
    from simulation.free_parameters import (
        VARY_OPTION,
        check_free_parameters,
        load_free_parameters,
        select_parameters,
    )
    from simulation.scenario import load_scenario

    if method not in METHODS:
        raise OptionError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    try:
        import SALib  # noqa: F401
    except ImportError:
        raise OptionError(
            "a sensitivity analysis needs SALib: pip install 'csto[sensitivity]'"
        ) from None
    for option, value in (("--runs", runs), ("--trajectories", trajectories)):
        if value < 1 or (option == "--trajectories" and value < 2):
            raise OptionError(f"{option}: expected an integer >= {1 if option == '--runs' else 2}")
    if samples < 2 or samples & (samples - 1):
        raise OptionError(f"--samples: expected a power of 2 (>= 2), got {samples}")
    if months is not None and months < 1:
        raise OptionError(f"--months: expected an integer >= 1, got {months}")
    seed = DEFAULT_SEED if seed is None else int(seed)
    spec = load_scenario(str(scenario), None, months)
    horizon = months if months is not None else spec.months
    chosen = select_parameters(load_free_parameters(), list(vary))
    source = VARY_OPTION if vary else None
    check_free_parameters(chosen, spec, source=source)
    when = parse_at(at)
    try:
        outcome_names(month_labels(spec.start, horizon), when)
    except ValueError as error:
        raise OptionError(f"--at: {str(error).removeprefix('months: ')}") from None
    points = design(method, chosen, trajectories=trajectories, samples=samples, seed=seed)
    target = Path(out) if out is not None else default_out(f"{spec.name}-{method}", utc_now())
    if (target.exists() or target.is_symlink()) and not force:
        raise FolderExistsError(target)
    return SensitivityPlan(
        scenario=spec, scenario_file=scenario_file(str(scenario)), method=method,
        params=tuple(chosen), points=points, runs=runs, months=horizon, seed=seed, crn=crn,
        at=when, trajectories=trajectories, samples=samples, out=target,
    )  # fmt: skip


# --- running the design into the folder ----------------------------------------------------------


def _new_manifest(plan: SensitivityPlan, workers: int, executor: str) -> dict[str, Any]:
    manifest = base_manifest(
        plan.scenario, plan.scenario_file, seed=plan.seed, runs=plan.runs, months=plan.months,
        workers=workers, fmt="parquet", created=utc_now(), tables=TABLES,
    )  # fmt: skip
    from batches.design import design_record

    manifest["executor"] = executor
    manifest[ENTRY] = plan.record()
    manifest[ENTRY]["layout"] = design_record(plan.design(), int(manifest["chunk_size"]))
    return manifest


def _open_folder(plan: SensitivityPlan, force: bool):
    """Create the folder (its writer) and write design.parquet."""
    from functools import partial

    from batches.plan import open_writer
    from results.atomic import atomic_write

    writer = open_writer(plan.out, "parquet", force, TABLES)
    atomic_write(plan.out / DESIGN_NAME, partial(plan.points.to_parquet, index=False))
    return writer


def execute_design(
    out: Path,
    design: Design,
    manifest: dict[str, Any],
    writer: Any,
    *,
    done: set[int],
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    progress: bool = False,
) -> None:
    """Run the design's tasks missing from `done` into the folder, chunk by chunk, through the
    runner every batch uses (`batches.runner.execute_batch`).

    The tasks are `batches.design.design_tasks` (lock-step chunks across points, each
    replication carrying its point and run, so its tables get their `point` and `run` columns).
    Every finished chunk is written at once and recorded in the manifest, so Ctrl-C or SIGTERM
    (BatchInterruptedError) keeps what finished; failing chunks are recorded and raise
    ChunksFailedError once the others have run; every part is verified before the folder is
    marked `simulated` (the analysis then completes it, under the same lock).
    """
    from batches.design import design_scenarios, design_tasks
    from batches.runner import Batch, execute_batch

    tasks = design_tasks(design, int(manifest["chunk_size"]))
    batch = Batch(
        out=out, writer=writer, manifest=manifest, scenarios=design_scenarios(design),
        months=design.months, tasks=[task for task in tasks if task.part not in done],
        executor=executor, workers=workers, scheduler=scheduler, done=set(done),
        final_status="simulated",
    )  # fmt: skip
    execute_batch(batch, progress=progress)


# --- the analysis of a simulated folder ----------------------------------------------------------


def analyse_folder(folder: Path, manifest: dict[str, Any], *, plots: bool = True) -> None:
    """outcomes.parquet, indices.csv, convergence.csv (Sobol) and plots/ from its tables."""
    from functools import partial

    import pandas as pd

    from batches.sensitivity import (
        analyse,
        convergence,
        convergence_sizes,
        point_outcomes,
    )
    from results.atomic import atomic_write

    entry = manifest[ENTRY]
    params = _params(entry)
    points = pd.read_parquet(folder / DESIGN_NAME)
    metrics, events, agents = outcome_tables(folder, int(manifest["months"]), entry.get("at"))
    outcomes = point_outcomes(
        metrics, events, agents, months=entry.get("at"), runs_per_point=int(entry["runs_per_point"])
    )
    atomic_write(folder / OUTCOMES_NAME, partial(outcomes.to_parquet, index=False))
    method = entry["method"]
    seed = int(manifest["seed"])
    indices = analyse(method, params, points, outcomes, seed=seed)
    atomic_write(folder / INDICES_NAME, partial(indices.to_csv, index=False))
    if method == "sobol":
        table = convergence(
            params, points, outcomes, convergence_sizes(int(entry["samples"])), seed=seed
        )
        atomic_write(folder / CONVERGENCE_NAME, partial(table.to_csv, index=False))
    if plots:
        plot_sensitivity_folder(folder)


def outcome_tables(
    folder: Path, months: int, at: Sequence[int | str] | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rows of metrics, events and agents that `point_outcomes` reads, and only those.

    metrics at the months of `at` and the last month; events' point, run, actor, action and
    target; Armenia's agent rows with a frozen or exited status. A Sobol analysis has hundreds
    of thousands of runs, whose whole agents table would not fit in memory comfortably.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from results.compare import ARMENIA_OUT
    from results.layout import list_parts, parts_dir
    from simulation.record import METRIC_NAMES

    def read(name: str, columns: list[str], keep) -> pd.DataFrame:
        pieces = []
        for part in list_parts(parts_dir(folder, name, "parquet"), "parquet").values():
            table = pq.read_table(part, columns=columns)
            pieces.append(table.filter(keep(table)))
        if not pieces:
            raise RunFolderError(f"{folder}: no {name} table to analyse")
        return pa.concat_tables(pieces).to_pandas()

    wanted = {months - 1} | {m for m in at or () if isinstance(m, int)}
    wanted |= {months + m for m in at or () if isinstance(m, int) and m < 0}
    dates = [m for m in at or () if isinstance(m, str)]
    metrics = read(
        "metrics",
        ["point", "run", "month", "date", *METRIC_NAMES],
        lambda t: pc.or_(
            pc.is_in(t["month"], pa.array(sorted(wanted), t["month"].type)),
            pc.is_in(pc.cast(t["date"], pa.string()), pa.array(dates, pa.string())),
        ),
    )
    events = read(
        "events",
        ["point", "run", "actor", "action", "target"],
        lambda t: pc.is_valid(t["run"]),
    )
    agents = read(
        "agents",
        ["point", "run", "agent", "status"],
        lambda t: pc.and_(
            pc.equal(pc.cast(t["agent"], pa.string()), "ARM"),
            pc.is_in(pc.cast(t["status"], pa.string()), pa.array(list(ARMENIA_OUT))),
        ),
    )
    return metrics, events, agents


def _params(entry: dict[str, Any]) -> list[FreeParameter]:
    from simulation.free_parameters import FreeParameter

    return [
        FreeParameter(p["key"], float(p["low"]), float(p["high"]), p["prior"], "")
        for p in entry["parameters"]
    ]


def plot_sensitivity_folder(
    folder: str | os.PathLike[str], out: Path | None = None, svg: bool = False
) -> list[Path]:
    """(Re)draw a finished analysis' plots into `out` (default FOLDER/plots); the files."""

    from results.sensitivity_plots import save_sensitivity_plots

    folder = Path(folder)
    if not (folder / INDICES_NAME).exists():
        raise RunFolderError(
            f"{folder} has no {INDICES_NAME}: csto sensitivity --resume {folder} completes it"
        )
    indices = read_indices(folder / INDICES_NAME)
    path = folder / CONVERGENCE_NAME
    table = read_indices(path) if path.exists() else None
    return save_sensitivity_plots(out or folder / "plots", indices, table, svg=svg)


def read_indices(path: Path) -> pd.DataFrame:
    """indices.csv or convergence.csv: numbers as floats (NaN where empty), `note` as text."""
    import pandas as pd

    frame = pd.read_csv(path, dtype={"note": str, "outcome": str, "parameter": str})
    if "note" in frame.columns:
        frame["note"] = frame["note"].fillna("")
    return frame


def is_sensitivity_folder(folder: str | os.PathLike[str]) -> bool:
    """Whether `folder` holds a sensitivity analysis (its manifest has the entry)."""
    try:
        return ENTRY in read_folder_manifest(Path(folder))
    except RunFolderError:
        return False


# --- the whole analysis, new or resumed -----------------------------------------------------------


class SensitivityFolder(RunFolder):
    """A finished sensitivity folder: its design, outcomes, indices and ranking (read lazily)."""

    @cached_property
    def design(self) -> pd.DataFrame:
        import pandas as pd

        return pd.read_parquet(self.path / DESIGN_NAME)

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        import pandas as pd

        return pd.read_parquet(self.path / OUTCOMES_NAME)

    @cached_property
    def indices(self) -> pd.DataFrame:
        return read_indices(self.path / INDICES_NAME)

    @cached_property
    def convergence(self) -> pd.DataFrame | None:
        path = self.path / CONVERGENCE_NAME
        return read_indices(path) if path.exists() else None

    @property
    def ranking(self) -> dict[str, list[str]]:
        """Outcome -> parameters, most influential first."""
        from batches.sensitivity import ranking

        return ranking(self.indices)

    def plot(self, out: str | os.PathLike[str] | None = None, svg: bool = False) -> list[Path]:
        return plot_sensitivity_folder(self.path, Path(out) if out is not None else None, svg)


def run_plan(
    plan: SensitivityPlan,
    *,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    force: bool = False,
    plots: bool = True,
    progress: bool = False,
) -> SensitivityFolder:
    """Open the plan's folder, run its design, analyse it; the finished folder."""
    from batches.plan import check_executor

    check_executor(executor, scheduler)
    manifest = _new_manifest(plan, workers, executor)
    writer = _open_folder(plan, force)
    execute_design(
        plan.out, plan.design(), manifest, writer, done=set(), workers=workers,
        executor=executor, scheduler=scheduler, progress=progress,
    )  # fmt: skip
    return _complete(plan.out, manifest, writer, plots)


def _complete(out: Path, manifest: dict[str, Any], writer: Any, plots: bool) -> SensitivityFolder:
    from results.manifest import write_manifest

    started = time.perf_counter()
    analyse_folder(out, manifest, plots=plots)
    manifest["analysis_seconds"] = round(time.perf_counter() - started, 3)
    manifest["status"] = "complete"
    write_manifest(out, manifest)  # no summary.csv: per point it would say less than outcomes
    writer.finished = True
    folder = SensitivityFolder(out)
    folder.__dict__["manifest"] = manifest
    return folder


def sensitivity(
    scenario: str | os.PathLike[str],
    *,
    method: str = "morris",
    vary: Iterable[str] | dict[str, tuple[float, float] | None] = (),
    runs: int = DEFAULT_RUNS,
    trajectories: int = DEFAULT_TRAJECTORIES,
    samples: int = DEFAULT_SAMPLES,
    seed: int | None = None,
    months: int | None = None,
    at: str | Sequence[int | str] | None = None,
    crn: bool = True,
    out: str | os.PathLike[str] | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    plots: bool = True,
    force: bool = False,
    progress: bool = False,
) -> SensitivityFolder:
    """A Morris or Sobol analysis of `scenario` (as `csto sensitivity`); the finished folder.

    `vary`: keys of the parameters file ("KEY" or "KEY=LO:HI" texts, or {key: None or (lo, hi)});
    empty: all of them. `out=None`: runs/<scenario>-<method>-<UTC time>.
    """
    plan = plan_sensitivity(
        scenario, method=method, vary=_vary_texts(vary), runs=runs, trajectories=trajectories,
        samples=samples, seed=seed, months=months, at=at, crn=crn, out=out, force=force,
    )  # fmt: skip
    return run_plan(
        plan, workers=workers, executor=executor, scheduler=scheduler, force=force,
        plots=plots, progress=progress,
    )  # fmt: skip


def _vary_texts(vary: Iterable[str] | dict[str, tuple[float, float] | None]) -> list[str]:
    if isinstance(vary, str):
        return [vary]
    if isinstance(vary, dict):
        return [key if span is None else f"{key}={span[0]}:{span[1]}" for key, span in vary.items()]
    return list(vary)


def resume_sensitivity(
    folder: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    plots: bool = True,
    progress: bool = False,
) -> SensitivityFolder | None:
    """Complete a partial sensitivity folder: its missing chunks, then the analysis.

    None when it is already complete. The design, seed, runs and months come from the folder;
    RunFolderError when it is not a sensitivity folder or its scenario does not match its sha256.
    """
    import pandas as pd

    from batches.design import Design
    from batches.plan import check_executor
    from results.layout import completed_chunks
    from results.store import RunFolderWriter
    from simulation.scenario import scenario_hash
    from simulation.schema import Scenario

    check_executor(executor, scheduler)
    folder = Path(folder)
    manifest = read_folder_manifest(folder)
    if ENTRY not in manifest:
        raise RunFolderError(f"{folder}: not a sensitivity folder (its manifest has no {ENTRY!r})")
    if manifest.get("status") == "complete":
        return None
    base = Scenario.model_validate(manifest["resolved_scenario"])
    if scenario_hash(base) != manifest["scenario_sha256"]:
        raise RunFolderError(f"{folder}: the manifest's scenario does not match its sha256")
    if not (folder / DESIGN_NAME).exists():
        raise RunFolderError(f"{folder}: no {DESIGN_NAME}; start the analysis again")
    entry = manifest[ENTRY]
    design = Design(
        scenario=base,
        points=pd.read_parquet(folder / DESIGN_NAME),
        runs=int(entry["runs_per_point"]),
        seed=int(manifest["seed"]),
        months=int(manifest["months"]),
        crn=bool(entry["crn"]),
    )
    writer = RunFolderWriter.reopen(folder, "parquet", tables=TABLES)
    done = completed_chunks(folder, TABLES)
    manifest.setdefault("resumed", []).append({"at": utc_now().isoformat(timespec="seconds")})
    manifest.update(executor=executor, workers=workers)
    execute_design(
        folder, design, manifest, writer, done=done, workers=workers, executor=executor,
        scheduler=scheduler, progress=progress,
    )  # fmt: skip
    return _complete(folder, manifest, writer, plots)
