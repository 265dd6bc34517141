"""The `csto` command: run scenarios, list, show and validate them, check the 2022 history.

This module holds the click commands: they parse options, call the library and map its errors
to messages and exit codes. Executing a batch into a run folder (manifest, failures, resume,
interrupts) is `simulation.runner`; the text printed after a run, the compare tables and the
history table are `results.report`; writing and reopening a compare folder is
`results.compare_folder`; the plots of a finished run or sweep folder are `results.folder_plots`.

Start-up time matters for the small commands (`csto --help`, `scenarios`, `show`, `validate`), so
this module imports only click, the standard library and the light `simulation.runner` and
`results.report` at the top; the model, numpy, pandas and matplotlib are imported inside the
commands that need them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from results.report import format_compare, history_table, run_report
from simulation.runner import (
    FAILURES_NAME,
    BatchInterruptedError,
    ChunksFailedError,
    ExecutorError,
    RunFolderError,
    base_manifest,
    execute_batch,
    failure_lines,
    prepare_resume,
    progress_bar,
    read_folder_manifest,
    run_tasks,
    sigterm_interrupts,
    sweep_record,
    total_runs,
    utc_now,
    write_points,
)

if TYPE_CHECKING:
    from simulation.schema import Scenario

__all__ = ["DEFAULT_RUNS", "DEFAULT_SEED", "CliError", "main", "progress_bar"]

DEFAULT_SEED = 20221211
"""The seed used when --seed is not given (the date of the 2022 summit in Yerevan's aftermath)."""

DEFAULT_RUNS = 1000
RUNS_DIR = "runs"

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliError(click.ClickException):
    """An error the user can fix: printed as one line `error: <message>` on stderr, exit 2."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


@contextmanager
def scenario_errors() -> Iterator[None]:
    """Turn a ScenarioError (and a bad --set) raised inside the block into a CliError."""
    from simulation.scenario import ScenarioError

    try:
        yield
    except ScenarioError as error:
        raise CliError(str(error)) from None


@contextmanager
def batch_errors() -> Iterator[None]:
    """Report how a batch (`simulation.runner.execute_batch`) stopped short, and exit.

    Interrupted: exit 130; failed chunks: listed, exit 1; a broken Dask executor: exit 1.
    """
    try:
        yield
    except BatchInterruptedError as stop:
        click.echo(
            f"interrupted: {stop.runs_completed:,} of {stop.total:,} runs written; "
            f"partial run folder {stop.out} (csto run --resume {stop.out} completes it)",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except ChunksFailedError as failed:
        out = failed.out
        lines = [
            f"{len(failed.failures)} of {failed.tasks} chunks failed; partial run folder {out}:"
        ]
        lines += failure_lines(failed.failures)
        lines.append(f"details in {out / FAILURES_NAME}; csto run --resume {out} reruns them")
        click.echo("\n".join(lines), err=True)
        raise click.exceptions.Exit(EXIT_FAILED) from None
    except ExecutorError as error:
        raise CliError(str(error), exit_code=EXIT_FAILED) from None


def shipped_scenario_files() -> dict[str, Path]:
    """Shipped scenario names and files, without importing the model (fast)."""
    from importlib import resources

    folder = Path(str(resources.files("scenarios")))
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def drop_none(value: Any) -> Any:
    """`value` without the None entries of its tables and arrays (TOML has no null)."""
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value if v is not None]
    return value


def load(scenario: str, overrides: tuple[str, ...] = (), months: int | None = None) -> Scenario:
    """load_scenario with CLI error handling."""
    with scenario_errors():
        from simulation.scenario import load_scenario

        return load_scenario(scenario, list(overrides), months)


def scenario_file(scenario: str) -> str:
    """The absolute path of the file a scenario name or path refers to."""
    with scenario_errors():
        from simulation.scenario import resolve_path

        return str(resolve_path(scenario).resolve())


# --- options shared by commands --------------------------------------------------------------

runs_option = click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=DEFAULT_RUNS,
    show_default=True,
    help="Number of replications.",
)
seed_option = click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Seed of the batch; the same seed gives the same tables for any --workers.",
)
workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes.",
)
set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a scenario key (dotted path), e.g. agents.BLR.beta_loyalty=2.0. Repeatable.",
)


def months_option(help_text: str):
    return click.option("--months", type=click.IntRange(min=1), default=None, help=help_text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="csto", prog_name="csto")
def main() -> None:
    """Scenario simulation of CSTO alliance politics (five Mesa country agents)."""


# --- csto run --------------------------------------------------------------------------------


def default_out(name: str, now: dt.datetime) -> Path:
    return Path(RUNS_DIR) / f"{name}-{now.strftime('%Y%m%d-%H%M%S')}"


executor_option = click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: a process pool of --workers (serial for one chunk or one worker); "
    "dask: dask.distributed (--scheduler, or a LocalCluster of --workers processes).",
)
scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Address of a Dask scheduler, e.g. tcp://HOST:8786 (with --executor dask).",
)
out_option = click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder to write (default: runs/<scenario>-<UTC timestamp>).",
)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="Format of the tables.",
)
no_plots_option = click.option("--no-plots", is_flag=True, help="Do not draw plots/*.png.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
force_option = click.option("--force", is_flag=True, help="Replace an existing --out folder.")


def check_executor(executor: str, scheduler: str | None) -> None:
    if scheduler and executor != "dask":
        raise CliError("--scheduler needs --executor dask")
    if executor == "dask":
        from importlib.util import find_spec

        if find_spec("distributed") is None:
            raise CliError('--executor dask needs dask.distributed: pip install "csto[dask]"')


def open_writer(out: Path, fmt: str, force: bool):
    from results.store import RunFolderWriter

    try:
        return RunFolderWriter(out, fmt, force=force)
    except FileExistsError:
        raise CliError(f"{out} already exists; choose another --out or add --force") from None
    except OSError as error:
        raise CliError(f"{out}: cannot create the run folder: {error.strerror}") from None


RESUME_FIXED = ("scenario", "runs", "months", "seed", "overrides", "out", "fmt", "force")


def resume_batch(
    ctx: click.Context,
    folder: Path,
    *,
    executor: str,
    workers: int,
    scheduler: str | None,
    no_plots: bool,
    quiet: bool,
) -> None:
    """Run exactly the chunks missing from `folder`, with the manifest's scenario and seed."""
    from click.core import ParameterSource

    given = [
        name
        for name in RESUME_FIXED
        if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)
    ]
    if given:
        options = ", ".join("SCENARIO" if n == "scenario" else n for n in given)
        raise CliError(f"--resume takes the batch from the folder's manifest; drop {options}")
    try:
        manifest = read_folder_manifest(folder)
        if manifest.get("status") == "complete":
            click.echo(f"{folder} is complete; nothing to resume")
            return
        with scenario_errors():
            plan = prepare_resume(folder, manifest, executor=executor, workers=workers)
    except RunFolderError as error:
        raise CliError(str(error)) from None
    if not quiet:
        click.echo(
            f"{manifest['scenario']}: resuming {folder}: {len(plan.missing)} of {len(plan.tasks)} "
            f"chunks to run ({plan.missing_runs:,} runs)"
        )
    run_and_report(
        folder, plan.writer, manifest, plan.scenarios, plan.months, plan.missing,
        executor=executor, workers=workers, scheduler=scheduler, quiet=quiet, no_plots=no_plots,
        done_parts=plan.done,
    )  # fmt: skip


