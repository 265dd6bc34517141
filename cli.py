"""The `csto` command: run scenarios, list, show and validate them, check the 2022 history.

This module holds the click commands: they parse options, call `batches` (which plans, runs,
resumes and compares batches) and `results.report` (the text printed), map the exceptions of
`batches.errors` and `ScenarioError` to messages and exit codes, and print. It holds no
orchestration of its own.

Start-up time matters for the small commands (`csto --help`, `scenarios`, `show`, `validate`), so
this module imports only click, the standard library and the light `batches.errors`,
`batches.plan` and `results.report` at the top; the model, numpy, pandas and matplotlib are
imported inside the commands that need them.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from batches.errors import (
    BatchError,
    BatchInterruptedError,
    ChunksFailedError,
    DamagedPartsError,
    ExecutorError,
    StorageError,
    failure_lines,
)
from batches.plan import DEFAULT_RUNS, DEFAULT_SEED, RUNS_DIR, TABLE_CHOICES
from results.report import format_compare, history_table, report_warnings, run_report

if TYPE_CHECKING:
    from batches.runner import Batch
    from simulation.schema import Scenario

__all__ = ["DEFAULT_RUNS", "DEFAULT_SEED", "CliError", "main"]

FAILURES_NAME = "failures.json"
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


def _raised(error: BaseException, module_name: str, class_name: str) -> bool:
    """Whether `error` is module_name.class_name, checked without importing that module (a
    module not yet imported cannot have raised it)."""
    module = sys.modules.get(module_name)
    return module is not None and isinstance(error, getattr(module, class_name))


def _is_scenario_error(error: BaseException) -> bool:
    """Whether `error` is a ScenarioError (checked without importing the scenario module)."""
    return _raised(error, "simulation.scenario", "ScenarioError")


def _is_folder_error(error: BaseException) -> bool:
    """A damaged folder file (DamagedFolderError) or a folder that cannot be locked."""
    return _raised(error, "results.layout", "DamagedFolderError") or _raised(
        error, "results.lock", "FolderLockError"
    )


@contextmanager
def cli_errors() -> Iterator[None]:
    """Map what stops a command to a message and an exit code.

    A bad scenario, option or folder, a damaged folder, a folder another process holds: one
    line, exit 2. Interrupted: exit 130. Failed chunks: listed, exit 1. A broken Dask executor,
    a full disk or read-only folder, parts that fail verification: exit 1.
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
    except (ExecutorError, StorageError, DamagedPartsError) as error:
        raise CliError(str(error), exit_code=EXIT_FAILED) from None
    except BatchError as error:
        raise CliError(str(error)) from None
    except Exception as error:
        if _is_scenario_error(error) or _is_folder_error(error):
            raise CliError(str(error)) from None
        raise


def warn_line(message: str) -> None:
    """Print a warning line on stderr."""
    click.echo(f"warning: {message}", err=True)


def note_line(message: str) -> None:
    """Print a note on stderr (a stale lock taken over, a damaged part run again)."""
    click.echo(f"note: {message}", err=True)


def lock_note(batch: Batch) -> None:
    """Say so when the batch's writer took over a stale lock of its folder."""
    lock = getattr(batch.writer, "lock", None)
    if lock is not None and lock.note:
        note_line(f"{batch.out}: {lock.note}")


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
    with cli_errors():
        from simulation.scenario import load_scenario

        return load_scenario(scenario, list(overrides), months)


def scenario_file(scenario: str) -> str:
    """The absolute path of the file a scenario name or path refers to."""
    with cli_errors():
        from batches.plan import scenario_file as resolved

        return resolved(scenario)


@contextmanager
def one_line_usage() -> Iterator[None]:
    """A click usage error (a bad or unknown option, a missing argument) as one `error:` line."""
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # `csto` alone: the help
    except click.UsageError as error:
        raise CliError(error.format_message()) from None


