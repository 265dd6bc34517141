"""What stops a batch, as exceptions carrying the facts; the command line words them.

Only the standard library is imported here: the command line imports this module at start-up.

* `OptionError`: an option that cannot be used (it names the option and what was expected).
* `FolderExistsError`: the output folder exists and `force` was not given.
* `RunFolderError`: a folder cannot be opened or resumed (no or unreadable manifest ...).
* `BatchInterruptedError`: Ctrl-C or SIGTERM stopped the batch; the folder is partial.
* `ChunksFailedError`: some chunks raised; they are listed, the folder is partial.
* `ExecutorError`: the executor itself failed (a Dask cluster unreachable or lost).
* `StorageError`: the disk is full or the folder read-only; the folder is partial.
* `DamagedPartsError`: finished parts fail verification; the folder is partial.

A scenario that does not validate raises `simulation.scenario.ScenarioError` (a ValueError).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class BatchError(Exception):
    """Base class of the errors of this package."""


class OptionError(BatchError, ValueError):
    """An option (or API keyword) that cannot be used: `--option: what was expected`."""


class FolderExistsError(BatchError, FileExistsError):
    """The output folder exists and replacing it was not asked for."""

    def __init__(self, out: Path):
        super().__init__(f"{out} already exists; choose another --out or add --force")
        self.out = out


class RunFolderError(BatchError):
    """A run folder cannot be opened or resumed (no or unreadable manifest, hash mismatch)."""


class ExecutorError(BatchError):
    """The executor itself failed (a Dask cluster unreachable or lost); the folder is partial."""


class StorageError(BatchError):
    """Writing the folder failed (disk full, read-only); it is partial and can be resumed."""


class DamagedPartsError(BatchError):
    """Parts of the folder failed verification before it was marked complete (`reasons`)."""

    def __init__(self, out: Path, reasons: dict[int, str]):
        lines = [f"{out}: {len(reasons)} part(s) failed verification; the folder is partial:"]
        lines += [f"  {out}: {reason}" for _, reason in sorted(reasons.items())]
        lines.append(f"csto run --resume {out} runs them again")
        super().__init__("\n".join(lines))
        self.out, self.reasons = out, reasons


class BatchInterruptedError(BatchError):
    """Ctrl-C or SIGTERM stopped the batch; the folder is partial with `runs_completed` runs."""

    def __init__(self, out: Path, runs_completed: int, total: int):
        super().__init__(f"interrupted after {runs_completed} of {total} runs")
        self.out, self.runs_completed, self.total = out, runs_completed, total


class ChunksFailedError(BatchError):
    """Some chunks failed (listed in `failures`, also in failures.json); the folder is partial."""

    def __init__(self, out: Path, failures: list[dict[str, Any]], tasks: int):
        super().__init__(f"{len(failures)} of {tasks} chunks failed")
        self.out, self.failures, self.tasks = out, failures, tasks


def failure_lines(failures: list[dict[str, Any]]) -> list[str]:
    """One indented line per failed chunk: which runs and seed, and the error."""
    lines = []
    for failure in failures:
        where = f"point {failure['point']} " if failure.get("point") is not None else ""
        lines.append(
            f"  {where}chunk {failure['chunk']} (part {failure['part']}, runs "
            f"{failure['offset']}-{failure['offset'] + failure['size'] - 1}, seed "
            f"{failure['seed']}): {failure['error']}"
        )
    return lines
