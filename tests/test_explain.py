"""Explaining decisions from a trace: its arithmetic, the deciding term, the ensemble attribution,
the command's input checks, the report and the plot. Traces are synthetic (random terms through
the model's own logit), so every expected number is computed here from the formula."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.logit import logit_probabilities, sample_logit
from batches.explain import (
    ATTRIBUTION_COLUMNS,
    ExplainInputError,
    TraceError,
    check_trace,
    deciding_term,
    decision_table,
    ensemble_attribution,
    event_differences,
    explain_decisions,
    folder_info,
    manifest_info,
    parse_event,
    replay_chunk,
    validate_agent,
    validate_month,
    validate_run,
    validate_trace,
)
from results.explain_plots import attribution_bars, save_attribution_plot
from results.explain_report import (
    RECORD_COLUMNS,
    format_attribution,
    format_decision,
    format_run,
    records_text,
    trace_to_records,
)
from simulation.trace import TRACE_COLUMNS, Trace

AGENTS = ("BLR", "RUS", "AZE", "ARM", "GEO")
ACTORS = (*AGENTS, "WEST", "TUR")


def softmax(utilities, rationality):
    """P(k) = exp(lambda U_k) / sum_k' exp(lambda U_k'), written out (McKelvey & Palfrey 1995)."""
    weights = np.exp(rationality * (utilities - utilities.max()))
    return weights / weights.sum()


def random_trace(seed, replications=8, k=4, n_terms=5, months=2, rationality=1.5):
    """Random terms for a diplomacy decision each month, chosen by the model's own logit."""
    rng = np.random.default_rng(seed)
    trace = Trace()
    names = [f"term{i}" for i in range(n_terms)]
    for month in range(months):
        terms = {name: rng.normal(scale=2.0, size=(replications, k)) for name in names}
        utilities = sum(terms.values())
        mask = rng.random((replications, k)) < 0.7
        mask[:, 0] = True
        probabilities = logit_probabilities(utilities, rationality, mask)
        chosen = sample_logit(rng, utilities, rationality, mask)
        options = ["none", *[f"option{i}" for i in range(1, k)]]
        trace.record(
            "diplomacy", "BLR", month, options, [""] * k, terms, utilities, probabilities,
            chosen, rationality, open_mask=mask,
        )  # fmt: skip
    return trace.frame()


# --- the trace's arithmetic ---------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(2, 6),
    n_terms=st.integers(1, 7),
    rationality=st.floats(0.0, 8.0),
)
def test_terms_sum_to_utilities_and_probabilities_are_the_logit(seed, k, n_terms, rationality):
    trace = random_trace(seed, k=k, n_terms=n_terms, rationality=rationality)
    assert check_trace(trace).empty
    options = trace.groupby(["run", "month", "option"], sort=True).agg(
        terms=("value", "sum"),
        utility=("utility", "first"),
        probability=("probability", "first"),
        chosen=("chosen", "first"),
    )
    np.testing.assert_allclose(options["terms"], options["utility"], atol=1e-9)
    for _, decision in options.groupby(level=["run", "month"]):
        expected = softmax(decision["utility"].to_numpy(), rationality)
        np.testing.assert_allclose(decision["probability"], expected, atol=1e-12)
        assert decision["chosen"].sum() == 1


@pytest.mark.parametrize(
    ("corrupt", "check"),
    [
        (lambda t: t.assign(value=t["value"].where(t.index != 0, t["value"] + 0.1)), "terms_sum"),
        (
            lambda t: t.assign(probability=t["probability"].where(t["option"] != "none", 0.01)),
            "probability",
        ),
        (lambda t: t.assign(chosen=t["chosen"] | (t["option"] == "none")), "one_chosen"),
        (lambda t: t.assign(rationality=np.where(t["option"] == "none", 9.0, 1.5)), "rationality"),
        (lambda t: t.assign(utility=t["utility"].where(t.index != 1, 7.0)), "option_rows"),
    ],
)
def test_a_broken_trace_is_caught(corrupt, check):
    trace = corrupt(random_trace(3))
    violations = check_trace(trace)
    assert check in set(violations["check"])
    with pytest.raises(TraceError, match="violation"):
        validate_trace(trace)


# --- one decision -------------------------------------------------------------------------------


