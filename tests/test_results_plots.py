"""Tests of results.plots: the plot data on numbers, and that drawing and saving work."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import results.plots
from results.plots import (
    COMPONENTS,
    band_data,
    components_data,
    draw_band,
    draw_cohesion,
    draw_components,
    in_unit_interval,
    month_tick_interval,
    month_ticks,
    save_run_plots,
)
from results.summary import summary_table
from results.synthetic import synthetic_record
from results.tables import metrics_table

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def summary() -> pd.DataFrame:
    return summary_table(metrics_table(synthetic_record(20, 14, start="2022-11", seed=5)))


def test_band_data_picks_the_metric_in_month_order(summary: pd.DataFrame) -> None:
    shuffled = summary.sample(frac=1.0, random_state=0)
    data = band_data(shuffled, "k_cred")
    assert list(data.columns) == ["date", "p05", "p50", "p95"]
    assert len(data) == 14
    assert data["date"].iloc[0] == pd.Timestamp("2022-11-01")
    assert data["date"].iloc[-1] == pd.Timestamp("2023-12-01")
    rows = summary[summary["metric"] == "k_cred"]
    np.testing.assert_array_equal(data["p50"], rows["p50"])
    np.testing.assert_array_equal(data["p05"], rows["p05"])
    assert (data["p05"] <= data["p50"]).all() and (data["p50"] <= data["p95"]).all()


def test_band_data_on_numbers() -> None:
    summary = pd.DataFrame(
        {
            "month": [1, 0],
            "date": ["2024-02", "2024-01"],
            "metric": ["cohesion", "cohesion"],
            "mean": [0.5, 0.4],
            "p05": [0.1, 0.2],
            "p50": [0.5, 0.4],
            "p95": [0.9, 0.6],
        }
    )
    data = band_data(summary, "cohesion")
    assert data.to_dict("list") == {
        "date": [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01")],
        "p05": [0.2, 0.1],
        "p50": [0.4, 0.5],
        "p95": [0.6, 0.9],
    }


def test_band_data_selects_a_point(summary: pd.DataFrame) -> None:
    two = pd.concat([summary.assign(p50=1.0), summary.assign(p50=2.0)], keys=[0, 1])
    two = two.reset_index(level=0, names="point").reset_index(drop=True)
    with pytest.raises(ValueError, match="point"):
        band_data(two, "cohesion")
    assert (band_data(two, "cohesion", point=1)["p50"] == 2.0).all()
    with pytest.raises(ValueError, match="no summary rows"):
        band_data(summary, "k_unknown")


def test_components_data_has_the_four_components(summary: pd.DataFrame) -> None:
    data = components_data(summary)
    assert list(data) == ["k_align", "k_cred", "k_part", "k_sim"]
    assert all(len(frame) == 14 for frame in data.values())


@pytest.mark.parametrize(
    ("months", "interval"), [(1, 1), (12, 1), (13, 3), (36, 3), (37, 6), (72, 6), (120, 12)]
)
def test_month_tick_interval(months: int, interval: int) -> None:
    assert month_tick_interval(months) == interval
    assert months / month_tick_interval(months) <= 12


def test_month_ticks_fall_on_quarters_for_three_years() -> None:
    dates = pd.Series(pd.date_range("2022-03-01", periods=36, freq="MS"))
    ticks = month_ticks(dates).dt.strftime("%Y-%m").tolist()
    assert ticks[:3] == ["2022-04", "2022-07", "2022-10"]
    assert ticks[-1] == "2025-01"
    assert len(ticks) == 12
    short = pd.Series(pd.date_range("2024-11-01", periods=3, freq="MS"))
    assert month_ticks(short).tolist() == short.tolist()


def test_in_unit_interval() -> None:
    data = pd.DataFrame({"date": [0, 1], "p05": [0.0, np.nan], "p50": [0.5, 0.6], "p95": [1.0, 1]})
    assert in_unit_interval(data)
    assert not in_unit_interval(data.assign(p95=[1.0, 1.2]))


def test_draw_cohesion_titles_labels_and_dates(summary: pd.DataFrame) -> None:
    fig = draw_cohesion(band_data(summary, "cohesion"), scenario_name="baseline", runs=1000)
    (ax,) = fig.axes
    assert "baseline" in ax.get_title() and "1,000 runs" in ax.get_title()
    assert ax.get_ylabel() == "cohesion (0–1)"
    assert ax.get_ylim() == pytest.approx((-0.02, 1.02))
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(len(s) == 7 and s[4] == "-" for s in labels)
    assert len(labels) <= 12
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["5–95% of runs", "median"]


def test_draw_band_uses_the_given_axes(summary: pd.DataFrame) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert draw_band(band_data(summary, "k_sim"), ax, title="t") is fig
    assert ax.get_title() == "t"
    assert len(ax.lines) == 1


def test_a_single_month_band_is_drawn_as_a_bar() -> None:
    one = pd.DataFrame(
        {"date": [pd.Timestamp("2024-01-01")], "p05": [0.2], "p50": [0.5], "p95": [0.7]}
    )
    (ax,) = draw_band(one).axes
    (bar,) = ax.collections
    np.testing.assert_allclose(bar.get_segments()[0][:, 1], [0.2, 0.7])
    assert ax.get_xlim()[0] < ax.get_xlim()[1]


def test_draw_components_is_a_titled_grid(summary: pd.DataFrame) -> None:
    fig = draw_components(components_data(summary), scenario_name="s", runs=20)
    assert len(fig.axes) == 4
    titles = [ax.get_title() for ax in fig.axes]
    for title, (metric, text) in zip(titles, COMPONENTS.items(), strict=True):
        assert metric in title and text in title
    assert "Article 4" in titles[1]
    assert "s:" in fig.get_suptitle() and "20 runs" in fig.get_suptitle()


def test_save_run_plots_writes_png_and_svg_files(tmp_path: Path) -> None:
    small = summary_table(metrics_table(synthetic_record(5, 6, seed=1)))
    paths = save_run_plots(tmp_path, small, "baseline", 5, svg=True)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "plots/cohesion.png",
        "plots/cohesion.svg",
        "plots/components.png",
        "plots/components.svg",
    ]
    for path in paths[::2]:
        content = path.read_bytes()
        assert content.startswith(PNG_SIGNATURE) and len(content) > 10_000
    for path in paths[1::2]:
        assert "<svg" in path.read_text()[:1000]


def _top_level_imports(module: Path) -> set[str]:
    """Modules imported at the top level of `module`, outside `if TYPE_CHECKING:` blocks."""
    names = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_matplotlib_is_imported_only_lazily_by_plots() -> None:
    package = Path(results.plots.__file__).parent
    for module in package.glob("*.py"):
        top_level = _top_level_imports(module)
        assert not any(name.startswith("matplotlib") for name in top_level), module.name
        if module.name != "plots.py":
            assert "matplotlib" not in module.read_text(), module.name
