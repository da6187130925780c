"""Helpers of the Airflow tests: topic files, task contexts, Hadoop-layout Iceberg metadata."""

from __future__ import annotations

import json
import textwrap
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk.execution_time.context import OutletEventAccessors
from lakehouse_unified.config import TopicConfig, parse_topic_config
from lakehouse_unified.run_plan import CHECKPOINT_KEYS

EMR_SECTION = """\
emr_serverless:
  application_id: {application_id}
  execution_role_arn: arn:aws:iam::123456789012:role/lakehouse-unified-job
  code_uri: s3://artifacts/unified-job/0.1.0
  log_uri: s3://artifacts/emr-logs/
  execution_timeout_minutes: 60
  waiter_delay_seconds: 1
  spark_conf:
    spark.executor.memory: 4g
"""


def local_topic_yaml(topic: str = "orders", warehouse: str = "lakehouse/warehouse", extra: str = "") -> str:
    return (
        textwrap.dedent(
            f"""\
        topic: {topic}
        schedule: "@hourly"
        start_date: 2025-01-01
        runtime: local
        wait_for_data:
          poke_interval_seconds: 1
          timeout_minutes: 1
        storage:
          warehouse: {warehouse}
          contracts_dir: contracts
          expectations_dir: expectations
          run_reports_dir: reports
        """
        )
        + extra
    )


def emr_topic_yaml(topic: str = "payments", application_id: str = "00fkq1example2301") -> str:
    return textwrap.dedent(
        f"""\
            topic: {topic}
            schedule: "@hourly"
            runtime: emr_serverless
            storage:
              catalog_type: glue
              warehouse: s3://lake/warehouse
              contracts_dir: s3://lake/contracts
              expectations_dir: s3://lake/expectations
              run_reports_dir: s3://lake/reports
            aws:
              conn_id: null
              region_name: us-east-1
            pii_hash_key:
              secret_id: lakehouse/pii-hash-key
            """
    ) + EMR_SECTION.format(application_id=application_id)


def topic_config(text: str, folder: Path, topic: str | None = None) -> TopicConfig:
    """Parse ``text`` as ``<folder>/dags/topics/<topic>.yaml`` (project dir: ``folder``)."""
    doc_topic = topic or text.split("topic:", 1)[1].split()[0]
    path = folder / "dags" / "topics" / f"{doc_topic}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return parse_topic_config(text, str(path))


@dataclass
class FakeTI:
    """The part of a task instance the operators use: XCom pull/push."""

    xcoms: dict[tuple[str, str], Any] = field(default_factory=dict)
    pushed: dict[str, Any] = field(default_factory=dict)
    task_id: str = "task"
    run_id: str = "scheduled__2025-01-01T00:00:00+00:00"

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_ids, key))

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@dataclass
class FakeDagRun:
    run_id: str = "scheduled__2025-01-01T00:00:00+00:00"
    run_type: str = "scheduled"
    conf: dict[str, Any] = field(default_factory=dict)


