"""The replay's read: from raw, exactly the versions the errors table holds.

Each key of ``<topic>_errors`` keeps the envelope of the version quarantined for it
(``_idempotency_key``, ``_message_id``, ``_event_ts``, ``_ingest_ts``). Raw is append-only,
so that version is found by its envelope in raw's current snapshot, whatever snapshot
added it: the replay works after that snapshot expired (Iceberg's snapshot expiry drops
snapshots and the files only they reference, never a live row). A version whose raw row
is gone (deleted by a retention policy) cannot be re-judged and stays in errors as it
is, counted as ``not_in_raw``. Rows quarantined for their envelope (an ``envelope:``
rule: no ``message_id`` or ``idempotency_key``, an ``event_ts`` in the future) are not
replayed: no contract or suite change can heal them.

The scan is bounded by the quarantined rows' ``ingest_ts`` (raw is partitioned by its
day; rows without one are read too: a version may have none), and matching
``ingest_ts`` too picks the version's first arrival, the row the original run kept (a
network retry of it arrives later).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.commit.upsert import BROADCAST_MAX_ROWS, PinnedTable
from spark_jobs.read.incremental_read import SnapshotRange, read_increment

ENVELOPE = ("_idempotency_key", "_message_id", "_event_ts", "_ingest_ts")


def _present(column: str) -> Column:
    return F.col(column).isNotNull() & (F.trim(F.col(column)) != "")


def _replayable() -> Column:
    envelope_error = F.exists("_errors", lambda e: e["rule"].startswith("envelope:"))
    return _present("_idempotency_key") & _present("_message_id") & ~F.coalesce(envelope_error, F.lit(False))


@dataclass(frozen=True)
class QuarantinedVersions:
    """The raw rows to re-judge, and the errors table's counts."""

    raw: DataFrame
    """Raw rows (raw's columns) of the replayable quarantined versions."""
    quarantined: int
    """Rows in the errors table at its pinned snapshot."""
    replayable: int
    """Of those, rows with both keys (the others were quarantined for their envelope)."""


def read_quarantined(
    spark: SparkSession, raw_table: str, raw_snapshot_id: int, errors: PinnedTable
) -> QuarantinedVersions:
    """The raw rows of the versions ``errors`` holds, at raw snapshot ``raw_snapshot_id``."""
    envelopes = errors.read(spark).select(*ENVELOPE, _replayable().alias("_replayable"))
    versions = envelopes.where("_replayable").select(*ENVELOPE)
    counts = envelopes.agg(
        F.count(F.lit(1)).alias("quarantined"),
        F.count(F.when(F.col("_replayable"), 1)).alias("replayable"),
        F.min("_ingest_ts").alias("earliest"),
        F.max("_ingest_ts").alias("latest"),
    ).first()
    raw = read_increment(spark, raw_table, SnapshotRange(None, raw_snapshot_id))
    if counts is not None and counts["earliest"] is not None:
        # A version without ingest_ts is in no range but still in raw (matched null-safe below).
        in_range = F.col("ingest_ts").between(counts["earliest"], counts["latest"])
        raw = raw.where(in_range | F.col("ingest_ts").isNull())
    v = versions.alias("v")
    replayable = int(counts["replayable"]) if counts else 0
    matched = raw.alias("r").join(
        F.broadcast(v) if replayable <= BROADCAST_MAX_ROWS else v,
        (F.col("r.idempotency_key") == F.col("v._idempotency_key"))
        & (F.col("r.message_id") == F.col("v._message_id"))
        & F.col("r.event_ts").eqNullSafe(F.col("v._event_ts"))
        & F.col("r.ingest_ts").eqNullSafe(F.col("v._ingest_ts")),
        "left_semi",
    )
    return QuarantinedVersions(
        raw=matched, quarantined=int(counts["quarantined"]) if counts else 0, replayable=replayable
    )


def replayed_versions(raw_rows: DataFrame) -> DataFrame:
    """The (key, message id) of each version found in raw and re-judged."""
    return raw_rows.select(
        F.col("idempotency_key").alias("_idempotency_key"), F.col("message_id").alias("_message_id")
    ).distinct()


def count_where_they_landed(spark: SparkSession, versions: DataFrame, semantic: str, errors: str) -> tuple[int, int]:
    """(healed, still failing): the replayed versions now held by semantic, and by errors.

    A key whose version in the tables is not the replayed one (a newer version was
    written meanwhile) counts in neither.
    """

    def held(table: str) -> int:
        spark.catalog.refreshTable(table.replace("`", ""))
        stored = spark.table(table).select("_idempotency_key", "_message_id")
        return stored.join(versions, ["_idempotency_key", "_message_id"], "left_semi").count()

    return held(semantic), held(errors)
