"""Upsert whose cost follows the increment, not the table: append new keys, MERGE the rest.

A ``MERGE ... WHEN NOT MATCHED THEN INSERT`` is a right outer join of the target with
the increment; Spark can only broadcast the target in it, so every run scans and
shuffles the whole target (measured in ``bench/merge_scaling.py``: 1.75 s at 1M
rows, 4.74 s at 4M, for the same 20k-row increment). The job therefore splits the
increment by what the table held at a pinned snapshot:

- keys the table did not hold are appended, and the append is validated from the
  pinned snapshot (``isolation-level=serializable``, ``validate-from-snapshot-id``,
  an overwrite that deletes nothing): if any other writer added data since the pin,
  the commit fails instead of writing a second row for a key that writer inserted;
- keys the table held are MERGEd with matched clauses only: an inner join in which
  the (small) increment is broadcast, so the target is only scanned, never shuffled.

Spark drops join hints inside a MERGE, and a filtered, joined source's size estimate
is far above the broadcast threshold (a join's estimate is the product of its
sides), so the planner would shuffle the whole target (a sort-merge join; AQE turns
it into a broadcast join only after the target's shuffle has run). The MERGE source
is therefore materialised first: its cached size is exact, and the session's
broadcast threshold is raised to cover it for the one statement
(``broadcast_merge_source``; the lookups broadcast the increment's keys, ``keys_to_probe``).

The append always commits, even with no rows: it is the validation gate, and it
carries the checkpoint when there is nothing to MERGE. Otherwise the MERGE, the last
commit, carries it. A crash between the two leaves the checkpoint where it was; the
re-run finds the appended keys in the table and MERGEs them (same version: same row).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.commit.merge import PRUNE_MAX_KEYS, merge_with_checkpoint, run_with_commit_properties
from spark_jobs.faults import maybe_fail
from spark_jobs.read.snapshots import current_snapshot

BROADCAST_MAX_ROWS = 200_000
"""Sides of up to this many rows are broadcast (the other side, the table, is then not shuffled)."""
BROADCAST_MAX_BYTES = 256 * 1024 * 1024
"""...and only if their materialised size is at most this (the driver builds the broadcast)."""
_THRESHOLD = "spark.sql.autoBroadcastJoinThreshold"
KEY = "_idempotency_key"


@dataclass(frozen=True)
class PinnedTable:
    """A table as of one snapshot (None: the table had no snapshot yet)."""

    name: str
    snapshot_id: int | None

    def read(self, spark: SparkSession) -> DataFrame:
        reader = spark.read
        if self.snapshot_id is not None:
            reader = reader.option("snapshot-id", str(self.snapshot_id))
        return reader.table(self.name)


def pin(spark: SparkSession, table: str) -> PinnedTable:
    """The table's current snapshot, to read from and to validate the append against.

    Refreshed first: a long-lived session caches table metadata, and a pin older than
    another process's commit would fail the append's validation for nothing.
    """
    spark.catalog.refreshTable(table.replace("`", ""))
    snapshot = current_snapshot(spark, table)
    return PinnedTable(table, snapshot.snapshot_id if snapshot else None)


def keys_to_probe(rows: DataFrame, key: str, row_count: int) -> DataFrame:
    """The increment's ``key`` column, broadcast when small: a lookup then scans the
    table once instead of shuffling it (its size estimate alone rarely allows that)."""
    keys = rows.select(key)
    return F.broadcast(keys) if row_count <= BROADCAST_MAX_ROWS else keys


@dataclass(frozen=True)
class MergeSource:
    """A MERGE's source, materialised when small, and its keys when few (``few_keys``)."""

    rows: DataFrame
    keys: list[str]


