"""Snapshot metadata of Iceberg tables, read through Spark's metadata tables."""

from __future__ import annotations

from pyspark.sql import SparkSession

from spark_jobs.interface import SnapshotInfo

__all__ = ["SnapshotInfo", "current_ancestry", "current_snapshot", "table_exists"]


def table_exists(spark: SparkSession, table: str) -> bool:
    return bool(spark.catalog.tableExists(table.replace("`", "")))


def current_ancestry(spark: SparkSession, table: str) -> list[SnapshotInfo]:
    """Snapshots of the table's current ancestry, newest first (empty if none)."""
    rows = spark.sql(
        f"""
        SELECT s.snapshot_id, s.committed_at, s.summary
        FROM {table}.history h JOIN {table}.snapshots s ON h.snapshot_id = s.snapshot_id
        WHERE h.is_current_ancestor
        ORDER BY h.made_current_at DESC, s.committed_at DESC
        """
    ).collect()
    return [SnapshotInfo(r.snapshot_id, r.committed_at, dict(r.summary or {})) for r in rows]


def current_snapshot(spark: SparkSession, table: str) -> SnapshotInfo | None:
    ancestry = current_ancestry(spark, table)
    return ancestry[0] if ancestry else None
