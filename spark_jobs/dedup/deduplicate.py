"""Label every raw row of the increment with what dedup does to it.

Rules, in order (the first that applies wins):

``missing_key``
    ``message_id`` or ``idempotency_key`` is null or blank: the row cannot be
    deduplicated. It is quarantined (errors table), never dropped.
``already_consumed``
    its ``message_id`` was consumed *for the same idempotency_key* by an earlier run
    (first arrival wins across runs).
``network_duplicate``
    a later arrival of a ``(message_id, idempotency_key)`` seen in this increment: first
    arrival wins (order: ingest_ts, event_ts, payload). A retry repeats the whole
    message, key included: the same ``message_id`` on another key is not a retry but a
    producer bug (an id generator reset, a copied envelope), and both events are kept as
    their keys' own versions; such rows are flagged ``_reused_message_id`` and counted.
``event_ts_in_future``
    its ``event_ts`` is later than its ``ingest_ts`` by more than the contract's
    ``dedup.max_event_ts_ahead_minutes`` (a producer clock or parsing bug): it cannot
    take its key (corrections are ordered by event_ts, so it would win forever). It is
    quarantined, never written to curated, and leaves the key's versions as they are.
``superseded``
    an older version of an ``idempotency_key``: latest version wins (order: event_ts,
    ingest_ts, message_id, all descending; a null event_ts is the oldest). Older
    versions arriving in later runs are handled by the sequence-aware MERGE
    (``commit/merge.py``).
``kept``
    the row to write.

Everything here is DataFrame -> DataFrame; counting happens on the labelled frame.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

DEDUP_STATUS = "_dedup_status"
KEPT = "kept"
FUTURE = "event_ts_in_future"
STATUSES = ("missing_key", "already_consumed", "network_duplicate", FUTURE, "superseded", KEPT)
REUSED = "_reused_message_id"
"""True on a row whose message_id is also used for another idempotency_key (this increment or earlier)."""


def _blank(column: str) -> Column:
    return F.col(column).isNull() | (F.trim(F.col(column)) == "")


def ahead_sql(event_ts: str, ingest_ts: str, max_ahead_minutes: int) -> str:
    """SQL: ``event_ts`` later than ``ingest_ts`` by more than the tolerance (null when
    either is null). The one statement of the rule: dedup applies it to raw rows, the
    upserts to stored versions (``commit.merge.ordering_event_ts``)."""
    return f"{event_ts} > {ingest_ts} + INTERVAL {int(max_ahead_minutes)} MINUTES"


def event_ts_in_future(max_ahead_minutes: int) -> Column:
    """A raw row's ``event_ts`` is past the tolerance (null timestamps: not judged)."""
    return F.coalesce(F.expr(ahead_sql("event_ts", "ingest_ts", max_ahead_minutes)), F.lit(False))


LAYOUT = "_layout"
ROWS_PER_PARTITION = 25_000
"""Rows per partition of the labelled increment (at most ``spark.sql.shuffle.partitions``)."""


