"""Snapshot metadata of Iceberg tables, read from the table's metadata through the session's catalog.

The table is loaded through the same catalog the job reads and commits through (its
cache and refreshes included), and its metadata comes back in one call as Iceberg's
own JSON: no Spark job. (Querying the ``history`` and ``snapshots`` metadata tables
cost four Spark jobs, 0.2-1 s, per read; a run reads ancestries about ten times.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from pyspark.sql import SparkSession

from spark_jobs.interface import SnapshotInfo

__all__ = [
    "SnapshotInfo",
    "ancestor_snapshots",
    "ancestry_from_metadata",
    "current_ancestry",
    "current_snapshot",
    "oldest_snapshot_at",
    "table_exists",
    "table_metadata",
]


def table_exists(spark: SparkSession, table: str) -> bool:
    return bool(spark.catalog.tableExists(table.replace("`", "")))


def table_metadata(spark: SparkSession, table: str) -> dict[str, Any]:
    """The table's current metadata (Iceberg's table-metadata JSON, as a dict)."""
    jvm = spark._jvm
    assert jvm is not None
    iceberg = jvm.org.apache.iceberg
    loaded = iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, table)
    return dict(json.loads(iceberg.TableMetadataParser.toJson(loaded.operations().current())))


def ancestor_snapshots(metadata: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The current snapshot's metadata entry, then its ancestors' by parent id (newest first).

    Following the parents, not commit times: two commits in one millisecond keep their
    order. The walk stops at a parent that expiry removed.
    """
    by_id = {s["snapshot-id"]: s for s in metadata.get("snapshots") or []}
    snapshot_id = metadata.get("current-snapshot-id")
    while snapshot_id is not None and snapshot_id in by_id:
        yield by_id[snapshot_id]
        snapshot_id = by_id[snapshot_id].get("parent-snapshot-id")


def ancestry_from_metadata(metadata: Mapping[str, Any]) -> list[SnapshotInfo]:
    """The current ancestry (``ancestor_snapshots``), newest first (empty if none). Commit
    times are naive local times, as PySpark returns timestamps; the operation is its own
    field, not in the summary (as in Spark's ``snapshots`` table)."""
    return [
        SnapshotInfo(
            snapshot["snapshot-id"],
            datetime.fromtimestamp(snapshot["timestamp-ms"] / 1000),
            {k: v for k, v in (snapshot.get("summary") or {}).items() if k != "operation"},
            (snapshot.get("summary") or {}).get("operation"),
        )
        for snapshot in ancestor_snapshots(metadata)
    ]


def oldest_snapshot_at(metadata: Mapping[str, Any]) -> datetime | None:
    """Commit time (naive local, as above) of the table's oldest snapshot, any branch; None: no snapshot."""
    times = [s["timestamp-ms"] for s in metadata.get("snapshots") or []]
    return datetime.fromtimestamp(min(times) / 1000) if times else None


def current_ancestry(spark: SparkSession, table: str) -> list[SnapshotInfo]:
    """Snapshots of the table's current ancestry, newest first (empty if none)."""
    return ancestry_from_metadata(table_metadata(spark, table))


def current_snapshot(spark: SparkSession, table: str) -> SnapshotInfo | None:
    ancestry = current_ancestry(spark, table)
    return ancestry[0] if ancestry else None