def run_and_report(
    out: Path,
    writer: Any,
    manifest: dict[str, Any],
    scenarios: dict[Any, Any],
    months: int,
    tasks: list[Any],
    *,
    executor: str,
    workers: int,
    scheduler: str | None,
    quiet: bool,
    no_plots: bool,
    done_parts: set[int] | None = None,
) -> None:
    """Run the tasks into the folder (batch errors become exit codes), then plots and report."""
    with batch_errors():
        execute_batch(
            out, writer, manifest, scenarios, months, tasks, executor=executor, workers=workers,
            scheduler=scheduler, quiet=quiet, done_parts=done_parts,
        )  # fmt: skip
    finish_report(out, manifest, no_plots, quiet)


def finish_report(out: Path, manifest: dict[str, Any], no_plots: bool, quiet: bool) -> None:
    """Draw the finished folder's plots (unless --no-plots) and print its report (unless -q)."""
    if not no_plots:
        from results.folder_plots import save_folder_plots

        save_folder_plots(out, manifest)
    if not quiet:
        click.echo(
            run_report(out, total_runs(manifest), manifest["wall_seconds"], plots=not no_plots)
        )


@main.command()
@click.argument("scenario", required=False)
@runs_option
@months_option("Months to simulate (default: the scenario's `months`).")
@seed_option
@set_option
@out_option
@format_option
@no_plots_option
@quiet_option
@workers_option
@executor_option
@scheduler_option
@force_option
@click.option(
    "--resume",
    "resume",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="RUN_DIR",
    help="Complete an interrupted or failed run (or sweep) folder: run exactly its missing chunks.",
)
@click.pass_context
def run(
    ctx: click.Context,
    scenario: str | None,
    runs: int,
    months: int | None,
    seed: int,
    overrides: tuple[str, ...],
    out: Path | None,
    fmt: str,
    no_plots: bool,
    quiet: bool,
    workers: int,
    executor: str,
    scheduler: str | None,
    force: bool,
    resume: Path | None,
) -> None:
    """Run SCENARIO (a shipped name or a .toml path) and write a run folder.

    With --resume RUN_DIR, complete that folder instead: the scenario, seed, runs, months and
    format come from its manifest, and the finished tables equal an uninterrupted run's.
    """
    check_executor(executor, scheduler)
    if resume is not None:
        resume_batch(
            ctx,
            resume,
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            no_plots=no_plots,
            quiet=quiet,
        )
        return
    if scenario is None:
        raise CliError("missing SCENARIO (a scenario name or .toml file), or --resume RUN_DIR")
    created = utc_now()
    spec = load(scenario, overrides, months)
    path = scenario_file(scenario)
    months = months if months is not None else spec.months
    out = out if out is not None else default_out(spec.name, created)

    tasks = run_tasks(runs, seed)
    manifest = base_manifest(
        spec, path, seed=seed, runs=runs, months=months, workers=workers, fmt=fmt, created=created
    )
    manifest["executor"] = executor
    writer = open_writer(out, fmt, force)

    if not quiet:
        where = f"dask {scheduler or 'LocalCluster'}" if executor == "dask" else "local"
        click.echo(
            f"{spec.name}: {runs:,} runs x {months} months from {spec.start}, seed {seed}, "
            f"{workers} worker{'s' if workers > 1 else ''} ({where}) -> {out}"
        )
    run_and_report(
        out, writer, manifest, {None: spec}, months, tasks,
        executor=executor, workers=workers, scheduler=scheduler, quiet=quiet, no_plots=no_plots,
    )  # fmt: skip


