"""Shipping a calibration: medians into the world file, the posterior into the package."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from batches.shipping import apply_medians, project_path, ship

WORLD = """[dynamics]
public_reaction = 1.8     # [C] how far a let-down public moves
signal_memory = 6.0  # [C] posterior median, 90% [1, 2]; months

[agents.BLR]
credibility_prior = { mean = 0.7, strength = 6.0 }  # [C] belief in the alliance
"""


def summary(rows: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=["median", "low", "high"])


def test_medians_replace_values_and_keep_the_reason():
    text, done = apply_medians(
        WORLD,
        summary({
            "dynamics.public_reaction": (1.97, 1.14, 2.96),
            "dynamics.signal_memory": (6.44, 3.33, 11.3),
            "agents.BLR.credibility_prior.mean": (0.61, 0.5, 0.7),
        }),
    )  # fmt: skip
    assert sorted(done) == [
        "agents.BLR.credibility_prior.mean", "dynamics.public_reaction", "dynamics.signal_memory",
    ]  # fmt: skip
    lines = text.splitlines()
    assert lines[1] == (
        "public_reaction = 1.97  # [C] posterior median, 90% [1.14, 2.96]; how far a let-down "
        "public moves"
    )
    assert lines[2] == "signal_memory = 6.44  # [C] posterior median, 90% [3.33, 11.3]; months"
    assert lines[5].startswith("credibility_prior = { mean = 0.61, strength = 6.0 }")
    assert "mean: [C] posterior median, 90% [0.5, 0.7]; belief in the alliance" in lines[5]


def test_ship_copies_the_posterior_and_names_no_machine_folder(tmp_path):
    project = tmp_path / "project"
    (project / "scenarios" / "targets").mkdir(parents=True)
    targets = project / "scenarios" / "targets" / "record.toml"
    targets.write_text("")
    world = project / "scenarios" / "world.toml"
    world.write_text(WORLD)
    calibration = tmp_path / "calib"
    calibration.mkdir()
    posterior = {"dynamics.public_reaction": [1.0, 2.0, 3.0], "weight": [1.0, 1.0, 1.0]}
    pd.DataFrame(posterior).to_parquet(calibration / "posterior.parquet")
    manifest = {
        "kind": "calibration",
        "targets": {"file": str(targets), "sha256": "x"},
        "command": f"csto calibrate --out {tmp_path / 'cal-v8'} --seed 5",
    }
    (calibration / "manifest.json").write_text(json.dumps(manifest))
    done = ship(calibration, world, project / "scenarios" / "posterior")
    assert done == ["dynamics.public_reaction"]
    shipped = json.loads((project / "scenarios" / "posterior" / "manifest.json").read_text())
    assert shipped["targets"]["file"] == "scenarios/targets/record.toml"
    assert shipped["command"] == "csto calibrate --out cal-v8 --seed 5"
    assert "public_reaction = 2  # [C] posterior median" in world.read_text()
    assert project_path("/elsewhere/record.toml", project) == "/elsewhere/record.toml"


def test_a_key_missing_from_the_world_is_refused_and_nothing_written(tmp_path):
    world = tmp_path / "world.toml"
    world.write_text(WORLD)
    calibration = tmp_path / "calib"
    calibration.mkdir()
    pd.DataFrame({"agents.XYZ.rationality": [1.0, 2.0], "weight": [1.0, 1.0]}).to_parquet(
        calibration / "posterior.parquet"
    )
    with pytest.raises(ValueError, match="agents.XYZ.rationality"):
        ship(calibration, world, tmp_path / "posterior")
    assert world.read_text() == WORLD
    assert not (tmp_path / "posterior").exists()
