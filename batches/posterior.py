"""Runs under the posterior: each replication draws its parameters from a calibration.

`csto run SCENARIO --posterior CALIB_DIR` (and `sweep`, `history`, the API's `run`/`sweep`) gives
every replication its own values of the calibrated parameters, drawn from the posterior of a
calibration folder (weighted resampling, `batches.calibration_folder.draw_posterior`). Run k of a
batch takes draw k of a resampling seeded by the batch seed, so the draws are fixed before any
work is dispatched: the same seed gives the same draws for any chunking and number of workers, a
resumed folder rebuilds the draws of its missing chunks, and run k of every point of a sweep has
the same draw (common random parameters, as common random numbers: the difference between points
is not blurred by different draws). With `--runs-per-draw N` the batch is nested: runs
k*N .. k*N + N - 1 share draw k, so a comparison can average the chance out of each draw's effect
and say how far the effect itself varies over the posterior (`results.compare.draw_differences`,
the `draws_low`, `draws_high` columns); the default, 1, gives every run its own draw. The draws
reach the model as per-replication parameters (`Task.varying` -> `CSTOModel(varying=...)`), so
every table and every interval computed from the runs includes the parameter uncertainty.

The manifest records the posterior (`posterior_record`: path, sha256, keys drawn, keys left as
the scenario sets them); resuming refuses a posterior whose file changed. A key that the run
fixes (`--set`, or a key a sweep varies) is not drawn. A key a scenario's shock `set`s later
keeps its draw until the shock, then the shock's value (the model applies shocks to varying keys).

`posterior = "shipped"` names the posterior of the calibration shipped with the package
(`scenarios/posterior/`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batches.errors import OptionError, RunFolderError

if TYPE_CHECKING:
    import numpy as np

    from batches.chunks import Chunk
    from batches.executors import Task
    from simulation.schema import Scenario

SHIPPED = "shipped"
POSTERIOR_PACKAGE = "scenarios.posterior"
DRAW_PATH = 2**22  # the seed path of the posterior draws, apart from every other stream
OPTION = "--posterior"


def shipped_posterior() -> Path:
    """The folder of the shipped posterior (posterior.parquet and manifest.json)."""
    return Path(str(resources.files(POSTERIOR_PACKAGE)))


def resolve_posterior(source: str | os.PathLike[str]) -> Path:
    """The posterior.parquet that `source` names: "shipped", a calibration folder, or the file.

    OptionError naming --posterior when there is none."""
    from batches.calibration_folder import POSTERIOR_NAME

    path = shipped_posterior() if str(source) == SHIPPED else Path(source)
    file = path / POSTERIOR_NAME if path.is_dir() else path
    if not file.is_file():
        raise OptionError(
            f"{OPTION}: {source}: no {POSTERIOR_NAME} (expected a finished calibration folder "
            f"from csto calibrate, a posterior .parquet file, or {SHIPPED!r})"
        )
    return file.resolve()


def posterior_record(
    source: str | os.PathLike[str],
    scenario: Scenario,
    fixed: Iterable[str] = (),
    runs_per_draw: int = 1,
) -> dict[str, Any]:
    """What a manifest records of the posterior a batch draws from: its file, sha256, the keys
    drawn, the keys left out because the batch fixes them (`fixed`: --set or varied keys), and
    how many consecutive runs share a draw (`runs_per_draw`).

    OptionError when the posterior cannot be read or a key cannot vary in `scenario`
    (`runs_per_draw` is checked by the batch's planner, `check_runs_per_draw`)."""
    from batches.calibration_folder import file_sha256, read_posterior
    from simulation.varying import VaryingError, check_key

    file = resolve_posterior(source)
    try:
        table = read_posterior(file)
    except (OSError, ValueError) as error:
        raise OptionError(f"{OPTION}: {file}: not a posterior table ({error})") from None
    fixed = set(fixed)
    keys = [str(c) for c in table.columns if c != "weight" and c not in fixed]
    for key in keys:
        try:
            check_key(scenario, key)
        except VaryingError as error:
            raise OptionError(f"{OPTION}: {file}: {error}") from None
    return {
        "source": str(source),
        "path": str(file),
        "sha256": file_sha256(file),
        "keys": keys,
        "fixed": sorted(k for k in fixed if k in table.columns),
        "draws": len(table),
        "runs_per_draw": int(runs_per_draw),
    }


RUNS_PER_DRAW_OPTION = "--runs-per-draw"


def check_runs_per_draw(runs_per_draw: int, posterior: Any) -> None:
    """OptionError unless `runs_per_draw` is a whole number >= 1, and 1 without a posterior."""
    if isinstance(runs_per_draw, bool) or not isinstance(runs_per_draw, int) or runs_per_draw < 1:
        raise OptionError(
            f"{RUNS_PER_DRAW_OPTION}: expected a whole number >= 1, got {runs_per_draw!r}"
        )
    if runs_per_draw > 1 and posterior is None:
        raise OptionError(f"{RUNS_PER_DRAW_OPTION}: needs {OPTION} (the draws it repeats)")


def run_draws(record: dict[str, Any], seed: int, runs: int) -> dict[str, np.ndarray]:
    """The posterior draws of runs 0..runs-1: one value per run for each recorded key, from a
    weighted resampling seeded by the batch seed. Replication k of a batch (of every point of a
    sweep) takes draw k // runs_per_draw (draw k when every run has its own)."""
    from batches.abc import derived_seed
    from batches.calibration_folder import draw_posterior

    per_draw = int(record.get("runs_per_draw", 1))
    count = -(-runs // per_draw)
    draws = draw_posterior(record["path"], count, derived_seed(seed, DRAW_PATH))
    return {key: draws[key].repeat(per_draw)[:runs] for key in record["keys"]}


def chunk_draws(record: dict[str, Any], seed: int, chunk: Chunk) -> dict[str, np.ndarray]:
    """The posterior draws of one chunk of a run (runs chunk.offset .. + chunk.size)."""
    draws = run_draws(record, seed, chunk.offset + chunk.size)
    return {key: values[chunk.offset :] for key, values in draws.items()}


def with_posterior(tasks: Sequence[Task], record: dict[str, Any] | None, seed: int) -> list[Task]:
    """`tasks` carrying their replications' posterior draws (unchanged when `record` is None).

    A replication's draw is chosen by its run (within its point, `Task.run_ids` for a design
    chunk; the chunk's offset + row otherwise). Values a task already varies (a sweep's points)
    are kept. RunFolderError when the posterior file is gone or changed since `record` was made.
    """
    import numpy as np

    if not record:
        return list(tasks)
    verify_posterior(record)
    runs = [
        task.run_ids
        if task.run_ids is not None
        else np.arange(task.chunk.offset, task.chunk.offset + task.chunk.size)
        for task in tasks
    ]
    total = max((int(r.max()) + 1 for r in runs if len(r)), default=0)
    pool = run_draws(record, seed, total)
    out = []
    for task, rows in zip(tasks, runs, strict=True):
        varying = {key: values[rows] for key, values in pool.items()}
        varying.update(task.varying or {})
        out.append(replace(task, varying=varying))
    return out


def verify_posterior(record: dict[str, Any]) -> None:
    """RunFolderError unless the recorded posterior file exists with its recorded sha256."""
    from batches.calibration_folder import file_sha256

    path = Path(record["path"])
    if not path.is_file():
        raise RunFolderError(f"{OPTION}: the posterior {path} is gone; the draws cannot be rebuilt")
    if file_sha256(path) != record["sha256"]:
        raise RunFolderError(
            f"{OPTION}: the posterior {path} changed since the batch began (sha256 differs)"
        )


def fixed_keys(overrides: Any, vary: Iterable[str] = ()) -> set[str]:
    """The keys a batch fixes: those of its --set overrides and those a sweep varies."""
    from collections.abc import Mapping

    keys = set(vary)
    if overrides is None:
        return keys
    if isinstance(overrides, str):
        overrides = [overrides]
    if isinstance(overrides, Mapping):
        return keys | {str(k) for k in overrides}
    return keys | {str(text).partition("=")[0].strip() for text in overrides}
