"""The demo's suites (expectations/orders.json, payments.json) run through the job on the
demo generator's events: every expectation, old and new types, is judged by GX."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from demo.raw_events import generate_batches

from .jobkit import append_raw, run_job

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[2]
FIRST_SUITE_TYPES = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_be_unique",
}


@pytest.mark.parametrize("template", ["orders", "payments"])
def test_demo_suite_runs_with_new_expectation_types(spark, tmp_path: Path, hash_key: str, template: str) -> None:
    topic = f"demo_{template}"
    contracts, expectations = tmp_path / "contracts", tmp_path / "expectations"
    contracts.mkdir()
    expectations.mkdir()
    text = (REPO / "contracts" / f"{template}.yaml").read_text()
    (contracts / f"{topic}.yaml").write_text(re.sub(rf"^topic: {template}$", f"topic: {topic}", text, flags=re.M))
    shutil.copy(REPO / "expectations" / f"{template}.json", expectations / f"{topic}.json")
    suite = json.loads((expectations / f"{topic}.json").read_text())
    new_types = {e["type"] for e in suite["expectations"]} - FIRST_SUITE_TYPES
    assert len(new_types) >= 2

    (batch,) = generate_batches(template, 1, 400, 7)
    append_raw(spark, topic, [event.as_tuple() for event in batch])
    report = run_job(spark, topic, (str(contracts), str(expectations)))
    assert report.outcome == "FULL_SUCCESS", report.reason
    judged = report.semantic.details["expectations"]
    assert len(judged) == len(suite["expectations"])
    assert {e["type"] for e in judged} >= new_types
    assert report.semantic.details["rows_errors"] > 0  # the generator's rule breakers are quarantined
    # ...and only they: a suite that quarantines well-formed events (a wrong length) is a broken demo
    assert report.semantic.details["rows_valid"] >= 0.7 * report.semantic.rows
    for expectation in judged:
        assert expectation.get("unexpected_percent", 0) < 20, expectation
