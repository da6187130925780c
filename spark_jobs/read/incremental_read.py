"""Read raw rows of the snapshot range ``(from_exclusive, to_inclusive]``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.exceptions import RawTableError, SnapshotRangeError
from spark_jobs.read.snapshots import SnapshotInfo
from spark_jobs.tables import RAW_COLUMNS


@dataclass(frozen=True)
class SnapshotRange:
    """The raw snapshots a run consumes: after ``from_exclusive``, up to ``to_inclusive``."""

    from_exclusive: int | None
    to_inclusive: int

    @property
    def is_full_history(self) -> bool:
        return self.from_exclusive is None


def plan_range(
    topic: str,
    ancestry: list[SnapshotInfo],
    from_exclusive: int | None,
    to_inclusive: int | None,
) -> SnapshotRange | None:
    """Check the requested range against the raw table's ancestry.

    Returns None when there is nothing new. Raises SnapshotRangeError, naming the
    topic and the snapshot, when a bound is not in the current ancestry (expired or
    rolled back): silently re-reading all history or skipping data are both wrong.
    """
    if not ancestry:
        return None
    ids = [s.snapshot_id for s in ancestry]  # newest first
    to_id = ids[0] if to_inclusive is None else to_inclusive
    if to_id not in ids:
        raise SnapshotRangeError(
            f"topic {topic!r}: raw snapshot {to_id} (upper bound) is not in the raw "
            f"table's history; pick one of the current snapshots (newest {ids[0]})"
        )
    if from_exclusive is None:
        return SnapshotRange(None, to_id)
    if from_exclusive == to_id:
        return None
    if from_exclusive not in ids:
        raise SnapshotRangeError(
            f"topic {topic!r}: checkpoint raw snapshot {from_exclusive} is no longer in the "
            "raw table's history (expired or rolled back), so the rows after it cannot be "
            "identified. Options: re-run with --from-snapshot-exclusive <id> to resume after "
            "a snapshot that still exists (oldest kept: "
            f"{ids[-1]}), accepting that rows between are not re-read; or reprocess all "
            "history with --from-snapshot-exclusive none"
        )
    if ids.index(from_exclusive) < ids.index(to_id):
        raise SnapshotRangeError(
            f"topic {topic!r}: checkpoint snapshot {from_exclusive} is newer than the upper bound {to_id}"
        )
    return SnapshotRange(from_exclusive, to_id)


def read_increment(spark: SparkSession, table: str, snapshot_range: SnapshotRange) -> DataFrame:
    """The raw rows appended in the range; a full read only on a first run."""
    if snapshot_range.is_full_history:
        df = spark.read.option("snapshot-id", snapshot_range.to_inclusive).table(table)
    else:
        df = (
            spark.read.format("iceberg")
            .option("start-snapshot-id", snapshot_range.from_exclusive)
            .option("end-snapshot-id", snapshot_range.to_inclusive)
            .load(table.replace("`", ""))
        )
    missing = [c for c in RAW_COLUMNS if c not in df.columns]
    if missing:
        raise RawTableError(f"raw table {table} lacks the raw contract's columns {missing}")
    return df.select(
        F.col("message_id").cast("string"),
        F.col("idempotency_key").cast("string"),
        F.col("event_ts").cast("timestamp"),
        F.col("ingest_ts").cast("timestamp"),
        F.col("payload").cast("string"),
    )


def cap_rows(ancestry: list[SnapshotInfo], snapshot_range: SnapshotRange, max_rows: int | None) -> SnapshotRange:
    """The oldest snapshots of ``snapshot_range`` that add at most ``max_rows`` rows.

    A run's memory grows with its increment (dedup windows, cached rows); a large
    backlog (first run, a long outage) is therefore taken in slices, one per run,
    oldest first, like a stream's ``maxRowsPerTrigger``. Always at least one snapshot.
    The rows of a snapshot are what the incremental read returns from it
    (``SnapshotInfo.rows_appended``: a compaction or a delete adds none); a snapshot
    without a count (another writer) ends the slice, so a cap is never exceeded unknowingly.
    """
    if max_rows is None:
        return snapshot_range
    ids = [s.snapshot_id for s in ancestry]  # newest first
    newest = ids.index(snapshot_range.to_inclusive)
    oldest = len(ids) - 1 if snapshot_range.from_exclusive is None else ids.index(snapshot_range.from_exclusive) - 1
    rows = 0
    end = oldest
    for index in range(oldest, newest - 1, -1):  # oldest to newest
        added = ancestry[index].rows_appended()
        rows += added if added is not None else max_rows + 1
        if rows > max_rows and index != oldest:
            break
        end = index
        if rows >= max_rows:
            break
    return SnapshotRange(snapshot_range.from_exclusive, ids[end])


def backlog_rows(ancestry: list[SnapshotInfo], to_inclusive: int) -> int:
    """Rows the incremental read will return after ``to_inclusive`` (``SnapshotInfo.rows_appended``)."""
    ids = [s.snapshot_id for s in ancestry]
    return sum(s.rows_appended() or 0 for s in ancestry[: ids.index(to_inclusive)])


def consumed_message_ids(
    spark: SparkSession,
    table: str,
    snapshot_range: SnapshotRange,
    earliest_ingest_ts: datetime | None,
    lookback_days: int,
    increment: DataFrame,
) -> DataFrame | None:
    """(message_id, idempotency_key) pairs of earlier runs for ``increment``'s message_ids
    (look-back window): a pair found is a retry already consumed; an id found with
    another key only is a reused id (``dedup/deduplicate.py``).

    "Consumed" means present in raw as of the checkpoint snapshot. The window bounds
    the cost: only rows ingested at most ``lookback_days`` before the increment's
    earliest row are scanned (the raw table is partitioned by day of ``ingest_ts``),
    so a retry that arrives later than that is not recognised (documented policy).
    Only the ids of the increment are kept (a semi join, which adaptive execution
    broadcasts for a small increment), so the window's ids are neither shuffled nor
    de-duplicated as a whole.
    """
    if snapshot_range.from_exclusive is None or earliest_ingest_ts is None:
        return None
    window_start = earliest_ingest_ts - timedelta(days=lookback_days)
    ids = increment.select(F.col("message_id").cast("string").alias("message_id")).where(
        F.col("message_id").isNotNull()
    )
    return (
        spark.read.option("snapshot-id", snapshot_range.from_exclusive)
        .table(table)
        .where(F.col("ingest_ts") >= F.lit(window_start))
        .where(F.col("message_id").isNotNull())
        .select(F.col("message_id").cast("string"), F.col("idempotency_key").cast("string"))
        .join(ids.distinct(), "message_id", "left_semi")
        .distinct()
    )