# --- csto sweep ------------------------------------------------------------------------------


@main.command()
@click.argument("target", metavar="SCENARIO|SWEEP")
@click.option(
    "--vary",
    multiple=True,
    metavar="KEY=LO:HI[:N]",
    help="Vary a numeric scenario key over [LO, HI] (N values on a grid, default 5). Repeatable.",
)
@click.option(
    "--design",
    type=click.Choice(["grid", "lhs"]),
    default=None,
    help="grid: every combination of the values (default); lhs: a Latin hypercube of --points.",
)
@click.option(
    "--points",
    type=click.IntRange(min=1),
    default=None,
    help="Points of an lhs design (default 10).",
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=None,
    help=f"Replications per point (default {DEFAULT_RUNS}, or the sweep file's).",
)
@months_option("Months to simulate (default: the sweep file's or the scenario's).")
@click.option("--seed", type=int, default=None, help=f"Seed of the sweep (default {DEFAULT_SEED}).")
@set_option
@out_option
@format_option
@no_plots_option
@quiet_option
@workers_option
@executor_option
@scheduler_option
@force_option
@click.pass_context
def sweep(
    ctx: click.Context,
    target: str,
    vary: tuple[str, ...],
    design: str | None,
    points: int | None,
    runs: int | None,
    months: int | None,
    seed: int | None,
    overrides: tuple[str, ...],
    out: Path | None,
    fmt: str,
    no_plots: bool,
    quiet: bool,
    workers: int,
    executor: str,
    scheduler: str | None,
    force: bool,
) -> None:
    """A parameter sweep of SCENARIO with --vary, or of a sweep file (scenarios/sweeps/*.toml).

    \b
    Cost: points x runs replications. A grid of K keys with N values each has N^K points:
    --vary a=0:1:5 --vary b=0:1:5 --runs 1000 is 25 x 1,000 = 25,000 replications (about 25
    times `csto run`); an lhs design has --points points. The cost is printed before it starts.

    \b
    Examples:
      csto sweep history-2022 --vary world.overstretch=0:0.6:4 --runs 200
      csto sweep baseline --vary agents.BLR.beta_loyalty=0.5:3 --design lhs --points 8
      csto sweep overstretch            (scenarios/sweeps/overstretch.toml)

    One run folder: points.parquet (point and a column per varied key), and a `point` column
    in every table. Resume an interrupted sweep with `csto run --resume RUN_DIR`.
    """
    from simulation.scenario import ScenarioError, parse_override
    from simulation.sweep import (
        SweepSpec,
        design_points,
        find_sweep_file,
        integer_keys,
        load_sweep_file,
        parse_vary,
        point_scenarios,
        sweep_tasks,
    )

    check_executor(executor, scheduler)
    created = utc_now()
    with scenario_errors():
        if vary:
            spec = SweepSpec(scenario=target, vary=[parse_vary(v) for v in vary])
        else:
            path = find_sweep_file(target)
            if path is None:
                raise CliError(
                    f"{target!r} is not a sweep file; give a scenario with --vary KEY=LO:HI[:N], "
                    "or a sweep name or .toml file (scenarios/sweeps/)"
                )
            spec = load_sweep_file(path)
        design = design or spec.design
        points = points if points is not None else spec.points
        if design == "grid" and points is not None:
            raise CliError("--points is for --design lhs; a grid has N values per --vary")
        if design == "lhs" and any(v.n is not None for v in spec.vary):
            raise CliError("an lhs design takes KEY=LO:HI ranges without N; use --points")
        runs = runs or spec.runs or DEFAULT_RUNS
        seed = seed if seed is not None else (spec.seed if spec.seed is not None else DEFAULT_SEED)
        fixed = dict(spec.overrides)
        fixed.update(parse_override(text) for text in overrides)
        base = load(spec.scenario, (), None) if not fixed else None
        if base is None:
            from simulation.scenario import load_scenario

            base = load_scenario(spec.scenario, fixed, None)
        months = months or spec.months or base.months
        try:
            values = design_points(
                spec.vary, design, points, seed, integer_keys(base, spec.vary, spec.source)
            )
        except ValueError as error:
            if isinstance(error, ScenarioError):
                raise
            raise CliError(f"{spec.source}: {error}") from None
        scenarios = point_scenarios(base, values, months)
        base = point_scenarios(base, [{}], months)[0]
    tasks = sweep_tasks(len(values), runs, seed)
    out = out if out is not None else default_out(f"{base.name}-sweep", created)
    manifest = base_manifest(
        base,
        scenario_file(spec.scenario),
        seed=seed,
        runs=runs,
        months=months,
        workers=workers,
        fmt=fmt,
        created=created,
    )
    manifest["executor"] = executor
    manifest["total_runs"] = runs * len(values)
    manifest["sweep"] = sweep_record(spec, design, values, scenarios)
    writer = open_writer(out, fmt, force)
    write_points(out, values)
    if not quiet:
        click.echo(
            f"{base.name} sweep ({design}): {len(values)} points x {runs:,} runs = "
            f"{runs * len(values):,} replications x {months} months, seed {seed} -> {out}"
        )
    run_and_report(
        out, writer, manifest, dict(scenarios), months, tasks,
        executor=executor, workers=workers, scheduler=scheduler, quiet=quiet, no_plots=no_plots,
    )  # fmt: skip