@contextmanager
def broadcast_merge_source(
    spark: SparkSession, source: DataFrame, row_count: int, key: str = KEY
) -> Iterator[MergeSource]:
    """``source`` materialised, with the broadcast threshold covering it for the block.

    Above ``BROADCAST_MAX_ROWS`` rows the source is not materialised, above
    ``BROADCAST_MAX_BYTES`` the threshold is not raised: the planner then chooses (a
    shuffle join: slower, but bounded memory). The action that materialises it also
    collects its keys when few: one Spark job, not two (each costs a scheduling round).
    """
    if row_count > BROADCAST_MAX_ROWS:
        yield MergeSource(source, [])
        return
    cached = source.persist(StorageLevel.MEMORY_AND_DISK)
    previous = spark.conf.get(_THRESHOLD)
    try:
        keys = few_keys(cached, row_count, key)  # computes every cached partition, whole rows
        if not keys:
            cached.count()
        # The cache's statistics are now its exact size.
        size = int(cached._jdf.queryExecution().optimizedPlan().stats().sizeInBytes())
        threshold = int(spark._jsparkSession.sessionState().conf().autoBroadcastJoinThreshold())
        # -1: broadcasting switched off on purpose. Headroom: the MERGE adds columns.
        if 0 <= threshold < 2 * size and size <= BROADCAST_MAX_BYTES:
            spark.conf.set(_THRESHOLD, str(2 * size))
        yield MergeSource(cached, keys)
    finally:
        if previous is None:
            spark.conf.unset(_THRESHOLD)
        else:
            spark.conf.set(_THRESHOLD, previous)
        cached.unpersist()


def conform(spark: SparkSession, table: str, rows: DataFrame) -> DataFrame:
    """``rows`` with exactly the table's columns (by name; absent ones null)."""
    present = set(rows.columns)
    return rows.select(
        *[
            (F.col(f"`{f.name}`") if f.name in present else F.lit(None).cast(f.dataType)).alias(f.name)
            for f in spark.table(table).schema.fields
        ]
    )


def join_stored(rows: DataFrame, stored: DataFrame, key: str, stored_count: int) -> tuple[DataFrame, bool]:
    """``rows`` left-joined with a lookup of what the table holds for their keys.

    The lookup is broadcast when small, so the rows keep their partitions, and with them
    the layout they were given upstream (``dedup``: by the outputs' bucket). Returns the
    joined rows and whether they kept it.
    """
    if stored_count <= BROADCAST_MAX_ROWS:
        return rows.join(F.broadcast(stored), key, "left"), True
    return rows.join(stored, key, "left"), False


def append_validated(spark: SparkSession, pinned: PinnedTable, rows: DataFrame, laid_out: bool = False) -> None:
    """Append ``rows``; fails if another writer added data to the table since the pin.

    ``laid_out``: the rows' partitions already group them by the table's buckets, so
    they are written as they are (a writer per bucket a partition holds) instead of
    being shuffled into that grouping first. A write of 1M curated rows took 4.6 s
    instead of 6.3 (measured 2026-12-04).
    """
    writer = conform(spark, pinned.name, rows).writeTo(pinned.name).option("isolation-level", "serializable")
    if laid_out:
        writer = writer.option("distribution-mode", "none").option("fanout-enabled", "true")
    if pinned.snapshot_id is not None:
        writer = writer.option("validate-from-snapshot-id", str(pinned.snapshot_id))
    writer.overwrite(F.lit(False))  # deletes nothing; unlike append() it validates


def upsert_split(
    spark: SparkSession,
    pinned: PinnedTable,
    new_rows: DataFrame,
    existing_rows: DataFrame,
    existing_count: int,
    merge_matched_sql: str,
    properties: Mapping[str, str],
    columns: Sequence[str],
    laid_out: bool = False,
) -> None:
    """Append ``new_rows`` (validated from the pin), then MERGE ``existing_rows``.

    ``merge_matched_sql`` has matched clauses only (see ``merge_sql(insert=False)``);
    ``existing_count`` decides whether a MERGE runs and whether its source is broadcast;
    ``laid_out``: see ``append_validated``.
    """
    if existing_count == 0:
        run_with_commit_properties(spark, properties, lambda: append_validated(spark, pinned, new_rows, laid_out))
        return
    append_validated(spark, pinned, new_rows, laid_out)
    # Another run's commits may land here, after this run's validation gate: the MERGE's
    # condition keeps a newer stored version (merge_sql's callers); tests hold a run here.
    maybe_fail(f"before_merge:{pinned.name}")
    source = existing_rows.select(*[F.col(f"`{c}`") for c in columns])
    with broadcast_merge_source(spark, source, existing_count) as merge_source:
        merge_with_checkpoint(spark, merge_source.rows, merge_matched_sql, properties, merge_source.keys)


def few_keys(source: DataFrame, row_count: int, key: str = KEY) -> list[str]:
    """The source's distinct ``key`` values when it has at most ``PRUNE_MAX_KEYS`` rows (none
    otherwise). Collected without a ``distinct`` (a shuffle: a second Spark job)."""
    if row_count > PRUNE_MAX_KEYS:
        return []
    return sorted({row[0] for row in source.select(key).collect() if row[0] is not None})
