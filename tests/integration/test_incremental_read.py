"""The incremental read touches only the files of the new snapshots."""

from __future__ import annotations

import pytest

from spark_jobs.read.incremental_read import SnapshotRange, consumed_message_ids, read_increment

from .jobkit import append_raw, at

pytestmark = pytest.mark.spark


def test_increment_reads_only_new_files(spark) -> None:
    topic = "read_only_new"
    first = append_raw(spark, topic, [(f"a{i}", f"k{i}", at(i), at(i), "{}") for i in range(5)])
    files_first = set(spark.table(f"raw_db.{topic}").inputFiles())
    second = append_raw(spark, topic, [(f"b{i}", f"k{i}", at(i), at(86400 * 3 + i), "{}") for i in range(3)])

    increment = read_increment(spark, f"raw_db.{topic}", SnapshotRange(first, second))
    assert sorted(r.message_id for r in increment.collect()) == ["b0", "b1", "b2"]
    assert not set(increment.inputFiles()) & files_first, "the incremental read scanned old files"

    full = read_increment(spark, f"raw_db.{topic}", SnapshotRange(None, first))
    assert sorted(r.message_id for r in full.collect()) == [f"a{i}" for i in range(5)]


def test_consumed_message_ids_sees_the_checkpoint_snapshot_within_the_look_back(spark) -> None:
    """The pairs of earlier runs for the increment's message ids: as of the checkpoint
    snapshot, ingested at most ``lookback_days`` before the increment's earliest row."""
    topic = "consumed_ids"
    table = f"raw_db.{topic}"
    day = 86400
    earliest = at(10 * day)  # the increment's first ingest_ts
    window_start = 10 * day - 7 * day
    checkpoint = append_raw(
        spark,
        topic,
        [
            ("x1", "k1", at(0), at(10 * day - 3600), "{}"),  # consumed an hour before
            ("x1", "k1b", at(0), at(10 * day - 3600), "{}"),  # the same id on another key: its own pair
            ("x2", "k2", at(0), at(window_start), "{}"),  # the window's first instant: in
            ("x3", "k3", at(0), at(window_start - 1), "{}"),  # one second older: out
            ("y1", "k9", at(0), at(10 * day - 3600), "{}"),  # an id the increment does not carry
            (None, "kn", at(0), at(10 * day - 3600), "{}"),
        ],
    )
    end = append_raw(
        spark,
        topic,
        [
            ("x1", "k1", at(0), earliest, "{}"),
            ("x2", "k2", at(0), at(10 * day + 1), "{}"),
            ("x3", "k3", at(0), at(10 * day + 2), "{}"),
            ("x4", "k4", at(0), at(10 * day + 3), "{}"),  # only in the increment: not consumed
            (None, "kn", at(0), at(10 * day + 4), "{}"),
        ],
    )
    # appended after the range: neither in the increment nor in the checkpoint snapshot
    append_raw(spark, topic, [("x4", "k4", at(0), at(10 * day - 60), "{}"), ("x1", "k5", at(0), at(9 * day), "{}")])

    snapshot_range = SnapshotRange(checkpoint, end)
    increment = read_increment(spark, table, snapshot_range)

    def pairs(lookback_days: int) -> set[tuple[str, str]]:
        consumed = consumed_message_ids(spark, table, snapshot_range, earliest, lookback_days, increment)
        assert consumed is not None
        assert consumed.columns == ["message_id", "idempotency_key"]
        rows = consumed.collect()
        assert len(rows) == len(set(rows)), "pairs are distinct"
        return {(r.message_id, r.idempotency_key) for r in rows}

    assert pairs(7) == {("x1", "k1"), ("x1", "k1b"), ("x2", "k2")}
    assert pairs(8) == {("x1", "k1"), ("x1", "k1b"), ("x2", "k2"), ("x3", "k3")}  # a longer look-back
    assert pairs(0) == set()  # nothing ingested at or after the increment's first row before it

    # a full-history read (first run, reprocess) has no earlier runs; neither has an empty increment
    assert consumed_message_ids(spark, table, SnapshotRange(None, end), earliest, 7, increment) is None
    assert consumed_message_ids(spark, table, snapshot_range, None, 7, increment) is None
