"""The sensitivity analysis core on functions with known indices, fed through the same path as
the model's outcomes (design -> evaluate on the design -> analyse), and the per-point outcomes on
hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from batches.sensitivity import (
    analyse,
    convergence,
    convergence_sizes,
    design,
    design_size,
    format_ranking,
    outcome_names,
    point_outcomes,
    problem,
    ranking,
)
from simulation.free_parameters import FreeParameter

PI = float(np.pi)


def param(key: str, low: float, high: float, prior: str = "uniform") -> FreeParameter:
    return FreeParameter(key, low, high, prior, "test")


def evaluate(frame: pd.DataFrame, **functions) -> pd.DataFrame:
    """point x outcome: each function of the design's columns, as a run of the model would give."""
    outcomes = pd.DataFrame({"point": frame["point"], "n": 1})
    for name, function in functions.items():
        outcomes[name] = function(frame)
    return outcomes


# A linear additive function: S1 = ST = a_i^2 var_i / sum_j a_j^2 var_j. x4 is log-uniform and
# enters as ln(x4), uniform on [ln 0.1, ln 10]; x5 is ignored.
LINEAR = [
    param("x1", 0.0, 1.0),
    param("x2", -1.0, 3.0),
    param("x3", 0.0, 2.0),
    param("x4", 0.1, 10.0, "log-uniform"),
    param("x5", 0.0, 1.0),
]
COEFFICIENTS = np.array([4.0, 1.0, -2.0, 0.5, 0.0])
WIDTHS = np.array([1.0, 4.0, 2.0, np.log(100.0), 1.0])


def linear(frame: pd.DataFrame) -> np.ndarray:
    x = frame[["x1", "x2", "x3", "x4", "x5"]].to_numpy().copy()
    x[:, 3] = np.log(x[:, 3])
    return x @ COEFFICIENTS


def linear_indices() -> np.ndarray:
    variances = COEFFICIENTS**2 * WIDTHS**2 / 12.0
    return variances / variances.sum()


# Ishigami & Homma (1990), a = 7, b = 0.1: known S1 and ST; x4 is ignored.
ISHIGAMI = [param(f"x{i}", -PI, PI) for i in (1, 2, 3)] + [param("x4", 0.0, 1.0)]
ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437, 0.0])


def ishigami(frame: pd.DataFrame) -> np.ndarray:
    x1, x2, x3 = (frame[k].to_numpy() for k in ("x1", "x2", "x3"))
    return np.sin(x1) + 7.0 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)


def test_problem_holds_log_bounds_for_log_uniform_parameters():
    spec = problem(LINEAR)
    assert spec["names"] == ["x1", "x2", "x3", "x4", "x5"]
    assert spec["bounds"][1] == [-1.0, 3.0]
    assert spec["bounds"][3] == pytest.approx([np.log(0.1), np.log(10.0)])


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_design_spans_the_ranges_seeded(method):
    frame = design(method, LINEAR, trajectories=10, samples=64, seed=3)
    assert list(frame.columns) == ["point", "x1", "x2", "x3", "x4", "x5"]
    assert len(frame) == design_size(method, 5, trajectories=10, samples=64)
    assert (frame["point"] == np.arange(len(frame))).all()
    for p in LINEAR:
        assert frame[p.key].between(p.low, p.high).all()
    # log-uniform: uniform in ln(x4), so half the points lie below the geometric centre 1
    assert 0.3 < (frame["x4"] < 1.0).mean() < 0.7
    pd.testing.assert_frame_equal(
        frame, design(method, LINEAR, trajectories=10, samples=64, seed=3)
    )
    assert not frame.equals(design(method, LINEAR, trajectories=10, samples=64, seed=4))


def test_sobol_linear_matches_the_known_indices_within_the_intervals():
    frame = design("sobol", LINEAR, samples=1024, seed=11)
    indices = analyse("sobol", LINEAR, frame, evaluate(frame, y=linear), seed=5)
    expected = linear_indices()
    assert indices["parameter"].tolist() == [p.key for p in LINEAR]
    for column in ("S1", "ST"):
        errors = np.abs(indices[column].to_numpy() - expected)
        assert (errors <= indices[f"{column}_conf"].to_numpy() + 1e-9).all(), (column, errors)
    assert indices["ST"].iloc[4] == pytest.approx(0.0, abs=1e-12)


