"""A compare folder (`csto compare`): opening what is compared, and the files written.

This module owns

* opening the groups to compare: run folders (the first is the reference), or the points of
  one sweep folder (`open_inputs`);
* running the comparison and writing the folder: compare.csv, outcomes.csv, compare.json (what
  was compared, with which seed) and plots/ (`write_compare_folder`);
* reopening a compare folder's inputs from its compare.json to redraw its plots
  (`redraw_compare_plots`).

What cannot be opened raises `CompareFolderError` with a message for the user.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from results.compare import (
    Inputs,
    compare,
    compare_csv,
    open_runs,
    open_sweep,
    outcomes_csv,
    parse_months,
)
from results.layout import DamagedFolderError
from results.manifest import read_run_manifest

RECORD_NAME = "compare.json"
COMPARE_STEPS = 3
"""Progress steps of `results.compare.compare`; drawing the plots is one more."""


class CompareFolderError(Exception):
    """The folders to compare, or a compare folder's runs, cannot be opened."""


def is_compare_folder(folder: Path) -> bool:
    return (folder / RECORD_NAME).exists()


def open_inputs(
    reference: Path, others: tuple[Path, ...], reference_point: int, months_text: str | None
) -> tuple[Inputs, list[int]]:
    """The groups to compare and the months to tabulate (`--months` text; default the last).

    A sweep folder given alone is compared point by point, `reference_point` first; otherwise
    `reference` and `others` are run folders.
    """
    try:
        manifest = read_run_manifest(reference)
    except FileNotFoundError:
        raise CompareFolderError(f"{reference}: no manifest.json; not a run folder") from None
    except DamagedFolderError as error:
        raise CompareFolderError(str(error)) from None
    try:
        if manifest.get("sweep") and not others:
            inputs = open_sweep(reference, reference_point)
        else:
            inputs = open_runs([reference, *others])
        months = parse_months(months_text, inputs.dates)
    except FileNotFoundError as error:
        raise CompareFolderError(f"not a run folder: {error}") from None
    except DamagedFolderError as error:
        raise CompareFolderError(str(error)) from None
    except ValueError as error:
        raise CompareFolderError(str(error)) from None
    return inputs, months


def compare_progress(steps: int, quiet: bool):
    """A tqdm bar on stderr counting the comparison's steps; disabled off a terminal or quiet."""
    from tqdm import tqdm

    return tqdm(
        total=steps,
        unit="step",
        desc="comparing",
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        dynamic_ncols=True,
    )


def write_compare_folder(
    out: Path,
    inputs: Inputs,
    months: list[int],
    *,
    seed: int,
    reference_point: int,
    plots: bool,
    svg: bool,
    quiet: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare `inputs` (bootstrap `seed`) and write the folder `out`; return the two tables.

    compare.csv holds every metric at `months`, outcomes.csv the outcome probabilities.
    """
    with compare_progress(COMPARE_STEPS + (1 if plots else 0), quiet) as bar:
        comparison = compare(inputs, seed, progress=lambda: bar.update(1))
        out.mkdir(parents=True, exist_ok=True)
        table = compare_csv(comparison, months)
        outcomes = outcomes_csv(comparison)
        table.to_csv(out / "compare.csv", index=False)
        outcomes.to_csv(out / "outcomes.csv", index=False)
        record = {
            "runs": [str(Path(g.folder).resolve()) for g in inputs.groups],
            "kind": inputs.kind,
            "reference_point": reference_point,
            "months": months,
            "seed": seed,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command_line": shlex.join(sys.argv),
        }
        (out / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        if plots:
            from results.compare_plots import comparison_figures
            from results.plots import save_figures

            save_figures(comparison_figures(comparison), out / "plots", svg)
            bar.update(1)
    return table, outcomes


def redraw_compare_plots(
    folder: Path, out: Path, svg: bool, warn: Callable[[str], None] | None = None
) -> list[Path]:
    """Redo the comparison recorded in `folder`'s compare.json and draw its plots into `out`.

    `warn` receives a line for each plot left out because a compared folder lacks its table.
    """
    from results.compare_plots import comparison_figures
    from results.plots import save_figures

    record = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    try:
        if record["kind"] == "point":
            inputs = open_sweep(record["runs"][0], record["reference_point"])
        else:
            inputs = open_runs(record["runs"])
    except (FileNotFoundError, ValueError) as error:
        raise CompareFolderError(f"{folder}: cannot reread the compared runs: {error}") from None
    for line in inputs.missing:
        (warn or (lambda _: None))(line)
    return save_figures(comparison_figures(compare(inputs, record["seed"])), out, svg)
