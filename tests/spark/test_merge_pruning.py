"""A MERGE of a few keys reads only their buckets of the table.

The join on the source gives the MERGE's scan of its target no filter of its own: it
read every data file of the table whatever the increment (a 100-row run on 1M rows of
history spent most of its MERGE time there, docs/BENCHMARKS.md, benchmark 11). The
source's keys, when few, are listed in the ON clause; Spark pushes that condition on the
target alone into the scan, and Iceberg keeps the files of those keys' buckets.
"""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from spark_jobs.commit.merge import (
    PRUNE_MAX_KEYS,
    SOURCE,
    TARGET_KEYS,
    merge_sql,
    merge_with_checkpoint,
    target_keys_sql,
)
from spark_jobs.commit.upsert import few_keys
from spark_jobs.tables import OUTPUT_PARTITIONING, OUTPUT_TABLE_PROPERTIES

pytestmark = pytest.mark.spark

TABLE = "prune_db.target"


def _target(spark: SparkSession) -> None:
    spark.sql("CREATE NAMESPACE IF NOT EXISTS prune_db")
    spark.sql(f"DROP TABLE IF EXISTS {TABLE}")
    spark.sql(
        f"CREATE TABLE {TABLE} (`_idempotency_key` STRING, v STRING) USING iceberg {OUTPUT_PARTITIONING} "
        f"TBLPROPERTIES ({OUTPUT_TABLE_PROPERTIES})"
    )
    spark.range(2000).selectExpr("concat('k', id) AS `_idempotency_key`", "'old' AS v").writeTo(TABLE).append()


def test_a_merge_of_few_keys_reads_only_their_buckets(spark: SparkSession) -> None:
    _target(spark)
    rows = [("k1", "new"), ("k7", "new"), ("k1999", "new")]
    source = spark.createDataFrame(rows, "`_idempotency_key` string, v string")
    keys = few_keys(source, source.count())
    assert sorted(keys) == ["k1", "k1999", "k7"]
    sql = merge_sql(TABLE, ["_idempotency_key", "v"], when_matched="true", insert=False)

    view = "prune_source"
    source.createOrReplaceTempView(view)
    pruned = spark.sql("EXPLAIN " + sql.replace(SOURCE, view).replace(TARGET_KEYS, target_keys_sql(keys))).first()[0]
    plain = spark.sql("EXPLAIN " + sql.replace(SOURCE, view).replace(TARGET_KEYS, "")).first()[0]
    scan = [line for line in pruned.splitlines() if "BatchScan" in line and TABLE.split(".")[1] in line]
    assert scan and "_idempotency_key IN ('k1', 'k1999', 'k7')" in scan[0], pruned
    assert "filters=," in next(line for line in plain.splitlines() if "BatchScan" in line), plain

    merge_with_checkpoint(spark, source, sql, {}, keys)  # the job's path: only the listed keys' buckets read
    stored = {r["_idempotency_key"]: r["v"] for r in spark.table(TABLE).collect()}
    assert len(stored) == 2000 and sorted(k for k, v in stored.items() if v == "new") == sorted(keys)


def test_many_keys_are_not_listed(spark: SparkSession) -> None:
    source = spark.range(PRUNE_MAX_KEYS + 1).selectExpr("concat('k', id) AS `_idempotency_key`")
    assert few_keys(source, PRUNE_MAX_KEYS + 1) == []
