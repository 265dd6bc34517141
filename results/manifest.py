"""The run folder's `manifest.json`: what was run, how, and whether it finished.

The caller composes the manifest (scenario, seed, runs, versions, status ...); this module
serialises it and reads it back. Values JSON cannot represent natively (paths, numpy scalars and
arrays, dates, sets) are converted to plain JSON values. A manifest that is not UTF-8 JSON holding
an object, or (for `read_run_manifest`) lacks a key a run folder needs, raises
`DamagedFolderError` naming the file and what is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from results.atomic import atomic_write_text
from results.layout import FORMATS, DamagedFolderError

MANIFEST_NAME = "manifest.json"

RUN_MANIFEST_KEYS: dict[str, str] = {
    "runs": "a positive integer",
    "months": "a positive integer",
    "chunk_size": "a positive integer",
    "seed": "a non-negative integer",
    "format": f"one of {list(FORMATS)}",
    "status": "a string",
    "resolved_scenario": "a table",
    "scenario_sha256": "a string",
}
"""Keys every run (or sweep) folder's manifest holds, and what each must be."""


def _to_json(value: Any) -> Any:
    """JSON fallback for the non-JSON types a manifest typically holds."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot write {type(value).__name__} to the manifest: {value!r}")


def write_manifest(folder: str | os.PathLike[str], manifest: dict[str, Any]) -> Path:
    """Write `manifest` to `folder/manifest.json` atomically (indent 2) and return its path."""
    text = json.dumps(manifest, indent=2, ensure_ascii=False, default=_to_json) + "\n"
    return atomic_write_text(Path(folder) / MANIFEST_NAME, text)


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the folder `folder` (run, sweep, compare ...): a JSON object.

    Raises FileNotFoundError if there is none, DamagedFolderError if it cannot be read as one.
    """
    path = Path(folder) / MANIFEST_NAME
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise DamagedFolderError(path, "a folder, not a manifest file") from None
    if not raw.strip():
        raise DamagedFolderError(path, f"empty ({len(raw)} bytes); the folder's manifest is lost")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DamagedFolderError(path, f"not UTF-8 text (byte offset {error.start})") from None
    except json.JSONDecodeError as error:
        reason = f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        raise DamagedFolderError(path, reason) from None
    except RecursionError:
        raise DamagedFolderError(path, "not valid JSON (nested too deeply)") from None
    if not isinstance(manifest, dict):
        raise DamagedFolderError(path, f"expected a JSON object, got {type(manifest).__name__}")
    return manifest


def read_run_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of a run or sweep folder, checked by `check_run_manifest`."""
    manifest = read_manifest(folder)
    check_run_manifest(manifest, Path(folder) / MANIFEST_NAME)
    return manifest


def check_run_manifest(manifest: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Raise DamagedFolderError (for file `path`) unless `manifest` describes a batch.

    Names the first key of RUN_MANIFEST_KEYS that is missing or of the wrong kind, or a `sweep`
    entry without points.
    """
    for key, expected in RUN_MANIFEST_KEYS.items():
        if key not in manifest:
            raise DamagedFolderError(path, f"no {key!r} key; not a complete run manifest")
        if not _is_kind(key, manifest[key]):
            shown = json.dumps(manifest[key])[:40]
            raise DamagedFolderError(path, f"{key!r} must be {expected}, got {shown}")
    sweep = manifest.get("sweep")
    if sweep is not None:
        points = sweep.get("points") if isinstance(sweep, dict) else None
        if not isinstance(points, list) or not points:
            raise DamagedFolderError(path, "'sweep' must hold a non-empty list of 'points'")


def _is_kind(key: str, value: Any) -> bool:
    integer = isinstance(value, int) and not isinstance(value, bool)
    if key in ("runs", "months", "chunk_size"):
        return integer and value >= 1
    if key == "seed":
        return integer and value >= 0
    if key == "format":
        return value in FORMATS
    if key == "resolved_scenario":
        return isinstance(value, dict)
    return isinstance(value, str)
