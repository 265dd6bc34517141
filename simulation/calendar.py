"""Calendar months: month indices (0 = the scenario's start) and their "YYYY-MM" labels."""

from __future__ import annotations

import re

import numpy as np

_MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(label: str) -> tuple[int, int]:
    """Return (year, month) for a "YYYY-MM" label; raise ValueError on anything else."""
    match = _MONTH_PATTERN.match(str(label))
    if not match:
        raise ValueError(f"expected a month as YYYY-MM, got {label!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 01..12, got {label!r}")
    return year, month


def month_index(start: str, label: str) -> int:
    """Months from `start` to `label` (0 when equal; negative when `label` is earlier)."""
    y0, m0 = parse_month(start)
    y1, m1 = parse_month(label)
    return (y1 - y0) * 12 + (m1 - m0)


def month_label(start: str, index: int) -> str:
    """The "YYYY-MM" label of month `index` counted from `start`."""
    y0, m0 = parse_month(start)
    total = y0 * 12 + (m0 - 1) + int(index)
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_labels(start: str, months: int) -> np.ndarray:
    """Labels of months 0..months-1, as an array of strings."""
    return np.array([month_label(start, t) for t in range(months)], dtype=object)


def calendar_month(start: str, index: int) -> int:
    """The calendar month number (1..12) of month `index`."""
    return parse_month(month_label(start, index))[1]