def hand_trace(rows, chosen, rationality=1.0, run=0, month=0, agent="BLR", decision="diplomacy"):
    """A decision from {(option, target): {term: value}}, probabilities from the logit."""
    utilities = np.array([sum(terms.values()) for terms in rows.values()])
    probabilities = softmax(utilities, rationality)
    records = []
    for (option, target), terms in rows.items():
        k = list(rows).index((option, target))
        for term, value in terms.items():
            records.append(
                {
                    "run": run, "month": month, "agent": agent, "decision": decision,
                    "option": option, "target": target, "term": term, "value": value,
                    "utility": utilities[k], "probability": probabilities[k],
                    "chosen": (option, target) == chosen, "rationality": rationality,
                }
            )  # fmt: skip
    return pd.DataFrame(records, columns=list(TRACE_COLUMNS))


DECISION = {
    ("side_with", "AZE"): {"trade": 2.0, "security": 0.0, "cost": -0.5},
    ("court_west", "WEST"): {"trade": 0.5, "security": 0.6, "cost": 0.0},
    ("none", ""): {"trade": 0.0, "security": 0.0, "cost": 0.0},
}


def test_the_deciding_term_is_the_largest_contribution_to_the_margin():
    trace = hand_trace(DECISION, chosen=("side_with", "AZE"))
    table = decision_table(trace, 0, 0, "BLR", "diplomacy")
    assert list(table.columns) == [
        "option", "target", "trade", "security", "cost", "utility", "probability", "chosen"
    ]  # fmt: skip
    assert table.loc["side_with->AZE", "utility"] == pytest.approx(1.5)
    deciding = deciding_term(table)
    assert deciding.term == "trade"
    assert deciding.contribution == pytest.approx(1.5)  # 2.0 - 0.5
    assert deciding.runner_up == "court_west->WEST"
    assert deciding.margin == pytest.approx(0.4)  # 1.5 - 1.1
    assert deciding.tip == pytest.approx(0.4)
    assert not deciding.against_odds
    assert deciding.probability == pytest.approx(softmax(np.array([1.5, 1.1, 0.0]), 1.0)[0])


def test_a_choice_against_the_odds_has_a_negative_margin_and_names_what_favoured_the_best():
    trace = hand_trace(DECISION, chosen=("court_west", "WEST"), rationality=2.0)
    deciding = deciding_term(decision_table(trace, 0, 0, "BLR", "diplomacy"))
    assert deciding.against_odds
    assert deciding.margin == pytest.approx(-0.4)
    assert deciding.tip == pytest.approx(0.4)
    assert deciding.runner_up == "side_with->AZE"
    assert deciding.term == "trade"
    assert deciding.contribution == pytest.approx(-1.5)
    assert deciding.probability == pytest.approx(softmax(np.array([1.5, 1.1, 0.0]), 2.0)[1])


def test_a_single_open_option_has_no_runner_up():
    trace = hand_trace({("none", ""): {"cost": 0.0}}, chosen=("none", ""))
    deciding = deciding_term(decision_table(trace, 0, 0, "BLR", "diplomacy"))
    assert deciding.runner_up is None and deciding.term is None
    assert "only open option" in format_decision(
        decision_table(trace, 0, 0, "BLR", "diplomacy"), deciding
    )


def test_a_decision_not_in_the_trace_is_a_lookup_error():
    with pytest.raises(LookupError, match="no posture decision of BLR in run 0, month 0"):
        decision_table(hand_trace(DECISION, ("none", "")), 0, 0, "BLR", "posture")


def test_explain_decisions_selects_by_run_month_and_agent():
    trace = random_trace(5, months=3)
    explained = list(explain_decisions(trace, run=2))
    assert [(e.run, e.month, e.agent) for e in explained] == [
        (2, 0, "BLR"),
        (2, 1, "BLR"),
        (2, 2, "BLR"),
    ]
    assert [e.month for e in explain_decisions(trace, month=1)] == [1] * 8
    assert list(explain_decisions(trace, agent="ARM")) == []


# --- across the ensemble ------------------------------------------------------------------------


