"""Compact the output tables: Iceberg's bin-pack ``rewrite_data_files``.

Outputs are merge-on-read (``spark_jobs.tables``): each run's upserts add small data
files and position-delete files, and every later read of the table (the upserts'
own key lookups and MERGEs) opens all of them. Left alone, the cost of an increment
grows with the number of runs (docs/BENCHMARKS.md, benchmark 6). Iceberg's planner
chooses what to rewrite: files with at least ``delete_file_threshold`` delete files
(or deletes on 30% of their rows), and, per partition, groups of at least five files
smaller than ``small_file_bytes`` (relative to the table's size); nothing qualifies,
nothing is committed. Delete files left without a live data file go right after
(``remove-dangling-deletes``).

A compaction that rewrites anything costs seconds per table whatever it rewrites (a
Spark job and a commit: 1.5-2 s measured 2026-12-06), and with a small increment every
run leaves some bucket with enough small files, so compacting after every run cost a
small run more than its own writes (4-14 s a run at 200k rows of history). A table is
therefore compacted only when it is due: once the commits since its last compaction
added ``delete_file_threshold`` files per bucket on average (read from the snapshots'
summaries: no Spark job): a data file cannot have that many delete files before as
many were added to its bucket.

The compaction commit holds no checkpoint; the checkpoint is read as the newest
ancestor that holds it, and output expiry keeps that snapshot (``expire_outputs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.sql import SparkSession

from spark_jobs.commit.checkpoints import output_tables
from spark_jobs.maintenance.procedures import rewrite_data_files
from spark_jobs.read.snapshots import ancestor_snapshots, table_exists, table_metadata
from spark_jobs.tables import OUTPUT_BUCKETS, TopicTables

SMALL_FILE_BYTES = 8 * 1024 * 1024
"""Files below this are merged, at most. Iceberg's default is 3/4 of the 512 MiB target,
which makes every file of a bucket under 384 MiB "small": each compaction would rewrite
nearly the whole table, a cost that grows with the history. A file that reached 8 MiB
is left alone unless deletes pile up on it."""
MIN_SMALL_FILE_BYTES = 1024 * 1024
SMALL_FRACTION_OF_BUCKET = 8
"""A file is small below 1/8 of the table's average bytes per bucket (1 to 8 MiB)."""


def small_file_bytes(metadata: Mapping[str, Any]) -> int:
    """The size below which a file is merged: ``SMALL_FRACTION_OF_BUCKET`` of the table's
    bytes per bucket, between ``MIN_SMALL_FILE_BYTES`` and ``SMALL_FILE_BYTES``.

    A fixed 8 MiB made a table of up to 16 x 8 MiB all "small": with 1M rows of history
    (6.5 MiB per bucket) every compaction rewrote each bucket's big file to merge a few
    kilobytes of new rows into it, 11-17 s every third or fourth 100-row run (measured
    2026-12-06). Relative to the bucket's size, the big file stays, the small files
    are merged among themselves, and a compaction rewrites at most about an eighth of
    the table plus the files with deletes piled on them.
    """
    current = next(ancestor_snapshots(metadata), None)
    total = int(((current or {}).get("summary") or {}).get("total-files-size", 0))
    return max(MIN_SMALL_FILE_BYTES, min(SMALL_FILE_BYTES, total // OUTPUT_BUCKETS // SMALL_FRACTION_OF_BUCKET))


def compaction_options(delete_file_threshold: int, small_bytes: int = SMALL_FILE_BYTES) -> dict[str, str]:
    if delete_file_threshold < 1:
        raise ValueError(f"delete_file_threshold must be >= 1, got {delete_file_threshold}")
    return {
        "delete-file-threshold": str(delete_file_threshold),
        "min-file-size-bytes": str(small_bytes),
        "remove-dangling-deletes": "true",
        # The rewritten files get the compaction's own sequence number, not the one it
        # started from: the last run's delete files share that starting number, so they
        # would still "apply" to the new files by sequence and not count as dangling
        # (measured: 7 of 21 delete files stayed). The starting number only matters for
        # equality deletes committed during the rewrite; outputs have none.
        "use-starting-sequence-number": "false",
    }


def files_since_compaction(metadata: Mapping[str, Any]) -> int:
    """Data and delete files the current ancestry's commits added since the last compaction
    (a ``replace`` snapshot), all of them if the table was never compacted."""
    added = 0
    for snapshot in ancestor_snapshots(metadata):
        summary = snapshot.get("summary") or {}
        if summary.get("operation") == "replace":
            break
        added += int(summary.get("added-data-files", 0)) + int(summary.get("added-delete-files", 0))
    return added


def due_after_files(delete_file_threshold: int) -> int:
    return delete_file_threshold * OUTPUT_BUCKETS


def compact_outputs(spark: SparkSession, topic: str, delete_file_threshold: int) -> dict[str, dict[str, Any]]:
    """Compact each existing output table that is due; per table: Iceberg's counts, or why it was not due."""
    due_after = due_after_files(delete_file_threshold)
    results: dict[str, dict[str, Any]] = {}
    for table, _ in output_tables(TopicTables(topic)):
        if not table_exists(spark, table):
            continue
        metadata = table_metadata(spark, table)
        added = files_since_compaction(metadata)
        name = table.replace("`", "")
        if added < due_after:
            results[name] = {"not_due": f"{added} files added since the last compaction, due at {due_after}"}
        else:
            small = small_file_bytes(metadata)
            options = compaction_options(delete_file_threshold, small)
            results[name] = {**rewrite_data_files(spark, table, options), "small_file_bytes": small}
    return results