# --- csto compare / plot ------------------------------------------------------------------------


@main.command()
@click.argument("reference", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("others", nargs=-1, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--months",
    "months_text",
    metavar="M,...",
    default=None,
    help="Months to tabulate: numbers from 0 or YYYY-MM dates (default: the last).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for compare.csv, outcomes.csv and plots/ (default: runs/compare-<UTC time>).",
)
@click.option(
    "--reference-point",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="For a sweep folder: the point the others are compared with.",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Bootstrap seed.")
@click.option("--svg", is_flag=True, help="Also write the plots as SVG.")
@no_plots_option
@quiet_option
@force_option
def compare(
    reference: Path,
    others: tuple[Path, ...],
    months_text: str | None,
    out: Path | None,
    reference_point: int,
    seed: int,
    svg: bool,
    no_plots: bool,
    quiet: bool,
    force: bool,
) -> None:
    """Compare finished runs with REFERENCE: each metric's difference with a 95% bootstrap CI.

    \b
    Give run folders (csto run), the first the reference, or one sweep folder (csto sweep),
    whose points are compared with --reference-point. Writes compare.csv (scenario, metric,
    month, mean, diff, ci_low, ci_high), outcomes.csv (scenario, outcome, probability, ci_low,
    ci_high) and plots/, and prints both tables.
    """
    from results.compare_folder import CompareFolderError, open_inputs, write_compare_folder

    try:
        inputs, months = open_inputs(reference, others, reference_point, months_text)
    except CompareFolderError as error:
        raise CliError(str(error)) from None
    if len(inputs.groups) < 2:
        raise CliError("give at least two run folders, or one sweep folder with two points")
    for warning in inputs.warnings:
        click.echo(f"warning: {warning}", err=True)
    out = out if out is not None else Path(RUNS_DIR) / f"compare-{utc_now():%Y%m%d-%H%M%S}"
    if out.exists() and not force:
        raise CliError(f"{out} already exists; choose another --out or add --force")
    table, outcomes = write_compare_folder(
        out,
        inputs,
        months,
        seed=seed,
        reference_point=reference_point,
        plots=not no_plots,
        svg=svg,
        quiet=quiet,
    )
    if not quiet:
        click.echo(format_compare(table, outcomes, inputs.kind, inputs.dates))
        click.echo(f"\nwritten: {out / 'compare.csv'} (every metric), {out / 'outcomes.csv'}")
        if not no_plots:
            click.echo(f"plots: {out / 'plots'}")


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the plots (default: FOLDER/plots).",
)
@click.option("--svg", is_flag=True, help="Also write SVG files.")
def plot(folder: Path, out: Path | None, svg: bool) -> None:
    """Regenerate the plots of a run, sweep or compare folder."""
    from results.compare_folder import CompareFolderError, is_compare_folder, redraw_compare_plots
    from results.folder_plots import save_folder_plots
    from results.manifest import read_manifest

    out = out if out is not None else folder / "plots"
    if is_compare_folder(folder):
        try:
            paths = redraw_compare_plots(folder, out, svg)
        except CompareFolderError as error:
            raise CliError(str(error)) from None
    else:
        try:
            manifest = read_manifest(folder)
        except FileNotFoundError:
            raise CliError(f"{folder}: no manifest.json or compare.json") from None
        if not (folder / "summary.csv").exists():
            raise CliError(f"{folder} is unfinished (no summary.csv); csto run --resume it first")
        paths = save_folder_plots(folder, manifest, out, svg)
    for path in paths:
        click.echo(str(path))


# --- csto scenarios / show / validate --------------------------------------------------------


@main.command()
def scenarios() -> None:
    """List the shipped scenarios with their one-line descriptions."""
    files = shipped_scenario_files()
    rows = []
    for name, path in files.items():
        try:
            with open(path, "rb") as handle:
                description = tomllib.load(handle).get("description", "")
        except (OSError, tomllib.TOMLDecodeError) as error:
            description = f"(unreadable: {error})"
        rows.append((name, str(description).strip().splitlines()[0] if description else ""))
    width = max((len(name) for name, _ in rows), default=0)
    for name, description in rows:
        click.echo(f"{name:<{width}}  {description}".rstrip())


@main.command()
@click.argument("scenario")
@set_option
@months_option("Horizon to check the shocks against (and to print as `months`).")
def show(scenario: str, overrides: tuple[str, ...], months: int | None) -> None:
    """Print SCENARIO fully resolved (after `extends` and --set) as TOML."""
    import tomli_w

    from simulation.scenario import resolved_dict, scenario_hash

    spec = load(scenario, overrides, months)
    data = drop_none(resolved_dict(spec))
    if months is not None:
        data["months"] = months
    click.echo(f"# {spec.name}: resolved from {scenario_file(scenario)}")
    click.echo(f"# sha256 {scenario_hash(spec)}")
    click.echo(tomli_w.dumps(data), nl=False)


@main.command()
@click.argument("files", nargs=-1, required=True)
def validate(files: tuple[str, ...]) -> None:
    """Check scenario (or sweep) FILES; exit 0 when all are valid, 2 otherwise."""
    from simulation.scenario import ScenarioError, load_scenario
    from simulation.sweep import check_sweep_file, is_sweep_file

    failed = 0
    for name in files:
        try:
            if is_sweep_file(Path(name)):
                points = check_sweep_file(Path(name))
                note = f"  (sweep, {points} points)"
            else:
                load_scenario(name)
                note = ""
        except ScenarioError as error:
            failed += 1
            click.echo(f"error: {error}", err=True)
        else:
            click.echo(f"ok  {name}{note}")
    if failed:
        raise click.exceptions.Exit(EXIT_USAGE)


# --- csto history ----------------------------------------------------------------------------


@main.command()
@runs_option
@seed_option
@workers_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def history(runs: int, seed: int, workers: int, as_json: bool) -> None:
    """The 2022 in-sample check: each 2022 event's simulated probability in its window."""
    try:
        from simulation.history import check_history
    except ImportError as error:
        if error.name not in ("simulation.history", None):
            raise
        raise CliError(
            "the history check (simulation.history) is not available in this installation",
            exit_code=1,
        ) from None
    with scenario_errors():
        rows = check_history(runs=runs, seed=seed, workers=workers)
    if as_json:
        keys = ("event", "window", "probability", "target", "met")
        data = [{k: row[k] for k in keys if k in row} for row in rows]
        for item in data:
            item["probability"] = float(item["probability"])
            if "met" in item:
                item["met"] = bool(item["met"])
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(history_table(rows))


@main.command()
@click.argument("scenario", default="history-2022")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--runs",
    default=300,
    show_default=True,
    type=click.Choice(["100", "300", "500"]),
    help="Replications per ensemble at start (the page can change it).",
)
@click.option(
    "--save-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder where 'Save as scenario' writes.",
)
def dashboard(scenario: str, host: str, port: int, runs: str, save_dir: str) -> None:
    """The interactive page: tweak a scenario and watch the ensemble move (Solara)."""
    from dashboard.server import DashboardUnavailable, port_is_free, serve

    load(scenario)
    if not port_is_free(host, port):
        raise CliError(f"--port: {host}:{port} is in use; choose another with --port")
    with sigterm_interrupts():
        try:
            code = serve(scenario, host, port, save_dir, int(runs), echo=click.echo)
        except DashboardUnavailable as error:
            raise CliError(str(error), exit_code=1) from None
    if code not in (0, 130):
        raise CliError(f"the dashboard server stopped with exit code {code}", exit_code=1)


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]) or "csto")
