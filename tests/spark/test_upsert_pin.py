"""The pin an upsert validates against is the table's newest snapshot, even when this
session has the table's metadata cached and another session (another run) committed."""

from __future__ import annotations

import pytest

from spark_jobs.commit.upsert import pin
from spark_jobs.read.snapshots import current_snapshot

pytestmark = pytest.mark.spark


def test_pin_sees_a_commit_made_by_another_session(spark) -> None:
    table = "pin_db.cached_elsewhere"
    spark.sql("CREATE NAMESPACE IF NOT EXISTS pin_db")
    spark.sql(f"DROP TABLE IF EXISTS {table}")
    spark.sql(f"CREATE TABLE {table} (k STRING) USING iceberg")
    spark.range(3).selectExpr("CAST(id AS STRING) AS k").writeTo(table).append()
    assert spark.table(table).count() == 3  # this session now caches the table

    other = spark.newSession()  # its own catalog instance, like another job's process
    other.range(3, 5).selectExpr("CAST(id AS STRING) AS k").writeTo(table).append()
    newest = current_snapshot(other, table)
    assert newest is not None

    pinned = pin(spark, table)
    assert pinned.snapshot_id == newest.snapshot_id
    assert pinned.read(spark).count() == 5
