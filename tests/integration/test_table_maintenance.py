"""Table maintenance after a run: compaction removes delete files without changing a row or
a checkpoint; output expiry keeps the snapshot holding the checkpoint; a maintenance
failure never changes the run's outcome."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark_jobs.maintenance.compact_outputs import compaction_options
from spark_jobs.maintenance.expire_outputs import expire_outputs
from spark_jobs.maintenance.procedures import rewrite_data_files
from spark_jobs.read.snapshots import current_ancestry
from spark_jobs.tables import TopicTables

from .jobkit import Row, append_raw, at, checkpoints, expected_latest, run_job, table_rows, topic_config

pytestmark = pytest.mark.spark

FAR_FUTURE = datetime(2999, 1, 1)


def order(oid: str, amount: int, status: str = "new") -> str:
    return json.dumps(
        {"order_id": oid, "customer": {"email": f"{oid}@example.com"}, "amount": amount, "status": status}
    )


def batch(version: int, keys: range) -> list[Row]:
    """Version ``version`` of each key (a correction when > 0); keys 0-4 fail the suite (status)."""
    return [
        (
            f"m{version}-{k}",
            f"k{k}",
            at(version * 100 + k),
            at(version * 100 + 50),
            order(f"o{k}", version + k, "lost" if k < 5 else "new"),
        )
        for k in keys
    ]


def live_files(spark: SparkSession, table: str) -> tuple[int, int]:
    """(data files, delete files) of the table's current snapshot."""
    data = spark.sql(f"SELECT count(*) FROM {table}.data_files").first()[0]
    deletes = spark.sql(f"SELECT count(*) FROM {table}.delete_files").first()[0]
    return int(data), int(deletes)


def contents(spark: SparkSession, tables: TopicTables) -> dict[str, list[str]]:
    return {
        name: sorted(json.dumps(row, default=str, sort_keys=True) for row in table_rows(spark, name))
        for name in (tables.curated, tables.semantic, tables.errors)
    }


def test_compaction_drops_delete_files_keeps_rows_and_checkpoints(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_compact"
    tables = TopicTables(topic)
    dirs = topic_config(tmp_path, topic)
    consumed: list[Row] = []
    for version in range(4):  # history, then three batches correcting keys 0-9
        rows = batch(version, range(20) if version == 0 else range(10))
        consumed += rows
        append_raw(spark, topic, rows)
        assert run_job(spark, topic, dirs, run_id=f"r{version}").outcome == "FULL_SUCCESS"
    for table in (tables.curated, tables.semantic, tables.errors):
        assert live_files(spark, table)[1] > 0, f"{table}: corrections left no delete files to compact"
    before, marks = contents(spark, tables), checkpoints(spark, topic)
    files_before = {t: live_files(spark, t) for t in (tables.curated, tables.semantic, tables.errors)}

    report = run_job(spark, topic, dirs, run_id="maintain", compact_delete_file_threshold=1)

    assert report.outcome == "NO_NEW_DATA"
    compacted = report.maintenance["compaction"].result
    for table in (tables.curated, tables.semantic, tables.errors):
        data, deletes = live_files(spark, table)
        assert deletes == 0, f"{table}: {deletes} delete files left"
        assert data < files_before[table][0], f"{table}: {files_before[table]} -> {data} data files"
        assert compacted[table.replace("`", "")]["rewritten_data_files_count"] > 0
    assert contents(spark, tables) == before
    assert checkpoints(spark, topic) == marks
    assert any(line.startswith("  maintenance: compaction") for line in report.summary_lines())

    rows = batch(4, range(0, 20, 3))
    consumed += rows
    append_raw(spark, topic, rows)
    after = run_job(spark, topic, dirs, run_id="r4")
    assert after.outcome == "FULL_SUCCESS" and after.raw.rows_read == len(rows)
    curated = {r["_idempotency_key"]: r["_message_id"] for r in table_rows(spark, tables.curated)}
    validated = table_rows(spark, tables.semantic) + table_rows(spark, tables.errors)
    assert len(validated) == len({r["_idempotency_key"] for r in validated}) == 20
    assert curated == {r["_idempotency_key"]: r["_message_id"] for r in validated} == expected_latest(consumed)

    # One run's files since that compaction are not 4 per bucket: not due, nothing rewritten.
    files_before = {t: live_files(spark, t) for t in (tables.curated, tables.semantic, tables.errors)}
    idle = run_job(spark, topic, dirs, run_id="not-due", compact_delete_file_threshold=4)
    for table in (tables.curated, tables.semantic, tables.errors):
        assert "not_due" in idle.maintenance["compaction"].result[table.replace("`", "")]
        assert live_files(spark, table) == files_before[table]


def test_output_expiry_keeps_the_checkpoint_snapshot(spark, tmp_path: Path, hash_key: str) -> None:
    topic = "shop_expire_outputs"
    tables = TopicTables(topic)
    dirs = topic_config(tmp_path, topic)
    for version in range(3):
        append_raw(spark, topic, batch(version, range(10)))
        assert run_job(spark, topic, dirs, run_id=f"r{version}").outcome == "FULL_SUCCESS"
    holder = {t: current_ancestry(spark, t)[0].snapshot_id for t in (tables.curated, tables.semantic)}
    # compaction commits on top: they hold no checkpoint (Iceberg's procedure itself: the
    # job's compaction waits until a table is due, and these small tables are not)
    for table in (tables.curated, tables.semantic, tables.errors):
        rewrite_data_files(spark, table, compaction_options(1))
    marks = checkpoints(spark, topic)

    result = expire_outputs(spark, topic, FAR_FUTURE)

    for table in (tables.curated, tables.semantic):
        remaining = [s.snapshot_id for s in current_ancestry(spark, table)]
        assert remaining[-1] == holder[table], f"{table}: expired up to the checkpoint's snapshot, not past it"
        assert len(remaining) > 1, f"{table}: the compaction's commits stay above the checkpoint's snapshot"
        assert result[table.replace("`", "")]["kept_snapshot"] == holder[table]
    assert len(current_ancestry(spark, tables.errors)) == 1, "errors holds no checkpoint: only the current stays"
    assert checkpoints(spark, topic) == marks
    rows = batch(3, range(10))
    append_raw(spark, topic, rows)
    report = run_job(spark, topic, dirs, run_id="r3")
    assert report.outcome == "FULL_SUCCESS" and report.raw.rows_read == len(rows), "checkpoint lost: reprocessed"


def test_a_maintenance_failure_does_not_change_the_outcome(
    spark, tmp_path: Path, hash_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = "shop_maintain_fault"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, batch(0, range(5)))
    monkeypatch.setenv("UNIFIED_JOB_FAIL_AT", "during_compaction")
    report = run_job(
        spark, topic, dirs, compact_delete_file_threshold=1, expire_outputs_after_hours=1, expire_raw_after_hours=1
    )
    assert report.outcome == "FULL_SUCCESS"
    assert "injected fault at during_compaction" in (report.maintenance["compaction"].error or "")
    assert report.maintenance["output_expiry"].error is None, "one failed step does not stop the others"
    raw = report.maintenance["raw_expiry"].result[f"raw_db.{topic}"]
    assert raw["kept_snapshot"] is not None and raw["older_than"] is not None
    assert any("compaction FAILED" in line for line in report.summary_lines())
