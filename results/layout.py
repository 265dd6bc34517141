"""Where things live in a run folder, and which chunks are complete.

A run folder holds, per table `name` of `schema.TABLE_NAMES`:

* Parquet: a directory dataset `name.parquet/part-00000.parquet`, one part per chunk;
* CSV: a single file `name.csv`, assembled at the end from `.parts/name/part-00000.csv`;

plus `summary.csv`, `manifest.json` and `plots/`. Hidden names (leading ".") are temporaries.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from results.schema import TABLE_NAMES

Format = Literal["parquet", "csv"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")
PARTS_DIR = ".parts"
SUMMARY_NAME = "summary.csv"
PLOTS_DIR = "plots"

_PART_PATTERN = re.compile(r"^part-(\d{5,})\.(parquet|csv)$")


def part_name(chunk_index: int, fmt: str) -> str:
    """File name of chunk `chunk_index`'s part, e.g. "part-00003.parquet"."""
    if chunk_index < 0:
        raise ValueError(f"chunk index must be >= 0, got {chunk_index}")
    return f"part-{chunk_index:05d}.{fmt}"


def parts_dir(folder: str | os.PathLike[str], name: str, fmt: str) -> Path:
    """The directory holding the part files of table `name` in format `fmt`."""
    folder = Path(folder)
    if fmt == "parquet":
        return folder / f"{name}.parquet"
    if fmt == "csv":
        return folder / PARTS_DIR / name
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")


def part_path(folder: str | os.PathLike[str], name: str, fmt: str, chunk_index: int) -> Path:
    """Path of chunk `chunk_index`'s part file of table `name`."""
    return parts_dir(folder, name, fmt) / part_name(chunk_index, fmt)


def list_parts(directory: str | os.PathLike[str], fmt: str) -> dict[int, Path]:
    """Chunk index -> part file of format `fmt` in `directory`, in chunk order (empty if none)."""
    directory = Path(directory)
    if not directory.is_dir():
        return {}
    found = {}
    for entry in directory.iterdir():
        match = _PART_PATTERN.match(entry.name)
        if match and match.group(2) == fmt and entry.is_file():
            found[int(match.group(1))] = entry
    return dict(sorted(found.items()))


def completed_chunks(
    folder: str | os.PathLike[str], tables: Sequence[str] | None = None
) -> set[int]:
    """Chunk indices whose part files exist for every table written (in either format).

    `tables` are the tables the folder writes (default all four). CSV parts are removed once
    assembled, so a finished CSV folder reports no chunks.
    """
    complete: set[int] | None = None
    for name in tables if tables is not None else TABLE_NAMES:
        chunks = {
            chunk for fmt in FORMATS for chunk in list_parts(parts_dir(folder, name, fmt), fmt)
        }
        complete = chunks if complete is None else complete & chunks
    return complete or set()


def has_table(folder: str | os.PathLike[str], name: str) -> bool:
    """Whether the run folder holds table `name` (Parquet, CSV, or unassembled CSV parts)."""
    folder = Path(folder)
    return (
        (folder / f"{name}.parquet").exists()
        or (folder / f"{name}.csv").is_file()
        or parts_dir(folder, name, "csv").is_dir()
    )


def missing_table_note(folder: str | os.PathLike[str], name: str, needed_for: str) -> str:
    """The warning line for a table that was not written: which, where, what is left out, why."""
    return (
        f"{folder} has no {name} table (it was run with --tables without {name}): "
        f"{needed_for} left out"
    )
