"""The plots of a finished run or sweep folder, drawn after the batch or redrawn by `csto plot`.

A run folder gets the cohesion band and its components (`results.plots`); a sweep folder the
per-point plots (`results.compare_plots.save_sweep_plots`). Both are drawn from the folder's
summary and tables, so they can be redrawn at any time.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from results.report import read_summary


def save_folder_plots(
    folder: Path,
    manifest: dict[str, Any],
    out: Path | None = None,
    svg: bool = False,
    warn: Callable[[str], None] | None = None,
) -> list[Path]:
    """(Re)draw the plots of `folder` (its `manifest` says what it holds) into `out`.

    `out` defaults to folder/plots. Returns the files written. A plot that needs a table the
    folder does not hold is left out, and `warn` receives a line saying so (a run's own plots
    need only summary.csv, which every finished folder has).
    """
    out = out if out is not None else folder / "plots"
    if manifest.get("sweep"):
        from results.compare_plots import save_sweep_plots

        return save_sweep_plots(folder, out, svg, warn=warn)
    from results.plots import save_run_plots

    paths = save_run_plots(
        folder, read_summary(folder), manifest["scenario"], manifest["runs"], svg
    )
    if out != folder / "plots":
        out.mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.move(path, out / path.name)
        paths = [out / p.name for p in paths]
    return paths
