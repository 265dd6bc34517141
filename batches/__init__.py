"""Batches: running scenarios many times into run folders, comparing them; the Python API.

    from batches import run, sweep, compare, open_folder, sensitivity

Modules: `chunks` (chunk planning and seeds, one chunk's model), `executors` (local processes,
Dask), `plan` (a run, a sweep or a resumption, checked and ready), `runner` (executing a
batch into its folder), `sweeps` (designs and sweep files), `history` (the 2022 check), `folders`
(finished folders as objects), `design` (points x runs as one lock-step batch), `sensitivity`
and `sensitivity_run` (Morris and Sobol analyses), `ema` (the EMA Workbench client), `api` (the
functions below), `errors`.

The names below are imported on first use, so `import batches` (and its light `batches.errors`)
loads no model, numpy or pandas and the command line starts fast.
"""

from typing import Any

__all__ = [
    "BatchError",
    "BatchInterruptedError",
    "ChunksFailedError",
    "Comparison",
    "ExecutorError",
    "FolderExistsError",
    "MissingTableWarning",
    "OptionError",
    "RunFolder",
    "RunFolderError",
    "ScenarioError",
    "SensitivityFolder",
    "SweepFolder",
    "compare",
    "open_folder",
    "resume",
    "run",
    "sensitivity",
    "sweep",
]

_HOMES = {
    "compare": "batches.api",
    "resume": "batches.api",
    "run": "batches.api",
    "sweep": "batches.api",
    "sensitivity": "batches.api",
    "SensitivityFolder": "batches.sensitivity_run",
    "open_folder": "batches.folders",
    "Comparison": "batches.folders",
    "RunFolder": "batches.folders",
    "SweepFolder": "batches.folders",
    "MissingTableWarning": "batches.folders",
    "ScenarioError": "simulation.scenario",
    "BatchError": "batches.errors",
    "BatchInterruptedError": "batches.errors",
    "ChunksFailedError": "batches.errors",
    "ExecutorError": "batches.errors",
    "FolderExistsError": "batches.errors",
    "OptionError": "batches.errors",
    "RunFolderError": "batches.errors",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'batches' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
