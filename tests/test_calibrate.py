"""`csto calibrate` end to end on tiny budgets: seeded, resumable, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import assert_clean_error

pytest.importorskip("pyabc")

import batches.calibrate as calibrate_module  # noqa: E402
from batches.calibrate import FOCUS, _generations_done  # noqa: E402

TINY = (
    "--vary", "agents.ARM.beta_legitimacy",
    "--vary", "actions.visit_breakaway.cost",
    "--population", "12", "--generations", "2", "--runs", "2", "--no-plots", "--quiet",
)  # fmt: skip


def posterior(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "posterior.parquet")


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """An uninterrupted tiny calibration, seed 3."""
    from conftest import invoke

    out = tmp_path_factory.mktemp("calibrate") / "a"
    result = invoke("calibrate", *TINY, "--seed", "3", "--out", out)
    assert result.exit_code == 0, (result.output, result.exception)
    return out


def test_the_folder_records_the_calibration(straight):
    manifest = json.loads((straight / "manifest.json").read_text())
    assert manifest["kind"] == "calibration"
    assert manifest["status"] == "complete"
    assert manifest["scenario"] == "history-2022"
    assert manifest["seed"] == 3
    assert manifest["settings"]["months"] == 12
    assert manifest["settings"]["population"] == 12
    assert manifest["settings"]["transition"] == "beaumont"
    assert [p["key"] for p in manifest["priors"]] == [
        "agents.ARM.beta_legitimacy",
        "actions.visit_breakaway.cost",
    ]
    assert manifest["library"]["name"] == "pyabc"
    assert len(manifest["targets"]["sha256"]) == 64
    assert manifest["generations"] == 2
    for name in ("history.db", "posterior.parquet", "calibrated.toml", "predictive.parquet"):
        assert (straight / name).exists(), name
    table = posterior(straight)
    assert set(table.columns) == {"agents.ARM.beta_legitimacy", "actions.visit_breakaway.cost",
                                  "weight"}  # fmt: skip
    assert len(table) == 12
    predictive = pd.read_parquet(straight / "predictive.parquet")
    assert "count.BLR.visit_breakaway.RUS" in predictive.columns


def test_same_seed_same_posterior_and_another_seed_another(straight, cli, tmp_path):
    again = cli("calibrate", *TINY, "--seed", "3", "--out", tmp_path / "b")
    assert again.exit_code == 0, again.output
    pd.testing.assert_frame_equal(posterior(straight), posterior(tmp_path / "b"))
    other = cli("calibrate", *TINY, "--seed", "4", "--out", tmp_path / "c")
    assert other.exit_code == 0, other.output
    assert not posterior(straight).equals(posterior(tmp_path / "c"))


def test_an_interrupted_calibration_resumes_to_the_same_posterior(
    straight, cli, tmp_path, monkeypatch
):
    out = tmp_path / "stopped"
    real = calibrate_module._simulate_block

    def stop_after_a_generation(*args, **kwargs):
        if (out / "history.db").exists() and _generations_done(out / "history.db") >= 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(calibrate_module, "_simulate_block", stop_after_a_generation)
    stopped = cli("calibrate", *TINY, "--seed", "3", "--out", out)
    assert stopped.exit_code == 130, stopped.output
    assert f"csto calibrate --resume {out}" in stopped.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "partial"
    assert not (out / "posterior.parquet").exists()
    assert _generations_done(out / "history.db") == 1

    monkeypatch.setattr(calibrate_module, "_simulate_block", real)
    refused = cli("calibrate", "--resume", out, "--seed", "5")
    assert_clean_error(refused, "--resume takes the calibration from the folder's manifest")
    resumed = cli("calibrate", "--resume", out, "--no-plots", "--quiet")
    assert resumed.exit_code == 0, (resumed.output, resumed.exception)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    pd.testing.assert_frame_equal(posterior(straight), posterior(out))


def test_progress_prints_a_line_per_generation(cli, tmp_path):
    args = [a for a in TINY if a != "--quiet"]
    result = cli("calibrate", *args, "--generations", "2", "--out", tmp_path / "p")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("generation ")]
    assert [line.split(":")[0] for line in lines] == ["generation 0", "generation 1"]
    assert all("epsilon" in line and "acceptance" in line and "simulations" in line
               and "effective sample size" in line for line in lines)  # fmt: skip
    assert "agents.ARM.beta_legitimacy" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--vary", "agents.ARM.beta_legitimacy=5:1"), ("agents.ARM.beta_legitimacy",)),
        (("--vary", "agents.XXX.beta_legitimacy=1:2"), ("agents.XXX.beta_legitimacy",)),
        (("--vary", "agents.ARM.beta_legitimacy=a:b"), ("--vary", "LO:HI")),
        (("--vary", "agents.ARM.beta_legitimacy", "--all-parameters"), ("--all-parameters",)),
    ],
)
def test_a_bad_prior_or_option_is_one_clear_line_and_nothing_written(
    cli, tmp_path, args, fragments
):
    out = tmp_path / "never"
    result = cli("calibrate", *args, "--out", out)
    assert_clean_error(result, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args", [("--budget", "huge"), ("--population", "1"), ("--transition", "gaussian")]
)
def test_a_bad_option_value_is_a_usage_error_and_nothing_written(cli, tmp_path, args):
    out = tmp_path / "never"
    result = cli("calibrate", *args, "--out", out)
    assert result.exit_code == 2
    assert args[0] in result.stderr and "Traceback" not in result.output
    assert not out.exists()


def test_a_bad_targets_file_is_one_clear_line_and_nothing_written(cli, tmp_path):
    from batches.targets import targets_dir

    text = (targets_dir() / "record-2022.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('last = "2022-12"', 'last = "2023-12"', 1))
    out = tmp_path / "never"
    result = cli("calibrate", "--targets", bad, "--out", out)
    assert_clean_error(result, str(bad), "last")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    missing = cli("calibrate", "--targets", tmp_path / "nope.toml", "--out", out)
    assert_clean_error(missing, "nope.toml")
    assert not out.exists()


def test_a_bad_parameters_file_is_one_clear_line(cli, tmp_path):
    bad = tmp_path / "parameters.toml"
    bad.write_text(
        '[parameters."agents.ARM.beta_legitimacy"]\nlow = 0\nhigh = 9\n'
        'prior = "log-uniform"\nwhy = "test"\n'
    )
    out = tmp_path / "never"
    result = cli("calibrate", "--parameters", bad, "--vary", "agents.ARM.beta_legitimacy",
                 "--out", out)  # fmt: skip
    assert_clean_error(result, str(bad), "agents.ARM.beta_legitimacy")
    assert not out.exists()


def test_an_existing_folder_needs_force(straight, cli):
    result = cli("calibrate", *TINY, "--out", straight)
    assert_clean_error(result, "--force")
    assert (straight / "posterior.parquet").exists()


def test_the_default_subset_is_declared_and_calibratable():
    from batches.calibrate import calibration_priors
    from simulation.scenario import load_scenario

    priors = calibration_priors(load_scenario("history-2022", None, 12))
    assert [p.key for p in priors] == list(FOCUS)
    assert len(set(FOCUS)) == len(FOCUS)


def test_the_manifest_reports_the_effective_sample_size(straight):
    manifest = json.loads((straight / "manifest.json").read_text())
    weights = posterior(straight)["weight"]
    assert manifest["effective_sample_size"] == pytest.approx(
        1 / (weights**2).sum() * weights.sum() ** 2
    )
    assert 1 <= manifest["effective_sample_size"] <= 12
