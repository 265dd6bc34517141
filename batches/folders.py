"""Finished folders as Python objects: a run or sweep folder, a compare folder.

* `RunFolder`: a run folder; its tables as pandas DataFrames (`metrics`, `agents`, `events`,
  `relations`), each read on first use and kept; `summary()`, `manifest`, `plot()`.
* `SweepFolder`: a sweep folder (a RunFolder with `points`).
* `Comparison`: a compare folder: `table` (compare.csv), `outcomes` (outcomes.csv), `plot()`.
* `open_folder`: any finished run, sweep or compare folder, as the object of its kind.
* `compare_folders` and `plot_folder`: what `csto compare` and `csto plot` do, with warnings
  handed to a callback.

A folder made in a temporary directory (`out=None` in `batches.api`) holds that directory: it is
removed when the object is garbage-collected, or at `close()`.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batches.errors import FolderExistsError, OptionError, RunFolderError

if TYPE_CHECKING:
    import pandas as pd

Warn = Callable[[str], None]
RECORD_NAME = "compare.json"


class MissingTableWarning(UserWarning):
    """A table a plot or a table needs was not written (the run's --tables left it out)."""


def python_warning(message: str) -> None:
    """`warn` callback of the Python API: a MissingTableWarning."""
    warnings.warn(message, MissingTableWarning, stacklevel=3)


class _Folder(os.PathLike):
    """A folder on disk, maybe inside a temporary directory this object keeps alive."""

    def __init__(
        self, path: str | os.PathLike[str], tmp: tempfile.TemporaryDirectory | None = None
    ):
        self.path = Path(path)
        self._tmp = tmp

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    @property
    def temporary(self) -> bool:
        """Whether the folder lives in a temporary directory removed with this object."""
        return self._tmp is not None

    def close(self) -> None:
        """Remove the temporary directory now (nothing for a folder given by `out`)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RunFolder(_Folder):
    """A finished run folder. Tables are read on first access and kept (`read_table`)."""

    kind = "run"

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """manifest.json as a dict."""
        from batches.runner import read_folder_manifest

        return read_folder_manifest(self.path)

    @property
    def tables(self) -> list[str]:
        """The tables the run wrote (all four unless it was run with `tables`)."""
        from results.layout import has_table
        from results.schema import TABLE_NAMES

        return [name for name in TABLE_NAMES if has_table(self.path, name)]

    def table(self, name: str) -> pd.DataFrame:
        """Table `name` (metrics, agents, events or relations), read once and kept.

        Raises RunFolderError naming the table and the option when the run did not write it.
        """
        from results.layout import has_table
        from results.schema import TABLE_NAMES

        if name not in TABLE_NAMES:
            raise OptionError(f"unknown table {name!r}; expected one of {', '.join(TABLE_NAMES)}")
        cache = self.__dict__.setdefault("_tables", {})
        if name not in cache:
            if not has_table(self.path, name):
                raise RunFolderError(
                    f"{self.path} has no {name} table: the run was made with --tables "
                    f"{','.join(self.tables)} (tables=...); rerun with {name} in it"
                )
            from results.store import read_table

            cache[name] = read_table(self.path, name)
        return cache[name]

    @property
    def metrics(self) -> pd.DataFrame:
        """run × month: cohesion and its components."""
        return self.table("metrics")

    @property
    def agents(self) -> pd.DataFrame:
        """run × month × country: posture, alignment, credibility, standing, threat, status."""
        return self.table("agents")

    @property
    def events(self) -> pd.DataFrame:
        """One row per event: actor, action, target, goldstein."""
        return self.table("events")

    @property
    def relations(self) -> pd.DataFrame:
        """run × month × ordered pair: warmth (only the months kept with relations_every)."""
        return self.table("relations")

    def summary(self) -> pd.DataFrame:
        """The summary.csv table: per [point,] month and metric, mean, p05, p50, p95."""
        from results.store import read_table

        if not (self.path / "summary.csv").exists():
            raise RunFolderError(f"{self.path} is unfinished (no summary.csv); resume it first")
        return read_table(self.path, "summary")

    def plot(self, out: str | os.PathLike[str] | None = None, svg: bool = False) -> list[Path]:
        """(Re)draw the folder's plots into `out` (default its plots/); the files written."""
        return plot_folder(self.path, Path(out) if out is not None else None, svg, python_warning)


class SweepFolder(RunFolder):
    """A finished sweep folder: a run folder with a `point` column and points.parquet."""

    kind = "sweep"

    @cached_property
    def points(self) -> pd.DataFrame:
        """points.parquet: `point` and one column per varied key."""
        import pandas as pd

        return pd.read_parquet(self.path / "points.parquet")


class Comparison(_Folder):
    """A compare folder: compare.csv as `table`, outcomes.csv as `outcomes`, and its plots."""

    kind = "compare"

    def __init__(
        self,
        path: str | os.PathLike[str],
        tmp: tempfile.TemporaryDirectory | None = None,
        inputs: Sequence[Any] = (),
    ):
        super().__init__(path, tmp)
        self._inputs = list(inputs)  # keeps temporary run folders alive while compared

    @cached_property
    def record(self) -> dict[str, Any]:
        """compare.json: what was compared (the folders, kind, months, seed)."""
        import json

        return json.loads((self.path / RECORD_NAME).read_text(encoding="utf-8"))

    @cached_property
    def table(self) -> pd.DataFrame:
        """compare.csv: scenario (or point), metric, month, mean, diff, ci_low, ci_high."""
        import pandas as pd

        return pd.read_csv(self.path / "compare.csv")

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """outcomes.csv: scenario (or point), outcome, probability, ci_low, ci_high."""
        import pandas as pd

        return pd.read_csv(self.path / "outcomes.csv")

    def plot(self, out: str | os.PathLike[str] | None = None, svg: bool = False) -> list[Path]:
        """Redraw the comparison's plots into `out` (default its plots/); the files written."""
        return plot_folder(self.path, Path(out) if out is not None else None, svg, python_warning)


@contextmanager
def output_folder(
    out: str | os.PathLike[str] | None, name: str
) -> Iterator[tuple[tempfile.TemporaryDirectory | None, Path]]:
    """(None, `out`), or with no `out` a new temporary directory and the (not yet existing)
    folder `name` inside it: the directory lives as long as the folder object it is handed to,
    and is removed at once if the work inside the block fails."""
    if out is not None:
        yield None, Path(out)
        return
    tmp = tempfile.TemporaryDirectory(prefix="csto-")
    try:
        yield tmp, Path(tmp.name) / name
    except BaseException:
        tmp.cleanup()
        raise


def open_folder(path: str | os.PathLike[str]) -> RunFolder | SweepFolder | Comparison:
    """Any finished run, sweep, sensitivity or compare folder, as a RunFolder, SweepFolder,
    SensitivityFolder or Comparison.

    Raises RunFolderError when `path` is none of them, or is unfinished.
    """
    path = Path(path)
    if (path / RECORD_NAME).exists():
        return Comparison(path)
    if not path.is_dir():
        raise RunFolderError(f"{path}: no such folder")
    from batches.runner import read_folder_manifest

    manifest = read_folder_manifest(path)
    if manifest.get("status") != "complete":
        raise RunFolderError(
            f"{path} is {manifest.get('status')}: resume it first (csto run --resume {path})"
        )
    if "sensitivity" in manifest:
        from batches.sensitivity_run import SensitivityFolder

        folder: RunFolder = SensitivityFolder(path)
    else:
        folder = SweepFolder(path) if manifest.get("sweep") else RunFolder(path)
    folder.__dict__["manifest"] = manifest
    return folder


# --- what csto compare and csto plot do ----------------------------------------------------------


def compare_folders(
    reference: str | os.PathLike[str],
    others: Sequence[str | os.PathLike[str]] = (),
    *,
    months: str | Sequence[int | str] | None = None,
    reference_point: int = 0,
    seed: int = 20221211,
    out: Path,
    plots: bool = True,
    svg: bool = False,
    force: bool = False,
    progress: bool = False,
    warn: Warn | None = None,
):
    """Compare finished folders and write the compare folder `out`.

    `reference` and `others` are run folders (the first the reference), or `reference` alone a
    sweep folder compared point by point from `reference_point`. `months` are month numbers or
    YYYY-MM dates (a list, or the option's "M,..." text; default the last). Returns (table,
    outcomes, inputs). Raises RunFolderError for a folder that cannot be compared (a damaged
    manifest or table: naming the file), OptionError for bad months or fewer than two groups,
    FolderExistsError when `out` exists without `force`, FolderLockedError when another process
    writes `out`.
    `warn` receives each warning line (a partial folder, a table not written).
    """
    from batches.plan import check_seed
    from results.compare_folder import CompareFolderError, open_inputs, write_compare_folder

    check_seed(seed)

    months_text = (
        months if months is None or isinstance(months, str) else ",".join(map(str, months))
    )
    reference = Path(reference)
    others = tuple(Path(other) for other in others)
    for folder in (reference, *others):
        if not folder.is_dir():
            raise RunFolderError(f"{folder}: no such folder")
    try:
        inputs, chosen = open_inputs(reference, others, reference_point, months_text)
    except CompareFolderError as error:
        text = str(error)
        raise (OptionError(text) if text.startswith("--months") else RunFolderError(text)) from None
    if len(inputs.groups) < 2:
        raise OptionError("give at least two run folders, or one sweep folder with two points")
    for line in inputs.warnings:
        (warn or python_warning)(line)
    out = Path(out)
    if out.exists() and not force:
        raise FolderExistsError(out)
    from results.lock import FolderLock

    with FolderLock(out, create=True):  # one writer: FolderLockedError names another
        table, outcomes = write_compare_folder(
            out, inputs, chosen, seed=seed, reference_point=reference_point, plots=plots,
            svg=svg, quiet=not progress,
        )  # fmt: skip
    return table, outcomes, inputs


def plot_folder(
    folder: str | os.PathLike[str],
    out: Path | None = None,
    svg: bool = False,
    warn: Warn | None = None,
) -> list[Path]:
    """Redraw the plots of a run, sweep, sensitivity or compare folder into `out` (default
    its plots/).

    Raises RunFolderError for a folder that is none of them or is unfinished; `warn` receives a
    line for each plot left out because a table it needs was not written.
    """
    from results.compare_folder import CompareFolderError, is_compare_folder, redraw_compare_plots
    from results.folder_plots import save_folder_plots

    folder = Path(folder)
    out = out if out is not None else folder / "plots"
    if is_compare_folder(folder):
        try:
            return redraw_compare_plots(folder, out, svg, warn=warn)
        except CompareFolderError as error:
            raise RunFolderError(str(error)) from None
    from results.manifest import read_run_manifest

    try:
        manifest = read_run_manifest(folder)
    except FileNotFoundError:
        raise RunFolderError(f"{folder}: no manifest.json or compare.json") from None
    if "sensitivity" in manifest:
        from batches.sensitivity_run import plot_sensitivity_folder

        return plot_sensitivity_folder(folder, out, svg)
    if not (folder / "summary.csv").exists():
        raise RunFolderError(f"{folder} is unfinished (no summary.csv); csto run --resume it first")
    return save_folder_plots(folder, manifest, out, svg, warn=warn)
