"""demo/generate_raw.py against a real Iceberg table: layout, one snapshot per batch,
row counts, and a second call that continues the sequence exactly."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from demo.generate_raw import SUMMARY_PREFIX, write_batches
from demo.raw_events import generate_batches

pytestmark = pytest.mark.spark
ROWS, SEED = 300, 11
EXPECTED_COLUMNS = [
    ("message_id", "string"),
    ("idempotency_key", "string"),
    ("event_ts", "timestamp"),
    ("ingest_ts", "timestamp"),
    ("payload", "string"),
]


def _count_at(spark: SparkSession, table: str, snapshot_id: int) -> int:
    return int(spark.sql(f"SELECT count(*) FROM {table} VERSION AS OF {snapshot_id}").first()[0])


def _message_ids_added_by(spark: SparkSession, table: str, before: int, after: int) -> list[str]:
    rows = spark.sql(
        f"SELECT message_id FROM {table} VERSION AS OF {after} "
        f"EXCEPT ALL SELECT message_id FROM {table} VERSION AS OF {before}"
    ).collect()
    return sorted(r[0] for r in rows)


def test_two_batches_make_two_snapshots_with_the_raw_layout(spark: SparkSession) -> None:
    table = "raw_db.demo_gen_orders"
    snapshots = write_batches(spark, "orders", 2, ROWS, SEED, table=table)

    assert len(snapshots) == 2 and len(set(snapshots)) == 2
    assert [(f.name, f.dataType.simpleString()) for f in spark.table(table).schema.fields] == EXPECTED_COLUMNS
    ddl = spark.sql(f"SHOW CREATE TABLE {table}").first()[0]
    assert "days(ingest_ts)" in ddl and "'format-version' = '2'" in ddl
    history = spark.sql(
        f"SELECT snapshot_id, operation, summary FROM {table}.snapshots ORDER BY committed_at"
    ).collect()
    assert [r.snapshot_id for r in history] == snapshots
    assert all(r.operation == "append" for r in history)
    assert [r.summary[SUMMARY_PREFIX + "batch-index"] for r in history] == ["0", "1"]
    assert [_count_at(spark, table, s) for s in snapshots] == [ROWS, 2 * ROWS]
    # timestamps were written as UTC instants: batch 0 arrives in the first hour of 2024-03-01
    bounds = spark.sql(
        f"SELECT min(ingest_ts) >= TIMESTAMP '2024-03-01 00:00:00', max(ingest_ts) < TIMESTAMP '2024-03-01 01:00:00' "
        f"FROM {table} VERSION AS OF {snapshots[0]}"
    ).first()
    assert tuple(bounds) == (True, True)


def test_a_second_call_continues_the_sequence(spark: SparkSession) -> None:
    table = "raw_db.demo_gen_payments"
    first = write_batches(spark, "payments", 2, ROWS, SEED, table=table)
    (third,) = write_batches(spark, "payments", 1, ROWS, SEED, table=table)

    expected = list(generate_batches("payments", 3, ROWS, SEED))[2]
    added = _message_ids_added_by(spark, table, first[-1], third)
    assert added == sorted(e.message_id for e in expected)
    earlier = {r[0] for r in spark.sql(f"SELECT message_id FROM {table} VERSION AS OF {first[-1]}").collect()}
    assert any(m in earlier for m in added), "batch 2 should re-send message_ids of batches 0-1"
    summary = spark.sql(f"SELECT summary FROM {table}.snapshots WHERE snapshot_id = {third}").first()[0]
    assert summary[SUMMARY_PREFIX + "batch-index"] == "2"
