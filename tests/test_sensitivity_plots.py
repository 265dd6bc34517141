"""Tests of results.sensitivity_plots: the plot data on numbers; the plots draw and save."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from results.sensitivity_plots import (
    convergence_data,
    draw_convergence,
    draw_morris,
    draw_sobol,
    morris_data,
    save_sensitivity_plots,
    short_label,
    sobol_data,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYS = [
    "agents.BLR.beta_loyalty",
    "propensity.BLR.AZE",
    "actions.court_west.cost",
    "aggression.ceiling",
]


def morris_indices() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": ["cohesion"] * 4 + ["flat"] * 4,
            "parameter": KEYS * 2,
            "mu": [0.1, -0.3, 0.02, 0.2, *[np.nan] * 4],
            "mu_star": [0.1, 0.3, 0.02, 0.2, *[np.nan] * 4],
            "mu_star_conf": [0.01, 0.05, 0.01, 0.02, *[np.nan] * 4],
            "sigma": [0.05, 0.4, 0.01, 0.1, *[np.nan] * 4],
            "note": [""] * 4 + ["not analysed: no variance"] * 4,
        }
    )


def sobol_indices() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": ["cohesion@2024-12"] * 4,
            "parameter": KEYS,
            "S1": [0.1, 0.5, 0.0, 0.2],
            "S1_conf": [0.05, 0.06, 0.01, 0.04],
            "ST": [0.15, 0.6, 0.01, 0.25],
            "ST_conf": [0.03, 0.05, 0.01, 0.02],
            "note": [""] * 4,
        }
    )


def convergence_table() -> pd.DataFrame:
    frames = []
    for n, spread in ((16, 0.2), (64, 0.1), (256, 0.05)):
        frame = sobol_indices().assign(samples=n, points=n * 6)
        frame["ST_conf"] = spread
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_short_labels():
    assert [short_label(k) for k in KEYS] == [
        "BLR.beta_loyalty",
        "p.BLR.AZE",
        "court_west.cost",
        "aggr.ceiling",
    ]
    assert short_label("dynamics.threat_decay") == "threat_decay"
    assert short_label("poles.WEST.engagement") == "WEST.engagement"


def test_morris_data_orders_by_mu_star():
    data = morris_data(morris_indices(), "cohesion")
    assert data["label"].tolist() == [
        "p.BLR.AZE",
        "aggr.ceiling",
        "BLR.beta_loyalty",
        "court_west.cost",
    ]
    assert data["sigma"].tolist() == [0.4, 0.1, 0.05, 0.01]
    assert morris_data(morris_indices(), "flat").empty
    with pytest.raises(ValueError, match="no indices"):
        morris_data(morris_indices(), "k_cred")


def test_sobol_data_keeps_the_top_st():
    data = sobol_data(sobol_indices(), "cohesion@2024-12", top=2)
    assert data["parameter"].tolist() == ["propensity.BLR.AZE", "aggression.ceiling"]
    assert data["ST_conf"].tolist() == [0.05, 0.02]
    with pytest.raises(ValueError, match="lack the columns"):
        sobol_data(morris_indices(), "cohesion")


def test_convergence_data_follows_the_leaders_over_samples():
    data = convergence_data(convergence_table(), "cohesion@2024-12", top=2)
    assert data["parameter"].unique().tolist() == ["propensity.BLR.AZE", "aggression.ceiling"]
    assert data[data["label"] == "p.BLR.AZE"]["samples"].tolist() == [16, 64, 256]


def test_figures_draw_with_labelled_points():
    fig = draw_morris(morris_data(morris_indices(), "cohesion"), "cohesion")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "p.BLR.AZE" in texts and len(texts) == 4
    fig = draw_sobol(sobol_data(sobol_indices(), "cohesion@2024-12"), "cohesion@2024-12")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "p.BLR.AZE"
    fig = draw_convergence(convergence_data(convergence_table(), "cohesion@2024-12"), "x")
    assert len(fig.axes[0].lines) == 4


def test_save_writes_pngs_and_skips_unanalysed_outcomes(tmp_path):
    paths = save_sensitivity_plots(tmp_path / "morris", morris_indices())
    assert [p.name for p in paths] == ["morris-cohesion.png"]
    paths = save_sensitivity_plots(tmp_path / "sobol", sobol_indices(), convergence_table())
    assert sorted(p.name for p in paths) == [
        "convergence-cohesion_2024-12.png",
        "sobol-cohesion_2024-12.png",
    ]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 5000