def ensemble(runs=400, seed=11):
    """BLR's monthly choice among none, side_with->AZE and trade_deal->AZE over 3 months.

    Noise terms (affinity, trade, cost) are small and alike for all options; loyalty, drawn
    per run from U(0, 3), favours side_with only: it should be named as what made BLR side with
    Azerbaijan, and what held it back where it did not.
    """
    rng = np.random.default_rng(seed)
    trace = Trace()
    options, targets = ["none", "side_with", "trade_deal"], ["", "AZE", "AZE"]
    loyalty_by_run = rng.uniform(0.0, 3.0, size=runs)
    for month in range(3):
        terms = {name: rng.normal(scale=0.3, size=(runs, 3)) for name in ("affinity", "trade")}
        terms["cost"] = np.broadcast_to([0.0, -1.5, -0.3], (runs, 3))
        loyalty = np.zeros((runs, 3))
        loyalty[:, 1] = loyalty_by_run
        terms["loyalty"] = loyalty
        terms["affinity"][:, 0] = 0.0
        utilities = sum(np.broadcast_to(v, (runs, 3)) for v in terms.values())
        probabilities = logit_probabilities(utilities, 2.0)
        chosen = sample_logit(rng, utilities, 2.0)
        trace.record(
            "diplomacy", "BLR", month, options, targets, terms, utilities, probabilities, chosen,
            2.0,
        )  # fmt: skip
    return trace.frame()


def test_the_dominant_term_of_an_event_is_named_with_an_interval_excluding_zero():
    trace = ensemble()
    result = ensemble_attribution(trace, "BLR", "side_with", "AZE", seed=1, n_boot=500)
    assert list(result.columns) == list(ATTRIBUTION_COLUMNS)
    happened = result[result["group"] == "happened"].set_index("term")
    held = result[result["group"] == "not_happened"].set_index("term")
    assert happened["mean"].idxmax() == "loyalty"
    assert happened.loc["loyalty", "ci_low"] > 0
    assert held["mean"].idxmin() == "cost"  # the cost of siding is what held it back
    assert held.loc["cost", "ci_high"] < 0
    assert 0 < happened["runs"].iloc[0] < 400 and 0 < held["runs"].iloc[0] < 400
    assert happened["runs"].iloc[0] + held["runs"].iloc[0] == 400
    for frame in (happened, held):
        assert (frame["ci_low"] <= frame["mean"]).all() and (
            frame["mean"] <= frame["ci_high"]
        ).all()


def test_attribution_uses_the_first_decision_per_run_and_the_best_alternative():
    rows = []
    # run 0: side_with chosen in month 0 and month 1; month 0 counts.
    rows.append(hand_trace(DECISION, ("side_with", "AZE"), run=0, month=1))
    month0 = {**DECISION, ("side_with", "AZE"): {"trade": 1.0, "security": 0.5, "cost": -0.2}}
    rows.append(hand_trace(month0, ("side_with", "AZE"), run=0, month=0))
    # run 1: open twice, never taken: held back by the mean over both decisions.
    rows.append(hand_trace(DECISION, ("none", ""), run=1, month=0))
    rows.append(hand_trace(DECISION, ("court_west", "WEST"), run=1, month=1))
    trace = pd.concat(rows, ignore_index=True)
    result = ensemble_attribution(trace, "BLR", "side_with", seed=0, n_boot=50)
    got = result.set_index(["group", "term"])["mean"]
    # run 0, month 0: side_with (1.0, 0.5, -0.2) over the best other, court_west (0.5, 0.6, 0.0)
    assert got["happened", "trade"] == pytest.approx(0.5)
    assert got["happened", "security"] == pytest.approx(-0.1)
    assert got["happened", "cost"] == pytest.approx(-0.2)
    # run 1: side_with (2, 0, -0.5) minus none (0, 0, 0) and minus court_west (0.5, 0.6, 0)
    assert got["not_happened", "trade"] == pytest.approx((2.0 + 1.5) / 2)
    assert got["not_happened", "security"] == pytest.approx((0.0 - 0.6) / 2)
    assert got["not_happened", "cost"] == pytest.approx(-0.5)
    assert result.groupby("group")["runs"].first().to_dict() == {"happened": 1, "not_happened": 1}


def test_attribution_is_seeded_and_sample_caps_the_runs():
    trace = ensemble(runs=200)
    first = ensemble_attribution(trace, "BLR", "side_with", seed=4, n_boot=200, sample=50)
    again = ensemble_attribution(trace, "BLR", "side_with", seed=4, n_boot=200, sample=50)
    pd.testing.assert_frame_equal(first, again)
    assert (first["runs"] <= 50).all()


def test_an_event_never_open_gives_empty_groups():
    result = ensemble_attribution(ensemble(runs=20), "BLR", "recall_ambassador", seed=0)
    assert (result["runs"] == 0).all()
    assert "never open" in format_attribution(result, "BLR:recall_ambassador")


# --- the command's inputs -----------------------------------------------------------------------


