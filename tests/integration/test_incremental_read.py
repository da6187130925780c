"""The incremental read touches only the files of the new snapshots."""

from __future__ import annotations

import pytest

from spark_jobs.read.incremental_read import SnapshotRange, read_increment

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