def layout_partitions(rows: int, most: int) -> int:
    """Partitions for an increment of ``rows``: one per ``ROWS_PER_PARTITION``, 1 to ``most``.

    The labelled rows are cached and every later step's actions read all their
    partitions: 32 partitions of a 100-row increment cost 32 tasks per action, some
    hundred actions a run (measured 2026-12-06: a second or more per step). Adaptive
    execution cannot coalesce them: the partitioning of a cached plan is kept.
    """
    return max(1, min(most, -(-rows // ROWS_PER_PARTITION)))


def label_duplicates(
    raw: DataFrame,
    consumed: DataFrame | None,
    layout: Column | None = None,
    max_event_ts_ahead_minutes: int = 5,
    partitions: int | None = None,
) -> DataFrame:
    """Add ``_dedup_status`` (one of STATUSES) and ``_reused_message_id`` to every raw row.

    ``consumed``: (message_id, idempotency_key) pairs consumed by earlier runs
    (``read.incremental_read.consumed_message_ids``), or None.

    ``layout``, a function of ``idempotency_key``, decides how the labelled rows are
    spread over partitions: the window over each key shuffles them anyway, so it can
    shuffle them by ``layout`` (a key's rows still meet in one partition) and leave them
    grouped as the writes downstream want them, sparing each write a shuffle of its own,
    into ``partitions`` partitions (None: the session's shuffle partitions).
    """
    df = raw
    if consumed is not None:
        keys_by_id = consumed.groupBy("message_id").agg(F.collect_set("idempotency_key").alias("_consumed_keys"))
        df = df.join(keys_by_id, on="message_id", how="left")
    else:
        df = df.withColumn("_consumed_keys", F.lit(None).cast("array<string>"))
    missing_key = _blank("message_id") | _blank("idempotency_key")
    consumed_here = F.coalesce(F.array_contains("_consumed_keys", F.col("idempotency_key")), F.lit(False))

    # One shuffle by message_id serves both windows (a (message_id, key) window is
    # satisfied by a partitioning on message_id).
    by_id = Window.partitionBy("message_id")
    other_key_here = F.min("idempotency_key").over(by_id) != F.max("idempotency_key").over(by_id)
    other_key_before = F.coalesce(F.size("_consumed_keys"), F.lit(0)) > F.when(consumed_here, 1).otherwise(0)
    df = df.withColumn(REUSED, ~missing_key & (other_key_here | other_key_before))
    first_arrival = Window.partitionBy("message_id", "idempotency_key").orderBy(
        F.col("ingest_ts").asc_nulls_last(),
        F.col("event_ts").asc_nulls_last(),
        F.col("payload").asc_nulls_last(),
    )
    df = df.withColumn("_arrival_rank", F.row_number().over(first_arrival))
    future = event_ts_in_future(max_event_ts_ahead_minutes)
    eligible = ~missing_key & ~consumed_here & (F.col("_arrival_rank") == 1) & ~future
    by_key: list[str] = ["idempotency_key"]
    if layout is not None:
        df = df.withColumn(LAYOUT, layout)
        df = df.repartition(partitions, LAYOUT) if partitions else df.repartition(LAYOUT)
        by_key = [LAYOUT, "idempotency_key"]  # satisfied by the layout's partitioning: no second shuffle
    latest_version = Window.partitionBy(*by_key).orderBy(
        eligible.desc(),  # eligible rows first, so rank 1 is the latest eligible version
        F.col("event_ts").desc_nulls_last(),
        F.col("ingest_ts").desc_nulls_last(),
        F.col("message_id").desc_nulls_last(),
    )
    df = df.withColumn("_version_rank", F.row_number().over(latest_version))
    status = (
        F.when(missing_key, "missing_key")
        .when(consumed_here, "already_consumed")
        .when(F.col("_arrival_rank") > 1, "network_duplicate")
        .when(future, FUTURE)
        .when(F.col("_version_rank") > 1, "superseded")
        .otherwise(KEPT)
    )
    return df.withColumn(DEDUP_STATUS, status).drop("_consumed_keys", "_arrival_rank", "_version_rank", LAYOUT)


def count_by_status(labelled: DataFrame) -> dict[str, int]:
    """Rows per dedup status (every status present, zeros included), and ``reused_message_ids``."""
    counts = {status: 0 for status in STATUSES}
    reused = 0
    grouped = labelled.groupBy(DEDUP_STATUS).agg(
        F.count(F.lit(1)).alias("rows"), F.count(F.when(F.col(REUSED), 1)).alias("reused")
    )
    for row in grouped.collect():
        counts[row[DEDUP_STATUS]] = int(row["rows"])
        reused += int(row["reused"])
    return {**counts, "reused_message_ids": reused}


QUARANTINED = ("missing_key", FUTURE)
"""Statuses whose rows go to the errors table for their envelope, under a key of their own."""
PROCESSED = (KEPT, *QUARANTINED)
"""Statuses of the rows that go on: kept rows, and rows to be quarantined for their envelope."""


def rows_to_process(labelled: DataFrame) -> DataFrame:
    """The rows that go on: kept rows, and rows to be quarantined for their envelope."""
    return labelled.where(F.col(DEDUP_STATUS).isin(*PROCESSED))
