"""``ops_db.unified_job_runs``: one row per run of any topic of the warehouse, any outcome.

Made from the same typed report as the JSON one (``report/run_report.py``) and appended
after it is built: a failure to write it is reported like a maintenance step's and never
changes the outcome. Each expectation's result is a column of the run's row (an array of
structs), not a table of its own: one append per run (one commit, nothing to keep
consistent between two tables), and ``explode(expectations)`` gives one row per
expectation and run when that is the question.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession

from spark_jobs.run.context import DedupCounts
from spark_jobs.tables import OPS_NAMESPACE, RUNS_TABLE

if TYPE_CHECKING:
    from spark_jobs.report.run_report import RunReport

SCHEMA = """
    topic string NOT NULL, run_id string NOT NULL, airflow_run_id string, checkpoint_mode string NOT NULL,
    outcome string NOT NULL, reason string, retryable boolean NOT NULL, dry_run boolean NOT NULL,
    quarantine_replay boolean NOT NULL, started_at timestamp NOT NULL, finished_at timestamp NOT NULL,
    from_snapshot_exclusive bigint, to_snapshot_inclusive bigint,
    rows_read bigint NOT NULL, backlog_rows bigint NOT NULL,
    network_duplicates bigint, already_consumed bigint, superseded_versions bigint, missing_keys bigint,
    event_ts_in_future bigint, reused_message_ids bigint, rows_out bigint,
    curated_status string NOT NULL, curated_rows bigint NOT NULL,
    semantic_status string NOT NULL, semantic_rows_valid bigint, semantic_rows_errors bigint,
    drift_new_fields int, drift_missing_fields int, drift_type_mismatches int, drift_malformed_rows bigint,
    drift_changes array<string>,
    curated_checkpoint_before bigint, curated_checkpoint_after bigint,
    semantic_checkpoint_before bigint, semantic_checkpoint_after bigint,
    semantic_lag_snapshots int, semantic_lag_rows bigint, semantic_lag_hours double,
    expectations array<struct<rule: string, type: string, column: string, action: string, success: boolean,
        element_count: bigint, unexpected_count: bigint, unexpected_percent: double>>,
    data_docs_url string, durations_s map<string, double>
"""


def run_row(report: RunReport, *, dry_run: bool) -> dict[str, Any]:
    """The run's row (pure)."""
    semantic, drift, lag = report.semantic.details, report.drift, report.lag
    expectations = [
        {
            "rule": e.get("rule"),
            "type": e.get("type"),
            "column": e.get("column"),
            "action": e.get("action"),
            "success": bool(e.get("success")),
            "element_count": e.get("element_count"),
            "unexpected_count": e.get("unexpected_count"),
            "unexpected_percent": _float(e.get("unexpected_percent")),
        }
        for e in semantic.get("expectations") or []
    ]
    return {
        "topic": report.topic,
        "run_id": report.run_id,
        "airflow_run_id": report.airflow_run_id,
        "checkpoint_mode": report.checkpoint_mode,
        "outcome": report.outcome,
        "reason": report.reason,
        "retryable": report.retryable,
        "dry_run": dry_run,
        "quarantine_replay": report.replay is not None,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "from_snapshot_exclusive": report.raw.from_snapshot_exclusive,
        "to_snapshot_inclusive": report.raw.to_snapshot_inclusive,
        "rows_read": report.raw.rows_read,
        "backlog_rows": report.raw.backlog_rows,
        **{f.name: getattr(report.dedup, f.name) if report.dedup else None for f in fields(DedupCounts)},
        "curated_status": report.curated.status,
        "curated_rows": report.curated.rows,
        "semantic_status": report.semantic.status,
        "semantic_rows_valid": semantic.get("rows_valid"),
        "semantic_rows_errors": semantic.get("rows_errors"),
        "drift_new_fields": len(drift.new_fields) if drift else None,
        "drift_missing_fields": len(drift.missing_fields) if drift else None,
        "drift_type_mismatches": len(drift.type_mismatches) if drift else None,
        "drift_malformed_rows": drift.malformed_rows if drift else None,
        "drift_changes": [f"{c.change}: {c.describe()}" for c in report.drift_changes],
        "curated_checkpoint_before": report.curated.checkpoint_before,
        "curated_checkpoint_after": report.curated.checkpoint_after,
        "semantic_checkpoint_before": report.semantic.checkpoint_before,
        "semantic_checkpoint_after": report.semantic.checkpoint_after,
        "semantic_lag_snapshots": lag.snapshots if lag else None,
        "semantic_lag_rows": lag.rows if lag else None,
        "semantic_lag_hours": lag.hours if lag else None,
        "expectations": expectations,
        "data_docs_url": report.data_docs_url,
        "durations_s": {step: float(seconds) for step, seconds in report.durations_s.items()},
    }


def append_run(spark: SparkSession, report: RunReport, *, dry_run: bool) -> None:
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {OPS_NAMESPACE}")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {RUNS_TABLE} ({SCHEMA}) USING iceberg PARTITIONED BY (topic) "
        "TBLPROPERTIES ('format-version'='2')"
    )
    spark.createDataFrame([run_row(report, dry_run=dry_run)], SCHEMA).writeTo(RUNS_TABLE).append()


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
