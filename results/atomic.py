"""Atomic file writes: write to a hidden temporary name in the same folder, then `os.replace`.

Readers therefore see either the old file or the complete new one, never a half-written file, and
a crash leaves at most a hidden `.*.tmp` file that dataset readers ignore.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def temporary_path(path: Path) -> Path:
    """A hidden temporary name next to `path`, unique to this process."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` to produce the file at a temporary path, then move it onto `path`."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, write)
