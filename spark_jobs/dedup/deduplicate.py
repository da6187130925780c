"""Label every raw row of the increment with what dedup does to it.

Rules, in order (the first that applies wins):

``missing_key``
    ``message_id`` or ``idempotency_key`` is null or blank: the row cannot be
    deduplicated. It is quarantined (errors table), never dropped.
``already_consumed``
    its ``message_id`` was consumed by an earlier run (FIFO across runs).
``network_duplicate``
    a later arrival of a ``message_id`` seen in this increment: first arrival wins
    (order: ingest_ts, event_ts, payload).
``superseded``
    an older version of an ``idempotency_key``: latest version wins (order: event_ts,
    ingest_ts, message_id, all descending). Older versions arriving in later runs are
    handled by the sequence-aware MERGE (``commit/merge.py``).
``kept``
    the row to write.

Everything here is DataFrame -> DataFrame; counting happens on the labelled frame.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

DEDUP_STATUS = "_dedup_status"
KEPT = "kept"
STATUSES = ("missing_key", "already_consumed", "network_duplicate", "superseded", KEPT)


def _blank(column: str) -> Column:
    return F.col(column).isNull() | (F.trim(F.col(column)) == "")


LAYOUT = "_layout"


def label_duplicates(raw: DataFrame, consumed_ids: DataFrame | None, layout: Column | None = None) -> DataFrame:
    """Add ``_dedup_status`` (one of STATUSES) to every raw row.

    ``layout``, a function of ``idempotency_key``, decides how the labelled rows are
    spread over partitions: the window over each key shuffles them anyway, so it can
    shuffle them by ``layout`` (a key's rows still meet in one partition) and leave them
    grouped as the writes downstream want them, sparing each write a shuffle of its own.
    """
    df = raw
    if consumed_ids is not None:
        marked = consumed_ids.select(F.col("message_id"), F.lit(True).alias("_consumed"))
        df = df.join(marked, on="message_id", how="left")
    else:
        df = df.withColumn("_consumed", F.lit(None).cast("boolean"))

    missing_key = _blank("message_id") | _blank("idempotency_key")
    first_arrival = Window.partitionBy("message_id").orderBy(
        F.col("ingest_ts").asc_nulls_last(),
        F.col("event_ts").asc_nulls_last(),
        F.col("payload").asc_nulls_last(),
    )
    df = df.withColumn("_arrival_rank", F.row_number().over(first_arrival))
    eligible = ~missing_key & F.col("_consumed").isNull() & (F.col("_arrival_rank") == 1)
    by_key: list[str] = ["idempotency_key"]
    if layout is not None:
        df = df.withColumn(LAYOUT, layout).repartition(LAYOUT)
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
        .when(F.col("_consumed").isNotNull(), "already_consumed")
        .when(F.col("_arrival_rank") > 1, "network_duplicate")
        .when(F.col("_version_rank") > 1, "superseded")
        .otherwise(KEPT)
    )
    return df.withColumn(DEDUP_STATUS, status).drop("_consumed", "_arrival_rank", "_version_rank", LAYOUT)


def count_by_status(labelled: DataFrame) -> dict[str, int]:
    """Rows per dedup status (every status present, zeros included)."""
    counts = {status: 0 for status in STATUSES}
    for row in labelled.groupBy(DEDUP_STATUS).count().collect():
        counts[row[DEDUP_STATUS]] = int(row["count"])
    return counts


PROCESSED = (KEPT, "missing_key")
"""Statuses of the rows that go on: kept rows, and keyless rows (to be quarantined)."""


def rows_to_process(labelled: DataFrame) -> DataFrame:
    """The rows that go on: kept rows, and keyless rows (to be quarantined)."""
    return labelled.where(F.col(DEDUP_STATUS).isin(*PROCESSED))
