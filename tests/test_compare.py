"""Comparisons: bootstrap intervals, outcomes and plot data on known numbers; csto compare/plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import invoke

from results.compare import (
    bootstrap_means,
    difference_table,
    outcome_counts,
    outcome_table,
    parse_months,
    percentile_interval,
    run_differences,
    status_probabilities,
    unit_sums,
    wilson_interval,
)
from results.compare_plots import (
    cohesion_bands,
    difference_series,
    draw_alignment_heatmap,
    draw_cohesion_bands,
    draw_differences,
    draw_event_frequencies,
    event_shares,
    pick_groups,
)
from simulation.record import METRIC_NAMES


def test_unit_sums_rows_or_blocks():
    values = np.array([[1.0, np.nan], [2.0, 4.0], [3.0, 5.0]])
    sums, counts = unit_sums(values, max_units=5)
    np.testing.assert_array_equal(sums, [[1, 0], [2, 4], [3, 5]])
    np.testing.assert_array_equal(counts, [[1, 0], [1, 1], [1, 1]])
    sums, counts = unit_sums(values, max_units=2)  # rows 0 and 2 share block 0
    np.testing.assert_array_equal(sums, [[4, 5], [2, 4]])
    np.testing.assert_array_equal(counts, [[2, 1], [1, 1]])


def test_bootstrap_of_a_constant_and_of_a_known_mean():
    rng = np.random.default_rng(0)
    draws = bootstrap_means(np.full((50, 1), 0.3), rng, draws=200)
    np.testing.assert_allclose(draws, 0.3)
    values = np.random.default_rng(1).normal(0.5, 0.1, size=(4000, 1))
    low, high = percentile_interval(bootstrap_means(values, rng, draws=400))[:, 0]
    standard_error = 0.1 / np.sqrt(4000)
    assert low < values.mean() < high
    assert (high - low) == pytest.approx(2 * 1.96 * standard_error, rel=0.2)


def cube(mean: float, runs: int = 400, months: int = 3, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, 0.05, size=(runs, months, len(METRIC_NAMES)))
    return mean + noise


def test_difference_table_finds_a_shift_and_no_shift():
    dates = ["2022-01", "2022-02", "2022-03"]
    cubes = {"ref": cube(0.5, seed=1), "same": cube(0.5, seed=2), "up": cube(0.6, seed=3)}
    table = difference_table(cubes, dates, seed=5, draws=300)
    assert len(table) == 3 * 3 * len(METRIC_NAMES)
    again = difference_table(cubes, dates, seed=5, draws=300)
    pd.testing.assert_frame_equal(table, again)  # seeded
    rows = table[(table["metric"] == "cohesion") & (table["month"] == 2)].set_index("group")
    assert rows.loc["ref", ["diff", "ci_low", "ci_high"]].tolist() == [0.0, 0.0, 0.0]
    assert rows.loc["same", "ci_low"] < 0 < rows.loc["same", "ci_high"]
    assert 0.09 < rows.loc["up", "ci_low"] < rows.loc["up", "diff"] < rows.loc["up", "ci_high"]
    assert rows.loc["up", "mean"] == pytest.approx(cubes["up"][:, 2, 0].mean())
    assert rows.loc["up", "date"] == "2022-03"


def test_parse_months():
    dates = ["2022-01", "2022-02", "2022-03"]
    assert parse_months(None, dates) == [2]
    assert parse_months("0,2022-02,-1", dates) == [0, 1, 2]
    with pytest.raises(ValueError, match="outside"):
        parse_months("3", dates)
    with pytest.raises(ValueError, match="neither"):
        parse_months("2023-01", dates)


def test_wilson_interval():
    low, high = wilson_interval(0, 100)
    assert low == pytest.approx(0.0, abs=1e-12) and 0.03 < high < 0.04
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    assert all(np.isnan(wilson_interval(0, 0)))


def test_outcomes_on_known_events():
    events = pd.DataFrame(
        [
            (0, "ARM", "invoke_article4", ""),
            (0, "RUS", "honour_article4", "ARM"),
            (1, "ARM", "invoke_article4", ""),
            (1, "BLR", "honour_article4", "ARM"),  # Belarus, not Russia
            (2, "BLR", "recognize_breakaway", "RUS"),
            (3, "ARM", "boycott_summit", ""),
            (3, "ARM", "refuse_declaration", ""),
            (4, "RUS", "honour_article4", "ARM"),  # honoured without an invocation: not at risk
            (5, "BLR", "side_with", "AZE"),
            (5, "BLR", "side_with", "AZE"),  # twice in one run: one run
            (6, "BLR", "side_with", "ARM"),  # the other side
            (7, "GEO", "side_with", "AZE"),  # not Belarus
            (8, "BLR", "side_with", "AZE"),
        ],
        columns=["run", "actor", "action", "target"],
    )
    counts = outcome_counts(events, armenia_out_runs={1, 3}, runs=10)
    assert counts == {
        "armenia_frozen_or_exited": (2, 10),
        "belarus_recognises_abkhazia": (1, 10),
        "article4_honoured_by_russia": (1, 2),
        "armenia_boycotts_or_refuses": (1, 10),
        "belarus_sides_with_azerbaijan": (2, 10),
    }
    table = outcome_table({"s": counts}).set_index("outcome")
    assert table.loc["article4_honoured_by_russia", "probability"] == 0.5
    assert table.loc["armenia_frozen_or_exited", "runs"] == 10


def test_status_probabilities_fill_missing_statuses():
    counts = pd.DataFrame(
        [("ARM", 0, "member", 4), ("ARM", 1, "member", 3), ("ARM", 1, "frozen", 1)],
        columns=["agent", "month", "status", "count"],
    )
    table = status_probabilities(counts, ["2022-01", "2022-02"]).set_index(["month", "status"])
    assert table.loc[(1, "frozen"), "probability"] == 0.25
    assert table.loc[(0, "frozen"), "probability"] == 0.0
    assert table.loc[(1, "member"), "date"] == "2022-02"


def test_plot_data_functions():
    summary = pd.DataFrame(
        {
            "month": [0, 1, 0, 1],
            "date": ["2022-01", "2022-02"] * 2,
            "metric": ["cohesion", "cohesion", "k_sim", "k_sim"],
            "p05": [0.1, 0.2, 0, 0],
            "p50": [0.5, 0.6, 0, 0],
            "p95": [0.9, 0.8, 0, 0],
        }
    )
    bands = cohesion_bands({"a": summary})
    assert bands["p50"].tolist() == [0.5, 0.6]
    assert str(bands["date"].dtype).startswith("datetime64")
    events = pd.DataFrame(
        {
            "group": ["a", "a", "b"],
            "actor": ["BLR", "ARM", "BLR"],
            "action": ["visit_breakaway", "court_west", "visit_breakaway"],
            "share_of_runs": [0.2, 0.5, 0.4],
        }
    )
    wide = event_shares(events, top=5)
    assert list(wide.index) == ["ARM court_west", "BLR visit_breakaway"]
    assert wide.loc["BLR visit_breakaway"].tolist() == [0.2, 0.4]
    assert wide.loc["ARM court_west", "b"] == 0.0
    assert pick_groups(list("abc")) == list("abc")
    picked = pick_groups([str(i) for i in range(25)], limit=10)
    assert len(picked) == 10 and picked[0] == "0" and picked[-1] == "24"


def test_draw_functions_return_their_figure():
    from matplotlib.figure import Figure

    dates = ["2022-01", "2022-02", "2022-03"]
    table = difference_table({"r": cube(0.5), "o": cube(0.55)}, dates, draws=50)
    series = difference_series(table)
    assert set(series["group"]) == {"o"}
    fig = draw_differences(series, reference="r")
    assert isinstance(fig, Figure) and "r" in fig.axes[0].get_title()
    assert fig.axes[0].get_ylabel()
    matrix = pd.DataFrame([[0.5, -0.2], [0.1, 0.9]], index=["r", "o"], columns=["ARM", "BLR"])
    assert isinstance(draw_alignment_heatmap(matrix, date="2022-03"), Figure)
    shares = pd.DataFrame({"r": [0.5], "o": [0.2]}, index=["ARM court_west"])
    assert isinstance(draw_event_frequencies(shares), Figure)
    fig = Figure()
    ax = fig.subplots()
    bands = pd.DataFrame(
        {"group": "r", "date": pd.to_datetime(dates), "p05": 0.1, "p50": 0.5, "p95": 0.9}
    )
    assert draw_cohesion_bands(bands, ax) is fig
    assert ax.get_legend() is not None


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cmp")
    runs = {}
    for name in ("history-2022", "article4-honoured"):
        runs[name] = folder / name
        result = invoke("run", name, "--runs", 150, "--months", 12, "--seed", 2, "-q",
                        "--no-plots", "--out", runs[name])  # fmt: skip
        assert result.exit_code == 0, result.output
    return runs["history-2022"], runs["article4-honoured"]


def test_compare_writes_tables_and_plots(two_runs, tmp_path):
    out = tmp_path / "cmp"
    result = invoke("compare", *two_runs, "--months", "8,11", "--out", out)
    assert result.exit_code == 0, (result.output, result.exception)
    table = pd.read_csv(out / "compare.csv")
    assert list(table.columns) == [
        "scenario", "metric", "month", "mean", "diff", "ci_low", "ci_high",
        "runs_low", "runs_high", "draws_low", "draws_high",
    ]  # fmt: skip
    assert set(table["month"]) == {8, 11}
    assert set(table["scenario"]) == {"history-2022", "article4-honoured"}
    assert len(table) == 2 * 2 * len(METRIC_NAMES)
    other = table[table["scenario"] == "article4-honoured"]
    assert (other["ci_low"] <= other["diff"]).all() and (other["diff"] <= other["ci_high"]).all()
    outcomes = pd.read_csv(out / "outcomes.csv")
    assert list(outcomes.columns) == ["scenario", "outcome", "probability", "ci_low", "ci_high"]
    honoured = outcomes.set_index(["scenario", "outcome"])["probability"]
    assert honoured[("article4-honoured", "article4_honoured_by_russia")] == 1.0
    assert "article4-honoured" in result.output and "outcome" in result.output
    plots = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert plots == [
        "compare_alignment.png", "compare_cohesion.png", "compare_difference.png",
        "compare_events.png", "compare_status.png",
    ]  # fmt: skip
    assert json.loads((out / "compare.json").read_text())["months"] == [8, 11]
    again = invoke("compare", *two_runs, "--months", "8,11", "--out", out)
    assert again.exit_code == 2 and "already exists" in again.stderr
    replot = invoke("plot", out, "--out", tmp_path / "replot")
    assert replot.exit_code == 0, replot.output
    assert len(list((tmp_path / "replot").glob("*.png"))) == 5


def test_compare_refuses_different_horizons(two_runs, tmp_path):
    short = tmp_path / "short"
    assert invoke("run", "baseline", "--runs", 5, "--months", 2, "-q", "--no-plots",
                  "--out", short).exit_code == 0  # fmt: skip
    result = invoke("compare", two_runs[0], short, "--out", tmp_path / "x")
    assert result.exit_code == 2 and "different horizons" in result.stderr


def test_plot_regenerates_a_run_folder(two_runs, tmp_path):
    result = invoke("plot", two_runs[0], "--out", tmp_path / "p", "--svg")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == ["cohesion.png", "cohesion.svg", "components.png", "components.svg"]


def test_the_runs_range_is_the_spread_of_the_runs_own_differences():
    """run k minus run k: its 5% and 95% quantiles; it does not narrow with more runs, unlike
    the interval of the mean; NaN when the batches differ in size."""
    rng = np.random.default_rng(3)
    for runs in (400, 4000):
        reference = rng.normal(0.5, 0.1, size=(runs, 2, 1))
        effect = rng.normal(0.2, 0.05, size=(runs, 2, 1))  # each run's own effect
        low, high = run_differences(reference + effect, reference)
        np.testing.assert_allclose(low, 0.2 - 1.645 * 0.05, atol=0.012)
        np.testing.assert_allclose(high, 0.2 + 1.645 * 0.05, atol=0.012)
    assert np.isnan(run_differences(np.zeros((5, 2, 1)), np.zeros((4, 2, 1)))).all()


def test_the_difference_table_carries_the_runs_range():
    rng = np.random.default_rng(4)
    reference = rng.normal(0.5, 0.1, size=(300, 3, len(METRIC_NAMES)))
    other = reference + 0.1 + rng.normal(0, 0.02, size=reference.shape)
    table = difference_table({"a": reference, "b": other}, ["2022-01", "2022-02", "2022-03"])
    b = table[table["group"] == "b"]
    assert (b["runs_low"] < b["ci_low"]).all() and (b["ci_high"] < b["runs_high"]).all()
    a = table[table["group"] == "a"]
    assert (a[["runs_low", "runs_high"]] == 0).all().all()


def test_the_range_over_draws_averages_the_chance_out():
    """Draw k's effect is e_k; each run adds noise of sd 1. The draws' mean differences over 400
    runs per draw lie within e's own 5-95% range give or take their sampling error (0.05), far
    narrower than the runs' range, which the noise dominates."""
    from results.compare import draw_differences, run_differences

    rng = np.random.default_rng(1)
    draws, per_draw = 50, 400
    effect = np.linspace(0.0, 1.0, draws)
    reference = rng.normal(0.0, 1.0, (draws * per_draw, 1, 1))
    cube = reference + np.repeat(effect, per_draw)[:, None, None]
    cube = cube + rng.normal(0.0, 1.0, cube.shape)
    low, high = draw_differences(cube, reference, per_draw)[:, 0]
    expected = np.percentile(effect, [5, 95])
    assert abs(low - expected[0]) < 0.15 and abs(high - expected[1]) < 0.15
    runs_low, runs_high = run_differences(cube, reference)[:, 0]
    assert runs_high - runs_low > 3 * (high - low)
    assert np.isnan(draw_differences(cube[:per_draw], reference[:per_draw], per_draw)).all()