class OneLineGroup(click.Group):
    """The `csto` group: usage errors of the group and its commands are one line, exit 2."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with one_line_usage():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_usage():
            return super().invoke(ctx)


# --- options shared by commands --------------------------------------------------------------

runs_option = click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=DEFAULT_RUNS,
    show_default=True,
    help="Number of replications.",
)
SEED_TYPE = click.IntRange(min=0)
"""A seed is a non-negative integer (numpy's SeedSequence takes no negative entropy)."""
seed_option = click.option(
    "--seed",
    type=SEED_TYPE,
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


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="csto", prog_name="csto")
def main() -> None:
    """Scenario simulation of CSTO alliance politics (five Mesa country agents)."""


# --- csto run --------------------------------------------------------------------------------


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
tables_option = click.option(
    "--tables",
    metavar="NAME,...",
    default=None,
    help=f"Tables to write, of {','.join(TABLE_CHOICES)} (default: all). metrics is always "
    "written: summary.csv and the plots are made from it.",
)
relations_every_option = click.option(
    "--relations-every",
    type=click.IntRange(min=1),
    default=None,
    metavar="K",
    help="Keep relation rows only for months m with m % K == 0, and the last month.",
)
no_plots_option = click.option("--no-plots", is_flag=True, help="Do not draw plots/*.png.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
force_option = click.option("--force", is_flag=True, help="Replace an existing --out folder.")
yes_option = click.option(
    "--yes",
    is_flag=True,
    help="Run even when the estimated cost is beyond the limits (2 h, 50 GB, the free disk).",
)
posterior_option = click.option(
    "--posterior",
    metavar="CALIB_DIR",
    default=None,
    help="Draw each replication's calibrated parameters from this calibration's posterior "
    "(a csto calibrate folder, or 'shipped').",
)
runs_per_draw_option = click.option(
    "--runs-per-draw",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="With --posterior: N consecutive runs share each draw, so that compare can average "
    "the chance out of each draw's effect (its draws_low, draws_high columns).",
)


RESUME_FIXED = (
    "scenario", "runs", "months", "seed", "overrides", "out", "fmt", "tables", "relations_every",
    "force", "posterior", "runs_per_draw",
)  # fmt: skip


def check_resume_options(ctx: click.Context) -> None:
    """--resume takes the batch from the folder's manifest: refuse the options that set it."""
    from click.core import ParameterSource

    given = [
        name
        for name in RESUME_FIXED
        if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)
    ]
    if given:
        options = ", ".join("SCENARIO" if n == "scenario" else n for n in given)
        raise CliError(f"--resume takes the batch from the folder's manifest; drop {options}")


def run_and_print(batch: Batch, *, no_plots: bool, quiet: bool) -> None:
    """Execute the planned batch (batches.runner.finish_batch), then print its report."""
    from batches.runner import finish_batch

    finish_batch(batch, plots=not no_plots, progress=not quiet, warn=warn_line)
    if not quiet:
        for line in report_warnings(batch.out):
            warn_line(line)
        manifest = batch.manifest
        click.echo(
            run_report(batch.out, batch.total_runs, manifest["wall_seconds"], plots=not no_plots)
        )


@main.command()
@click.argument("scenario", required=False)
@runs_option
@months_option("Months to simulate (default: the scenario's `months`).")
@seed_option
@set_option
@out_option
@format_option
@tables_option
@relations_every_option
@no_plots_option
@quiet_option
@workers_option
@executor_option
@scheduler_option
@force_option
@yes_option
@posterior_option
@runs_per_draw_option
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
    tables: str | None,
    relations_every: int | None,
    no_plots: bool,
    quiet: bool,
    workers: int,
    executor: str,
    scheduler: str | None,
    force: bool,
    yes: bool,
    posterior: str | None,
    runs_per_draw: int,
    resume: Path | None,
) -> None:
    """Run SCENARIO (a shipped name or a .toml path) and write a run folder.

    With --resume RUN_DIR, complete that folder instead: the scenario, seed, runs, months,
    format and tables come from its manifest, and the finished tables equal an uninterrupted
    run's.
    """
    from batches.plan import check_executor, prepare_resume, prepare_run

    with cli_errors():
        check_executor(executor, scheduler)
        if resume is not None:
            check_resume_options(ctx)
            batch = prepare_resume(
                resume, executor=executor, workers=workers, scheduler=scheduler, notes=note_line
            )
            if batch is None:
                click.echo(f"{resume} is complete; nothing to resume")
                return
            if not quiet:
                click.echo(
                    f"{batch.manifest['scenario']}: resuming {resume}: {len(batch.tasks)} of "
                    f"{len(batch.tasks) + len(batch.done)} chunks to run "
                    f"({batch.runs_to_run:,} runs)"
                )
        else:
            if scenario is None:
                raise CliError(
                    "missing SCENARIO (a scenario name or .toml file), or --resume RUN_DIR"
                )
            batch = prepare_run(
                scenario, runs=runs, months=months, seed=seed, overrides=overrides, out=out,
                workers=workers, executor=executor, scheduler=scheduler, fmt=fmt, tables=tables,
                relations_every=relations_every, force=force, yes=yes, posterior=posterior,
                runs_per_draw=runs_per_draw,
            )  # fmt: skip
            if not quiet:
                spec = batch.scenarios[None]
                where = f"dask {scheduler or 'LocalCluster'}" if executor == "dask" else "local"
                click.echo(
                    f"{spec.name}: {runs:,} runs x {batch.months} months from {spec.start}, "
                    f"seed {seed}, {workers} worker{'s' if workers > 1 else ''} ({where}) "
                    f"-> {batch.out}\n  estimated: {batch.cost.describe()}"
                )
        lock_note(batch)
        run_and_print(batch, no_plots=no_plots, quiet=quiet)


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
@click.option(
    "--seed", type=SEED_TYPE, default=None, help=f"Seed of the sweep (default {DEFAULT_SEED})."
)
@click.option(
    "--crn/--no-crn",
    default=True,
    help="Common random numbers: run k of every point sees the same random numbers (default).",
)
@set_option
@out_option
@format_option
@tables_option
@relations_every_option
@no_plots_option
@quiet_option
@workers_option
@executor_option
@scheduler_option
@force_option
@yes_option
@posterior_option
@runs_per_draw_option
def sweep(
    target: str,
    vary: tuple[str, ...],
    design: str | None,
    points: int | None,
    runs: int | None,
    months: int | None,
    seed: int | None,
    crn: bool,
    overrides: tuple[str, ...],
    out: Path | None,
    fmt: str,
    tables: str | None,
    relations_every: int | None,
    no_plots: bool,
    quiet: bool,
    workers: int,
    executor: str,
    scheduler: str | None,
    force: bool,
    yes: bool,
    posterior: str | None,
    runs_per_draw: int,
) -> None:
    """A parameter sweep of SCENARIO with --vary, or of a sweep file (scenarios/sweeps/*.toml).

    \b
    Cost: points x runs replications. A grid of K keys with N values each has N^K points:
    --vary a=0:1:5 --vary b=0:1:5 --runs 1000 is 25 x 1,000 = 25,000 replications (about 25
    times `csto run`); an lhs design has --points points. The cost (time and disk) is
    estimated and printed before it starts; beyond 2 h or 50 GB it needs --yes.

    \b
    Examples:
      csto sweep history-2022 --vary world.overstretch=0:0.6:4 --runs 200
      csto sweep baseline --vary agents.BLR.beta_loyalty=0.5:3 --design lhs --points 8
      csto sweep overstretch            (scenarios/sweeps/overstretch.toml)

    One run folder: points.parquet (point and a column per varied key), and a `point` column
    in every table. The points run as one batch of lock-step chunks across points. Resume an
    interrupted sweep with `csto run --resume RUN_DIR`.
    """
    from batches.plan import check_executor, prepare_sweep

    with cli_errors():
        check_executor(executor, scheduler)
        batch = prepare_sweep(
            target, vary=vary, design=design, points=points, runs=runs, months=months,
            seed=seed, overrides=overrides, out=out, workers=workers, executor=executor,
            scheduler=scheduler, fmt=fmt, tables=tables, relations_every=relations_every,
            force=force, crn=crn, yes=yes, posterior=posterior, runs_per_draw=runs_per_draw,
        )  # fmt: skip
        if not quiet:
            manifest = batch.manifest
            n_points = len(manifest["sweep"]["points"])
            click.echo(
                f"{manifest['scenario']} sweep ({manifest['sweep']['design']}): {n_points} "
                f"points x {manifest['runs']:,} runs = {batch.total_runs:,} replications x "
                f"{batch.months} months, seed {manifest['seed']} -> {batch.out}\n"
                f"  estimated: {batch.cost.describe()}"
            )
        lock_note(batch)
        run_and_print(batch, no_plots=no_plots, quiet=quiet)


