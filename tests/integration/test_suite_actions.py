"""Expectation actions (quarantine / warn / fail) in both checkpoint modes, and a suite
the job cannot apply: what lands where, the outcome and the checkpoints, as in the
fault matrix (docs/FAULT_MATRIX.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lakehouse_unified.schema_validation import job_validator, validate_schema

from spark_jobs.tables import TopicTables

from .jobkit import append_raw, at, checkpoints, run_job, table_rows, topic_config
from .test_unified_job import order

pytestmark = pytest.mark.spark
LENGTH = "expect_column_value_lengths_to_equal"
ROWS = [
    ("m1", "k1", at(0), at(1), order("o1")),
    ("m2", "k2", at(0), at(1), order("o2")),
    ("m3", "k3", at(0), at(1), order("o300")),  # fails the length expectation only
]


def _with_expectation(dirs: tuple[str, str], topic: str, expectation: dict) -> Path:
    path = Path(dirs[1]) / f"{topic}.json"
    suite = json.loads(path.read_text())
    suite["expectations"].append(expectation)
    path.write_text(json.dumps(suite))
    return path


def _keys(spark, table: str) -> set[str]:
    return {r["_idempotency_key"] for r in table_rows(spark, table)} if spark.catalog.tableExists(table) else set()


@pytest.mark.parametrize("mode", ["tiered", "unified"])
@pytest.mark.parametrize("action", ["quarantine", "warn", "fail"])
def test_actions(spark, tmp_path: Path, hash_key: str, mode: str, action: str) -> None:
    topic = f"act_{action}_{mode}"
    dirs = topic_config(tmp_path, topic)
    suite_file = _with_expectation(
        dirs, topic, {"type": LENGTH, "kwargs": {"column": "order_id", "value": 2}, "meta": {"action": action}}
    )
    snapshot = append_raw(spark, topic, ROWS)
    report = run_job(spark, topic, dirs, checkpoint_mode=mode)
    t = TopicTables(topic)
    semantic, errors = _keys(spark, t.semantic), _keys(spark, t.errors)
    if action == "fail":
        expected = "CURATED_ONLY" if mode == "tiered" else "SEMANTIC_FAILED"
        assert report.outcome == expected
        assert str(suite_file) in (report.reason or "") and LENGTH in (report.reason or "")
        assert "1 unexpected rows" in (report.reason or "")
        assert checkpoints(spark, topic) == ((snapshot, None) if mode == "tiered" else (None, None))
        assert semantic == errors == set()  # nothing of the semantic layer was written
        assert report.semantic.details["expectations"][-1]["success"] is False
        return
    assert report.outcome == "FULL_SUCCESS"
    assert checkpoints(spark, topic) == (snapshot, snapshot)
    if action == "quarantine":
        assert (semantic, errors) == ({"k1", "k2"}, {"k3"})
        (row,) = [r for r in table_rows(spark, t.errors) if r["_idempotency_key"] == "k3"]
        assert [(e["rule"], e["column"]) for e in row["_errors"]] == [(LENGTH, "order_id")]
        assert row["_errors"][0]["reason"] == f'{LENGTH} {{"value": 2}}'
        assert report.semantic.details["failed_rules"] == {f"{LENGTH}:order_id": 1}
    else:
        assert (semantic, errors) == ({"k1", "k2", "k3"}, set())  # counted, reported, kept
        assert report.semantic.details["warned_rules"] == {f"{LENGTH}:order_id": 1}
        assert report.semantic.details["failed_rules"] == {}


def test_fail_with_mostly_passes_and_quarantines_the_rows(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "act_fail_mostly"
    dirs = topic_config(tmp_path, topic)
    _with_expectation(
        dirs,
        topic,
        {"type": LENGTH, "kwargs": {"column": "order_id", "value": 2, "mostly": 0.5}, "meta": {"action": "fail"}},
    )
    snapshot = append_raw(spark, topic, ROWS)
    report = run_job(spark, topic, dirs)
    assert report.outcome == "FULL_SUCCESS" and checkpoints(spark, topic) == (snapshot, snapshot)
    assert _keys(spark, TopicTables(topic).errors) == {"k3"}


def test_unsupported_expectation_same_message_in_job_and_airflow_branch(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "act_unsupported"
    dirs = topic_config(tmp_path, topic)
    suite_file = _with_expectation(
        dirs,
        topic,
        {"type": "expect_column_values_to_match_like_pattern", "kwargs": {"column": "status", "like_pattern": "n%"}},
    )
    snapshot = append_raw(spark, topic, ROWS)
    report = run_job(spark, topic, dirs)
    assert report.outcome == "CURATED_ONLY" and checkpoints(spark, topic) == (snapshot, None)
    t = TopicTables(topic)
    assert not spark.catalog.tableExists(t.semantic) and not spark.catalog.tableExists(t.errors)
    message = report.semantic.error or ""
    assert str(suite_file) in message and "expectations[4] (expect_column_values_to_match_like_pattern)" in message
    assert "GX has no Spark condition" in message

    contract_file = Path(dirs[0]) / f"{topic}.yaml"
    branch = validate_schema(
        topic,
        (contract_file.read_text(), str(contract_file)),
        (suite_file.read_text(), str(suite_file)),
        job_validator,
    )
    problem = message.split("semantic layer not written: ", 1)[1]
    assert branch == f"topic {topic!r}: {problem}"
