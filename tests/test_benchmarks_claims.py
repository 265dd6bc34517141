"""benchmarks/claims.py: every claim's row is measured, and each rate is a share of runs."""

import importlib.util
import re
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "claims.py"


def _claims():
    spec = importlib.util.spec_from_file_location("claims_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_row_has_its_rates_as_shares():
    claims = _claims()
    rows = claims.table(runs=10, seed=5)
    blocks = [(c, s) for c in claims.CLAIMS for s in (claims.Switch("reference"), *c.switches)]
    assert len(rows) == len(blocks)
    assert [row[0] for row in rows if row[0]] == [claim.claim for claim in claims.CLAIMS]
    for (_, label, _, rate), (claim, switch) in zip(rows, blocks, strict=True):
        assert label == switch.label
        shown = re.findall(r"\d+\.\d+", rate)
        assert len(shown) == len(claim.checks) + switch.armenia
        assert all(0.0 <= float(value) <= 1.0 for value in shown)
        assert ("Armenia" in rate) == switch.armenia


def test_markdown_has_the_doc_layout():
    claims = _claims()
    rows = [("**a**", "—", "e", "0.50"), ("", "t (`x=0`)", "", "0.016 (Armenia 0.71)")]
    text = claims.markdown(rows).splitlines()
    assert text[:2] == ["| claim | switched off | event | rate |", "|---|---|---|---|"]
    assert text[3] == "|  | t (`x=0`) |  | 0.016 (Armenia 0.71) |"
    assert claims.rate_text([0.5, 0.016], 0.0) == "0.50 / 0.016 (Armenia 0.00)"
    assert claims.rate_text([float("nan"), 0.0], None) == "— / 0.00"
