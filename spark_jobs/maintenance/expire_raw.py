"""Expire raw snapshots, never past the slower layer's checkpoint.

    python -m spark_jobs.maintenance.expire_raw --topic orders --older-than 2026-11-20T00:00:00 [--dry-run]

The next run reads raw after the slower layer's checkpoint and looks ``message_id``s up
in raw *as of* that snapshot (dedup look-back), so that snapshot must survive:
Iceberg's ``expire_snapshots`` is called with ``older_than`` lowered to its commit
time (snapshots older than it go, it stays). Nothing is expired while a layer has no
checkpoint (its first run reads raw from the beginning) or when a checkpoint is no
longer in raw's history. Iceberg's own procedure does the expiry; this module only
chooses the bound, which no Iceberg option knows about.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from pyspark.sql import SparkSession

from spark_jobs.commit.checkpoints import read_checkpoints
from spark_jobs.exceptions import RawTableError, UnifiedJobError
from spark_jobs.interface import Checkpoints
from spark_jobs.maintenance.procedures import ExpiryPlan, as_utc, expire_snapshots, requested_utc
from spark_jobs.read.snapshots import SnapshotInfo, current_ancestry, table_exists
from spark_jobs.session import DEFAULT_WAREHOUSE, build_session
from spark_jobs.tables import TopicTables

log = logging.getLogger(__name__)


def plan_raw_expiry(
    topic: str, checkpoints: Checkpoints, ancestry: Sequence[SnapshotInfo], requested: datetime
) -> ExpiryPlan:
    """The expiry bound: ``requested``, lowered to the slower checkpoint's commit time.

    A naive ``requested`` is UTC; commit times come from Spark as the local time of this
    process (PySpark's conversion), so both are compared as UTC instants.
    """
    requested = requested_utc(requested)
    raw = TopicTables(topic).raw
    newest_first = [s.snapshot_id for s in ancestry]
    slower = checkpoints.read_from(newest_first)
    if slower is None:
        missing = [layer for layer in ("curated", "semantic") if getattr(checkpoints, layer) is None]
        reason = f"topic {topic!r}: layer(s) {', '.join(missing)} have no checkpoint yet (they read raw from the start)"
        return ExpiryPlan(topic, raw, requested, None, None, reason)
    committed = {s.snapshot_id: as_utc(s.committed_at) for s in ancestry}
    if slower not in committed:
        reason = f"topic {topic!r}: checkpoint snapshot {slower} is not in raw's history (expired?); run the job first"
        return ExpiryPlan(topic, raw, requested, None, slower, reason)
    bound = min(requested, committed[slower])
    reason = "as requested" if bound == requested else f"lowered to the commit time of checkpoint snapshot {slower}"
    return ExpiryPlan(topic, raw, requested, bound, slower, reason)


def expire_raw(
    spark: SparkSession, topic: str, older_than: datetime, retain_last: int = 1, dry_run: bool = False
) -> dict[str, object]:
    """Plan the bound from the tables' checkpoints, then run Iceberg's ``expire_snapshots``."""
    tables = TopicTables(topic)
    if not table_exists(spark, tables.raw):
        raise RawTableError(f"topic {topic!r}: raw table {tables.raw} does not exist in the catalog")
    ancestry = current_ancestry(spark, tables.raw)
    checkpoints = read_checkpoints(spark, tables, [s.snapshot_id for s in ancestry])
    plan = plan_raw_expiry(topic, checkpoints, ancestry, older_than)
    result: dict[str, object] = {**asdict(plan), "dry_run": dry_run, "expired": {}}
    log.info("topic %s: raw expiry older than %s (%s)", topic, plan.older_than, plan.reason)
    if plan.older_than is None or dry_run:
        return result
    result["expired"] = expire_snapshots(spark, plan, retain_last)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--topic", required=True)
    parser.add_argument(
        "--older-than", required=True, type=datetime.fromisoformat, help="ISO timestamp; without an offset, UTC"
    )
    parser.add_argument("--retain-last", type=int, default=1)
    parser.add_argument("--dry-run", action="store_true", help="print the plan, expire nothing")
    parser.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
    parser.add_argument("--catalog-type", default="hadoop", choices=["hadoop", "glue"])
    args = parser.parse_args(argv)
    try:
        TopicTables(args.topic)  # a bad name fails here, before Spark starts
    except UnifiedJobError as exc:
        log.error("%s", exc)
        return 2
    spark = build_session(args.catalog_type, args.warehouse, app_name=f"expire-raw-{args.topic}")
    try:
        result = expire_raw(spark, args.topic, args.older_than, args.retain_last, args.dry_run)
    except UnifiedJobError as exc:
        log.error("%s", exc)
        return 2
    finally:
        spark.stop()
    print(json.dumps(result, default=str, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
