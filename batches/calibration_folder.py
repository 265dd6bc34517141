"""The calibration folder: what `csto calibrate` leaves behind, and reading its posterior back.

    manifest.json       scenario, targets file and its sha256, priors, library and version, seed,
                        settings, status (partial / complete), epsilons, acceptance, simulations
    history.db          pyabc's SQLite database: every generation (the record; resumable)
    posterior.parquet   the last generation's draws, one column per parameter, and `weight`
    calibrated.toml     a scenario that `extends` the calibrated one with the posterior medians,
                        each with its 90% interval in a comment
    plots/              marginals against the priors, pairs, epsilon, posterior predictive check

`draw_posterior` resamples the posterior (weighted, seeded): that is what a run drawing its
parameters from a calibration passes to the model as per-replication values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from batches.abc import CalibrationResult, Prior, as_priors, effective_sample_size
from batches.targets import Targets
from results.atomic import atomic_write, atomic_write_text
from results.manifest import read_manifest, write_manifest
from simulation.scenario import ScenarioError

DB_NAME = "history.db"
POSTERIOR_NAME = "posterior.parquet"
CALIBRATED_NAME = "calibrated.toml"
WEIGHT = "weight"
INTERVAL = (0.05, 0.95)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def posterior_sha256(folder: str | os.PathLike[str]) -> str:
    """sha256 of a calibration folder's `posterior.parquet` (or of that file, given directly)."""
    path = Path(folder)
    return file_sha256(path / POSTERIOR_NAME if path.is_dir() else path)


def _library_version() -> str:
    try:
        return metadata.version("pyabc")
    except metadata.PackageNotFoundError:
        return "unknown"


def calibration_manifest(
    *,
    scenario: str,
    targets: Targets,
    priors: Sequence[Any],
    seed: int,
    settings: dict[str, Any],
    status: str,
    result: CalibrationResult | None = None,
    command: str = "",
) -> dict[str, Any]:
    """The manifest of a calibration folder (status "partial" until the last generation)."""
    if status not in ("partial", "complete"):
        raise ValueError("status is 'partial' or 'complete'")
    manifest: dict[str, Any] = {
        "kind": "calibration",
        "scenario": scenario,
        "targets": {"file": str(targets.path), "sha256": file_sha256(targets.path)},
        "priors": [
            {"key": p.name, "low": p.low, "high": p.high, "prior": p.kind}
            for p in as_priors(priors)
        ],
        "library": {"name": "pyabc", "version": _library_version()},
        "method": "ABC-SMC, scaled Euclidean distance, epsilon the weighted median",
        "seed": int(seed),
        "settings": dict(settings),
        "statistics": sorted(targets.observed()),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "status": status,
    }
    if result is not None:
        manifest.update(
            {
                "generations": result.generations,
                "epsilons": result.epsilons,
                "acceptance": result.acceptance,
                "simulations": result.simulations,
                "scales": {k: v if np.isfinite(v) else None for k, v in result.scales.items()},
                "effective_sample_size": effective_sample_size(result.posterior[WEIGHT]),
                "database": DB_NAME,
                "run_id": result.run_id,
            }
        )
    return manifest


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles of a weighted sample (inverse of the weighted empirical CDF, midpoint rule)."""
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, dtype=float)[order]
    w = np.asarray(weights, dtype=float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(qs, cdf, v)


def posterior_table(result_or_frame: CalibrationResult | pd.DataFrame) -> pd.DataFrame:
    """The posterior as draws plus `weight` (normalised to sum 1)."""
    frame = (
        result_or_frame.posterior
        if isinstance(result_or_frame, CalibrationResult)
        else result_or_frame
    )
    if WEIGHT not in frame.columns or len(frame) == 0:
        raise ValueError("a posterior needs draws and a 'weight' column")
    frame = frame.reset_index(drop=True).copy()
    frame[WEIGHT] = frame[WEIGHT] / frame[WEIGHT].sum()
    return frame


def write_posterior(folder: str | os.PathLike[str], result: CalibrationResult) -> Path:
    """Write `posterior.parquet` atomically."""
    table = posterior_table(result)
    return atomic_write(Path(folder) / POSTERIOR_NAME, lambda tmp: table.to_parquet(tmp))


def read_posterior(folder_or_frame: str | os.PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """A posterior table from a calibration folder, a parquet file or a DataFrame."""
    if isinstance(folder_or_frame, pd.DataFrame):
        return posterior_table(folder_or_frame)
    path = Path(folder_or_frame)
    file = path / POSTERIOR_NAME if path.is_dir() else path
    if not file.exists():
        raise ScenarioError(str(path), "", f"no {POSTERIOR_NAME}: not a finished calibration")
    return posterior_table(pd.read_parquet(file))


def draw_posterior(
    folder_or_frame: str | os.PathLike[str] | pd.DataFrame, n: int, seed: int
) -> dict[str, np.ndarray]:
    """`n` draws from the posterior, resampled with probability proportional to their weights
    (multinomial resampling, seeded): {parameter key: array (n,)} for per-replication values."""
    table = read_posterior(folder_or_frame)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(table), size=int(n), replace=True, p=table[WEIGHT].to_numpy())
    return {
        str(key): table[key].to_numpy(dtype=float)[rows] for key in table.columns if key != WEIGHT
    }


def posterior_summary(posterior: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: weighted median and 90% interval (columns median, low, high)."""
    table = posterior_table(posterior)
    weights = table[WEIGHT].to_numpy()
    rows = {}
    for key in table.columns:
        if key == WEIGHT:
            continue
        low, median, high = weighted_quantiles(
            table[key].to_numpy(), weights, [INTERVAL[0], 0.5, INTERVAL[1]]
        )
        rows[key] = {"median": median, "low": low, "high": high}
    return pd.DataFrame.from_dict(rows, orient="index")


