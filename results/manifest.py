"""The run folder's `manifest.json`: what was run, how, and whether it finished.

The caller composes the manifest (scenario, seed, runs, versions, status ...); this module only
serialises it. Values JSON cannot represent natively (paths, numpy scalars and arrays, dates,
sets) are converted to plain JSON values.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from results.atomic import atomic_write_text

MANIFEST_NAME = "manifest.json"


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
    """The manifest of the run folder `folder`."""
    return json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
