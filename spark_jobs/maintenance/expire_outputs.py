"""Expire snapshots of the output tables, never the one that holds a layer's checkpoint.

A layer's checkpoint lives in the summary of the snapshot that committed its data
(``spark_jobs.commit.checkpoints``); a compaction commit does not carry it, and the
checkpoint is read as the newest ancestor that does. So on curated and semantic the
expiry bound is lowered to the commit time of that snapshot: it and everything newer
stay. The errors table holds no checkpoint: the requested bound stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pyspark.sql import SparkSession

from spark_jobs.commit.checkpoints import CHECKPOINT_KEYS, Layer, output_tables
from spark_jobs.maintenance.procedures import ExpiryPlan, as_utc, expire_snapshots, requested_utc
from spark_jobs.read.snapshots import SnapshotInfo, current_ancestry, table_exists
from spark_jobs.tables import TopicTables


def plan_output_expiry(
    topic: str, table: str, layer: Layer | None, ancestry: Sequence[SnapshotInfo], requested: datetime
) -> ExpiryPlan:
    """``requested`` (naive = UTC), lowered to the commit time of the newest snapshot holding ``layer``'s checkpoint."""
    requested = requested_utc(requested)
    if layer is None:
        return ExpiryPlan(topic, table, requested, requested, None, "as requested (no checkpoint in this table)")
    key = CHECKPOINT_KEYS[layer]
    holder = next((s for s in ancestry if key in s.summary), None)
    if holder is None:
        return ExpiryPlan(topic, table, requested, requested, None, f"as requested (no {layer} checkpoint yet)")
    bound = min(requested, as_utc(holder.committed_at))
    reason = (
        "as requested"
        if bound == requested
        else f"lowered to the commit time of snapshot {holder.snapshot_id} (holds the {layer} checkpoint)"
    )
    return ExpiryPlan(topic, table, requested, bound, holder.snapshot_id, reason)


def expire_outputs(
    spark: SparkSession, topic: str, older_than: datetime, retain_last: int = 1, dry_run: bool = False
) -> dict[str, dict[str, Any]]:
    """Plan and run ``expire_snapshots`` on each existing output table; per table: plan and counts."""
    results: dict[str, dict[str, Any]] = {}
    for table, layer in output_tables(TopicTables(topic)):
        if not table_exists(spark, table):
            continue
        plan = plan_output_expiry(topic, table, layer, current_ancestry(spark, table), older_than)
        expired = {} if dry_run else expire_snapshots(spark, plan, retain_last)
        results[table.replace("`", "")] = {**asdict(plan), "expired": expired}
    return results
