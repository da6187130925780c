"""The increment is laid out by the outputs' bucket once, in dedup's shuffle by key.

The labels do not change, the key window needs no shuffle beyond the layout's, and an
append of rows so laid out writes one data file per bucket, as a shuffled write
does, without a shuffle of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.commit.upsert import PinnedTable, append_validated, join_stored
from spark_jobs.dedup.deduplicate import DEDUP_STATUS, ROWS_PER_PARTITION, label_duplicates, layout_partitions
from spark_jobs.tables import OUTPUT_BUCKETS, OUTPUT_PARTITIONING, OUTPUT_TABLE_PROPERTIES, output_bucket

pytestmark = pytest.mark.spark
SCHEMA = "message_id string, idempotency_key string, event_ts timestamp, ingest_ts timestamp, payload string"
T0 = datetime(2024, 1, 1)


def _raw(spark: SparkSession, keys: int = 400) -> DataFrame:
    rows = []
    for i in range(keys):
        at = T0 + timedelta(seconds=i)
        rows.append((f"m{i}", f"k{i}", at, at, f'{{"n": {i}}}'))
        if i % 5 == 0:  # a network retry
            rows.append((f"m{i}", f"k{i}", at, at + timedelta(seconds=1), f'{{"n": {i}}}'))
        if i % 7 == 0:  # a correction
            rows.append((f"c{i}", f"k{i}", at + timedelta(hours=1), at + timedelta(hours=1), f'{{"n": {-i}}}'))
    return spark.createDataFrame(rows, SCHEMA).repartition(4)


def _layout() -> F.Column:
    return output_bucket(F.col("idempotency_key"))


def test_layout_changes_no_label(spark: SparkSession) -> None:
    raw = _raw(spark)
    plain = {(r.message_id, r.ingest_ts): r[DEDUP_STATUS] for r in label_duplicates(raw, None).collect()}
    laid = {(r.message_id, r.ingest_ts): r[DEDUP_STATUS] for r in label_duplicates(raw, None, _layout()).collect()}
    assert laid == plain
    assert {"kept", "network_duplicate", "superseded"} <= set(plain.values())


def test_layout_partitions_follow_the_increment() -> None:
    assert layout_partitions(0, 32) == layout_partitions(100, 32) == 1
    assert layout_partitions(ROWS_PER_PARTITION + 1, 32) == 2
    assert layout_partitions(10_000_000, 32) == 32


def test_a_small_increment_is_labelled_into_its_own_few_partitions(spark: SparkSession) -> None:
    """The cached batch keeps the labelled rows' partitions: a 100-row increment must
    not cost 32 tasks per action. Same labels, in one partition (three on request)."""
    raw = _raw(spark)
    plain = {(r.message_id, r.ingest_ts): r[DEDUP_STATUS] for r in label_duplicates(raw, None).collect()}
    for partitions in (layout_partitions(raw.count(), 32), 3):
        labelled = label_duplicates(raw, None, _layout(), partitions=partitions)
        assert labelled.rdd.getNumPartitions() == partitions
        assert {(r.message_id, r.ingest_ts): r[DEDUP_STATUS] for r in labelled.collect()} == plain


def test_key_window_reuses_the_layout_shuffle(spark: SparkSession) -> None:
    """Two shuffles with or without a layout: by message_id, then by key (or by layout)."""
    for layout in (None, _layout()):
        plan = label_duplicates(_raw(spark), None, layout)._jdf.queryExecution().executedPlan().toString()
        assert plan.count("Exchange hashpartitioning") == 2, plan


def _output_table(spark: SparkSession, table: str) -> str:
    spark.sql("CREATE NAMESPACE IF NOT EXISTS layout_db")
    spark.sql(f"DROP TABLE IF EXISTS {table}")
    spark.sql(
        f"CREATE TABLE {table} (`_idempotency_key` STRING, n STRING) USING iceberg {OUTPUT_PARTITIONING} "
        f"TBLPROPERTIES ({OUTPUT_TABLE_PROPERTIES})"
    )
    return table


def _files(spark: SparkSession, table: str) -> int:
    return int(spark.sql(f"SELECT count(*) FROM {table}.files").first()[0])


def test_laid_out_append_writes_one_file_per_bucket_without_a_shuffle(spark: SparkSession) -> None:
    table = _output_table(spark, "layout_db.out")
    labelled = label_duplicates(_raw(spark), None, _layout()).where(F.col(DEDUP_STATUS) == "kept")
    rows = labelled.select(F.col("idempotency_key").alias("_idempotency_key"), F.col("payload").alias("n")).cache()
    stored = spark.createDataFrame([], "`_idempotency_key` string, `_in` boolean")
    joined, laid_out = join_stored(rows, stored, "_idempotency_key", 0)
    assert laid_out
    append_validated(spark, PinnedTable(table, None), joined.drop("_in"), laid_out)
    buckets = rows.select(output_bucket(F.col("_idempotency_key"))).distinct().count()
    assert buckets == OUTPUT_BUCKETS
    assert _files(spark, table) == buckets  # each bucket's rows met in one task: no writer saw a bucket twice
    assert spark.table(table).count() == rows.count() == 400
    # control: the same rows spread at random are written as they are, a file per bucket per task
    control = _output_table(spark, "layout_db.control")
    append_validated(spark, PinnedTable(control, None), rows.repartition(4), laid_out=True)
    assert _files(spark, control) > buckets