def _format(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


def calibrated_scenario_text(scenario: str, posterior: pd.DataFrame, priors: Sequence[Any]) -> str:
    """A scenario that `extends` `scenario` with each parameter at its posterior median."""
    summary = posterior_summary(posterior)
    checked: list[Prior] = as_priors(priors)
    tables: dict[str, list[str]] = {}
    for prior in checked:
        if prior.name not in summary.index:
            raise ValueError(f"the posterior has no column {prior.name!r}")
        row = summary.loc[prior.name]
        table, _, key = prior.name.rpartition(".")
        line = (
            f"{key} = {_format(row['median'])}"
            f"  # posterior median; 90% interval [{_format(row['low'])}, {_format(row['high'])}];"
            f" prior {prior.kind} [{_format(prior.low)}, {_format(prior.high)}]"
        )
        tables.setdefault(table, []).append(line)
    lines = [
        f"# {scenario} with its free parameters at their posterior medians (csto calibrate).",
        f'extends = "{scenario}"',
        f'description = "{scenario}, calibrated: posterior medians of ABC-SMC on the 2022 record"',
    ]
    top = tables.pop("", [])
    lines += top
    for table, entries in tables.items():
        lines += ["", f"[{table}]", *entries]
    return "\n".join(lines) + "\n"


def write_calibrated_scenario(
    folder: str | os.PathLike[str], scenario: str, posterior: pd.DataFrame, priors: Sequence[Any]
) -> Path:
    """Write `calibrated.toml` atomically."""
    text = calibrated_scenario_text(scenario, posterior, priors)
    return atomic_write_text(Path(folder) / CALIBRATED_NAME, text)


def write_calibration_folder(
    folder: str | os.PathLike[str],
    *,
    scenario: str,
    targets: Targets,
    priors: Sequence[Any],
    seed: int,
    settings: dict[str, Any],
    result: CalibrationResult | None,
    predictive: pd.DataFrame | None = None,
    plots: bool = True,
    command: str = "",
) -> Path:
    """Write (or update) the folder around its database: manifest, posterior, calibrated
    scenario and plots. With no result yet, or an unfinished one, the manifest says partial.

    `predictive` (optional): statistics simulated from posterior draws, one row per draw, for
    the posterior predictive plot.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    status = "complete" if result is not None and result.complete else "partial"
    if result is not None:
        write_posterior(folder, result)
        write_calibrated_scenario(folder, scenario, result.posterior, priors)
        if plots:
            from results.calibration_plots import write_calibration_plots

            write_calibration_plots(
                folder,
                result.posterior,
                as_priors(priors),
                result.epsilons,
                predictive=predictive,
                observed=targets.observed(),
                ranges={c.statistic: (c.low, c.high) for c in targets.counts if c.documented},
            )
    manifest = calibration_manifest(
        scenario=scenario,
        targets=targets,
        priors=priors,
        seed=seed,
        settings=settings,
        status=status,
        result=result,
        command=command,
    )
    if result is not None:
        manifest["posterior_sha256"] = posterior_sha256(folder)
    write_manifest(folder, manifest)
    return folder


def read_calibration(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A calibration folder's manifest; ScenarioError if it is not one."""
    path = Path(folder)
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError):
        raise ScenarioError(str(path), "", "not a calibration folder (no manifest.json)") from None
    if manifest.get("kind") != "calibration":
        raise ScenarioError(str(path), "manifest.json", "not a calibration folder")
    return manifest
