"""Assets per table and the asset events ``publish_outcome`` emits (what a run announces)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow_testkit import emr_topic_yaml, local_topic_yaml, make_context, run_report, topic_config
from lakehouse_unified.assets import announcements, layers_alias, table_asset
from lakehouse_unified.config import TopicConfig
from lakehouse_unified.hooks.alert_memory import AlertMemoryHook
from lakehouse_unified.job_arguments import run_report_uri
from lakehouse_unified.operators.outcome import PublishOutcomeOperator

RUN_ID = "scheduled__2025-01-01T00:00:00+00:00"
TABLES = {
    "curated": {"name": "curated_db.orders", "snapshot_id": 701},
    "semantic": {"name": "semantic_db.orders", "snapshot_id": 702},
    "errors": {"name": "semantic_db.orders_errors", "snapshot_id": 703},
}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TopicConfig:
    monkeypatch.setenv("LAKEHOUSE_PROJECT_DIR", str(tmp_path))
    monkeypatch.setattr(AlertMemoryHook, "first_time", lambda self, problem: True)
    return topic_config(local_topic_yaml(), tmp_path)


def report(outcome: str, **extra: Any) -> dict[str, Any]:
    return run_report(outcome, **{"tables": TABLES, **extra})


def test_table_assets_name_the_catalog_and_table_never_a_path(config: TopicConfig, tmp_path: Path) -> None:
    assert table_asset(config, "semantic") == Asset(
        name="semantic_db.orders",
        uri="x-iceberg://hadoop/semantic_db/orders",
        group="lakehouse",
        extra={"topic": "orders", "layer": "semantic"},
    )
    assert table_asset(config, "errors").uri == "x-iceberg://hadoop/semantic_db/orders_errors"
    assert table_asset(config, "raw").uri == "x-iceberg://hadoop/raw_db/orders"
    assert str(tmp_path) not in table_asset(config, "curated").uri
    glue = topic_config(emr_topic_yaml(), tmp_path / "glue")  # Glue catalog, region us-east-1
    assert table_asset(glue, "curated").uri == "x-iceberg://glue.us-east-1/curated_db/payments"


def test_full_success_announces_both_layers_and_the_errors_that_received_rows() -> None:
    events = {a.role: a.extra for a in announcements(report("FULL_SUCCESS"))}
    assert set(events) == {"curated", "semantic", "errors"}
    assert events["semantic"] == {
        "topic": "orders",
        "table": "semantic_db.orders",
        "outcome": "FULL_SUCCESS",
        "run_id": "r1",
        "airflow_run_id": None,
        "snapshot_id": "702",
        "checkpoint": "2",
        "reprocess": False,
        "replay": False,
        "raw_from_snapshot_exclusive": "1",
        "raw_to_snapshot_inclusive": "2",
        "rows": 80,
        "data_docs_url": None,
    }
    assert events["curated"]["rows"] == 91 and events["errors"]["rows"] == 11


def test_no_errors_rows_no_errors_event() -> None:
    semantic = {**run_report("FULL_SUCCESS")["semantic"], "rows_errors": 0}
    assert [a.role for a in announcements(report("FULL_SUCCESS", semantic=semantic))] == ["curated", "semantic"]


def test_curated_only_announces_curated_alone() -> None:
    semantic = {"status": "failed", "checkpoint_before": 1, "checkpoint_after": 1, "error": "cast failed"}
    assert [a.role for a in announcements(report("CURATED_ONLY", semantic=semantic))] == ["curated"]


@pytest.mark.parametrize("outcome", ["NO_NEW_DATA", "CURATED_FAILED", "SEMANTIC_FAILED", "FAILED_BEFORE_WRITE"])
def test_no_new_data_and_failures_announce_nothing(outcome: str) -> None:
    # unified CURATED_FAILED: semantic's rows were written, but no checkpoint moved (the retry announces)
    assert announcements(report(outcome)) == []


def layers(status: str, checkpoint: int, rows_errors: int) -> dict[str, Any]:
    """curated and semantic sections of a report whose layers ended ``status`` at ``checkpoint``."""
    cp = {"checkpoint_before": checkpoint, "checkpoint_after": checkpoint}
    return {
        "curated": {"status": status, "rows": 91, **cp},
        "semantic": {"status": status, "rows_valid": 80, "rows_errors": rows_errors, **cp},
    }


def test_a_dry_run_announces_nothing_a_backfill_is_announced_as_a_reprocess() -> None:
    assert announcements(report("FULL_SUCCESS", **layers("dry_run", 1, 11))) == []
    backfill = report("FULL_SUCCESS", **layers("written", 9, 0))
    events = announcements(backfill)
    assert [a.role for a in events] == ["curated", "semantic"]
    assert all(a.extra["reprocess"] and a.extra["checkpoint"] is None for a in events)


def test_a_replay_announces_semantic_when_rows_healed_and_errors_when_it_rejudged() -> None:
    replay = {"quarantined": 7, "replayed": 5, "healed": 2, "still_failing": 3}
    semantic = {"status": "written", "rows_valid": 2, "rows_errors": 3, "checkpoint_before": 2, "checkpoint_after": 2}
    curated = {"status": "skipped", "checkpoint_before": 2, "checkpoint_after": 2}
    events = {
        a.role: a.extra
        for a in announcements(report("FULL_SUCCESS", replay=replay, semantic=semantic, curated=curated))
    }
    assert set(events) == {"semantic", "errors"}
    assert events["semantic"]["rows"] == 2 and events["errors"]["rows"] == 5 and events["semantic"]["replay"]
    nothing_healed = {**replay, "healed": 0}
    events = {
        a.role for a in announcements(report("FULL_SUCCESS", replay=nothing_healed, semantic=semantic, curated=curated))
    }
    assert events == {"errors"}


def publish(config: TopicConfig, doc: dict[str, Any], problem: str | None = None) -> tuple[dict[str, Any], str]:
    """Run publish_outcome on ``doc``; its asset events by asset name, and its result."""
    uri = run_report_uri(config, RUN_ID)
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    Path(uri).write_text(json.dumps(doc))
    op = PublishOutcomeOperator(task_id="publish_outcome", topic_config=config, outlets=[layers_alias(config)])
    xcoms: dict[tuple[str, str], Any] = {
        ("wait_for_new_snapshot", "return_value"): {"kind": "incremental"},
        ("run_unified_job", "return_value"): uri,
    }
    if problem:
        xcoms[("check_schema_exists", "schema_problem")] = problem
    ctx = make_context(xcoms=xcoms)
    try:
        result = op.execute(ctx)
    except (AirflowSkipException, AirflowFailException) as exc:
        result = type(exc).__name__
    finally:
        shutil.rmtree(Path(uri).parent)
    alias = ctx["outlet_events"][layers_alias(config)]
    return {e.dest_asset_key.name: e.extra for e in alias.asset_alias_events}, result


def test_publish_outcome_adds_one_event_per_advanced_table_through_the_alias(config: TopicConfig) -> None:
    events, result = publish(config, report("FULL_SUCCESS", data_docs="file:///docs/run.html"))
    assert result == "FULL_SUCCESS"
    assert set(events) == {"curated_db.orders", "semantic_db.orders", "semantic_db.orders_errors"}
    assert events["semantic_db.orders"]["snapshot_id"] == "702"
    assert events["semantic_db.orders"]["data_docs_url"] == "file:///docs/run.html"


def test_publish_outcome_announces_only_curated_without_a_schema(config: TopicConfig) -> None:
    semantic = {"status": "skipped", "checkpoint_before": None, "checkpoint_after": None}
    events, result = publish(config, report("FULL_SUCCESS", semantic=semantic), problem="no contract")
    assert result == "CURATED_ONLY"
    assert set(events) == {"curated_db.orders"} and events["curated_db.orders"]["outcome"] == "CURATED_ONLY"


@pytest.mark.parametrize(
    "outcome, result", [("CURATED_FAILED", "AirflowFailException"), ("NO_NEW_DATA", "AirflowSkipException")]
)
def test_publish_outcome_emits_nothing_for_failures_and_no_new_data(
    config: TopicConfig, outcome: str, result: str
) -> None:
    assert publish(config, report(outcome)) == ({}, result)