def test_morris_linear_gives_the_slopes_over_the_ranges():
    frame = design("morris", LINEAR, trajectories=20, seed=2)
    indices = analyse("morris", LINEAR, frame, evaluate(frame, y=linear), seed=5)
    # an elementary effect is the change per unit of the sampled range: |a_i| x width_i
    assert indices["mu_star"].to_numpy() == pytest.approx(np.abs(COEFFICIENTS) * WIDTHS)
    assert indices["mu"].to_numpy() == pytest.approx(COEFFICIENTS * WIDTHS)
    assert indices["sigma"].to_numpy() == pytest.approx(np.zeros(5), abs=1e-9)


def test_sobol_ishigami_within_the_intervals():
    frame = design("sobol", ISHIGAMI, samples=2048, seed=1)
    indices = analyse("sobol", ISHIGAMI, frame, evaluate(frame, y=ishigami), seed=5)
    for column, expected in (("S1", ISHIGAMI_S1), ("ST", ISHIGAMI_ST)):
        errors = np.abs(indices[column].to_numpy() - expected)
        assert (errors <= indices[f"{column}_conf"].to_numpy() + 1e-9).all(), (column, errors)


def test_an_ignored_parameter_gets_zero_indices():
    sobol_frame = design("sobol", ISHIGAMI, samples=256, seed=1)
    sobol = analyse("sobol", ISHIGAMI, sobol_frame, evaluate(sobol_frame, y=ishigami), seed=5)
    morris_frame = design("morris", ISHIGAMI, trajectories=20, seed=1)
    morris = analyse("morris", ISHIGAMI, morris_frame, evaluate(morris_frame, y=ishigami), seed=5)
    ignored = sobol[sobol["parameter"] == "x4"].iloc[0]
    assert abs(ignored["ST"]) < 1e-12 and abs(ignored["S1"]) < 1e-12
    assert morris.set_index("parameter").loc["x4", "mu_star"] == pytest.approx(0.0, abs=1e-12)
    active = morris.set_index("parameter").loc[["x1", "x2", "x3"], "mu_star"]
    assert (active > 1.0).all()


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_the_same_seed_gives_identical_indices(method):
    def run(seed):
        frame = design(method, ISHIGAMI, trajectories=10, samples=128, seed=seed)
        return analyse(method, ISHIGAMI, frame, evaluate(frame, y=ishigami), seed=seed)

    pd.testing.assert_frame_equal(run(8), run(8))
    assert not run(8).equals(run(9))


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_constant_and_undefined_outcomes_get_nan_and_a_note(method):
    frame = design(method, ISHIGAMI, trajectories=10, samples=64, seed=1)
    with_gaps = ishigami(frame)
    with_gaps[::7] = np.nan
    outcomes = evaluate(
        frame, y=ishigami, flat=lambda f: np.full(len(f), 0.25), gaps=lambda f: with_gaps
    )
    indices = analyse(method, ISHIGAMI, frame, outcomes, seed=1)
    score = "mu_star" if method == "morris" else "ST"
    by = indices.set_index(["outcome", "parameter"])
    assert by.loc["flat", score].isna().all() and by.loc["gaps", score].isna().all()
    assert "no variance" in by.loc[("flat", "x1"), "note"]
    assert "points have no value" in by.loc[("gaps", "x1"), "note"]
    assert by.loc["y", score].notna().all() and (by.loc["y", "note"] == "").all()
    assert ranking(indices)["flat"] == []
    assert "flat: not analysed" in format_ranking(indices)


