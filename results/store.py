"""The run folder: writing a batch's tables chunk by chunk, and reading them back.

`RunFolderWriter` writes each chunk's four tables as soon as the chunk is simulated, straight into
the final folder, so finished chunks survive a crash; `finish` completes the folder with the CSV
assembly (CSV format), `summary.csv` and `manifest.json`. `read_table` reads any table back in
its canonical layout, whichever format it was written in; a file that cannot be read (empty,
truncated, garbage, wrong columns) raises `DamagedFolderError` naming it. See `results.layout`
for file names, `results.verify` for checking a folder's parts against its manifest.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from results.atomic import atomic_write
from results.layout import (
    FORMATS,
    PARTS_DIR,
    SUMMARY_NAME,
    DamagedFolderError,
    Format,
    completed_chunks,
    list_parts,
    part_path,
    parts_dir,
)
from results.lock import LOCK_NAME, FolderLock
from results.manifest import read_manifest, write_manifest
from results.schema import (
    POINT,
    TABLE_NAMES,
    conform,
    empty_table,
    float_columns,
    schema,
    sort_keys,
)
from results.summary import summary_table
from results.tables import all_tables
from simulation.record import RunRecord

__all__ = [
    "DamagedFolderError",
    "RunFolderWriter",
    "completed_chunks",
    "read_manifest",
    "read_table",
    "write_manifest",
]


_KEY_COLUMNS = ("point", "run", "month")
"""Columns whose min/max statistics are kept, so readers can skip row groups by run or month."""


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write `df` as a single Parquet file (no index).

    Dictionary encoding only for text columns (codes repeat; floats rarely do) and statistics only
    for the key columns: two to three times faster than pyarrow's defaults, files as small.
    """
    table = pa.Table.from_pandas(df, preserve_index=False)
    text = [
        f.name
        for f in table.schema
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    keys = [name for name in _KEY_COLUMNS if name in table.column_names]
    pq.write_table(table, path, use_dictionary=text, write_statistics=keys)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write `df` as CSV with a header row (no index; NaN as an empty cell; text quoted).

    Arrow's writer is an order of magnitude faster than pandas' and writes floats in their
    shortest round-trip form.
    """
    pacsv.write_csv(pa.Table.from_pandas(df, preserve_index=False), path)


_WRITERS = {"parquet": _write_parquet, "csv": _write_csv}


def _first_line(path: Path) -> str:
    """The first line of a text file, with its newline."""
    with path.open(encoding="utf-8", newline="") as src:
        return src.readline()


def _assemble_csv(parts: list[Path], target: Path, header: str) -> None:
    """Concatenate CSV `parts` (each with the same header row) into `target`, atomically.

    `header` (without newline) is written when there are no parts. Raises ValueError if the parts'
    headers differ.
    """
    expected = _first_line(parts[0]) if parts else header + "\n"

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as out:
            out.write(expected)
            for part in parts:
                with part.open(encoding="utf-8", newline="") as src:
                    first = src.readline()
                    if first != expected:
                        raise ValueError(f"{part} has header {first!r}, expected {expected!r}")
                    shutil.copyfileobj(src, out)

    atomic_write(target, write)


def _chosen_tables(tables: Sequence[str] | None) -> tuple[str, ...]:
    """The tables to write, in TABLE_NAMES order; metrics always (summary.csv is made from it)."""
    if tables is None:
        return TABLE_NAMES
    unknown = sorted(set(tables) - set(TABLE_NAMES))
    if unknown:
        raise ValueError(f"unknown tables {unknown}; expected some of {list(TABLE_NAMES)}")
    return tuple(name for name in TABLE_NAMES if name in tables or name == "metrics")


class RunFolderWriter:
    """Writes one run folder chunk by chunk, owning it (`results.lock.FolderLock`) meanwhile.

    The lock is taken before anything in the folder is touched and held until `finish` or
    `close`: a second writer (another process, or `force` on a folder being written) gets
    `FolderLockedError` naming the holder. `lock.note` says whether a stale lock was taken over.

    Args:
        path: the folder to create; it must not exist unless `force`, which empties it first
            (after taking its lock).
        fmt: "parquet" (a directory dataset per table) or "csv" (one file per table).
        force: replace an existing folder.
        tables: the tables to write (default all four); metrics is always written.
        relations_every: keep relation rows of the months m with m % K == 0 and the last month
            only (None: every month).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fmt: Format = "parquet",
        *,
        force: bool = False,
        tables: Sequence[str] | None = None,
        relations_every: int | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
        self.path = Path(path)
        self.fmt = fmt
        self.finished = False
        self.tables = _chosen_tables(tables)
        self.relations_every = relations_every
        self.lock = _take_folder(self.path, force)
        try:
            for name in self.tables:
                parts_dir(self.path, name, fmt).mkdir(parents=True)
        except BaseException:
            self.close()
            raise

    @classmethod
    def reopen(
        cls,
        path: str | os.PathLike[str],
        fmt: Format,
        *,
        tables: Sequence[str] | None = None,
        relations_every: int | None = None,
    ) -> RunFolderWriter:
        """A writer adding chunks to the existing, unfinished run folder `path` (to resume it).

        `tables` and `relations_every` must be those the folder was started with. Hidden
        temporaries left by a killed writer are removed; finished parts are kept.
        """
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
        self = cls.__new__(cls)
        self.path, self.fmt, self.finished = Path(path), fmt, False
        self.tables, self.relations_every = _chosen_tables(tables), relations_every
        if not self.path.is_dir():
            raise FileNotFoundError(f"no run folder {self.path}")
        self.lock = FolderLock(self.path).acquire()
        try:
            for name in self.tables:
                directory = parts_dir(self.path, name, fmt)
                directory.mkdir(parents=True, exist_ok=True)
                for entry in directory.glob(".*.tmp"):
                    entry.unlink(missing_ok=True)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Release the folder's lock (idempotent); `finish` does it too."""
        lock = getattr(self, "lock", None)
        if lock is not None:
            lock.release()

    def __del__(self) -> None:  # a writer dropped unfinished leaves no lock behind
        self.close()

    def write_chunk(self, chunk_index: int, record: RunRecord, point: int | None = None) -> None:
        """Write the chosen tables of `record` as part `chunk_index` of each table, atomically."""
        if self.finished:
            raise RuntimeError(f"run folder {self.path} is already finished")
        for name, table in all_tables(record, point, self.tables, self.relations_every).items():
            path = part_path(self.path, name, self.fmt, chunk_index)
            atomic_write(path, partial(_WRITERS[self.fmt], table))

    def finish(self, manifest: dict[str, Any]) -> Path:
        """Complete the folder: assemble CSV tables, write summary.csv, then manifest.json.

        Returns the folder's path.
        """
        if self.finished:
            raise RuntimeError(f"run folder {self.path} is already finished")
        if self.fmt == "csv":
            self._assemble_csv_tables()
        summary = summary_table(read_table(self.path, "metrics"))
        atomic_write(self.path / SUMMARY_NAME, partial(_write_csv, summary))
        write_manifest(self.path, manifest)
        self.finished = True
        self.close()
        return self.path

    def _assemble_csv_tables(self) -> None:
        """Turn the CSV parts of every table written into one `name.csv`, then drop the parts."""
        for name in self.tables:
            parts = list(list_parts(parts_dir(self.path, name, "csv"), "csv").values())
            header = ",".join(f'"{col}"' for col in schema(name))
            _assemble_csv(parts, self.path / f"{name}.csv", header)
        shutil.rmtree(self.path / PARTS_DIR)


def _take_folder(path: Path, force: bool) -> FolderLock:
    """Lock the folder `path` for a new writer, creating it, or with `force` emptying it.

    With `force` an existing folder's lock is taken first (FolderLockedError if a live process
    writes it), then everything but the lock is removed. FileExistsError when `path` exists and
    holds anything without `force`.
    """
    exists = f"run folder {path} already exists; choose another path or use force"
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        if not force:
            raise FileExistsError(exists)
        _check_removable(path)
        path.unlink()
    elif path.exists():
        if not force:
            raise FileExistsError(exists)
        _check_removable(path)
    lock = FolderLock(path, create=True).acquire()
    try:
        if any(entry.name != LOCK_NAME for entry in path.iterdir()):
            if not force:  # made by another writer between the check and the lock
                raise FileExistsError(exists)
            _clear(path)
    except BaseException:
        lock.release()
        raise
    return lock


def _check_removable(path: Path) -> None:
    """Refuse to remove the working or home folder or their parents.

    The guard turns a mistaken `--out . --force` into an error instead of a deleted project.
    """
    target = path.resolve()
    for protected in (Path.cwd().resolve(), Path.home().resolve()):
        if target == protected or target in protected.parents:
            raise ValueError(f"refusing to remove {path}: it contains {protected}")


def _clear(folder: Path) -> None:
    """Remove everything in `folder` but its lock file (the caller holds the lock)."""
    _check_removable(folder)
    empty_but_lock(folder)


def empty_but_lock(folder: Path) -> None:
    """Remove every entry of `folder` but its lock file (the caller holds the lock)."""
    for entry in folder.iterdir():
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _readable(path: Path, read: Callable[[], pd.DataFrame | pa.Table]) -> Any:
    """`read()`, with any failure to parse the file `path` raised as DamagedFolderError."""
    try:
        if path.is_file() and path.stat().st_size == 0:
            raise DamagedFolderError(path, "empty file (0 bytes)")
        return read()
    except DamagedFolderError:
        raise
    except (pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise DamagedFolderError(path, f"unreadable table file ({first})") from None


def _read_parquet(path: Path, name: str) -> pd.DataFrame:
    """Read a Parquet file or a directory of part files (in chunk order) as one frame."""
    if path.is_file():
        return _readable(path, lambda: pq.read_table(path).to_pandas())
    parts = list(list_parts(path, "parquet").values())
    if not parts:
        return empty_table(name)
    tables = [_readable(part, partial(pq.read_table, part)) for part in parts]
    try:
        return pa.concat_tables(tables).to_pandas()
    except pa.ArrowInvalid as error:
        reason = f"parts of different layouts ({str(error).splitlines()[0][:160]})"
        raise DamagedFolderError(path, reason) from None


def _read_csv(path: Path, name: str) -> pd.DataFrame:
    """Read a CSV table with its canonical dtypes; empty text cells stay "" (not NaN)."""
    floats = float_columns(name)
    return _readable(
        path,
        lambda: pd.read_csv(
            path,
            dtype=schema(name, with_point=True),
            keep_default_na=False,
            na_values={col: ["", "nan", "NaN"] for col in floats},
        ),
    )


def _read_csv_parts(directory: Path, name: str) -> pd.DataFrame:
    """Read the not yet assembled CSV parts of an unfinished folder as one frame."""
    parts = [_read_csv(part, name) for part in list_parts(directory, "csv").values()]
    return pd.concat(parts, ignore_index=True) if parts else empty_table(name)


def _read_raw(folder: Path, name: str) -> tuple[pd.DataFrame, Path]:
    """Table `name` as stored, from whichever of its files exist, and the file or folder read."""
    if (folder / f"{name}.parquet").exists():
        path = folder / f"{name}.parquet"
        return _read_parquet(path, name), path
    if (folder / f"{name}.csv").exists():
        path = folder / f"{name}.csv"
        return _read_csv(path, name), path
    if parts_dir(folder, name, "csv").is_dir():
        path = parts_dir(folder, name, "csv")
        return _read_csv_parts(path, name), path
    raise FileNotFoundError(
        f"no table {name!r} in {folder} (neither .parquet nor .csv; "
        "a run with --tables writes only the tables it names)"
    )


def read_table(folder: str | os.PathLike[str], name: str) -> pd.DataFrame:
    """Read table `name` of a run folder, in canonical dtypes, sorted by its natural keys.

    Works on Parquet and CSV folders, and on the parts of an unfinished CSV folder. Sorting is
    stable, so events keep their recorded order within a run and month. The index is 0..n-1.
    Raises FileNotFoundError if the table is not there, DamagedFolderError if it cannot be read
    or lacks its columns.
    """
    raw, path = _read_raw(Path(folder), name)
    try:
        df = conform(raw, name)
    except (ValueError, TypeError) as error:
        raise DamagedFolderError(path, str(error).splitlines()[0][:200]) from None
    keys = sort_keys(name, with_point=POINT in df.columns)
    if keys:
        df = df.sort_values(keys, kind="stable")
    return df.reset_index(drop=True)
