"""An upsert scans its table but never shuffles it: the increment side is broadcast.

Spark drops join hints inside MERGE and over-estimates a joined source, so without
``broadcast_merge_source`` the MERGE is a sort-merge join that shuffles the whole
table (measured: the cost of an increment then grew with the table's size). The
threshold is set tiny here so that only the measured source size can allow a broadcast.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import DataFrame, SparkSession

from spark_jobs.commit.upsert import broadcast_merge_source, keys_to_probe
from spark_jobs.tables import OUTPUT_TABLE_PROPERTIES

pytestmark = pytest.mark.spark

TABLE = "bcast_db.target"
THRESHOLD = "spark.sql.autoBroadcastJoinThreshold"
MERGE = f"MERGE INTO {TABLE} t USING {{view}} s ON t.k = s.k WHEN MATCHED THEN UPDATE SET t.v = s.v"


@pytest.fixture
def target(spark: SparkSession) -> Iterator[str]:
    spark.sql("CREATE NAMESPACE IF NOT EXISTS bcast_db")
    spark.sql(f"DROP TABLE IF EXISTS {TABLE}")
    spark.sql(
        f"CREATE TABLE {TABLE} (k STRING, v STRING) USING iceberg PARTITIONED BY (bucket(4, k)) "
        f"TBLPROPERTIES ({OUTPUT_TABLE_PROPERTIES})"
    )
    spark.range(5000).selectExpr("CAST(id AS STRING) AS k", "repeat('v', 40) AS v").writeTo(TABLE).append()
    previous = spark.conf.get(THRESHOLD)
    spark.conf.set(THRESHOLD, "512")  # below the table and the source alike
    try:
        yield TABLE
    finally:
        spark.conf.set(THRESHOLD, previous)
        spark.sql(f"DROP TABLE IF EXISTS {TABLE}")


def _source(spark: SparkSession) -> DataFrame:
    """20 known keys among 40, built the way the job builds its MERGE source: the
    increment left-joined with the keys found in the table, filtered on the flag."""
    increment = spark.range(40).selectExpr("CAST(id AS STRING) AS k", "'new' AS v")
    found = spark.table(TABLE).select("k").where("CAST(k AS INT) < 20").selectExpr("k", "true AS found")
    return increment.join(found, "k", "left").where("found").drop("found")


def _joins(spark: SparkSession, source: DataFrame, name: str) -> str:
    """The MERGE's own join: the top-most one (the source's joins are below it)."""
    source.createOrReplaceTempView(name)
    plan = str(spark.sql("EXPLAIN " + MERGE.format(view=name)).first()[0])
    return next(line.strip() for line in plan.splitlines() if "Join" in line)


def test_without_the_materialised_source_the_merge_shuffles_the_table(spark, target) -> None:
    # The control: what the job did before (a hinted, unmaterialised source).
    joins = _joins(spark, _source(spark).hint("broadcast"), "plain_source")
    assert "SortMergeJoin" in joins, joins


def test_merge_source_is_broadcast_and_the_threshold_restored(spark, target) -> None:
    with broadcast_merge_source(spark, _source(spark), row_count=20, key="k") as source:
        joins = _joins(spark, source.rows, "measured_source")
        spark.sql(MERGE.format(view="measured_source"))
    assert "BroadcastHashJoin" in joins, joins
    assert source.keys == sorted(str(i) for i in range(20))  # collected by the same action
    assert spark.conf.get(THRESHOLD) == "512"
    assert spark.table(TABLE).where("v = 'new'").count() == 20


def test_a_large_source_is_left_to_the_planner(spark, target, monkeypatch) -> None:
    monkeypatch.setattr("spark_jobs.commit.upsert.BROADCAST_MAX_ROWS", 10)
    with broadcast_merge_source(spark, _source(spark), row_count=20, key="k") as source:
        joins = _joins(spark, source.rows, "large_source")
    assert source.keys == []
    assert "SortMergeJoin" in joins, joins


def test_lookup_keys_are_broadcast_when_small(spark, target) -> None:
    increment = _source(spark)  # a join: its size estimate is far above the threshold
    small = spark.table(TABLE).join(keys_to_probe(increment, "k", row_count=20), "k", "left_semi")
    large = spark.table(TABLE).join(keys_to_probe(increment, "k", row_count=10**9), "k", "left_semi")
    assert "BroadcastHashJoin" in small._jdf.queryExecution().executedPlan().toString()
    assert "SortMergeJoin" in large._jdf.queryExecution().executedPlan().toString()
    assert small.count() == 20
