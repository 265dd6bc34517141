"""Shipping a calibration: its posterior as package data, its medians as the world's [C] values.

    python -m batches.shipping CALIB_DIR

copies the calibration's `posterior.parquet` and `manifest.json` into `scenarios/posterior/` (what
`--posterior shipped` draws from; the targets file named relative to the project, the command's
`--out` folder by its name) and rewrites
`scenarios/world-2022.toml` in place: each calibrated key's value becomes its posterior median,
its comment starting with the 90% interval (`# [C] posterior median, 90% [low, high]; ...`), the
rest of the line's comment kept. Only the keys of the posterior are touched; every other line of
the file stays as it is.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

from batches.calibration_folder import POSTERIOR_NAME, posterior_summary, read_posterior
from results.manifest import MANIFEST_NAME

TABLE = re.compile(r"^\[([^\]]+)\]")
ASSIGN = re.compile(
    r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?P<eq>\s*=\s*)(?P<value>[^#]*?)(?P<tail>\s*(#.*)?)$"
)


def number(value: float) -> str:
    """A value as the scenario file writes it: 3 significant digits."""
    return f"{value:.3g}"


def interval_note(low: float, high: float) -> str:
    return f"[C] posterior median, 90% [{number(low)}, {number(high)}]"


def _comment(tail: str, note: str) -> str:
    old = tail.strip().lstrip("#").strip()
    old = re.sub(r"^\[C\]\s*", "", old)
    old = re.sub(r"^posterior median, 90% \[[^\]]*\];?\s*", "", old)
    return f"  # {note}" + (f"; {old}" if old else "")


def apply_medians(text: str, summary: pd.DataFrame) -> tuple[str, list[str]]:
    """`text` (a scenario file) with each key of `summary` (index: dotted keys; columns median,
    low, high) set to its median; the keys changed. A key inside an inline table
    (`credibility_prior = { mean = ... }`) is set within it."""
    wanted = {str(k): row for k, row in summary.iterrows()}
    lines = text.splitlines()
    table = ""
    done: list[str] = []
    for n, line in enumerate(lines):
        header = TABLE.match(line)
        if header:
            table = header.group(1).strip()
            continue
        match = ASSIGN.match(line)
        if not match:
            continue
        key = f"{table}.{match.group('key')}" if table else match.group("key")
        if key in wanted:
            row = wanted[key]
            lines[n] = f"{match.group('key')}{match.group('eq')}{number(row['median'])}" + _comment(
                match.group("tail"), interval_note(row["low"], row["high"])
            )
            done.append(key)
            continue
        inline = match.group("value").strip()
        if inline.startswith("{"):
            for inner, row in wanted.items():
                prefix = f"{key}."
                if not inner.startswith(prefix):
                    continue
                field = inner[len(prefix) :]
                inline = re.sub(
                    rf"(\b{re.escape(field)}\s*=\s*)[-+0-9.eE]+",
                    rf"\g<1>{number(row['median'])}",
                    inline,
                )
                note = f"{field}: " + interval_note(row["low"], row["high"])
                lines[n] = f"{match.group('key')}{match.group('eq')}{inline}" + _comment(
                    match.group("tail"), note
                )
                done.append(inner)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else ""), done


def ship(calibration: Path, world: Path, posterior_dir: Path) -> list[str]:
    """Copy the posterior into `posterior_dir` and write the medians into `world`; the keys set.

    ValueError when a calibrated key is not found in `world`."""
    table = read_posterior(calibration)
    summary = posterior_summary(table)
    text, done = apply_medians(world.read_text(), summary)
    missing = sorted(set(summary.index) - set(done))
    if missing:
        raise ValueError(f"{world}: no line for {missing}")
    posterior_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(calibration / POSTERIOR_NAME, posterior_dir / POSTERIOR_NAME)
    manifest = json.loads((calibration / MANIFEST_NAME).read_text())
    manifest["targets"]["file"] = project_path(manifest["targets"]["file"], world.parent.parent)
    if "command" in manifest:
        manifest["command"] = without_out_folder(manifest["command"])
    (posterior_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    world.write_text(text)
    return done


def project_path(path: str, root: Path) -> str:
    """`path` relative to the project `root` when it lies inside it (a shipped file names no
    machine's folders), else unchanged."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def without_out_folder(command: str) -> str:
    """The calibration's command line with its `--out` folder named by its last part only (a
    shipped manifest names no machine's folders)."""
    return re.sub(r"(--out[ =])(\S+)", lambda m: m.group(1) + Path(m.group(2)).name, command)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m batches.shipping CALIB_DIR", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent / "scenarios"
    done = ship(Path(argv[0]), root / "world-2022.toml", root / "posterior")
    print(f"{len(done)} values written to {root / 'world-2022.toml'}; posterior: {root}/posterior")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