def test_parse_event_reads_actor_action_and_an_optional_target():
    event = parse_event("BLR:side_with:AZE", ACTORS)
    assert (event.actor, event.action, event.target) == ("BLR", "side_with", "AZE")
    assert parse_event("ARM:boycott_summit").target is None
    assert event.label == "BLR:side_with:AZE"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BLR", "expected ACTOR:ACTION[:TARGET]"),
        ("BLR:side_with:AZE:ARM", "expected ACTOR:ACTION[:TARGET]"),
        ("BLR::AZE", "expected ACTOR:ACTION[:TARGET]"),
        ("BLR:fly_to_moon", "unknown action 'fly_to_moon'; expected one of none, signal_loyalty"),
        ("KAZ:side_with", "unknown actor 'KAZ'; expected one of BLR, RUS"),
        ("BLR:side_with:ZZZ", "unknown target 'ZZZ'"),
    ],
)
def test_a_bad_event_is_an_input_error_naming_the_option(text, message):
    with pytest.raises(ExplainInputError, match=r"^--event: ") as caught:
        parse_event(text, ACTORS)
    assert message in str(caught.value)
    assert caught.value.option == "--event"


@pytest.mark.parametrize(
    ("check", "option", "message"),
    [
        (lambda: validate_run(-1, 100), "--run", "run -1 is not in the folder; expected 0..99"),
        (lambda: validate_run(100, 100), "--run", "run 100 is not in the folder; expected 0..99"),
        (lambda: validate_run("seven", 100), "--run", "expected a run number, got 'seven'"),
        (lambda: validate_month("2022-13", "2022-01", 36), "--month", "month must be 01..12"),
        (lambda: validate_month("March", "2022-01", 36), "--month", "expected a month as YYYY-MM"),
        (
            lambda: validate_month("2025-01", "2022-01", 36),
            "--month",
            "2025-01 is outside the horizon; expected 2022-01 .. 2024-12",
        ),
        (lambda: validate_month("2021-12", "2022-01", 36), "--month", "outside the horizon"),
        (
            lambda: validate_agent("WEST", AGENTS),
            "--agent",
            "unknown agent 'WEST'; expected one of",
        ),
    ],
)
def test_bad_run_month_or_agent_is_an_input_error(check, option, message):
    with pytest.raises(ExplainInputError) as caught:
        check()
    assert caught.value.option == option
    assert str(caught.value).startswith(f"{option}: ")
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_good_run_month_and_agent_pass():
    assert validate_run(0, 1) == 0 and validate_run("99", 100) == 99
    assert validate_month("2022-01", "2022-01", 36) == 0
    assert validate_month("2024-12", "2022-01", 36) == 35
    assert validate_agent("ARM", AGENTS) == "ARM"


def manifest(**change):
    base = {
        "scenario": "world-2022",
        "resolved_scenario": {"agents": {code: {} for code in AGENTS}, "poles": {"WEST": {}}},
        "seed": 20221211,
        "runs": 4500,
        "months": 36,
        "start": "2022-01",
        "chunk_size": 2000,
    }
    return {**base, **change}


def test_folder_info_reads_the_manifest_and_refuses_what_it_cannot_use(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps(manifest()), encoding="utf-8")
    info = folder_info(tmp_path)
    assert (info.runs, info.months, info.start, info.agents) == (4500, 36, "2022-01", AGENTS)
    assert info.actors == (*AGENTS, "WEST")
    with pytest.raises(ExplainInputError, match="^RUN_DIR: .* holds no manifest.json"):
        folder_info(tmp_path / "missing")
    swept = manifest_info(manifest(sweep={"points": [{"world.overstretch": 0.2}, {}]}))
    assert swept.is_sweep and swept.points[0] == {"world.overstretch": 0.2}
    assert not info.is_sweep
    with pytest.raises(ExplainInputError, match="its sweep entry lists no points"):
        manifest_info(manifest(sweep={"points": []}))
    with pytest.raises(ExplainInputError, match="its scenario has no agents"):
        manifest_info(manifest(resolved_scenario={"agents": {}}))
    with pytest.raises(ExplainInputError, match="lacks seed"):
        manifest_info({key: v for key, v in manifest().items() if key != "seed"})


def test_the_replayed_chunk_is_the_runs_chunk_with_its_spawned_seed():
    info = manifest_info(manifest())
    chunk = replay_chunk(info, 4321)
    assert (chunk.index, chunk.offset, chunk.size) == (2, 4000, 500)
    state = np.random.SeedSequence(20221211, spawn_key=(2,)).generate_state(2, dtype=np.uint32)
    assert chunk.seed == int(state[0]) | (int(state[1]) << 32)
    with pytest.raises(ExplainInputError, match="--run"):
        replay_chunk(info, 4500)