def make_context(
    *,
    params: dict[str, Any] | None = None,
    run_type: str = "scheduled",
    run_id: str = "scheduled__2025-01-01T00:00:00+00:00",
    xcoms: dict[tuple[str, str], Any] | None = None,
    data_interval: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    ti = FakeTI(xcoms=dict(xcoms or {}), run_id=run_id)
    return {
        "ti": ti,
        "task_instance": ti,
        "dag_run": FakeDagRun(run_id=run_id, run_type=run_type),
        "run_id": run_id,
        "params": {"layers": "both", "dry_run": False, "no_checkpoint": False, **(params or {})},
        "data_interval_start": data_interval[0] if data_interval else None,
        "data_interval_end": data_interval[1] if data_interval else None,
        "outlet_events": OutletEventAccessors(),  # Airflow's own: what a task's asset events are added to
    }


def write_hadoop_table(
    warehouse: Path, namespace: str, name: str, snapshots: list[tuple[int, datetime, dict[str, str]]]
) -> Path:
    """Iceberg v2 metadata in the Hadoop catalog layout (``metadata/vN.metadata.json`` + ``version-hint.text``).

    Only metadata: the hooks never read manifests or data. Each call writes the next
    metadata version, like a commit. ``snapshots``: (id, committed_at, summary), oldest first.
    """
    location = warehouse / namespace / name
    metadata_dir = location / "metadata"
    metadata_dir.mkdir(parents=True, exist_ok=True)
    hint = metadata_dir / "version-hint.text"
    version = int(hint.read_text()) + 1 if hint.exists() else 1
    rendered: list[dict[str, Any]] = []
    parent: int | None = None
    for sequence, (snapshot_id, committed_at, summary) in enumerate(snapshots, start=1):
        snapshot: dict[str, Any] = {
            "snapshot-id": snapshot_id,
            "sequence-number": sequence,
            "timestamp-ms": int(committed_at.timestamp() * 1000),
            "manifest-list": f"{location}/metadata/snap-{snapshot_id}.avro",
            "summary": {"operation": "append", **summary},
            "schema-id": 0,
        }
        if parent is not None:
            snapshot["parent-snapshot-id"] = parent
        rendered.append(snapshot)
        parent = snapshot_id
    metadata: dict[str, Any] = {
        "format-version": 2,
        "table-uuid": str(uuid.uuid4()),
        "location": str(location),
        "last-sequence-number": len(rendered),
        "last-updated-ms": rendered[-1]["timestamp-ms"] if rendered else 0,
        "last-column-id": 1,
        "schemas": [
            {
                "type": "struct",
                "schema-id": 0,
                "fields": [{"id": 1, "name": "payload", "required": False, "type": "string"}],
            }
        ],
        "current-schema-id": 0,
        "partition-specs": [{"spec-id": 0, "fields": []}],
        "default-spec-id": 0,
        "last-partition-id": 999,
        "properties": {},
        "snapshots": rendered,
        "snapshot-log": [{"snapshot-id": s["snapshot-id"], "timestamp-ms": s["timestamp-ms"]} for s in rendered],
        "metadata-log": [],
        "sort-orders": [{"order-id": 0, "fields": []}],
        "default-sort-order-id": 0,
        "refs": {"main": {"snapshot-id": parent, "type": "branch"}} if parent is not None else {},
    }
    if parent is not None:
        metadata["current-snapshot-id"] = parent
    (metadata_dir / f"v{version}.metadata.json").write_text(json.dumps(metadata))
    hint.write_text(str(version))
    return location


def checkpoint_summary(layer: str, raw_snapshot_id: int) -> dict[str, str]:
    return {CHECKPOINT_KEYS[layer]: str(raw_snapshot_id), "unified-job.run-id": "test"}  # type: ignore[index]


def run_report(outcome: str, reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """A run report shaped like the job's (docs/JOB_INTERFACE.md)."""
    report: dict[str, Any] = {
        "topic": "orders",
        "run_id": "r1",
        "checkpoint_mode": "tiered",
        "outcome": outcome,
        "reason": reason,
        "raw": {"from_snapshot_exclusive": 1, "to_snapshot_inclusive": 2, "rows_read": 100},
        "dedup": {
            "network_duplicates": 3,
            "already_consumed": 1,
            "superseded_versions": 5,
            "missing_keys": 0,
            "rows_out": 91,
        },
        "drift": {
            "new_fields": [{"path": "a.b", "rows": 3, "sample": "x"}],
            "missing_fields": [],
            "type_mismatches": [],
            "folded_objects": [{"path": "inventory", "keys": 3000, "reason": "data_like_keys"}],
            "overflow": {"fields": 300, "sample_paths": ["884211"]},
            "deep_values": {"rows": 2, "paths": ["trace.n.n"]},
        },
        "curated": {"status": "written", "rows": 91, "checkpoint_before": 1, "checkpoint_after": 2, "error": None},
        "semantic": {
            "status": "written",
            "rows_valid": 80,
            "rows_errors": 11,
            "checkpoint_before": 1,
            "checkpoint_after": 2,
            "error": None,
        },
        "durations_s": {"total": 7.0},
    }
    report.update(extra)
    return report
