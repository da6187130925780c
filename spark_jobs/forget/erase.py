"""Make a table's deleted rows physically gone, keeping its checkpoint.

Iceberg deletes are logical: the rows stay in the data files older snapshots reference
(and, on merge-on-read tables, in the current files, behind position deletes), and a
manifest keeps the statistics (lower/upper bounds: a short e-mail whole) of every file
it lists, removed ones included. So, per table:

1. ``DELETE`` the subject's rows;
2. rewrite every data file that has delete files (Iceberg's ``rewrite_data_files``,
   selected by deletes only: no size-based compaction);
3. rewrite the manifests (``rewrite_manifests``): the new ones list live files only;
4. expire every older snapshot (``expire_snapshots``), which deletes the files only they
   referenced: the old data files, manifests and manifest lists;
5. remove orphan files older than a grace period (files a crashed write left behind).

Every commit of 1-3 carries ``properties`` (the forget's id and, on curated and
semantic, the layer's checkpoint), so whichever is the table's last snapshot holds the
checkpoint once the older ones are gone. Iceberg does the work; this module only calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import SparkSession

from spark_jobs.commit.merge import run_with_commit_properties
from spark_jobs.maintenance.procedures import ExpiryPlan, as_utc, expire_snapshots
from spark_jobs.session import CATALOG
from spark_jobs.tables import sql_string

ORPHAN_GRACE = timedelta(hours=24)
"""Orphan files younger than this are left: a running write's files are orphans until it commits."""
REWRITE_OPTIONS = {
    # Only files with deletes (the subject's rows are behind one); never by size.
    "delete-file-threshold": "1",
    "min-file-size-bytes": "0",
    "max-file-size-bytes": str(2**62),
}


@dataclass
class TableErasure:
    """What forgetting did to one table (counts and keys, never values)."""

    table: str
    rows_deleted: int = 0
    keys: list[str] = field(default_factory=list)
    data_files_rewritten: int = 0
    manifests_rewritten: int = 0
    deleted_entries_left: int = 0
    expiry: dict[str, Any] = field(default_factory=dict)
    orphans_removed: int = 0
    carried: dict[str, str] = field(default_factory=dict)
    """Checkpoint keys the table's forget commits carry (summary key -> raw snapshot id)."""


def matching_keys(spark: SparkSession, table: str, key_column: str, where: str) -> tuple[int, list[str]]:
    """How many rows match, and their distinct keys."""
    rows = spark.sql(
        f"SELECT {key_column} AS key, count(*) AS n FROM {table} WHERE {where} GROUP BY {key_column}"
    ).collect()
    return sum(int(r["n"]) for r in rows), sorted(str(r["key"]) for r in rows if r["key"] is not None)


def delete_rows(spark: SparkSession, table: str, where: str, properties: Mapping[str, str]) -> None:
    """``DELETE`` (one commit, even when nothing matches: it carries ``properties``)."""

    def delete() -> None:
        spark.sql(f"DELETE FROM {table} WHERE {where}").collect()

    run_with_commit_properties(spark, properties, delete)


def _iceberg(spark: SparkSession, table: str) -> tuple[Any, Any]:
    jvm = spark._jvm
    assert jvm is not None
    jspark = spark._jsparkSession
    jtable = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(jspark, f"{CATALOG}.{table.replace('`', '')}")
    return jvm.org.apache.iceberg.spark.actions.SparkActions.get(jspark), jtable


def rewrite_files_with_deletes(spark: SparkSession, table: str, properties: Mapping[str, str]) -> int:
    """Rewrite every data file that has delete files; the commit carries ``properties``."""
    actions, jtable = _iceberg(spark, table)
    action = actions.rewriteDataFiles(jtable)
    for key, value in REWRITE_OPTIONS.items():
        action = action.option(key, value)
    for key, value in properties.items():
        action = action.snapshotProperty(key, value)
    return int(action.execute().rewrittenDataFilesCount())


def rewrite_manifests(spark: SparkSession, table: str, properties: Mapping[str, str]) -> int:
    """Rewrite the manifests (live entries only); the commit carries ``properties``.

    Iceberg's action skips a table whose manifests fit one and are one already, even
    when that one lists removed files; then the table API rewrites it (one cluster)."""
    actions, jtable = _iceberg(spark, table)
    action = actions.rewriteManifests(jtable)
    for key, value in properties.items():
        action = action.snapshotProperty(key, value)
    rewritten = sum(1 for _ in action.execute().rewrittenManifests())
    if rewritten == 0 and deleted_entries(spark, table):
        rewritten = _rewrite_one_manifest(spark, table, properties)
    return rewritten


class _Always:
    """``java.util.function.Predicate`` (every manifest) and ``Function`` (one cluster) for py4j."""

    def test(self, _: Any) -> bool:
        return True

    def apply(self, _: Any) -> str:
        return "all"

    class Java:
        implements = ["java.util.function.Predicate", "java.util.function.Function"]


def _rewrite_one_manifest(spark: SparkSession, table: str, properties: Mapping[str, str]) -> int:
    from pyspark.java_gateway import ensure_callback_server_started

    gateway = spark.sparkContext._gateway
    assert gateway is not None
    ensure_callback_server_started(gateway)
    _, jtable = _iceberg(spark, table)
    always = _Always()
    update = jtable.rewriteManifests().rewriteIf(always).clusterBy(always)
    for key, value in properties.items():
        update = update.set(key, value)
    update.commit()
    spark.sql(f"REFRESH TABLE {table}")
    return 1


def deleted_entries(spark: SparkSession, table: str) -> int:
    """Entries of removed data files the current snapshot's manifests still list, with
    their column statistics. (Removed position-delete files' entries hold file paths and
    row positions only: no value of a row.)"""
    spark.sql(f"REFRESH TABLE {table}")
    return spark.sql(f"SELECT * FROM {table}.entries WHERE status = 2 AND data_file.content = 0").count()


def expire(spark: SparkSession, plan: ExpiryPlan) -> dict[str, Any]:
    """Expire what the plan allows (every snapshot but the last, unless a checkpoint needs one)."""
    removed = expire_snapshots(spark, plan, retain_last=1)
    return {"older_than": str(plan.older_than), "reason": plan.reason, "removed": removed}


def remove_orphans(spark: SparkSession, table: str, now: datetime, grace: timedelta = ORPHAN_GRACE) -> int:
    older_than = as_utc(now - grace).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = spark.sql(
        f"CALL {CATALOG}.system.remove_orphan_files(table => {sql_string(table.replace('`', ''))}, "
        f"older_than => TIMESTAMP '{older_than}')"
    ).collect()
    return len(rows)