def test_event_differences_compare_one_run():
    recorded = pd.DataFrame(
        {
            "run": [3, 3, 3, 4],
            "month": [0, 2, 2, 0],
            "actor": ["BLR", "ARM", "ARM", "AZE"],
            "action": ["visit_breakaway", "court_west", "court_west", "attack"],
            "target": ["", "WEST", "WEST", "ARM"],
        }
    )
    assert event_differences(recorded.iloc[::-1], recorded, 3).empty
    replayed = recorded.drop(index=2)
    differ = event_differences(replayed, recorded, 3)
    assert differ.to_dict("records") == [
        {"month": 2, "actor": "ARM", "action": "court_west", "target": "WEST", "recorded": 2,
         "replayed": 1}
    ]  # fmt: skip
    assert event_differences(replayed, recorded, 4).empty


# --- report and plot ----------------------------------------------------------------------------


def test_the_report_marks_the_chosen_option_and_names_the_deciding_term():
    trace = hand_trace(DECISION, chosen=("side_with", "AZE"), run=17, month=2)
    table = decision_table(trace, 17, 2, "BLR", "diplomacy")
    text = format_decision(table, deciding_term(table), start="2022-01")
    lines = text.splitlines()
    assert lines[0] == "run 17, 2022-03, BLR, diplomacy (lambda 1.00)"
    assert lines[1].split() == ["option", "trade", "security", "cost", "utility", "prob."]
    marked = [line for line in lines if line.startswith("* ")]
    assert len(marked) == 1 and marked[0].split()[1:5] == [
        "side_with->AZE",
        "+2.00",
        "+0.00",
        "-0.50",
    ]
    assert lines[-1] == (
        "decided by trade (+1.50 of a margin of 0.40 over court_west->WEST); it would have taken "
        "a change of 0.40 in utility to tip it"
    )
    against = hand_trace(DECISION, chosen=("none", ""))
    table = decision_table(against, 0, 0, "BLR", "diplomacy")
    assert "chosen against the odds (probability 0.1" in format_decision(
        table, deciding_term(table)
    )


def test_format_run_prints_one_table_per_decision():
    trace = random_trace(2, months=3)
    text = format_run(explain_decisions(trace, run=1), start="2022-01")
    assert text.count("run 1, ") == 3
    assert text.count("\n* ") == 3
    assert format_run([]) == "no decision recorded for this selection"


def test_records_have_the_columns_and_round_trip_csv_and_json():
    trace = random_trace(1)
    records = trace_to_records(trace)
    assert list(records.columns) == list(RECORD_COLUMNS)
    back = pd.read_csv(io.StringIO(records_text(records, "csv")), keep_default_na=False)
    assert list(back.columns) == list(RECORD_COLUMNS)
    np.testing.assert_array_equal(back["value"].to_numpy(), records["value"].to_numpy())
    loaded = json.loads(records_text(records, "json"))
    assert len(loaded) == len(records) and set(loaded[0]) == set(RECORD_COLUMNS)
    assert loaded[0]["value"] == pytest.approx(records["value"].iloc[0], rel=1e-14)
    with pytest.raises(ValueError, match="format must be one of"):
        records_text(records, "xml")


def test_the_attribution_plot_data_and_png():
    result = ensemble_attribution(ensemble(runs=200), "BLR", "side_with", seed=2, n_boot=200)
    bars = attribution_bars(result)
    top = bars[bars["y"] == 0]
    assert set(top["term"]) == {bars.loc[bars["mean"].abs().idxmax(), "term"]}
    assert (bars["err_low"] >= 0).all() and (bars["err_high"] >= 0).all()
    row = result.set_index(["group", "term"]).loc[("happened", "loyalty")]
    bar = bars.set_index(["group", "term"]).loc[("happened", "loyalty")]
    assert bar["err_low"] == pytest.approx(row["mean"] - row["ci_low"])
    assert bar["err_high"] == pytest.approx(row["ci_high"] - row["mean"])


def test_the_attribution_plot_writes_a_png(tmp_path):
    result = ensemble_attribution(ensemble(runs=100), "BLR", "side_with", seed=2, n_boot=100)
    path = save_attribution_plot(result, tmp_path / "attribution.png", title="BLR:side_with")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000
    assert [p.name for p in tmp_path.iterdir()] == ["attribution.png"]
