"""The Python API: run scenarios, sweep them, compare and open the folders, from notebooks.

    from batches import run, sweep, compare, open_folder
    a = run("baseline", runs=1000, seed=7, set={"world.overstretch": 0.4}, out="runs/a")
    b = run("article4-honoured", runs=1000, seed=7, out="runs/b")
    a.metrics, a.agents, a.events, a.relations   # DataFrames, read on first use and kept
    c = compare(a, b)                            # c.table, c.outcomes, c.plot()
    s = sweep("baseline", vary={"world.overstretch": (0.0, 0.8, 5)}, runs=200)
    m = sensitivity("baseline", method="morris", runs=100)   # m.indices, m.ranking, m.plot()
    open_folder("runs/a")

The keywords are the options of `csto run`, `csto sweep` and `csto sensitivity` (`set` is
--set, as a dict of dotted keys or a list of "KEY=VALUE"; `plots` is the opposite of
--no-plots). Every folder, table and random stream is the one the command line gives for the
same options. Errors are exceptions:
`ScenarioError` for a scenario or override that does not validate, and those of
`batches.errors` (`OptionError`, `FolderExistsError`, `RunFolderError`, `ChunksFailedError`,
`BatchInterruptedError`, `ExecutorError`). With `out=None` the folder is made in a temporary
directory that lives as long as the returned object.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from batches.folders import (
    Comparison,
    RunFolder,
    SweepFolder,
    compare_folders,
    open_folder,
    output_folder,
    python_warning,
)
from batches.plan import (
    DEFAULT_RUNS,
    DEFAULT_SEED,
    Overrides,
    VaryInput,
    prepare_resume,
    prepare_run,
    prepare_sweep,
)
from batches.sensitivity_run import SensitivityFolder, sensitivity

__all__ = ["SensitivityFolder", "compare", "open_folder", "resume", "run", "sensitivity", "sweep"]

PathLike = str | os.PathLike[str]


def run(
    scenario: PathLike,
    *,
    runs: int = DEFAULT_RUNS,
    months: int | None = None,
    seed: int = DEFAULT_SEED,
    set: Overrides = None,  # noqa: A002 - the option's name
    out: PathLike | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    fmt: str = "parquet",
    tables: str | Iterable[str] | None = None,
    relations_every: int | None = None,
    plots: bool = True,
    force: bool = False,
    progress: bool = False,
    yes: bool = False,
    posterior: PathLike | None = None,
    runs_per_draw: int = 1,
) -> RunFolder:
    """Run `scenario` (a shipped name or a .toml path) `runs` times; the finished RunFolder.

    As `csto run SCENARIO`: `tables` ("metrics,agents" or a list; default all four, metrics
    always) and `relations_every` K choose what is written. `out=None`: a temporary directory.
    `posterior` (a calibration folder, a posterior file or "shipped"): each replication draws
    the calibrated parameters from it, as `--posterior` (`batches.posterior`); `runs_per_draw`
    consecutive runs share a draw, as `--runs-per-draw`.
    `yes` runs a batch whose estimated cost is beyond the limits (`batches.cost`).
    """
    with output_folder(out, "run") as (tmp, folder):
        batch = prepare_run(
            scenario, runs=runs, months=months, seed=seed, overrides=set, out=folder,
            workers=workers, executor=executor, scheduler=scheduler, fmt=fmt, tables=tables,
            relations_every=relations_every, force=force, yes=yes, posterior=posterior,
            runs_per_draw=runs_per_draw,
        )  # fmt: skip
        _finish(batch, plots, progress)
    return RunFolder(batch.out, tmp)


def sweep(
    scenario: PathLike,
    *,
    vary: VaryInput = None,
    design: str | None = None,
    points: int | None = None,
    runs: int | None = None,
    months: int | None = None,
    seed: int | None = None,
    set: Overrides = None,  # noqa: A002 - the option's name
    out: PathLike | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    fmt: str = "parquet",
    tables: str | Iterable[str] | None = None,
    relations_every: int | None = None,
    plots: bool = True,
    force: bool = False,
    progress: bool = False,
    crn: bool = True,
    yes: bool = False,
    posterior: PathLike | None = None,
    runs_per_draw: int = 1,
) -> SweepFolder:
    """A parameter sweep of `scenario` over `vary` ({key: (LO, HI) or (LO, HI, N)}); or, with
    no `vary`, the sweep file `scenario` names. The finished SweepFolder (as `csto sweep`);
    `crn` False gives every replication its own random numbers (`csto sweep --no-crn`).
    `posterior`, `runs_per_draw`: as for `run` (the varied keys are not drawn)."""
    with output_folder(out, "sweep") as (tmp, folder):
        batch = prepare_sweep(
            scenario, vary=vary, design=design, points=points, runs=runs, months=months,
            seed=seed, overrides=set, out=folder, workers=workers, executor=executor,
            scheduler=scheduler, fmt=fmt, tables=tables, relations_every=relations_every,
            force=force, crn=crn, yes=yes, posterior=posterior,
            runs_per_draw=runs_per_draw,
        )  # fmt: skip
        _finish(batch, plots, progress)
    return SweepFolder(batch.out, tmp)


def resume(
    folder: PathLike,
    *,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    plots: bool = True,
    progress: bool = False,
) -> RunFolder:
    """Complete a partial run or sweep folder (its missing chunks, as `csto run --resume`)."""
    batch = prepare_resume(Path(folder), executor=executor, workers=workers, scheduler=scheduler)
    if batch is not None:
        _finish(batch, plots, progress)
    return open_folder(folder)  # type: ignore[return-value]


def _finish(batch, plots: bool, progress: bool) -> None:
    from batches.runner import finish_batch

    finish_batch(batch, plots=plots, progress=progress, warn=python_warning)


def compare(
    reference: RunFolder | PathLike,
    *others: RunFolder | PathLike,
    months: str | Sequence[int | str] | None = None,
    reference_point: int = 0,
    seed: int = DEFAULT_SEED,
    out: PathLike | None = None,
    plots: bool = True,
    svg: bool = False,
    force: bool = False,
    progress: bool = False,
) -> Comparison:
    """Compare finished runs with `reference` (RunFolder objects or paths); a Comparison.

    As `csto compare`: several run folders (the first the reference), or one sweep folder whose
    points are compared with `reference_point`. `months`: month numbers or YYYY-MM dates
    (default the last). `out=None`: a temporary directory. A table some folder did not write
    leaves out what needs it, with a MissingTableWarning naming it.
    """
    with output_folder(out, "compare") as (tmp, folder):
        compare_folders(
            reference, others, months=months, reference_point=reference_point, seed=seed,
            out=folder, plots=plots, svg=svg, force=force, progress=progress,
            warn=python_warning,
        )  # fmt: skip
    return Comparison(folder, tmp, inputs=[reference, *others])
