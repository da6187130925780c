"""Expire snapshots of the output tables, never the one that holds a layer's checkpoint.

A layer's checkpoint lives in the summary of the snapshot that committed its data
(``spark_jobs.commit.checkpoints``); a compaction commit does not carry it, and the
checkpoint is read as the newest ancestor that does. So on curated and semantic the
expiry bound is lowered to the commit time of that snapshot: it and everything newer
stay. The errors table holds no checkpoint: the requested bound stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pyspark.sql import SparkSession

from spark_jobs.commit.checkpoints import output_tables, read_checkpoints
from spark_jobs.interface import Layer, holds_checkpoint_keys
from spark_jobs.maintenance.procedures import ExpiryPlan, as_utc, expire_snapshots, requested_utc
from spark_jobs.read.snapshots import (
    SnapshotInfo,
    ancestry_from_metadata,
    current_ancestry,
    oldest_snapshot_at,
    table_exists,
    table_metadata,
)
from spark_jobs.tables import TopicTables


def plan_output_expiry(
    topic: str,
    table: str,
    layer: Layer | None,
    ancestry: Sequence[SnapshotInfo],
    requested: datetime,
    checkpoint: int | None = None,
) -> ExpiryPlan:
    """``requested`` (naive = UTC), lowered to the commit time of the newest snapshot holding ``layer``'s checkpoint.

    ``checkpoint``: the layer's resolved checkpoint (``checkpoints.read_checkpoints``),
    when known. A holder whose value is not it no longer matters: in unified mode the
    semantic layer's checkpoint is held by curated's table, and semantic's old tiered
    holder must not stop its table's expiry for good.
    """
    requested = requested_utc(requested)
    if layer is None:
        return ExpiryPlan(topic, table, requested, requested, None, "as requested (no checkpoint in this table)")
    keys = holds_checkpoint_keys(layer)
    holder = next((s for s in ancestry if any(k in s.summary for k in keys)), None)
    held = [int(holder.summary[k]) for k in keys if k in holder.summary] if holder is not None else []
    if checkpoint is not None and checkpoint not in held:
        holder = None
    if holder is None:
        return ExpiryPlan(topic, table, requested, requested, None, f"as requested (no {layer} checkpoint yet)")
    bound = min(requested, as_utc(holder.committed_at))
    reason = (
        "as requested"
        if bound == requested
        else f"lowered to the commit time of snapshot {holder.snapshot_id} (holds the {layer} checkpoint)"
    )
    return ExpiryPlan(topic, table, requested, bound, holder.snapshot_id, reason)


def has_snapshots_before(metadata: Mapping[str, Any], plan: ExpiryPlan) -> bool:
    """Whether the table has a snapshot the plan's bound would expire (any branch)."""
    oldest = oldest_snapshot_at(metadata)
    return plan.older_than is not None and oldest is not None and as_utc(oldest) < plan.older_than


def expire_outputs(
    spark: SparkSession, topic: str, older_than: datetime, retain_last: int = 1, dry_run: bool = False
) -> dict[str, dict[str, Any]]:
    """Plan and run ``expire_snapshots`` on each existing output table; per table: plan and counts."""
    results: dict[str, dict[str, Any]] = {}
    tables = TopicTables(topic)
    raw_ids = [s.snapshot_id for s in current_ancestry(spark, tables.raw)] if table_exists(spark, tables.raw) else []
    checkpoints = read_checkpoints(spark, tables, raw_ids)
    for table, layer in output_tables(tables):
        if not table_exists(spark, table):
            continue
        checkpoint = None if layer is None else getattr(checkpoints, layer)
        metadata = table_metadata(spark, table)
        plan = plan_output_expiry(topic, table, layer, ancestry_from_metadata(metadata), older_than, checkpoint)
        # Nothing older than the bound: the procedure would expire nothing and still
        # cost seconds (3-4 s a run for the three tables, measured 2026-12-06).
        if dry_run or not has_snapshots_before(metadata, plan):
            expired: dict[str, int] = {}
        else:
            expired = expire_snapshots(spark, plan, retain_last)
        results[table.replace("`", "")] = {**asdict(plan), "expired": expired}
    return results
