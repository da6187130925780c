"""Checkpoints, stored in the snapshot summary of the commit that holds their data.

Like Flink's Iceberg sink, a checkpoint (the last raw snapshot id consumed) is a
property of the very snapshot that holds the data: the data and its checkpoint can
never disagree. Two modes (docs/RELIABILITY.md):

- tiered (and any one-layer run): each layer's last commit carries its own key, on its
  own table; the layers move independently;
- unified: one key, ``UNIFIED_CHECKPOINT_KEY``, carried by the run's last commit
  (curated's, after semantic's data is written): the one value moves once, or not at all.

The keys and the rule that reads them are the job's interface with Airflow
(``spark_jobs.interface``); this module reads the snapshot metadata through Spark.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import SparkSession

from spark_jobs.interface import OUTPUT_ROLES, Checkpoints, Layer, SnapshotInfo, TableRole, resolve_checkpoints
from spark_jobs.read.snapshots import current_ancestry, current_snapshot, table_exists
from spark_jobs.tables import TopicTables


def read_checkpoints(spark: SparkSession, tables: TopicTables, raw_ids_newest_first: Sequence[int]) -> Checkpoints:
    """Both layers' checkpoints as the output tables hold them now."""

    def ancestry(table: str) -> list[SnapshotInfo]:
        return current_ancestry(spark, table) if table_exists(spark, table) else []

    return resolve_checkpoints(ancestry(tables.curated), ancestry(tables.semantic), raw_ids_newest_first)


def output_tables(tables: TopicTables) -> list[tuple[str, Layer | None]]:
    """Each output table with the layer whose checkpoint it holds (errors: none)."""
    return [(tables.curated, "curated"), (tables.semantic, "semantic"), (tables.errors, None)]


def output_snapshots(spark: SparkSession, tables: TopicTables) -> dict[TableRole, int | None]:
    """Each output table's current snapshot id (None: no table, or no snapshot yet): what a
    run announces to consumers (a consumer reads the table as of it). Metadata only."""
    snapshots: dict[TableRole, int | None] = {}
    for role in OUTPUT_ROLES:
        table = tables.name(role)
        snapshot = current_snapshot(spark, table) if table_exists(spark, table) else None
        snapshots[role] = snapshot.snapshot_id if snapshot is not None else None
    return snapshots
