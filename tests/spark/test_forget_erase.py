"""``forget/erase.py`` on tiny tables: the last snapshot carries the checkpoint, and no
manifest keeps the statistics of a removed file (the case Iceberg's action skips)."""

from __future__ import annotations

import pytest

from spark_jobs.forget import erase

pytestmark = pytest.mark.spark


def _summary(spark, table: str) -> dict[str, str]:
    spark.sql(f"REFRESH TABLE {table}")
    row = spark.sql(f"SELECT summary FROM {table}.snapshots ORDER BY committed_at DESC LIMIT 1").first()
    return dict(row[0])


def test_one_manifest_listing_a_removed_file_is_rewritten_with_the_properties(spark) -> None:
    table = "erase_db.one_manifest"
    spark.sql("CREATE NAMESPACE IF NOT EXISTS erase_db")
    spark.sql(f"CREATE TABLE {table} (id STRING) USING iceberg TBLPROPERTIES ('format-version'='2')")
    # one commit, two files, one manifest
    spark.createDataFrame([("gone@q.example",), ("kept",)], "id string").repartition(2, "id").writeTo(table).append()
    erase.delete_rows(spark, table, "id = 'gone@q.example'", {"unified-job.forget-request": "r1"})
    assert erase.deleted_entries(spark, table) == 1  # the removed file's entry, bounds and all

    rewritten = erase.rewrite_manifests(spark, table, {"unified-job.curated-checkpoint": "42"})

    assert rewritten == 1 and erase.deleted_entries(spark, table) == 0
    assert _summary(spark, table)["unified-job.curated-checkpoint"] == "42"
    assert [r[0] for r in spark.table(table).collect()] == ["kept"]


def test_files_with_deletes_are_rewritten_without_the_deleted_rows(spark) -> None:
    table = "erase_db.merge_on_read"
    spark.sql("CREATE NAMESPACE IF NOT EXISTS erase_db")
    spark.sql(
        f"CREATE TABLE {table} (id STRING) USING iceberg TBLPROPERTIES ('format-version'='2', "
        "'write.delete.mode'='merge-on-read')"
    )
    spark.createDataFrame([("gone",), ("kept",)], "id string").coalesce(1).writeTo(table).append()
    erase.delete_rows(spark, table, "id = 'gone'", {})  # a position delete: the row stays in the file

    assert erase.rewrite_files_with_deletes(spark, table, {"unified-job.forget-request": "r1"}) == 1
    files = spark.sql(f"SELECT record_count, content FROM {table}.files").collect()
    assert [(r["record_count"], r["content"]) for r in files if r["content"] == 0] == [(1, 0)]
    assert _summary(spark, table)["unified-job.forget-request"] == "r1"


def test_remembered_tokens_are_found_by_topic_and_forgotten_when_their_time_is_over(spark) -> None:
    from spark_jobs.forget import forgotten_keys
    from spark_jobs.tables import FORGOTTEN_TABLE

    key = b"unit-key-0123456789abcdef"
    assert forgotten_keys.remember(spark, "fk_a", ["k1", "k2"], key, "r1", remember_days=30) == 2
    assert sorted(forgotten_keys.active_tokens(spark, "fk_a")) == sorted(
        forgotten_keys.token(k, key) for k in ("k1", "k2")
    )
    assert forgotten_keys.active_tokens(spark, "fk_b") == []  # another topic: metadata only
    spark.sql(f"UPDATE {FORGOTTEN_TABLE} SET drop_until = current_timestamp() - INTERVAL 1 DAY WHERE topic = 'fk_a'")
    assert forgotten_keys.active_tokens(spark, "fk_a") == []
    forgotten_keys.remember(spark, "fk_a", ["k3"], key, "r2", remember_days=30)
    assert spark.table(FORGOTTEN_TABLE).where("topic = 'fk_a'").count() == 1  # k1, k2: over, deleted
    # the token is what the job computes in Spark
    row = spark.createDataFrame([("k3",)], "idempotency_key string")
    flagged = forgotten_keys.drop_forgotten(row, forgotten_keys.active_tokens(spark, "fk_a"), key, "fk_a")
    assert flagged.first()[forgotten_keys.FORGOTTEN] is True
