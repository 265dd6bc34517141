"""`csto calibrate`: ABC-SMC of a scenario's free parameters on the documented record.

`run_calibration` checks everything first (the targets file, the scenario, the priors, the
options, the output folder), then writes a `partial` calibration folder, runs ABC-SMC
(`batches.abc.calibrate`, pyabc) with a batched simulator, and finishes the folder
(`batches.calibration_folder`): posterior, calibrated scenario, plots, and the posterior predictive
check. `resume_calibration` continues an interrupted one from its database and gives the posterior
the uninterrupted calibration gives.

The simulator (`particle_simulator`) runs a whole population of candidate parameter vectors as one
design (`batches.design`): every candidate ("particle") is a point with `runs` replications of the
scenario over the record's period (12 months: 2022 only; the later years are the model's
out-of-sample test and are never fitted), each replication carrying its particle's values as
per-replication parameters (`CSTOModel(..., varying=...)`). Its statistics are those of
`batches.targets`: each timeline check's share of runs and each documented count's mean per run,
per particle (`statistics_by_group`, an unscorable conditional check counting as not met).

Which parameters. The parameters file declares 69 free parameters; with ~50 statistics, ABC-SMC
in half an hour cannot resolve all of them. By default the calibration varies FOCUS: the
parameters that move the record's statistics, chosen by a global screening over the whole prior
(`screen_parameters`: 1,000 prior draws x 10 runs; for each parameter the sum over the compared
statistics of its squared rank correlation with them, kept when at least 0.8, where noise alone
gives ~0.05: 13 parameters). With pyabc's default kernel, the 23 parameters scoring above 0.3 let
the effective sample size of a population of 250 fall to 1-3. A calibration of those 13 then
missed counts that other parameters govern: repeated loyalty signals and visits (the fatigue of
signals, `dynamics.signal_fatigue` and `signal_memory`) and Armenia's freeze in December
(`actions.freeze_participation.cost`, `alliance.freeze_credibility`); FOCUS adds those four,
and the deterrence a protest carries (`dynamics.protest_deterrence`), added with its mechanism:
it governs how often an offence is repeated after a protest (Belarus's pledges after Armenia's
summons of February 2022).
With Beaumont's kernel (`batches.abc`) the effective sample size of the 18 stays in the
hundreds. The others stay at the scenario's values. `--vary KEY[=LO:HI]` calibrates a chosen
subset, `all_parameters` every declared one.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from batches.errors import FolderExistsError, OptionError
from simulation.scenario import ScenarioError

if TYPE_CHECKING:
    from batches.abc import CalibrationResult, GenerationReport
    from batches.targets import Targets
    from simulation.free_parameters import FreeParameter
    from simulation.schema import Scenario

DEFAULT_SCENARIO = "history-2022"
DEFAULT_SEED = 20221211
PREDICTIVE_DRAWS = 1000
"""Posterior draws of the posterior predictive check, one replication each (a replicated 2022)."""
PREDICTIVE_PATH = 2**21  # the seed path of the predictive check, apart from the calibration's

FOCUS: tuple[str, ...] = (
    "actions.visit_breakaway.cost",
    "agents.ARM.beta_legitimacy",
    "actions.court_west.cost",
    "agents.RUS.intervention_cost",
    "actions.signal_loyalty.cost",
    "agents.BLR.beta_trade",
    "agents.RUS.rationality",
    "agents.AZE.rationality",
    "aggression.ceiling",
    "agents.BLR.beta_legitimacy",
    "agents.ARM.rationality",
    "dynamics.public_reaction",
    "agents.BLR.beta_loyalty",
    "dynamics.signal_fatigue",
    "dynamics.signal_memory",
    "actions.freeze_participation.cost",
    "alliance.freeze_credibility",
    "dynamics.protest_deterrence",
)
"""The parameters calibrated by default: the screening's 13 in the order of their score, then the
four that govern the counts the posterior predictive check of those 13 missed (module doc)."""


@dataclass(frozen=True)
class Budget:
    """How much ABC-SMC does: particles, generations, replications per particle."""

    population: int
    generations: int
    runs: int
    min_epsilon: float = 0.0
    predictive_draws: int = PREDICTIVE_DRAWS
    min_acceptance: float = 0.0


BUDGETS: dict[str, Budget] = {
    "quick": Budget(population=40, generations=2, runs=6, predictive_draws=300),
    "default": Budget(population=400, generations=12, runs=36, min_acceptance=0.03),
}
"""quick: a smoke test (under 2 minutes); default: the real calibration (under 30 minutes)."""


@dataclass(frozen=True)
class Settings:
    """Every setting of one calibration, as recorded in its manifest."""

    budget: str
    population: int
    generations: int
    min_epsilon: float
    runs: int
    months: int
    max_batch: int
    predictive_draws: int = PREDICTIVE_DRAWS
    min_acceptance: float = 0.0
    transition: str = "silverman"  # what calibrations made before kernels could be chosen used

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CalibrationInterruptedError(Exception):
    """Ctrl-C or SIGTERM stopped a calibration; its folder is partial and resumable."""

    def __init__(self, out: Path, generations: int):
        super().__init__(f"interrupted after {generations} generations")
        self.out, self.generations = out, generations


@dataclass
class Calibration:
    """A finished (or stopped at its budget) calibration and its folder."""

    out: Path
    result: CalibrationResult
    settings: Settings
    priors: list[FreeParameter]
    predictive: pd.DataFrame
    wall_seconds: float


Progress = Callable[["GenerationReport"], None]


# --- the simulator -----------------------------------------------------------------------------


def particle_simulator(
    scenario: Scenario, targets: Targets, runs: int, months: int, workers: int = 1
) -> Callable[[pd.DataFrame, int], pd.DataFrame]:
    """simulate(thetas, seed): `runs` replications of `scenario` per row of `thetas` (one column
    per dotted key), the rows' statistics (`batches.targets`) in row order.

    The rows are the points of one design (`batches.design`: lock-step chunks across particles,
    common random numbers, so two particles differ by their parameters and not by their luck);
    the same thetas and seed give the same statistics for any number of workers.
    """

    def simulate(thetas: pd.DataFrame, seed: int) -> pd.DataFrame:
        return _simulate_block(scenario, targets, thetas, runs, months, seed, workers)

    return simulate


def _simulate_block(
    scenario: Scenario,
    targets: Targets,
    thetas: pd.DataFrame,
    runs: int,
    months: int,
    seed: int,
    workers: int = 1,
) -> pd.DataFrame:
    from batches.design import POINT, Design, design_tables
    from batches.targets import statistics_by_group

    points = thetas.reset_index(drop=True).astype(float)
    points.insert(0, POINT, np.arange(len(points)))
    design = Design(scenario, points, runs=runs, seed=seed, months=months)
    events = design_tables(design, tables=("events",), workers=workers)["events"]
    frame = statistics_by_group(
        events, POINT, runs, targets, groups=range(len(points)), undefined=0.0
    )
    return frame.reset_index(drop=True)


# --- priors and screening ------------------------------------------------------------------------


def calibration_priors(
    scenario: Scenario,
    *,
    parameters: str | os.PathLike[str] | None = None,
    vary: Sequence[str] = (),
    all_parameters: bool = False,
) -> list[FreeParameter]:
    """The free parameters to calibrate: `vary` (KEY or KEY=LO:HI), or every declared one with
    `all_parameters`, or FOCUS; each checked against `scenario` (ScenarioError naming the file or
    option and the key)."""
    from simulation.free_parameters import (
        check_free_parameters,
        load_free_parameters,
        parameters_path,
        select_parameters,
    )

    path = Path(parameters) if parameters is not None else parameters_path()
    declared = load_free_parameters(path)
    if vary and all_parameters:
        raise OptionError("--vary and --all-parameters: give one or the other")
    if vary:
        chosen = select_parameters(declared, list(vary))
    elif all_parameters:
        chosen = declared
    else:
        known = {p.key: p for p in declared}
        missing = [key for key in FOCUS if key not in known]
        if missing:
            raise ScenarioError(
                str(path), missing[0], "the default calibration varies it; declare it or use --vary"
            )
        chosen = [known[key] for key in FOCUS]
    check_free_parameters(chosen, scenario, source=str(path))
    return chosen


def screen_parameters(
    scenario: Scenario,
    targets: Targets,
    priors: Sequence[FreeParameter],
    *,
    size: int = 1000,
    runs: int = 10,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """A global screening of the priors against the record's statistics: for each parameter, the
    sum over the compared statistics of its squared Spearman correlation with them (`score`) and
    the largest absolute one (`strongest`), over `size` prior draws of `runs` replications each.
    Sorted by score; noise alone gives a score of about (statistics / size)."""
    from batches.abc import as_priors, derived_seed

    checked = as_priors(priors)
    rng = np.random.default_rng(derived_seed(seed, 3))
    thetas = pd.DataFrame({p.name: p.sample(rng, size) for p in checked})
    simulate = particle_simulator(scenario, targets, runs, targets.months)
    statistics = simulate(thetas, derived_seed(seed, 4))[list(targets.observed())]
    statistics = statistics.loc[:, statistics.std() > 0]
    ranks, stat_ranks = thetas.rank(), statistics.rank()
    corr = pd.DataFrame({s: ranks.corrwith(stat_ranks[s]) for s in statistics}).fillna(0.0)
    table = pd.DataFrame({"score": (corr**2).sum(axis=1), "strongest": corr.abs().max(axis=1)})
    return table.sort_values("score", ascending=False)


# --- running -------------------------------------------------------------------------------------


def settings_for(
    budget: str,
    *,
    population: int | None,
    generations: int | None,
    min_epsilon: float | None,
    runs: int | None,
    months: int,
    transition: str | None = None,
    min_acceptance: float | None = None,
) -> Settings:
    """The settings of `budget` with the options given replacing its values (OptionError if bad)."""
    from batches.abc import TRANSITIONS

    if budget not in BUDGETS:
        raise OptionError(f"--budget: expected one of {', '.join(BUDGETS)}, got {budget!r}")
    if transition is not None and transition not in TRANSITIONS:
        expected = ", ".join(TRANSITIONS)
        raise OptionError(f"--transition: expected one of {expected}, got {transition!r}")
    base = BUDGETS[budget]
    for option, value in (("--population", population), ("--generations", generations)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise OptionError(f"{option}: expected an integer, got {value!r}")
    if population is not None and population < 2:
        raise OptionError(f"--population: expected at least 2, got {population}")
    if generations is not None and generations < 1:
        raise OptionError(f"--generations: expected at least 1, got {generations}")
    if runs is not None and (isinstance(runs, bool) or not isinstance(runs, int) or runs < 1):
        raise OptionError(f"--runs: expected a positive integer, got {runs!r}")
    if min_epsilon is not None and not (math.isfinite(min_epsilon) and min_epsilon >= 0):
        raise OptionError(f"--min-epsilon: expected a number >= 0, got {min_epsilon!r}")
    if min_acceptance is not None and not (0 <= min_acceptance < 1):
        raise OptionError(f"--min-acceptance: expected a number in [0, 1), got {min_acceptance!r}")
    chosen = replace(
        base,
        population=population or base.population,
        generations=generations or base.generations,
        runs=runs or base.runs,
        min_epsilon=base.min_epsilon if min_epsilon is None else float(min_epsilon),
        min_acceptance=base.min_acceptance if min_acceptance is None else float(min_acceptance),
    )
    return Settings(
        budget=budget,
        population=chosen.population,
        generations=chosen.generations,
        min_epsilon=chosen.min_epsilon,
        runs=chosen.runs,
        months=months,
        max_batch=20 * chosen.population,
        predictive_draws=chosen.predictive_draws,
        min_acceptance=chosen.min_acceptance,
        transition=transition or TRANSITIONS[0],
    )


def default_out(scenario: str) -> Path:
    """runs/calibrate-<scenario>-<UTC time>."""
    from batches.runner import utc_now

    return Path("runs") / f"calibrate-{scenario}-{utc_now():%Y%m%d-%H%M%S}"


def run_calibration(
    scenario: str = DEFAULT_SCENARIO,
    *,
    targets: str | os.PathLike[str] | None = None,
    parameters: str | os.PathLike[str] | None = None,
    vary: Sequence[str] = (),
    all_parameters: bool = False,
    budget: str = "default",
    population: int | None = None,
    generations: int | None = None,
    min_epsilon: float | None = None,
    min_acceptance: float | None = None,
    runs: int | None = None,
    transition: str | None = None,
    seed: int = DEFAULT_SEED,
    out: str | os.PathLike[str] | None = None,
    workers: int = 1,
    force: bool = False,
    plots: bool = True,
    progress: Progress | None = None,
    command: str = "",
) -> Calibration:
    """Calibrate `scenario`'s free parameters on the record of `targets` (default: the shipped
    record of 2022) into the calibration folder `out`; the finished Calibration.

    Everything is checked before anything is written: ScenarioError (targets, scenario, priors)
    or OptionError/FolderExistsError. Ctrl-C or SIGTERM leave a partial folder and raise
    CalibrationInterruptedError; `resume_calibration(out)` continues it.
    """
    from batches.targets import load_targets
    from simulation.scenario import load_scenario

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise OptionError(f"--seed: expected a non-negative integer, got {seed!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise OptionError(f"--workers: expected a positive integer, got {workers!r}")
    record = load_targets(targets)
    spec = load_scenario(scenario, None, record.months)
    settings = settings_for(
        budget, population=population, generations=generations, min_epsilon=min_epsilon,
        runs=runs, months=record.months, transition=transition, min_acceptance=min_acceptance,
    )  # fmt: skip
    priors = calibration_priors(
        spec, parameters=parameters, vary=vary, all_parameters=all_parameters
    )
    out = Path(out) if out is not None else default_out(spec.name)
    _open_folder(out, force)
    from batches.calibration_folder import write_calibration_folder

    write_calibration_folder(
        out, scenario=str(scenario), targets=record, priors=priors, seed=seed,
        settings=settings.as_dict(), result=None, plots=False, command=command,
    )  # fmt: skip
    return _run(out, str(scenario), spec, record, priors, settings, seed, workers, False,
                plots, progress, command)  # fmt: skip


def _open_folder(out: Path, force: bool) -> None:
    if out.exists():
        if not force:
            raise FolderExistsError(out)
        if out.is_dir():
            shutil.rmtree(out)
        else:
            out.unlink()
    try:
        out.mkdir(parents=True)
    except OSError as error:
        raise OptionError(f"--out: cannot create {out}: {error.strerror}") from None


def resume_calibration(
    folder: str | os.PathLike[str],
    *,
    workers: int = 1,
    plots: bool = True,
    progress: Progress | None = None,
) -> Calibration:
    """Continue the calibration in `folder` from its database (its scenario, targets, priors,
    seed and settings from its manifest); the posterior equals an uninterrupted run's.

    ScenarioError when the folder is not a calibration, or its targets file changed."""
    from batches.calibration_folder import DB_NAME, file_sha256, read_calibration
    from batches.targets import load_targets
    from simulation.free_parameters import FreeParameter
    from simulation.scenario import load_scenario

    out = Path(folder)
    manifest = read_calibration(out)
    record = load_targets(manifest["targets"]["file"])
    if file_sha256(record.path) != manifest["targets"]["sha256"]:
        raise ScenarioError(
            manifest["targets"]["file"], "", "the targets file changed since the calibration began"
        )
    if not (out / DB_NAME).exists():
        raise ScenarioError(str(out), DB_NAME, "no calibration database to resume")
    spec = load_scenario(manifest["scenario"], None, record.months)
    priors = [
        FreeParameter(p["key"], p["low"], p["high"], p["prior"], "") for p in manifest["priors"]
    ]
    settings = Settings(**manifest["settings"])
    return _run(out, manifest["scenario"], spec, record, priors, settings, int(manifest["seed"]),
                workers, True, plots, progress, manifest.get("command", ""))  # fmt: skip


def _run(
    out: Path,
    scenario_name: str,
    spec: Scenario,
    record: Targets,
    priors: list[FreeParameter],
    settings: Settings,
    seed: int,
    workers: int,
    resume: bool,
    plots: bool,
    progress: Progress | None,
    command: str,
) -> Calibration:
    from batches.abc import calibrate
    from batches.calibration_folder import DB_NAME, write_calibration_folder
    from batches.runner import sigterm_interrupts

    started = time.perf_counter()
    simulate = particle_simulator(spec, record, settings.runs, settings.months, workers)
    try:
        with sigterm_interrupts():
            result = calibrate(
                priors,
                record.observed(),
                simulate,
                population=settings.population,
                generations=settings.generations,
                min_epsilon=settings.min_epsilon,
                min_acceptance=settings.min_acceptance,
                seed=seed,
                db_path=out / DB_NAME,
                resume=resume,
                progress=progress,
                floors=record.uncertainty(),
                max_batch=settings.max_batch,
                transition=settings.transition,
            )
    except KeyboardInterrupt:
        raise CalibrationInterruptedError(out, _generations_done(out / DB_NAME)) from None
    predictive = posterior_predictive(spec, record, result.posterior, settings, seed)
    write_calibration_folder(
        out, scenario=scenario_name, targets=record, priors=priors, seed=seed,
        settings=settings.as_dict(), result=result, predictive=predictive, plots=plots,
        command=command,
    )  # fmt: skip
    from results.atomic import atomic_write

    atomic_write(out / "predictive.parquet", lambda tmp: predictive.to_parquet(tmp))
    return Calibration(out, result, settings, priors, predictive, time.perf_counter() - started)


def _generations_done(db_path: Path) -> int:
    """Generations stored in a calibration database (0 when it cannot be read)."""
    import sqlite3

    try:
        with sqlite3.connect(db_path) as connection:
            row = connection.execute("SELECT COUNT(*) FROM populations WHERE t >= 0").fetchone()
        return int(row[0])
    except sqlite3.Error:
        return 0


def posterior_predictive(
    scenario: Scenario,
    targets: Targets,
    posterior: pd.DataFrame,
    settings: Settings,
    seed: int,
) -> pd.DataFrame:
    """The posterior predictive sample: `settings.predictive_draws` weighted draws from the
    posterior, one replicated 2022 each; one row of statistics per draw (a count is that
    replication's count, a check 0 or 1), for comparison with the one record (Gelman, Meng &
    Stern 1996)."""
    from batches.abc import derived_seed
    from batches.calibration_folder import draw_posterior

    draws = pd.DataFrame(
        draw_posterior(posterior, settings.predictive_draws, derived_seed(seed, PREDICTIVE_PATH))
    )
    simulate = particle_simulator(scenario, targets, 1, settings.months)
    return simulate(draws, derived_seed(seed, PREDICTIVE_PATH, 1))
