"""OpenLineage of ``run_unified_job`` (datasets, schemas, counts, GX assertions from the run report)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from airflow_testkit import emr_topic_yaml, local_topic_yaml, run_report, topic_config, write_hadoop_table
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.job_arguments import run_report_uri
from lakehouse_unified.lineage import Column, dataset_name, job_lineage
from lakehouse_unified.operators.unified_job import UnifiedJobLocalOperator
from openlineage.client.serde import Serde

EXPECTATIONS = [
    {
        "rule": "expect_column_values_to_not_be_null:order_id",
        "type": "expect_column_values_to_not_be_null",
        "column": "order_id",
        "action": "quarantine",
        "success": False,
        "unexpected_count": 2,
        "partial_unexpected_list": ["jane@example.com", None],
    },
    {
        "rule": "expect_column_values_to_not_match_regex:email",
        "type": "expect_column_values_to_not_match_regex",
        "column": "email",
        "action": "warn",
        "success": True,
    },
]


def report(**extra: Any) -> dict[str, Any]:
    doc = run_report("FULL_SUCCESS", **extra)
    doc["semantic"]["expectations"] = EXPECTATIONS
    return doc


def as_json(lineage: Any) -> dict[str, Any]:
    return {
        "inputs": [json.loads(Serde.to_json(d)) for d in lineage.inputs],
        "outputs": [json.loads(Serde.to_json(d)) for d in lineage.outputs],
    }


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TopicConfig:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    return topic_config(local_topic_yaml(warehouse=str(tmp_path / "wh")), tmp_path)


def test_dataset_names_follow_openlineage_naming(config: TopicConfig, tmp_path: Path) -> None:
    assert dataset_name(config, "/lake/wh", "semantic", None) == ("file", "/lake/wh/semantic_db/orders")
    assert dataset_name(config, "s3://lake/wh", "errors", None) == ("s3://lake", "wh/semantic_db/orders_errors")
    glue = topic_config(emr_topic_yaml(), tmp_path / "glue")
    assert dataset_name(glue, "s3://lake/warehouse", "raw", "123456789012") == (
        "arn:aws:glue:us-east-1:123456789012",
        "table/raw_db/payments",
    )


def test_a_full_success_reads_raw_and_writes_three_tables_with_counts_schemas_and_assertions(
    config: TopicConfig,
) -> None:
    schemas = {"raw": [Column("payload", "string")], "semantic": [Column("order_id", "string")]}
    doc = as_json(job_lineage(config, "/wh", report(), schemas))
    (raw,) = doc["inputs"]
    assert (raw["namespace"], raw["name"]) == ("file", "/wh/raw_db/orders")
    assert raw["facets"]["schema"]["fields"] == [{"name": "payload", "type": "string", "fields": []}]
    assert raw["inputFacets"]["inputStatistics"]["rowCount"] == 100
    outputs = {o["name"]: o for o in doc["outputs"]}
    assert set(outputs) == {"/wh/curated_db/orders", "/wh/semantic_db/orders", "/wh/semantic_db/orders_errors"}
    assert [outputs[n]["outputFacets"]["outputStatistics"]["rowCount"] for n in sorted(outputs)] == [91, 80, 11]
    assertions = outputs["/wh/semantic_db/orders"]["facets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["column"], a["success"], a["severity"]) for a in assertions] == [
        ("expect_column_values_to_not_be_null", "order_id", False, "error"),
        ("expect_column_values_to_not_match_regex", "email", True, "warn"),
    ]
    assert "@example.com" not in json.dumps(doc)  # GX's unexpected values never travel


def test_curated_only_writes_curated_alone_and_start_names_every_output(config: TopicConfig) -> None:
    failed = {"status": "failed", "checkpoint_before": 1, "checkpoint_after": 1, "error": "x"}
    doc = as_json(job_lineage(config, "/wh", run_report("CURATED_ONLY", semantic=failed), {}))
    assert [o["name"] for o in doc["outputs"]] == ["/wh/curated_db/orders"]
    start = as_json(job_lineage(config, "/wh", None, {}))
    assert [o["name"].rsplit("/", 2)[1:] for o in start["outputs"]] == [
        ["curated_db", "orders"],
        ["semantic_db", "orders"],
        ["semantic_db", "orders_errors"],
    ]
    assert all("outputStatistics" not in o.get("outputFacets", {}) for o in start["outputs"])


def test_the_job_task_reads_the_report_and_the_tables_schemas(config: TopicConfig, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    for namespace, table in (("raw_db", "orders"), ("curated_db", "orders")):
        write_hadoop_table(warehouse, namespace, table, [(1, datetime(2025, 1, 1, tzinfo=UTC), {})])
    run_id = "manual__2025-01-01T00:00:00+00:00"
    uri = Path(run_report_uri(config, run_id))
    uri.parent.mkdir(parents=True)
    uri.write_text(json.dumps(report()))
    op = UnifiedJobLocalOperator(task_id="run_unified_job", topic_config=config)
    ti = type("TI", (), {"run_id": run_id})()
    doc = as_json(op.get_openlineage_facets_on_complete(ti))
    assert doc["inputs"][0]["name"] == f"{warehouse}/raw_db/orders"
    assert doc["inputs"][0]["facets"]["schema"]["fields"] == [{"name": "payload", "type": "string", "fields": []}]
    curated = next(o for o in doc["outputs"] if o["name"].endswith("curated_db/orders"))
    assert curated["facets"]["schema"]["fields"] == [{"name": "payload", "type": "string", "fields": []}]
    failed = as_json(op.get_openlineage_facets_on_failure(type("TI", (), {"run_id": "no_report"})()))
    assert len(failed["outputs"]) == 3  # no report: the tables it may have written, no counts