def test_analyse_rejects_incomplete_or_misshapen_inputs():
    frame = design("sobol", ISHIGAMI, samples=64, seed=1)
    outcomes = evaluate(frame, y=ishigami)
    with pytest.raises(ValueError, match="have no outcomes"):
        analyse("sobol", ISHIGAMI, frame, outcomes.iloc[:-3], seed=1)
    with pytest.raises(ValueError, match="multiple of 6"):
        analyse("sobol", ISHIGAMI, frame.iloc[:-1], outcomes, seed=1)
    with pytest.raises(ValueError, match="method must be one of"):
        analyse("fast", ISHIGAMI, frame, outcomes, seed=1)
    with pytest.raises(ValueError, match="power of 2"):
        design("sobol", ISHIGAMI, samples=100, seed=1)


def test_convergence_reestimates_on_the_first_base_samples():
    frame = design("sobol", ISHIGAMI, samples=1024, seed=1)
    outcomes = evaluate(frame, y=ishigami)
    sizes = convergence_sizes(1024, smallest=64)
    assert sizes == [64, 128, 256, 512, 1024]
    table = convergence(ISHIGAMI, frame, outcomes, sizes, seed=2)
    assert sorted(table["samples"].unique()) == sizes
    assert (table["points"] == table["samples"] * 6).all()
    full = analyse("sobol", ISHIGAMI, frame, outcomes, seed=2)
    last = table[table["samples"] == 1024].reset_index(drop=True)
    np.testing.assert_allclose(last["ST"], full["ST"])
    x1 = table[table["parameter"] == "x1"].set_index("samples")
    assert x1.loc[1024, "ST_conf"] < x1.loc[64, "ST_conf"]
    with pytest.raises(ValueError, match="2..1024"):
        convergence(ISHIGAMI, frame, outcomes, [2048])


def test_ranking_orders_by_mu_star_or_st():
    frame = design("sobol", ISHIGAMI, samples=512, seed=1)
    indices = analyse("sobol", ISHIGAMI, frame, evaluate(frame, y=ishigami), seed=5)
    assert ranking(indices) == {"y": ["x1", "x2", "x3", "x4"]}
    text = format_ranking(indices, top=2)
    assert text.startswith("y (ST): x1 0.5") and "x2" in text and "x3" not in text


# --- point_outcomes on hand-made tables -----------------------------------------------------------


def tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Two points of 4 runs over 24 months (2022-01..2023-12); cohesion = point + run/10."""
    months = 24
    rows = []
    for point in (0, 1):
        for run in range(4):
            for month in range(months):
                value = 0.1 * point + 0.01 * run + 0.001 * month
                rows.append(
                    (
                        point,
                        point * 4 + run,
                        month,
                        f"{2022 + month // 12}-{month % 12 + 1:02d}",
                        value,
                        value,
                        0.5,
                        1.0,
                        0.2,
                    )
                )
    metrics = pd.DataFrame(
        rows,
        columns=[
            "point",
            "run",
            "month",
            "date",
            "cohesion",
            "k_align",
            "k_cred",
            "k_part",
            "k_sim",
        ],
    )
    events = pd.DataFrame(
        [
            # point 0: Article 4 invoked in runs 0 and 1, Russia honours in run 1 only
            (0, 0, 8, "ARM", "invoke_article4"),
            (0, 1, 8, "ARM", "invoke_article4"),
            (0, 1, 8, "RUS", "honour_article4"),
            (0, 2, 10, "ARM", "boycott_summit"),
            (0, 2, 11, "ARM", "refuse_declaration"),
            (0, 0, 1, "BLR", "signal_loyalty"),
            (0, 0, 5, "BLR", "signal_loyalty"),
            (0, 3, 5, "BLR", "signal_loyalty"),
            # point 1: no invocation; Belarus recognises in run 5
            (1, 5, 9, "BLR", "recognize_breakaway"),
            (1, 6, 2, "AZE", "attack"),
            (1, 6, 3, "RUS", "honour_article4"),
        ],
        columns=["point", "run", "month", "actor", "action"],
    ).assign(target="")
    agents = pd.DataFrame(
        [
            (0, 0, 0, "ARM", "member"),
            (0, 0, 20, "ARM", "frozen"),
            (0, 1, 23, "ARM", "exited"),
            (0, 2, 23, "BLR", "frozen"),
            (1, 4, 23, "ARM", "member"),
        ],
        columns=["point", "run", "month", "agent", "status"],
    )
    return metrics, events, agents


def test_point_outcomes_reduces_each_point():
    metrics, events, agents = tables()
    table = point_outcomes(metrics, events, agents, months=["2022-12", 23], runs_per_point=4)
    table = table.set_index("point")
    assert list(table.index) == [0, 1] and (table["n"] == 4).all()
    assert table.loc[0, "cohesion"] == pytest.approx(0.015 + 0.023)
    assert table.loc[1, "cohesion@2022-12"] == pytest.approx(0.1 + 0.015 + 0.011)
    assert table.loc[0, "k_part@2022-12"] == 1.0
    assert table.loc[0, "armenia_frozen_or_exited"] == 0.5
    assert table.loc[1, "armenia_frozen_or_exited"] == 0.0
    assert table.loc[0, "article4_honoured_by_russia"] == 0.5
    assert np.isnan(table.loc[1, "article4_honoured_by_russia"])  # never invoked
    assert table.loc[0, "armenia_boycotts_or_refuses"] == 0.25
    assert table.loc[1, "belarus_recognises_abkhazia"] == 0.25
    assert table.loc[0, "rate.BLR.signal_loyalty"] == pytest.approx(3 / (4 * 2.0))
    assert table.loc[1, "rate.AZE.attack"] == pytest.approx(1 / 8)
    assert table.loc[1, "rate.BLR.signal_loyalty"] == 0.0


def test_point_outcomes_default_month_and_checks():
    metrics, events, agents = tables()
    table = point_outcomes(metrics, events, agents)
    assert [c for c in table.columns if "@" in c] == []
    assert "cohesion" in table.columns and "k_sim" in table.columns
    with pytest.raises(ValueError, match="point 0 has 4 runs, expected 5"):
        point_outcomes(metrics, events, agents, runs_per_point=5)
    with pytest.raises(ValueError, match="needs a 'point' column"):
        point_outcomes(metrics.drop(columns="point"), events, agents)
    with pytest.raises(ValueError, match="not a date"):
        point_outcomes(metrics, events, agents, months=["2031-01"])


def test_point_outcomes_feed_analyse():
    """The outcomes of a design's points, built from tables, go through analyse."""
    params = [param("a", 0.0, 1.0), param("b", 0.0, 1.0)]
    frame = design("morris", params, trajectories=4, seed=1)
    rows = []
    for point, a in zip(frame["point"], frame["a"], strict=True):
        for run in range(2):
            for month in range(12):
                rows.append((point, point * 2 + run, month, a, a, a, a, a))
    metrics = pd.DataFrame(
        rows, columns=["point", "run", "month", "cohesion", "k_align", "k_cred", "k_part", "k_sim"]
    )
    empty_events = pd.DataFrame(columns=["point", "run", "month", "actor", "action", "target"])
    empty_agents = pd.DataFrame(columns=["point", "run", "agent", "status"])
    outcomes = point_outcomes(metrics, empty_events, empty_agents, runs_per_point=2)
    indices = analyse("morris", params, frame, outcomes, seed=1)
    cohesion = indices[indices["outcome"] == "cohesion"].set_index("parameter")
    assert cohesion.loc["a", "mu_star"] == pytest.approx(1.0)
    assert cohesion.loc["b", "mu_star"] == pytest.approx(0.0)
    article4 = indices[indices["outcome"] == "article4_honoured_by_russia"]
    assert article4["note"].str.contains("no value").all()


def test_outcome_names_are_the_columns_point_outcomes_gives():
    metrics, events, agents = tables()
    dates = [f"{2022 + m // 12}-{m % 12 + 1:02d}" for m in range(24)]
    for months in (None, ["2022-12", 23], [3, -1]):
        table = point_outcomes(metrics, events, agents, months=months)
        assert outcome_names(dates, months) == [c for c in table.columns if c not in ("point", "n")]