# --- csto sensitivity ---------------------------------------------------------------------------


SENSITIVITY_FIXED = (
    "scenario", "method", "vary", "runs", "trajectories", "samples", "seed", "months", "at",
    "crn", "out", "force",
)  # fmt: skip
"""The options --resume takes from the folder instead."""


@main.command()
@click.argument("scenario", required=False)
@click.option(
    "--method",
    type=click.Choice(["morris", "sobol"]),
    default="morris",
    show_default=True,
    help="morris: elementary-effects screening; sobol: first-order and total indices.",
)
@click.option(
    "--vary",
    multiple=True,
    metavar="KEY[=LO:HI]",
    help="Analyse this parameter of scenarios/sensitivity/parameters.toml (a range overrides "
    "the file's; a key not in the file needs one). Repeatable; default: every parameter.",
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Replications per design point.",
)
@click.option(
    "--trajectories",
    type=click.IntRange(min=2),
    default=20,
    show_default=True,
    help="Morris trajectories (points: trajectories x (parameters + 1)).",
)
@click.option(
    "--samples",
    type=click.IntRange(min=2),
    default=512,
    show_default=True,
    help="Sobol base sample N, a power of 2 (points: N x (parameters + 2)).",
)
@click.option(
    "--seed", type=int, default=None, help=f"Seed of the design and runs (default {DEFAULT_SEED})."
)
@months_option("Months to simulate (default: the scenario's `months`).")
@click.option(
    "--at",
    metavar="M,...",
    default=None,
    help="Months at which cohesion and its components are outcomes: numbers from 0 or YYYY-MM "
    "dates (default: the last month).",
)
@click.option(
    "--crn/--no-crn",
    default=True,
    show_default=True,
    help="Common random numbers: run k of every point draws the same numbers.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder to write (default: runs/<scenario>-<method>-<UTC timestamp>).",
)
@no_plots_option
@quiet_option
@workers_option
@executor_option
@scheduler_option
@force_option
@click.option(
    "--resume",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="Complete an interrupted analysis: run its missing chunks, then the indices.",
)
@click.pass_context
def sensitivity(
    ctx: click.Context,
    scenario: str | None,
    method: str,
    vary: tuple[str, ...],
    runs: int,
    trajectories: int,
    samples: int,
    seed: int | None,
    months: int | None,
    at: str | None,
    crn: bool,
    out: Path | None,
    no_plots: bool,
    quiet: bool,
    workers: int,
    executor: str,
    scheduler: str | None,
    force: bool,
    resume: Path | None,
) -> None:
    """Which parameters matter: a Morris or Sobol analysis of SCENARIO's outcomes.

    \b
    Cost: points x --runs replications; Morris has trajectories x (D + 1) points, Sobol
    N x (D + 2), for D parameters (66 in the file: Morris at the defaults is 1,340 points x 100
    runs). The cost is printed before it starts.

    \b
    Outcomes, each analysed on its own: mean cohesion and its components at --at, the
    probabilities `csto compare` reports, and event rates. The folder: design.parquet, the
    tables (metrics, events, agents), outcomes.parquet, indices.csv, plots/ (csto plot DIR
    redraws them). Resume an interrupted analysis with `csto sensitivity --resume DIR`.
    """
    from batches.sensitivity import format_ranking
    from batches.sensitivity_run import plan_sensitivity, resume_sensitivity, run_plan

    options = dict(workers=workers, executor=executor, scheduler=scheduler, plots=not no_plots)
    with cli_errors():
        try:
            if resume is not None:
                from click.core import ParameterSource

                given = [
                    "SCENARIO" if name == "scenario" else f"--{name}"
                    for name in SENSITIVITY_FIXED
                    if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)
                ]
                if given:
                    raise CliError(f"--resume takes the analysis from DIR; drop {', '.join(given)}")
                if not quiet:
                    click.echo(f"resuming {resume}")
                folder = resume_sensitivity(resume, progress=not quiet, **options)
                if folder is None:
                    click.echo(f"{resume} is complete; nothing to resume")
                    return
            else:
                if scenario is None:
                    raise CliError("missing SCENARIO (a scenario name or .toml file), or --resume")
                plan = plan_sensitivity(
                    scenario, method=method, vary=vary, runs=runs, trajectories=trajectories,
                    samples=samples, seed=seed, months=months, at=at, crn=crn, out=out,
                    force=force,
                )  # fmt: skip
                if not quiet:
                    click.echo(
                        f"{plan.scenario.name}: {method} over {len(plan.params)} parameters, "
                        f"{len(plan.points):,} points x {runs:,} runs = {plan.total_runs:,} "
                        f"replications x {plan.months} months, seed {plan.seed}, common random "
                        f"numbers {'on' if crn else 'off'} -> {plan.out}"
                    )
                folder = run_plan(plan, force=force, progress=not quiet, **options)
        except BatchInterruptedError as stop:
            click.echo(
                f"interrupted: {stop.runs_completed:,} of {stop.total:,} runs written; partial "
                f"folder {stop.out} (csto sensitivity --resume {stop.out} completes it)",
                err=True,
            )
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except ChunksFailedError as failed:
            lines = [f"{len(failed.failures)} of {failed.tasks} chunks failed; partial folder:"]
            lines += failure_lines(failed.failures)
            lines.append(f"csto sensitivity --resume {failed.out} reruns them")
            click.echo("\n".join(lines), err=True)
            raise click.exceptions.Exit(EXIT_FAILED) from None
    if not quiet:
        click.echo(format_ranking(folder.indices))
        seconds = folder.manifest.get("wall_seconds")
        click.echo(f"\nwritten: {folder.path} (simulation {seconds:.1f} s wall)")
        if not no_plots:
            click.echo(f"plots: {folder.path / 'plots'}")


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
@click.option(
    "--seed", type=SEED_TYPE, default=DEFAULT_SEED, show_default=True, help="Bootstrap seed."
)
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
    month, mean, diff, ci_low, ci_high, runs_low, runs_high: where 90% of the runs' own
    differences lie, run k against run k, and draws_low, draws_high: where 90% of the posterior
    draws' mean differences lie, for batches run with the same --posterior, seed and
    --runs-per-draw), outcomes.csv (scenario, outcome, probability, ci_low, ci_high) and plots/,
    and prints both tables. What needs a table a run did not write (its
    --tables) is left out, with a warning.
    """
    from batches.folders import compare_folders
    from batches.runner import utc_now

    out = out if out is not None else Path(RUNS_DIR) / f"compare-{utc_now():%Y%m%d-%H%M%S}"
    with cli_errors():
        table, outcomes, inputs = compare_folders(
            reference, others, months=months_text, reference_point=reference_point, seed=seed,
            out=out, plots=not no_plots, svg=svg, force=force, progress=not quiet,
            warn=warn_line,
        )  # fmt: skip
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
    from batches.folders import plot_folder

    with cli_errors():
        paths = plot_folder(folder, out, svg, warn=warn_line)
    for path in paths:
        click.echo(str(path))


# --- csto explain ----------------------------------------------------------------------------


@contextmanager
def explain_errors() -> Iterator[None]:
    """`cli_errors`, plus explain's own: a bad input is one line (exit 2), a replay that does not
    reproduce the folder one line (exit 1)."""
    from batches.explain import ExplainInputError, ReplayMismatchError

    with cli_errors():
        try:
            yield
        except ExplainInputError as error:
            raise CliError(str(error)) from None
        except ReplayMismatchError as error:
            raise CliError(str(error), exit_code=EXIT_FAILED) from None


@main.command()
@click.argument("folder", metavar="RUN_DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--point",
    "point_text",
    metavar="P",
    default=None,
    help="Design point P of a sweep folder (required there): --run K is run K of that point.",
)
@click.option("--run", "run_text", metavar="K", default=None, help="Explain run K's decisions.")
@click.option("--month", metavar="YYYY-MM", default=None, help="Only this month (with --run).")
@click.option("--agent", metavar="ISO3", default=None, help="Only this country (with --run).")
@click.option(
    "--event",
    metavar="ACTOR:ACTION[:TARGET]",
    default=None,
    help="Explain an event across the ensemble, e.g. BLR:side_with:AZE.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=None,
    help="Runs to replay for --event (a seeded sample; default 200, all if fewer).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "json"]),
    default="text",
    show_default=True,
    help="text: a table per decision; csv or json: the trace, one row per option and term.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="File for --format csv|json (default: stdout).",
)
def explain(
    folder: Path,
    point_text: str | None,
    run_text: str | None,
    month: str | None,
    agent: str | None,
    event: str | None,
    sample: int | None,
    fmt: str,
    out: Path | None,
) -> None:
    """Why did it do that: the utility terms behind the choices of a run or sweep folder's runs.

    \b
    --run K [--month YYYY-MM] [--agent ISO3]: replays run K exactly (its chunk, seed and
      scenario from the manifest), checks that its events equal the folder's, and prints each
      decision as a table of its options' terms, utility and logit probability, with the term
      that decided it.
    --event ACTOR:ACTION[:TARGET] [--sample N]: replays the runs (a seeded sample) and shows
      which terms pushed the actor to the action where it happened and held it back where it
      did not; writes RUN_DIR/explain/<event>.png.
    --point P: in a sweep (or sensitivity) folder, the design point whose run (or runs) are
      replayed, with the point's values and random streams (writes explain/point-P/<event>.png).
    """
    from batches.explain import DEFAULT_SAMPLE

    with explain_errors():
        if not folder.is_dir():
            raise CliError(f"RUN_DIR: {folder} is not a folder")
        if (run_text is None) == (event is None):
            raise CliError("give either --run K or --event ACTOR:ACTION[:TARGET]")
        if event is not None:
            for name, value in (("--month", month), ("--agent", agent)):
                if value is not None:
                    raise CliError(f"{name} goes with --run, not --event")
            if fmt != "text" or out is not None:
                raise CliError("--format and --out go with --run, not --event")
            chosen = sample if sample is not None else DEFAULT_SAMPLE
            _explain_event(folder, event, chosen, point_text)
            return
        if sample is not None:
            raise CliError("--sample goes with --event, not --run")
        if out is not None and fmt == "text":
            raise CliError("--out needs --format csv or json")
        _explain_run(folder, run_text, month, agent, fmt, out, point_text)


def _explain_run(
    folder: Path,
    run: str,
    month: str | None,
    agent: str | None,
    fmt: str,
    out: Path | None,
    point: str | None = None,
) -> None:
    from batches.explain import explain_run
    from results.explain_report import format_run, records_text, trace_to_records

    result = explain_run(folder, run, month, agent, point=point)
    if fmt != "text":
        text = records_text(trace_to_records(result.trace), fmt)
        if out is None:
            click.echo(text, nl=False)
        else:
            from results.atomic import atomic_write_text

            atomic_write_text(out, text)
            click.echo(f"written: {out} ({len(result.trace):,} rows)")
        return
    info = result.info
    check = (
        f"its {len(result.events)} events equal the folder's"
        if result.checked
        else "the folder has no events table to check it against"
    )
    where = _point_label(info, result.point)
    click.echo(f"{info.scenario.get('name', folder)}{where}, run {result.run}: replayed; {check}")
    click.echo(format_run(result.decisions, info.start))


def _point_label(info, point: int | None) -> str:
    """The point of a sweep folder's run as ", point P (KEY=VALUE, ...)", its values when it
    varies a few keys; "" for a run folder."""
    if point is None or not info.points:
        return ""
    if len(info.points[point]) > 4:
        return f", point {point} (its values in {info.points_file})"
    values = ", ".join(
        f"{key}={value:g}" if isinstance(value, int | float) else f"{key}={value}"
        for key, value in info.points[point].items()
    )
    return f", point {point} ({values})" if values else f", point {point}"


def _explain_event(folder: Path, event: str, sample: int, point: str | None = None) -> None:
    from batches.explain import event_plot_path, explain_event
    from results.explain_plots import save_attribution_plot
    from results.explain_report import format_attribution

    result = explain_event(folder, event, sample=sample, point=point)
    label = result.event.label
    click.echo(
        f"{result.info.scenario.get('name', folder)}{_point_label(result.info, result.point)}: "
        f"{len(result.runs)} of {result.info.runs} runs replayed"
        + ("; their events equal the folder's" if result.checked else "")
    )
    click.echo(format_attribution(result.attribution, label))
    path = event_plot_path(folder, result.event, result.point)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_attribution_plot(result.attribution, path, title=label)
    click.echo(f"plot: {path}")


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
    """Check scenario, sweep or parameters FILES; exit 0 when all are valid, 2 otherwise."""
    from batches.sweeps import check_sweep_file, is_sweep_file
    from simulation.free_parameters import is_parameters_file, validate_parameters_file
    from simulation.scenario import ScenarioError, load_scenario

    failed = 0
    for name in files:
        try:
            if is_sweep_file(Path(name)):
                points = check_sweep_file(Path(name))
                note = f"  (sweep, {points} points)"
            elif is_parameters_file(Path(name)):
                count = validate_parameters_file(Path(name))
                note = f"  (free parameters, {count})"
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
@posterior_option
def history(runs: int, seed: int, workers: int, as_json: bool, posterior: str | None) -> None:
    """The 2022 in-sample check: each 2022 event's simulated probability in its window."""
    try:
        from batches.history import check_history
    except ImportError as error:
        if error.name not in ("batches.history", None):
            raise
        raise CliError(
            "the history check (batches.history) is not available in this installation",
            exit_code=1,
        ) from None
    with cli_errors():
        extra = {} if posterior is None else {"posterior": posterior}
        rows = check_history(runs=runs, seed=seed, workers=workers, **extra)
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


