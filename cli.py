"""The `csto` command: run scenarios, list, show and validate them, check the 2022 history.

Start-up time matters for the small commands (`csto --help`, `scenarios`, `show`, `validate`), so
this module imports only click and the standard library at the top; the model, numpy, pandas and
matplotlib are imported inside the commands that need them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import signal
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import pandas as pd

    from simulation.schema import Scenario

DEFAULT_SEED = 20221211
"""The seed used when --seed is not given (the date of the 2022 summit in Yerevan's aftermath)."""

DEFAULT_RUNS = 1000
RUNS_DIR = "runs"

KEY_EVENTS: tuple[str, ...] = (
    "attack",
    "invoke_article4",
    "honour_article4",
    "partial_response",
    "refuse_article4",
    "visit_breakaway",
    "recognize_breakaway",
    "summon_ambassador",
    "recall_ambassador",
    "court_west",
    "refuse_declaration",
    "boycott_summit",
    "freeze_participation",
    "exit_alliance",
)
"""Actions summarised after a run: how many runs saw one, and how many per run."""

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


def package_version(name: str) -> str:
    """The installed version of distribution `name`, or "0+unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "0+unknown"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside the block, SIGTERM raises KeyboardInterrupt (as Ctrl-C does)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread: leave the handler alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def progress_bar(runs: int, quiet: bool):
    """A tqdm bar on stderr counting replications; disabled off a terminal or with --quiet."""
    from tqdm import tqdm

    enabled = not quiet and sys.stderr.isatty()
    return tqdm(
        total=runs,
        unit="runs",
        desc="simulating",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        smoothing=0.1,
    )


def base_manifest(
    scenario: Scenario,
    path: str,
    *,
    seed: int,
    runs: int,
    months: int,
    workers: int,
    fmt: str,
    created: dt.datetime,
) -> dict[str, Any]:
    from simulation.batch import CHUNK_SIZE
    from simulation.scenario import resolved_dict, scenario_hash

    return {
        "scenario": scenario.name,
        "scenario_file": path,
        "resolved_scenario": resolved_dict(scenario),
        "scenario_sha256": scenario_hash(scenario),
        "seed": seed,
        "runs": runs,
        "months": months,
        "start": scenario.start,
        "chunk_size": CHUNK_SIZE,
        "workers": workers,
        "format": fmt,
        "package_version": package_version("csto"),
        "python_version": platform.python_version(),
        "mesa_version": package_version("mesa"),
        "created": created.isoformat(timespec="seconds"),
        "wall_seconds": None,
        "command_line": shlex.join(sys.argv),
        "status": "partial",
    }


@main.command()
@click.argument("scenario")
@runs_option
@months_option("Months to simulate (default: the scenario's `months`).")
@seed_option
@set_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run folder to write (default: runs/<scenario>-<UTC timestamp>).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="Format of the tables.",
)
@click.option("--no-plots", is_flag=True, help="Do not draw plots/*.png.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
@workers_option
@click.option("--force", is_flag=True, help="Replace an existing --out folder.")
def run(
    scenario: str,
    runs: int,
    months: int | None,
    seed: int,
    overrides: tuple[str, ...],
    out: Path | None,
    fmt: str,
    no_plots: bool,
    quiet: bool,
    workers: int,
    force: bool,
) -> None:
    """Run SCENARIO (a shipped name or a .toml path) and write a run folder."""
    created = utc_now()
    spec = load(scenario, overrides, months)
    path = scenario_file(scenario)
    months = months if months is not None else spec.months
    out = out if out is not None else default_out(spec.name, created)

    from simulation.batch import iter_records, plan_chunks

    chunks = plan_chunks(runs, seed)
    manifest = base_manifest(
        spec, path, seed=seed, runs=runs, months=months, workers=workers, fmt=fmt, created=created
    )

    from results.store import RunFolderWriter, write_manifest

    try:
        writer = RunFolderWriter(out, fmt, force=force)
    except FileExistsError:
        raise CliError(f"{out} already exists; choose another --out or add --force") from None
    except OSError as error:
        raise CliError(f"{out}: cannot create the run folder: {error.strerror}") from None

    if not quiet:
        click.echo(
            f"{spec.name}: {runs:,} runs x {months} months from {spec.start}, seed {seed}, "
            f"{workers} worker{'s' if workers > 1 else ''} -> {out}"
        )
    started = time.perf_counter()
    done: list[int] = []
    done_runs = 0

    def finish_manifest(status: str) -> dict[str, Any]:
        manifest["wall_seconds"] = round(time.perf_counter() - started, 3)
        manifest["status"] = status
        manifest["runs_completed"] = done_runs
        manifest["chunks_completed"] = sorted(done)
        return manifest

    try:
        with sigterm_interrupts(), progress_bar(runs, quiet) as bar:
            for chunk, record in iter_records(spec, months, chunks, workers):
                writer.write_chunk(chunk.index, record)
                done.append(chunk.index)
                done_runs += chunk.size
                bar.update(chunk.size)
    except KeyboardInterrupt:
        write_manifest(out, finish_manifest("partial"))
        click.echo(
            f"interrupted: {done_runs:,} of {runs:,} runs written; partial run folder {out}",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    except BaseException as error:
        manifest["error"] = f"{type(error).__name__}: {error}"
        write_manifest(out, finish_manifest("partial"))
        raise

    writer.finish(finish_manifest("complete"))
    if not no_plots:
        from results.plots import save_run_plots

        save_run_plots(out, read_summary(out), spec.name, runs)
    if not quiet:
        click.echo(run_report(out, runs, manifest["wall_seconds"], plots=not no_plots))


def read_summary(folder: Path) -> pd.DataFrame:
    from results.store import read_table

    return read_table(folder, "summary")


def cohesion_lines(summary: pd.DataFrame) -> list[str]:
    """Cohesion at the first and last month: median and 5-95% band."""
    rows = summary[summary["metric"] == "cohesion"].sort_values("month")
    if rows.empty:
        return []
    picks = [rows.iloc[0]] if len(rows) == 1 else [rows.iloc[0], rows.iloc[-1]]
    lines = ["cohesion (median, 5-95% of runs):"]
    for row in picks:
        lines.append(
            f"  {row['date']} (month {int(row['month'])}): {row['p50']:.2f}  "
            f"[{row['p05']:.2f}, {row['p95']:.2f}]"
        )
    return lines


def event_rates(events: pd.DataFrame, runs: int) -> pd.DataFrame:
    """Per key action that occurred: share of runs with at least one, and mean count per run."""
    import pandas as pd

    events = events[events["action"].isin(KEY_EVENTS)]
    grouped = events.groupby("action", observed=True)["run"]
    table = pd.DataFrame({"count": grouped.size(), "runs_with": grouped.nunique()})
    table["share"] = table["runs_with"] / runs
    table["mean"] = table["count"] / runs
    order = {name: i for i, name in enumerate(KEY_EVENTS)}
    table["order"] = [order[name] for name in table.index]
    return table.sort_values(["share", "order"], ascending=[False, True]).drop(columns="order")


def event_lines(events: pd.DataFrame, runs: int) -> list[str]:
    rates = event_rates(events, runs)
    if rates.empty:
        return ["key events: none occurred"]
    width = max(len(str(name)) for name in rates.index)
    lines = ["key events (share of runs with at least one, mean per run):"]
    for name, row in rates.iterrows():
        lines.append(f"  {name:<{width}}  {row['share']:6.1%}  {row['mean']:6.2f}")
    return lines


def run_report(folder: Path, runs: int, seconds: float, plots: bool) -> str:
    """The short summary printed after a run."""
    from results.store import read_table

    lines = [f"run folder: {folder}  ({seconds:.1f} s)"]
    lines += cohesion_lines(read_summary(folder))
    lines += event_lines(read_table(folder, "events"), runs)
    if plots:
        lines.append(f"plots: {folder / 'plots'}")
    return "\n".join(lines)


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
    """Check scenario FILES; exit 0 when all are valid, 2 otherwise."""
    from simulation.scenario import ScenarioError, load_scenario

    failed = 0
    for name in files:
        try:
            load_scenario(name)
        except ScenarioError as error:
            failed += 1
            click.echo(f"error: {error}", err=True)
        else:
            click.echo(f"ok  {name}")
    if failed:
        raise click.exceptions.Exit(EXIT_USAGE)


# --- csto history ----------------------------------------------------------------------------


def _marks() -> tuple[str, str]:
    """✓/✗ when stdout can encode them, else yes/no."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "yes", "no"
    return "✓", "✗"


def history_table(rows: list[dict[str, Any]]) -> str:
    yes, no = _marks()
    header = ("event", "window", "probability", "target", "met")
    cells = [
        (
            str(row["event"]),
            str(row["window"]),
            f"{float(row['probability']):.3f}",
            str(row.get("target", "")),
            yes if row.get("met") else no,
        )
        for row in rows
    ]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    right = {2}  # numbers right-aligned

    def line(row: tuple[str, ...]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    met = sum(1 for row in rows if row.get("met"))
    lines = [line(header), "  ".join("-" * w for w in widths)]
    lines += [line(row) for row in cells]
    lines.append(f"{met} of {len(rows)} events reproduced")
    return "\n".join(lines)


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


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]) or "csto")