# --- csto calibrate --------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def generation_line(report: Any) -> str:
    """One progress line per generation of a calibration."""
    return (
        f"generation {report.generation}: epsilon {report.epsilon:.3g}, acceptance "
        f"{report.acceptance_rate:.3f}, effective sample size {report.effective_sample_size:.0f}, "
        f"{report.simulations:,} simulations "
        f"({report.total_simulations:,} in all), {_duration(report.elapsed)}"
    )


CALIBRATE_FIXED = (
    "scenario", "targets", "parameters", "vary", "all_parameters", "budget", "population",
    "generations", "min_epsilon", "min_acceptance", "runs", "transition", "seed", "out",
    "force",
)  # fmt: skip


@main.command()
@click.argument("scenario", required=False)
@click.option(
    "--targets",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Targets file (default: the shipped record of 2022, scenarios/targets/record-2022.toml).",
)
@click.option(
    "--parameters",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Parameters file with the priors (default: scenarios/sensitivity/parameters.toml).",
)
@click.option(
    "--vary",
    multiple=True,
    metavar="KEY[=LO:HI]",
    help="Calibrate this parameter (its prior from the parameters file, or uniform on LO:HI). "
    "Repeatable. Default: the parameters that move the record's statistics.",
)
@click.option("--all-parameters", is_flag=True, help="Calibrate every declared parameter.")
@click.option(
    "--budget",
    type=click.Choice(["quick", "default"]),
    default="default",
    show_default=True,
    help="quick: a smoke test (population 40, 2 generations, 6 runs); default: population 400, "
    "36 runs per particle, up to 12 generations (stopping when acceptance falls below 0.03).",
)
@click.option("--population", type=click.IntRange(min=2), default=None, help="Particles.")
@click.option("--generations", type=click.IntRange(min=1), default=None, help="Generations.")
@click.option(
    "--min-epsilon",
    type=click.FloatRange(min=0),
    default=None,
    help="Stop early when epsilon falls to this.",
)
@click.option(
    "--min-acceptance",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=None,
    help="Stop after a generation that accepts less than this share of its candidates (the "
    "simulator's noise floor; default budget 0.03).",
)
@click.option("--runs", type=click.IntRange(min=1), default=None, help="Replications per particle.")
@click.option(
    "--transition",
    type=click.Choice(["beaumont", "local", "silverman"]),
    default=None,
    help="Perturbation kernel: beaumont (default; twice the weighted covariance), local "
    "(nearest-neighbour covariances, for curved ridges), silverman (pyabc's default).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=DEFAULT_SEED,
    show_default=True,
    help="Seed: the same seed gives the same posterior.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Calibration folder (default: runs/calibrate-<scenario>-<UTC time>).",
)
@workers_option
@no_plots_option
@quiet_option
@force_option
@click.option(
    "--resume",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="Continue an interrupted calibration from its database.",
)
@click.pass_context
def calibrate(
    ctx: click.Context,
    scenario: str | None,
    targets: Path | None,
    parameters: Path | None,
    vary: tuple[str, ...],
    all_parameters: bool,
    budget: str,
    population: int | None,
    generations: int | None,
    min_epsilon: float | None,
    min_acceptance: float | None,
    runs: int | None,
    transition: str | None,
    seed: int,
    out: Path | None,
    workers: int,
    no_plots: bool,
    quiet: bool,
    force: bool,
    resume: Path | None,
) -> None:
    """Calibrate SCENARIO (default history-2022) on the documented 2022 record by ABC-SMC.

    \b
    Fits 2022 only (12 months). Writes a calibration folder: manifest.json, history.db (every
    generation; --resume continues from it), posterior.parquet, calibrated.toml, plots/.
    Use the posterior with `csto run SCENARIO --posterior DIR`.
    """
    from batches.calibrate import (
        DEFAULT_SCENARIO,
        CalibrationInterruptedError,
        resume_calibration,
        run_calibration,
    )

    echo = None if quiet else (lambda report: click.echo(generation_line(report)))
    try:
        with cli_errors():
            if resume is not None:
                from click.core import ParameterSource

                given = [
                    name
                    for name in CALIBRATE_FIXED
                    if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)
                ]
                if given:
                    raise CliError(
                        "--resume takes the calibration from the folder's manifest; drop "
                        + ", ".join("SCENARIO" if n == "scenario" else n for n in given)
                    )
                done = resume_calibration(
                    resume, workers=workers, plots=not no_plots, progress=echo
                )
            else:
                done = run_calibration(
                    scenario or DEFAULT_SCENARIO, targets=targets, parameters=parameters,
                    vary=vary, all_parameters=all_parameters, budget=budget,
                    population=population, generations=generations, min_epsilon=min_epsilon,
                    min_acceptance=min_acceptance,
                    runs=runs, transition=transition, seed=seed, out=out, workers=workers,
                    force=force, plots=not no_plots,
                    progress=echo,
                    command=" ".join(["csto", *sys.argv[1:]]),
                )  # fmt: skip
    except CalibrationInterruptedError as stop:
        click.echo(
            f"interrupted after {stop.generations} generations; partial calibration folder "
            f"{stop.out} (csto calibrate --resume {stop.out} continues it)",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    if not quiet:
        from batches.calibration_folder import posterior_summary

        result = done.result
        click.echo(
            f"{len(done.priors)} parameters, {result.generations} generations, "
            f"{sum(result.simulations):,} simulations x {done.settings.runs} runs, "
            f"epsilon {result.epsilons[-1]:.3g}, {_duration(done.wall_seconds)} -> {done.out}"
        )
        table = posterior_summary(result.posterior)
        width = max(len(k) for k in table.index)
        for key, row in table.iterrows():
            click.echo(
                f"  {key:<{width}}  {row['median']:.3g}  [{row['low']:.3g}, {row['high']:.3g}]"
            )


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
    from batches.runner import sigterm_interrupts

    with sigterm_interrupts():
        try:
            code = serve(scenario, host, port, save_dir, int(runs), echo=click.echo)
        except DashboardUnavailable as error:
            raise CliError(str(error), exit_code=1) from None
    if code not in (0, 130):
        raise CliError(f"the dashboard server stopped with exit code {code}", exit_code=1)


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]) or "csto")
